/**
 * Single host files shared through a directory, on both sides: the host
 * (`repoman profile install --link-files` moves `<file>` to `<target>` and
 * leaves a symlink in its place, {@link linkOnHost}) and every new container
 * (`<file>` is a symlink to `<target>`, {@link linkInContainer}). The
 * declarations and their checks are `@repoman/core/FileLink`: the target's
 * directory is mounted read-only, so no container can put a symlink there.
 * git writes through such a symlink: it resolves it and replaces the target.
 *
 * @since 0.1.0
 * @module
 */
import { ContainerRuntime } from "@repoman/core/ContainerRuntime"
import type { FileLink } from "@repoman/core/FileLink"
import { CONTAINER_ID } from "@repoman/core/IdMapping"
import type { ProjectName } from "@repoman/core/Ids"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import * as Path from "effect/Path"
import * as Schema from "effect/Schema"

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
 * @category models
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
 * @category programs
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
 * @category errors
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
 * @category programs
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
 * the file's directory, owned by the container user, if it is missing); a
 * `file` that is that symlink already is left as it is (`config` adding a
 * profile again).
 *
 * @since 0.1.0
 * @category programs
 */
export const linkInContainer = Effect.fn("SharedFiles.linkInContainer")(function*(
  name: ProjectName,
  links: ReadonlyArray<FileLink>
) {
  const runtime = yield* ContainerRuntime
  const path = yield* Path.Path
  for (const link of links) {
    const there = yield* runtime.fileInfo(name, link.file)
    if (Option.isSome(there) && there.value.type === "symlink" && there.value.target === link.target) continue
    yield* runtime.makeDirectory(name, path.dirname(link.file), { uid: CONTAINER_ID, gid: CONTAINER_ID })
    yield* runtime.makeSymlink(name, link.file, link.target)
  }
})
