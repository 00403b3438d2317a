/**
 * The profile library: Incus profile YAML files (`description`, `config`,
 * `devices`) shipped by repoman (vendor), written by the user (a user file
 * shadows a vendor file of the same name) or contributed by plugins, rendered
 * with host variables such as `${HOST_LAN_IP}`, `${USER}` and `${HOME}`.
 *
 * Interface only; `@repoman/profiles` implements it.
 *
 * @since 0.1.0
 * @module
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { ProfileSpec } from "./ContainerRuntime.ts"
import { ProfileName } from "./Ids.ts"

// ---------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------

/**
 * Where a library profile comes from: repoman's vendor library, the user's
 * profile dir, or a plugin (by its id).
 *
 * @since 0.1.0
 * @category models
 */
export const ProfileOrigin = Schema.Union([
  Schema.TaggedStruct("Vendor", {}),
  Schema.TaggedStruct("User", {}),
  Schema.TaggedStruct("Plugin", { id: Schema.String })
])
/**
 * The decoded type of the `ProfileOrigin` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type ProfileOrigin = typeof ProfileOrigin.Type

/**
 * One profile of the library, as `list` reports it: the profile that wins for
 * its name. `shadows` is true when it hides a vendor profile of the same name.
 *
 * @since 0.1.0
 * @category models
 */
export class ProfileEntry extends Schema.Class<ProfileEntry>("@repoman/core/ProfileStore/ProfileEntry")({
  name: ProfileName,
  origin: ProfileOrigin,
  shadows: Schema.Boolean,
  /** Where the profile is read from: a file path, or a plugin's own locator. */
  location: Schema.String
}) {}

/**
 * The values of the `${NAME}` placeholders a profile may use, by name.
 *
 * @since 0.1.0
 * @category models
 */
export type ProfileVariables = Readonly<Record<string, string>>

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/**
 * No profile of that name in the library.
 *
 * @since 0.1.0
 * @category errors
 */
export class NotFound extends Schema.TaggedClass<NotFound>("@repoman/core/ProfileStore/NotFound")("NotFound", {
  name: Schema.String,
  /** The names the library has (for the message), when known. */
  known: Schema.optionalKey(Schema.Array(Schema.String))
}) {
  /** One line for the user: the names there are, and the closest one. */
  get message(): string {
    return `there is no profile "${this.name}" in the profile library${
      this.known === undefined ? "" : `: ${knownNames(this.name, this.known)}`
    }`
  }
}

/**
 * The name in `candidates` closest to `name`, if one is close: one that
 * starts with it or that it starts with (`gemini` -> `gemini-share`), else
 * one within an edit distance of a third of its length (at least 1).
 *
 * @since 0.1.0
 * @category utils
 */
export const closestName = (name: string, candidates: ReadonlyArray<string>): string | undefined => {
  const lower = name.toLowerCase()
  const byPrefix = candidates.filter((c) => {
    const l = c.toLowerCase()
    return l !== lower && (l.startsWith(lower) || lower.startsWith(l))
  }).sort((a, b) => Math.abs(a.length - name.length) - Math.abs(b.length - name.length))
  if (byPrefix[0] !== undefined) return byPrefix[0]
  const limit = Math.max(1, Math.floor(name.length / 3))
  let best: { readonly name: string; readonly distance: number } | undefined
  for (const c of candidates) {
    const d = editDistance(lower, c.toLowerCase())
    if (d > 0 && d <= limit && (best === undefined || d < best.distance)) best = { name: c, distance: d }
  }
  return best?.name
}

const editDistance = (a: string, b: string): number => {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)
      )
    }
    previous = current
  }
  return previous[b.length] ?? 0
}

/**
 * `did you mean X? the profiles are A, B, C` for a name that is none of
 * `known` (sorted, without duplicates).
 *
 * @since 0.1.0
 * @category utils
 */
export const knownNames = (name: string, known: ReadonlyArray<string>): string => {
  const names = [...new Set(known)].sort()
  if (names.length === 0) return "there are none yet"
  const close = closestName(name, names)
  return `${close === undefined ? "" : `did you mean ${close}? `}the profiles are ${names.join(", ")}`
}

/**
 * The profile file is not valid YAML or not an Incus profile.
 *
 * @since 0.1.0
 * @category errors
 */
export class Malformed extends Schema.TaggedClass<Malformed>("@repoman/core/ProfileStore/Malformed")("Malformed", {
  file: Schema.String,
  line: Schema.optional(Schema.Int),
  detail: Schema.String
}) {
  /** One line for the user. */
  get message(): string {
    return `${this.file}${this.line === undefined ? "" : `:${this.line}`}: ${this.detail}`
  }
}

/**
 * The profile uses a `${NAME}` placeholder with no value.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnknownVariable extends Schema.TaggedClass<UnknownVariable>(
  "@repoman/core/ProfileStore/UnknownVariable"
)("UnknownVariable", {
  file: Schema.String,
  placeholder: Schema.String
}) {
  /** One line for the user. */
  get message(): string {
    return `${this.file}: no value for the placeholder \${${this.placeholder}}`
  }
}

/**
 * A profile plugin named in the registry (`[plugins] profiles`) could not be
 * loaded or did not build its store.
 *
 * @since 0.1.0
 * @category errors
 */
export class PluginFailed extends Schema.TaggedClass<PluginFailed>("@repoman/core/ProfileStore/PluginFailed")(
  "PluginFailed",
  { id: Schema.String, detail: Schema.String }
) {
  /** One line for the user. */
  get message(): string {
    return `profile plugin "${this.id}": ${this.detail}`
  }
}

/**
 * Why a {@link ProfileError} happened.
 *
 * @since 0.1.0
 * @category errors
 */
export const ProfileErrorReason = Schema.Union([NotFound, Malformed, UnknownVariable, PluginFailed])
/**
 * The decoded type of the `ProfileErrorReason` schema.
 *
 * @since 0.1.0
 * @category errors
 */
export type ProfileErrorReason = typeof ProfileErrorReason.Type

/**
 * The one error of the {@link ProfileStore} boundary.
 *
 * @since 0.1.0
 * @category errors
 */
export class ProfileError extends Schema.TaggedError<ProfileError>("@repoman/core/ProfileStore/ProfileError")(
  "ProfileError",
  { reason: ProfileErrorReason, cause: Schema.optional(Schema.Defect()) }
) {
  /** The reason's one-line message. */
  override get message(): string {
    return this.reason.message
  }
}

// ---------------------------------------------------------------------------
// Service
// ---------------------------------------------------------------------------

/**
 * The profile library.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { ContainerRuntime } from "@repoman/core/ContainerRuntime"
 * import { ProfileName } from "@repoman/core/Ids"
 * import { ProfileStore } from "@repoman/core/ProfileStore"
 *
 * const install = (name: ProfileName) =>
 *   Effect.gen(function*() {
 *     const store = yield* ProfileStore
 *     const runtime = yield* ContainerRuntime
 *     const spec = yield* store.render(name, { USER: "me", HOME: "/home/me", HOST_LAN_IP: "192.168.1.42" })
 *     yield* runtime.putProfile(name, spec)
 *   })
 * ```
 *
 * @since 0.1.0
 * @category services
 */
export class ProfileStore extends Context.Service<ProfileStore, {
  /** Lists the library, one entry per name, sorted by name. */
  list(): Effect.Effect<ReadonlyArray<ProfileEntry>, ProfileError>

  /** Reads the raw YAML text of the winning profile of that name. */
  read(name: ProfileName): Effect.Effect<string, ProfileError>

  /**
   * Parses the profile and replaces every `${NAME}` placeholder with its
   * value from `variables`; `UnknownVariable` for a placeholder with none.
   */
  render(name: ProfileName, variables: ProfileVariables): Effect.Effect<ProfileSpec, ProfileError>
}>()("@repoman/core/ProfileStore") {}
