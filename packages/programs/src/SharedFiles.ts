/**
 * Single host files shared through a directory.
 *
 * Under the restricted (idmap) project Incus shares directories only: a disk
 * source must lie inside an allowed directory, and allowing the home itself
 * would expose all of it. So a profile that must share a file of the home
 * (`~/.claude.json`, `~/.gitconfig`) names a place for it inside a directory
 * it mounts at the same path, with one config key per file:
 *
 * ```yaml
 * config:
 *   user.repoman.link.claude-json: "${HOME}/.claude.json -> ${HOME}/.claude/.claude.json"
 * ```
 *
 * - In every new container, `<file>` is a symlink to `<target>`
 *   ({@link linkInContainer}), so `~/.claude.json` is at the same path inside
 *   as on the host and lands in the shared directory.
 * - On the host, `repoman profile install --link-files` moves `<file>` to
 *   `<target>` and leaves the same symlink in its place ({@link linkOnHost}),
 *   so host and containers read and write one file. Claude Code and git
 *   write through such a symlink: they resolve it and replace the target.
 *
 * @since 0.1.0
 */
import { ContainerRuntime, type ProfileSpec } from "@repoman/core/ContainerRuntime"
import { CONTAINER_ID } from "@repoman/core/Idmap"
import type { ProjectName } from "@repoman/core/Ids"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Path from "effect/Path"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"

/**
 * The prefix of the profile config keys that declare a shared file.
 *
 * @since 0.1.0
 */
export const LINK_KEY_PREFIX = "user.repoman.link."

/**
 * One shared file of a profile: `file` (a host path, and the same path in the
 * container) is kept at `target`, inside a directory the profile mounts.
 *
 * @since 0.1.0
 */
export class FileLink extends Schema.Class<FileLink>("@repoman/programs/SharedFiles/FileLink")({
  key: Schema.String,
  file: Schema.String,
  target: Schema.String
}) {}

const LINK_VALUE = /^\s*(\S(?:.*\S)?)\s+->\s+(\S(?:.*\S)?)\s*$/

const isNormalAbsolute = (p: string) => p.startsWith("/") && !p.split("/").some((c) => c === ".." || c === ".")

const inside = (p: string, dir: string) => p.startsWith(dir.endsWith("/") ? dir : `${dir}/`)

/**
 * The shared files a rendered profile declares, or the first problem with
 * them: a value that is not `FILE -> TARGET`, a relative path, or a target
 * that is not inside a host directory the profile mounts at the same path.
 *
 * @since 0.1.0
 */
export const fileLinks = (spec: ProfileSpec): Result.Result<ReadonlyArray<FileLink>, string> => {
  const sameDirs = Object.values(spec.devices).flatMap((d) =>
    d["type"] === "disk" && d["source"] !== undefined && d["source"] === d["path"] ? [d["source"]] : []
  )
  const links: Array<FileLink> = []
  for (const [key, value] of Object.entries(spec.config)) {
    if (!key.startsWith(LINK_KEY_PREFIX)) continue
    const match = LINK_VALUE.exec(value)
    const [, file, target] = match ?? []
    if (file === undefined || target === undefined) {
      return Result.fail(`config ${key} must read "FILE -> TARGET", not "${value}"`)
    }
    if (!isNormalAbsolute(file) || !isNormalAbsolute(target)) {
      return Result.fail(`config ${key}: both paths must be absolute, without . or ..`)
    }
    if (!sameDirs.some((dir) => inside(target, dir))) {
      return Result.fail(`config ${key}: ${target} is not inside a directory the profile mounts at the same path`)
    }
    if (sameDirs.some((dir) => file === dir || inside(file, dir))) {
      return Result.fail(`config ${key}: ${file} is already inside a shared directory`)
    }
    links.push(new FileLink({ key, file, target }))
  }
  return Result.succeed(links)
}

/**
 * Where a shared file stands on the host:
 * - `Linked`: `file` is a symlink to `target`, so it is shared;
 * - `Movable`: `file` is a regular file and `target` is free, so
 *   {@link linkOnHost} can share it;
 * - `Absent`: there is no `file`; containers get the link all the same, and
 *   the first write makes `target`;
 * - `Blocked`: anything else (both exist, a symlink elsewhere, not a file),
 *   left for the user to sort out; `detail` says what is in the way.
 *
 * @since 0.1.0
 */
export type HostLinkState =
  | { readonly _tag: "Linked" }
  | { readonly _tag: "Movable" }
  | { readonly _tag: "Absent" }
  | { readonly _tag: "Blocked"; readonly detail: string }

/**
 * Looks at `link.file` and `link.target` on the host; changes nothing.
 *
 * @since 0.1.0
 */
export const hostLinkState = Effect.fn("SharedFiles.hostLinkState")(function*(link: FileLink) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const pointsTo = yield* fs.readLink(link.file).pipe(Effect.option)
  if (pointsTo._tag === "Some") {
    const resolved = path.resolve(path.dirname(link.file), pointsTo.value)
    return resolved === link.target
      ? { _tag: "Linked" } as const
      : { _tag: "Blocked", detail: `${link.file} is a symlink to ${pointsTo.value}, not to ${link.target}` } as const
  }
  const info = yield* fs.stat(link.file).pipe(Effect.option)
  if (info._tag === "None") return { _tag: "Absent" } as const
  if (info.value.type !== "File") return { _tag: "Blocked", detail: `${link.file} is not a regular file` } as const
  if (yield* fs.exists(link.target).pipe(Effect.orElseSucceed(() => true))) {
    return {
      _tag: "Blocked",
      detail: `both ${link.file} and ${link.target} exist; keep one (merge them by hand), then install again`
    } as const
  }
  return { _tag: "Movable" } as const
})

/**
 * Linking a host file failed; nothing was changed.
 *
 * @since 0.1.0
 */
export class LinkFailed extends Schema.TaggedError<LinkFailed>("@repoman/programs/SharedFiles/LinkFailed")(
  "LinkFailed",
  { file: Schema.String, target: Schema.String, detail: Schema.String }
) {
  /** One line for the user. */
  override get message(): string {
    return `cannot share ${this.file} through ${this.target}: ${this.detail}`
  }
}

/**
 * Shares a `Movable` file (see {@link hostLinkState}; other states are left
 * alone): makes the target's directory if needed, hard-links the file there,
 * checks nothing replaced the file meanwhile, and atomically puts a symlink
 * to the target in its place. At no point is the file's content missing at
 * either path; on failure the hard link is removed again. Both paths must be
 * on one file system (`LinkFailed` otherwise). Returns the state it found.
 *
 * @since 0.1.0
 */
export const linkOnHost = Effect.fn("SharedFiles.linkOnHost")(function*(link: FileLink) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const state = yield* hostLinkState(link)
  if (state._tag !== "Movable") return state
  const failed = (detail: string) => new LinkFailed({ file: link.file, target: link.target, detail })
  const temporary = `${link.file}.repoman-link`
  yield* fs.makeDirectory(path.dirname(link.target), { recursive: true }).pipe(
    Effect.mapError((e) => failed(e.message))
  )
  yield* fs.link(link.file, link.target).pipe(
    Effect.mapError((e) =>
      failed(/EXDEV|cross-device/i.test(e.message) ? "they are on different file systems" : e.message)
    )
  )
  const undo = Effect.ignore(Effect.all([Effect.ignore(fs.remove(temporary)), fs.remove(link.target)]))
  yield* Effect.gen(function*() {
    yield* fs.symlink(link.target, temporary)
    const [a, b] = yield* Effect.all([fs.stat(link.file), fs.stat(link.target)])
    if (a.ino._tag !== "Some" || b.ino._tag !== "Some" || a.ino.value !== b.ino.value) {
      return yield* failed(`${link.file} changed while it was being moved; try again`)
    }
    yield* fs.rename(temporary, link.file)
  }).pipe(
    Effect.mapError((e) => e instanceof LinkFailed ? e : failed(e.message)),
    Effect.onError(() => undo)
  )
  return state
})

/**
 * Makes each `file` a symlink to its `target` in a running container (with
 * the file's directory, owned by the container user, if it is missing).
 *
 * @since 0.1.0
 */
export const linkInContainer = Effect.fn("SharedFiles.linkInContainer")(function*(
  name: ProjectName,
  links: ReadonlyArray<FileLink>
) {
  const runtime = yield* ContainerRuntime
  const path = yield* Path.Path
  for (const link of links) {
    yield* runtime.makeDirectory(name, path.dirname(link.file), { uid: CONTAINER_ID, gid: CONTAINER_ID })
    yield* runtime.makeSymlink(name, link.file, link.target)
  }
})
