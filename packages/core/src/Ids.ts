/**
 * Identifiers that cross repoman's boundaries (CLI arguments, registry files,
 * Incus objects), each a branded string validated by a Schema.
 *
 * @since 0.1.0
 * @module
 */
import * as Schema from "effect/Schema"

/**
 * A project name, which is also the Incus instance name: 1–63 ASCII letters,
 * digits and hyphens, starting with a letter and not ending with a hyphen.
 *
 * Incus itself also accepts a leading digit; repoman is stricter so that a name
 * can never be read as a number.
 *
 * @example
 * ```ts
 * import { ProjectName } from "@repoman/core/Ids"
 * const name = ProjectName.make("isurus")
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const ProjectName = Schema.String.pipe(
  Schema.check(Schema.makeFilter((s: string) =>
    /^[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(s)
    || "a project name is 1-63 ASCII letters, digits and hyphens, starts with a letter and does not end with a hyphen"
  )),
  Schema.brand("ProjectName")
)
/**
 * The decoded type of the `ProjectName` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type ProjectName = typeof ProjectName.Type

/**
 * A repository directory name: one path segment below the repos root. No
 * `/`, no `..`, no NUL, no leading `.`, at most 255 bytes.
 *
 * @since 0.1.0
 * @category models
 */
export const RepoDir = Schema.String.pipe(
  Schema.check(Schema.makeFilter((s: string) => {
    if (s.length === 0) return "a repo dir must not be empty"
    if (s.includes("/")) return "a repo dir is a single path segment: it must not contain '/'"
    if (s.includes("\0")) return "a repo dir must not contain a NUL byte"
    if (s.startsWith(".")) return "a repo dir must not start with '.' (this also rules out '.' and '..')"
    if (new TextEncoder().encode(s).length > 255) return "a repo dir must be at most 255 bytes"
    return true
  })),
  Schema.brand("RepoDir")
)
/**
 * The decoded type of the `RepoDir` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type RepoDir = typeof RepoDir.Type

/**
 * An image reference as Incus takes it: an optional remote and a colon, then
 * an alias or fingerprint (`images:ubuntu/26.04/cloud`, `debian-test`,
 * `local:busybox`). Printable ASCII without spaces, at most 255 characters.
 *
 * @since 0.1.0
 * @category models
 */
export const ImageRef = Schema.String.pipe(
  Schema.check(
    Schema.makeFilter((s: string) =>
      /^(?:[A-Za-z0-9][A-Za-z0-9._-]*:)?[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$/.test(s) && s.length <= 255
      || "an image is [remote:]alias or fingerprint, e.g. images:ubuntu/26.04/cloud"
    )
  ),
  Schema.brand("ImageRef")
)
/**
 * The decoded type of the `ImageRef` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type ImageRef = typeof ImageRef.Type

/**
 * A profile name (Incus profile rules, kept simple): 1–63 ASCII letters,
 * digits, `-`, `_` and `.`, starting with a letter or digit.
 *
 * @since 0.1.0
 * @category models
 */
export const ProfileName = Schema.String.pipe(
  Schema.check(Schema.makeFilter((s: string) =>
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(s)
    || "a profile name is 1-63 ASCII letters, digits, '-', '_' or '.', starting with a letter or digit"
  )),
  Schema.brand("ProfileName")
)
/**
 * The decoded type of the `ProfileName` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type ProfileName = typeof ProfileName.Type

/**
 * The name of a member of a container-engine cluster (Incus: the
 * `server_name` a member joined with), as `new --target` takes it: 1-63
 * ASCII letters, digits, dots and hyphens, starting and ending with a letter
 * or digit (a host name, as Incus requires of members). Incus's `@group`
 * targets are not taken.
 *
 * @example
 * ```ts
 * import { MemberName } from "@repoman/core/Ids"
 * const member = MemberName.make("member1")
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const MemberName = Schema.String.pipe(
  Schema.check(
    Schema.makeFilter((s: string) =>
      (/^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,61}[A-Za-z0-9])?$/.test(s) && !s.includes(".."))
      || "a cluster member name is 1-63 ASCII letters, digits, '.' and '-', starting and ending with a letter or digit"
    )
  ),
  Schema.brand("MemberName")
)
/**
 * The decoded type of the `MemberName` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type MemberName = typeof MemberName.Type
