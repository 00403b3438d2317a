/**
 * Single host files shared through a directory: the declarations profiles
 * make, and how they are checked.
 *
 * A restricted namespace shares host directories only (an allowed path must
 * be a directory, and allowing the home itself would expose all of it). So
 * a profile that must share a file of the home (`~/.gitconfig`) names a
 * place for it inside a directory it mounts **read-only** at the same path,
 * with one `link.<name>` label per file (in an Incus profile:
 * a `user.repoman.link.<name>` config key):
 *
 * ```yaml
 * config:
 *   user.repoman.link.claude-json: "${HOME}/.claude.json -> ${HOME}/.claude/.claude.json"
 * ```
 *
 * In every new container `<file>` becomes a symlink to `<target>`, and
 * `repoman profile install --link-files` moves the host's `<file>` to
 * `<target>` and leaves the same symlink in its place (see the
 * `SharedFiles` program), so host and containers read and write one file.
 *
 * @since 0.1.0
 * @module
 */
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import type { ProfileInfo } from "./ContainerRuntime.ts"

/**
 * The prefix of the profile labels that declare a shared file.
 *
 * @since 0.1.0
 * @category shared files
 */
export const LINK_LABEL_PREFIX = "link."

/**
 * One shared file of a profile: `file` (a host path, and the same path in the
 * container) is kept at `target`, inside a directory the profile mounts read-only.
 * `key` is the label that declares it.
 *
 * @since 0.1.0
 * @category shared files
 */
export class FileLink extends Schema.Class<FileLink>("@repoman/core/FileLink/FileLink")({
  key: Schema.String,
  file: Schema.String,
  target: Schema.String
}) {}

const LINK_VALUE = /^\s*(\S(?:.*\S)?)\s+->\s+(\S(?:.*\S)?)\s*$/

const isNormalAbsolute = (p: string) => p.startsWith("/") && !p.split("/").some((c) => c === ".." || c === ".")

const inside = (p: string, dir: string) => p.startsWith(dir.endsWith("/") ? dir : `${dir}/`)

/**
 * The shared files a profile declares (from its inspection by the
 * runtime), or the first problem with them: a value that is not
 * `FILE -> TARGET`, a relative path, or a target that is not inside a host
 * directory the profile mounts read-only at the same path (a container must
 * not be able to put a symlink where the host's file lives).
 *
 * @since 0.1.0
 * @category shared files
 */
export const fileLinks = (info: ProfileInfo): Result.Result<ReadonlyArray<FileLink>, string> => {
  // Only read-only mounts: a file shared through a directory a container can
  // write could be replaced there by a symlink, and the host's next write
  // through its own symlink would land wherever that one points.
  const sameDirs = info.mounts.flatMap((m) => m.source === m.path && m.readOnly ? [m.source] : [])
  const links: Array<FileLink> = []
  for (const [key, value] of Object.entries(info.labels)) {
    if (!key.startsWith(LINK_LABEL_PREFIX)) continue
    const match = LINK_VALUE.exec(value)
    const [, file, target] = match ?? []
    if (file === undefined || target === undefined) {
      return Result.fail(`shared file ${key} must read "FILE -> TARGET", not "${value}"`)
    }
    if (!isNormalAbsolute(file) || !isNormalAbsolute(target)) {
      return Result.fail(`shared file ${key}: both paths must be absolute, without . or ..`)
    }
    if (!sameDirs.some((dir) => inside(target, dir))) {
      return Result.fail(
        `shared file ${key}: ${target} is not inside a directory the profile mounts read-only at the same path`
      )
    }
    if (sameDirs.some((dir) => file === dir || inside(file, dir))) {
      return Result.fail(`shared file ${key}: ${file} is already inside a shared directory`)
    }
    links.push(new FileLink({ key, file, target }))
  }
  return Result.succeed(links)
}
