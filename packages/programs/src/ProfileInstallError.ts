/**
 * The error of the profile programs (`repoman profile` and the check `new`
 * makes): a library profile that cannot be installed as it is, is not
 * installed, has drifted from the library, or is still in use. Errors of the
 * services they call (profile store, container runtime, registry) pass
 * through as they are.
 *
 * @since 0.1.0
 * @module
 */
import { knownNames } from "@repoman/core/ProfileStore"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

/**
 * A disk device of the profile names a host source that does not exist.
 *
 * @since 0.1.0
 * @category models
 */
export class SourceMissing
  extends Schema.TaggedClass<SourceMissing>("@repoman/programs/ProfileInstallError/SourceMissing")(
    "SourceMissing",
    {
      profile: Schema.String,
      device: Schema.String,
      source: Schema.String,
      /** A file of the host that `--link-files` would move into the missing source (which it then makes). */
      linkable: Schema.optionalKey(Schema.String),
      /** The other missing sources of the same install, so that one run names them all. */
      others: Schema.optionalKey(Schema.Array(Schema.Struct({
        profile: Schema.String,
        device: Schema.String,
        source: Schema.String,
        linkable: Schema.optionalKey(Schema.String)
      })))
    }
  )
{
  /** One line for the user, naming every missing source. */
  get message(): string {
    const one = (m: { profile: string; device: string; source: string; linkable?: string }) => {
      const fix = m.linkable === undefined
        ? "create it, or shadow the profile with your own in profiles.d/"
        : `'repoman profile install ${m.profile} --link-files' makes it and moves ${m.linkable} there`
      return `profile ${m.profile}: the source ${m.source} of device "${m.device}" does not exist on this host (${fix})`
    }
    return [this, ...(this.others ?? [])].map(one).join("; ")
  }
}

/**
 * The profile exposes sensitive host paths and `--allow-sensitive` was not given.
 *
 * @since 0.1.0
 * @category errors
 */
export class SensitiveSource extends Schema.TaggedClass<SensitiveSource>(
  "@repoman/programs/ProfileInstallError/SensitiveSource"
)("SensitiveSource", {
  profile: Schema.String,
  exposures: Schema.Array(Schema.Struct({ path: Schema.String, exposes: Schema.String }))
}) {
  /** One line for the user. */
  get message(): string {
    return `profile ${this.profile} would expose ${
      this.exposures.map((e) => `${e.path} (${e.exposes})`).join(", ")
    } to its containers; nothing was installed (if that is really what you want, name each: ${
      this.exposures.map((e) => `--allow-sensitive ${e.path}`).join(" ")
    })`
  }
}

/**
 * The profile asks for something the repoman namespace's restrictions forbid;
 * Incus would accept the profile and then refuse every later request.
 *
 * @since 0.1.0
 * @category errors
 */
export class NotAllowed extends Schema.TaggedClass<NotAllowed>("@repoman/programs/ProfileInstallError/NotAllowed")(
  "NotAllowed",
  { profile: Schema.String, detail: Schema.String }
) {
  /** One line for the user. */
  get message(): string {
    return `profile ${this.profile}: ${this.detail}; nothing was installed`
  }
}

/**
 * The profile is not installed in the namespace.
 *
 * @since 0.1.0
 * @category errors
 */
export class NotInstalled
  extends Schema.TaggedClass<NotInstalled>("@repoman/programs/ProfileInstallError/NotInstalled")(
    "NotInstalled",
    { profile: Schema.String }
  )
{
  /** One line for the user. */
  get message(): string {
    return `profile ${this.profile} is not installed: run 'repoman profile install ${this.profile}'`
  }
}

/**
 * A profile that is neither installed nor in the library: the message names
 * those there are, and the closest one.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnknownProfile
  extends Schema.TaggedClass<UnknownProfile>("@repoman/programs/ProfileInstallError/UnknownProfile")(
    "UnknownProfile",
    { profile: Schema.String, known: Schema.Array(Schema.String) }
  )
{
  /** One line for the user. */
  get message(): string {
    return `there is no profile ${this.profile}, installed or in the library: ${knownNames(this.profile, this.known)}`
  }
}

/**
 * The installed profile differs from the rendered library version.
 *
 * @since 0.1.0
 * @category errors
 */
export class Drifted extends Schema.TaggedClass<Drifted>("@repoman/programs/ProfileInstallError/Drifted")("Drifted", {
  profile: Schema.String
}) {
  /** One line for the user. */
  get message(): string {
    return `the installed profile ${this.profile} differs from the library ('repoman profile diff ${this.profile}' ` +
      `shows how): run 'repoman profile install ${this.profile}'`
  }
}

/**
 * Instances still use the profile.
 *
 * @since 0.1.0
 * @category errors
 */
export class InUse extends Schema.TaggedClass<InUse>("@repoman/programs/ProfileInstallError/InUse")("InUse", {
  profile: Schema.String,
  users: Schema.Array(Schema.String)
}) {
  /** One line for the user. */
  get message(): string {
    return `profile ${this.profile} is used by ${this.users.join(", ")}: remove those projects first`
  }
}

/**
 * The profile is one older repoman versions shipped, which shared an agent's
 * whole state directory read-write (hooks, MCP servers, transcripts of every
 * project); `replacement` is the profile that replaces it.
 *
 * @since 0.1.0
 * @category errors
 */
export class Retired extends Schema.TaggedClass<Retired>("@repoman/programs/ProfileInstallError/Retired")("Retired", {
  profile: Schema.String,
  replacement: Schema.String
}) {
  /** One line for the user. */
  get message(): string {
    return `profile ${this.profile} is outdated: it let containers write configuration the host's agent runs ` +
      `(hooks, MCP servers) and read every project's transcripts; use '${this.replacement}' instead ` +
      `('repoman profile install ${this.replacement}', then replace ${this.profile} in repoman.toml's profiles ` +
      `and repos.d/, and 'repoman profile remove ${this.profile}')`
  }
}

/**
 * Why a {@link ProfileInstallError} happened.
 *
 * @since 0.1.0
 * @category errors
 */
export const ProfileInstallErrorReason = Schema.Union([
  Retired,
  SourceMissing,
  SensitiveSource,
  NotAllowed,
  NotInstalled,
  UnknownProfile,
  Drifted,
  InUse
])
/**
 * The decoded type of the `ProfileInstallErrorReason` schema.
 *
 * @since 0.1.0
 * @category errors
 */
export type ProfileInstallErrorReason = typeof ProfileInstallErrorReason.Type

/**
 * The error of the profile use cases. Errors of the services they call
 * (profile store, container runtime, registry) pass through as they are.
 *
 * @since 0.1.0
 * @category errors
 */
export class ProfileInstallError extends Schema.TaggedError<ProfileInstallError>(
  "@repoman/programs/ProfileInstallError/ProfileInstallError"
)("ProfileInstallError", { reason: ProfileInstallErrorReason }) {
  /** The reason's one-line message. */
  override get message(): string {
    return this.reason.message
  }
}

/**
 * Fails with a {@link ProfileInstallError} for `reason`.
 *
 * @since 0.1.0
 * @category utils
 */
export const failWith = (reason: ProfileInstallErrorReason) => Effect.fail(new ProfileInstallError({ reason }))
