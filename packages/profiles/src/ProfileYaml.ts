/**
 * Profile files: Incus profile YAML (`description`, `config`, `devices`, as
 * `incus profile show` prints them; its `name`, `used_by` and `project` keys
 * are accepted and ignored) decoded through a Schema, and the canonical YAML
 * repoman prints for `show` and `diff`.
 *
 * Scalars in `config` and device options may be written as YAML numbers or
 * booleans (`limits.cpu: 2`, `readonly: true`); Incus wants strings, so they
 * are read as their string form.
 *
 * A profile is a small document, and its file may come from anywhere (a
 * plugin, a copy from the web): one larger than {@link MAX_PROFILE_BYTES},
 * or with more than {@link MAX_ALIASES} alias expansions (a "billion laughs"
 * alias bomb), is `Malformed` and never expanded.
 *
 * @since 0.1.0
 * @module
 */
import { Malformed, ProfileError } from "@repoman/core/ProfileStore"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import { LineCounter, type Node, parseDocument, stringify } from "yaml"

const Scalar = Schema.Union([Schema.String, Schema.Finite, Schema.Boolean])
const ScalarMap = Schema.NullOr(Schema.Record(Schema.String, Scalar))

/**
 * The shape of a profile file, before placeholders are rendered.
 *
 * @since 0.1.0
 * @category models
 */
export const ProfileFile = Schema.Struct({
  name: Schema.optionalKey(Schema.String),
  description: Schema.optionalKey(Schema.NullOr(Schema.String)),
  config: Schema.optionalKey(ScalarMap),
  devices: Schema.optionalKey(Schema.NullOr(Schema.Record(Schema.String, ScalarMap))),
  used_by: Schema.optionalKey(Schema.Unknown),
  project: Schema.optionalKey(Schema.Unknown)
})
/**
 * The decoded type of the `ProfileFile` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type ProfileFile = typeof ProfileFile.Type

/**
 * A parsed profile: plain strings everywhere, placeholders still in place.
 *
 * @since 0.1.0
 * @category models
 */
export interface RawProfile {
  readonly description: string
  readonly config: Readonly<Record<string, string>>
  readonly devices: Readonly<Record<string, Readonly<Record<string, string>>>>
}

const strings = (m: Readonly<Record<string, string | number | boolean>> | null | undefined) =>
  Object.fromEntries(Object.entries(m ?? {}).map(([k, v]) => [k, String(v)]))

const malformed = (file: string, detail: string, line?: number) =>
  new ProfileError({ reason: new Malformed({ file, detail, ...(line === undefined ? {} : { line }) }) })

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

/**
 * The largest profile file read: 256 KiB.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_PROFILE_BYTES = 256 * 1024

/**
 * How many alias expansions a profile may make.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_ALIASES = 50

/**
 * The detail of a profile that is too large.
 *
 * @since 0.1.0
 * @category utils
 */
export const tooLarge = (bytes: number): string =>
  `is ${bytes} bytes, larger than a profile may be (${MAX_PROFILE_BYTES} bytes)`

/**
 * Parses the text of a profile file. A YAML syntax error or a value of the
 * wrong shape is `Malformed`, naming the file and the line.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { parseProfile } from "@repoman/profiles/ProfileYaml"
 * const profile = parseProfile("mine.yaml", "config:\n  environment.EDITOR: vim\n")
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const parseProfile = (file: string, text: string): Effect.Effect<RawProfile, ProfileError> =>
  Effect.gen(function*() {
    const size = new TextEncoder().encode(text).length
    if (size > MAX_PROFILE_BYTES) return yield* malformed(file, tooLarge(size))
    const lineCounter = new LineCounter()
    const document = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false })
    const first = document.errors[0]
    if (first !== undefined) {
      const line = lineCounter.linePos(first.pos[0]).line
      return yield* malformed(file, `not valid YAML: ${first.message.split("\n")[0] ?? first.message}`, line)
    }
    // toJS throws on too many alias expansions (and would otherwise expand them all).
    const value = yield* Effect.try({
      try: () => document.toJS({ maxAliasCount: MAX_ALIASES }) as unknown,
      catch: (e) =>
        malformed(
          file,
          /alias/i.test(String(e))
            ? `uses YAML aliases to expand to more than a profile may hold (at most ${MAX_ALIASES} alias expansions)`
            : `not valid YAML: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`
        )
    })
    const decoded = yield* Schema.decodeUnknownEffect(ProfileFile)(value ?? {}).pipe(
      Effect.mapError((error) => {
        const issue = formatter(error.issue).issues[0]
        const path = (issue?.path ?? []).map((p) => (typeof p === "object" && p !== null ? p.key : p))
        const node = path.length === 0 ? undefined : document.getIn(path.map(String), true) as Node | undefined
        const line = node?.range === undefined || node.range === null
          ? undefined
          : lineCounter.linePos(node.range[0]).line
        const where = path.length === 0 ? "" : `${path.map(String).join(".")}: `
        return malformed(
          file,
          `not an Incus profile: ${where}${issue?.message ?? error.message}`,
          line
        )
      })
    )
    return {
      description: decoded.description ?? "",
      config: strings(decoded.config),
      devices: Object.fromEntries(Object.entries(decoded.devices ?? {}).map(([k, v]) => [k, strings(v)]))
    }
  })

/**
 * The canonical YAML of a profile's content: keys sorted, strings as YAML
 * prints them (what `show` prints and `diff` compares line by line).
 *
 * @since 0.1.0
 * @category utils
 */
export const formatProfile = (profile: RawProfile): string => {
  const sorted = (m: Readonly<Record<string, unknown>>): Record<string, unknown> =>
    Object.fromEntries(
      Object.keys(m).sort().map((k) => {
        const v = m[k]
        return [k, typeof v === "object" && v !== null ? sorted(v as Record<string, unknown>) : v]
      })
    )
  return stringify(
    { description: profile.description, config: sorted(profile.config), devices: sorted(profile.devices) },
    { lineWidth: 0 }
  )
}
