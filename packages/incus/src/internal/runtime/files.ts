/**
 * The file part of the Incus runtime, over the Incus file API (which works
 * on running and stopped instances alike): what is at a path, `mkdir -p`
 * with an owner, `ln -s`. A command runs only to change the owner of an
 * existing directory.
 */
import {
  Conflict,
  type ContainerRuntime,
  type ContainerRuntimeError,
  coveredBy,
  type DirectoryOptions,
  FileInfo,
  isEntryName,
  OperationFailed,
  type WriteFileOptions
} from "@repoman/core/ContainerRuntime"
import type { ProjectName } from "@repoman/core/Ids"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { mapErrors, type RuntimeContext, runtimeError, toRuntimeError } from "./context.ts"
import { getIncusInstance } from "./instances.ts"

type Shape = ContainerRuntime["Service"]

/** The largest directory listing read (16 MiB: some hundred thousand names). */
const MAX_LISTING = 16 * 1024 * 1024

/** `path` without `.` segments or a trailing `/`, or `None` when it is not absolute or climbs with `..`. */
const normalize = (path: string): Option.Option<string> => {
  if (!path.startsWith("/") || path.split("/").includes("..")) return Option.none()
  const parts = path.split("/").filter((p) => p.length > 0 && p !== ".")
  return Option.some(`/${parts.join("/")}`)
}

export const make = (
  ctx: RuntimeContext
): Pick<
  Shape,
  "fileInfo" | "readFile" | "readTextFile" | "makeDirectory" | "makeSymlink" | "writeFile" | "listDirectory"
> => {
  const { client, project } = ctx
  const subject = (name: string, operation: string) => ({ kind: "instance" as const, name, operation })
  const conflict = (name: string, detail: string) =>
    Effect.fail(runtimeError(new Conflict({ kind: "instance", name, detail })))

  const absolute = (name: ProjectName, operation: string, path: string) =>
    Option.match(normalize(path), {
      onNone: () =>
        Effect.fail(
          runtimeError(new OperationFailed({ kind: "instance", name, operation, detail: `${path} is not absolute` }))
        ),
      onSome: Effect.succeed
    })

  const statFile = (name: ProjectName, path: string) =>
    client.statInstanceFile(project, name, path).pipe(
      Effect.map(Option.map((h) =>
        new FileInfo({ type: h["x-incus-type"], uid: h["x-incus-uid"], gid: h["x-incus-gid"], mode: h["x-incus-mode"] })
      )),
      mapErrors(ctx, subject(name, "stat"))
    )

  const createDirectory = (name: ProjectName, path: string, owner: Required<DirectoryOptions>) =>
    client.createInstanceDirectory(project, name, path, owner).pipe(mapErrors(ctx, subject(name, "make directory")))

  /** `chown` by a command: the file API cannot change the owner of what exists. */
  const chown = (name: ProjectName, path: string, owner: Required<DirectoryOptions>) =>
    Effect.gen(function*() {
      const out = yield* client.execInstance(project, name, { command: ["chown", `${owner.uid}:${owner.gid}`, path] })
        .pipe(mapErrors(ctx, { ...subject(name, "make directory"), stateful: true }))
      if (out.exitCode === 0) return
      return yield* runtimeError(
        new OperationFailed({
          kind: "instance",
          name,
          operation: "make directory",
          detail: `chown ${path}: ${out.stderr.trim()}`
        })
      )
    })

  /**
   * `mkdir -p` then `chown` through the file API, a request per level: the
   * path itself is looked at first (usually all there is to do), then its
   * parents from the root down, making the missing ones.
   */
  const makeDirectory = (name: ProjectName, path: string, owner: Required<DirectoryOptions>) =>
    Effect.gen(function*() {
      // Incus answers 500 without a reason when a parent is a file; the walk below finds it.
      const existing = yield* statFile(name, path).pipe(
        Effect.catchReason("ContainerRuntimeError", "OperationFailed", () => Effect.succeedNone)
      )
      if (Option.isSome(existing)) {
        const { gid, type, uid } = existing.value
        if (type === "file") return yield* conflict(name, `${path} is not a directory`)
        // A symlink's target is not shown by the file API: chown follows it.
        if (type === "directory" && uid === owner.uid && gid === owner.gid) return
        return yield* chown(name, path, owner)
      }
      const parts = path.split("/").filter((p) => p.length > 0)
      const parents = parts.slice(0, -1).map((_, i) => `/${parts.slice(0, i + 1).join("/")}`)
      let missing = false
      for (const parent of parents) {
        if (!missing) {
          const info = yield* statFile(name, parent)
          if (Option.isSome(info)) {
            // A symlink is followed by Incus like by mkdir.
            if (info.value.type === "file") return yield* conflict(name, `${parent} is not a directory`)
            continue
          }
          missing = true
        }
        yield* createDirectory(name, parent, { uid: 0, gid: 0, mode: 0o755 })
      }
      yield* createDirectory(name, path, owner)
    })

  const readFailed = (name: string, detail: string) =>
    runtimeError(new OperationFailed({ kind: "instance", name, operation: "read file", detail }))

  const failedTo = (name: string, operation: string, detail: string) =>
    Effect.fail(runtimeError(new OperationFailed({ kind: "instance", name, operation, detail })))

  /** What is at `path`; `NotFound` (the instance) when nothing is, and the instance is missing. */
  const statIn = (name: ProjectName, path: string, operation: string) =>
    Effect.tap(
      statFile(name, path),
      (info): Effect.Effect<unknown, ContainerRuntimeError> =>
        Option.isNone(info) ? getIncusInstance(ctx, name, operation) : Effect.void
    )

  /**
   * Fails with `Conflict` when `path` lies on a storage volume of the
   * instance (its repo volume) and the instance does not run: Incus mounts
   * volumes only in a running instance, so what the file API sees there
   * then is the root disk under the mount point.
   */
  const requireMounted = (name: ProjectName, path: string, operation: string) =>
    Effect.gen(function*() {
      const instance = yield* getIncusInstance(ctx, name, operation)
      if (instance.status === "Running") return
      const onVolume = Object.values(instance.devices).some((d) =>
        d["type"] === "disk" && d["pool"] !== undefined && d["path"] !== undefined && d["path"] !== "/" &&
        coveredBy(path, [d["path"]])
      )
      if (onVolume) {
        return yield* conflict(name, `is not running: ${path} is on a volume, mounted only while it runs`)
      }
    })

  return {
    writeFile: <E = never>(
      name: ProjectName,
      path: string,
      content: Uint8Array | Stream.Stream<Uint8Array, E>,
      options: WriteFileOptions
    ): Effect.Effect<void, ContainerRuntimeError | E> =>
      Effect.gen(function*() {
        const normal = yield* absolute(name, "write file", path)
        if ((options.mode & ~0o777) !== 0) {
          return yield* failedTo(
            name,
            "write file",
            `mode ${options.mode.toString(8)}: only the permission bits (0777) can be set`
          )
        }
        yield* requireMounted(name, normal, "write file")
        const parent = normal.slice(0, normal.lastIndexOf("/")) || "/"
        // Only when the write fails is the parent looked at (one request less per file).
        const noParent = Effect.gen(function*() {
          const dir = yield* statIn(name, parent, "write file")
          if (Option.isNone(dir) || dir.value.type !== "directory") {
            return yield* failedTo(name, "write file", `${parent} is not a directory`)
          }
        })
        // Made anew over SFTP (never through a symlink at the path: see createInstanceFile).
        let stopped: { readonly error: E } | undefined
        const body = content instanceof Uint8Array
          ? Stream.make(content)
          : content.pipe(Stream.tapError((error) =>
            Effect.sync(() => {
              stopped = { error }
            })
          ))
        const { gid, mode, uid } = options
        const outcome = yield* client.createInstanceFile(project, name, normal, Stream.toAsyncIterable(body), {
          uid,
          gid,
          mode
        }).pipe(
          Effect.catch((e): Effect.Effect<never, ContainerRuntimeError | E> =>
            stopped !== undefined
              ? Effect.fail(stopped.error)
              : Effect.fail(toRuntimeError(project, subject(name, "write file"))(e))
          )
        )
        if (outcome._tag === "Directory") return yield* conflict(name, `${normal} is a directory`)
        if (outcome._tag === "Refused") {
          yield* noParent
          return yield* conflict(
            name,
            `${normal} could not be made (${outcome.detail}): the instance put something there`
          )
        }
      }),

    listDirectory: Effect.fn("IncusContainerRuntime.listDirectory")(function*(name: ProjectName, path: string) {
      const normal = yield* absolute(name, "list directory", path)
      yield* requireMounted(name, normal, "list directory")
      const info = yield* statIn(name, normal, "list directory")
      if (Option.isNone(info)) return yield* failedTo(name, "list directory", `nothing at ${normal}`)
      // A symlink is not followed: only a directory is listed.
      if (info.value.type !== "directory") return yield* conflict(name, `${normal} is not a directory`)
      const listed = yield* client.listInstanceDirectory(project, name, normal, MAX_LISTING).pipe(
        mapErrors(ctx, subject(name, "list directory"))
      )
      const names = Option.getOrUndefined(listed)
      if (names === undefined) return yield* conflict(name, `${normal} is not a directory`)
      // Names are attacker input. Incus lists a name that is not UTF-8 with U+FFFD in place of
      // its bytes: such a name, or two names the same, cannot be told apart, so it is refused.
      const bad = names.find((n, i) => !isEntryName(n) || n.includes("\uFFFD") || names.indexOf(n) !== i)
      if (bad !== undefined) {
        return yield* failedTo(
          name,
          "list directory",
          `${normal} holds an entry whose name cannot be used: ${JSON.stringify(bad)}`
        )
      }
      return [...names].sort()
    }),

    readFile: (name, path, { maxBytes }) =>
      Stream.unwrap(Effect.gen(function*() {
        const normal = yield* absolute(name, "read file", path)
        yield* requireMounted(name, normal, "read file")
        // Only a regular file: Incus answers a directory with a listing.
        const info = yield* statFile(name, normal)
        if (Option.isNone(info) || info.value.type !== "file") {
          return yield* readFailed(name, `no regular file at ${normal}`)
        }
        let total = 0
        return client.streamInstanceFile(project, name, normal).pipe(
          Stream.mapError(toRuntimeError(project, subject(name, "read file"))),
          Stream.mapEffect((chunk) => {
            total += chunk.length
            return total > maxBytes
              ? Effect.fail(readFailed(name, `${normal} is larger than ${maxBytes} bytes`))
              : Effect.succeed(chunk)
          })
        )
      })),

    fileInfo: Effect.fn("IncusContainerRuntime.fileInfo")(function*(name: ProjectName, path: string) {
      const info = yield* statFile(name, path)
      // Incus answers 404 for a missing instance too: tell the two apart.
      if (Option.isNone(info)) yield* getIncusInstance(ctx, name, "stat")
      if (Option.isNone(info) || info.value.type !== "symlink") return info
      const target = yield* client.readInstanceSymlink(project, name, path).pipe(mapErrors(ctx, subject(name, "stat")))
      return Option.some(new FileInfo({ ...info.value, target }))
    }),

    readTextFile: Effect.fn("IncusContainerRuntime.readTextFile")(
      function*(name: ProjectName, path: string, options?: { readonly maxBytes?: number }) {
        const normal = yield* absolute(name, "read file", path)
        const content = yield* client.readInstanceFile(project, name, normal, options?.maxBytes ?? 1024 * 1024).pipe(
          mapErrors(ctx, subject(name, "read file"))
        )
        // Incus answers 404 for a missing instance too: tell the two apart.
        if (Option.isNone(content)) yield* getIncusInstance(ctx, name, "read file")
        return content
      }
    ),

    makeDirectory: Effect.fn("IncusContainerRuntime.makeDirectory")(
      function*(name: ProjectName, path: string, options: DirectoryOptions) {
        const normal = yield* absolute(name, "make directory", path)
        const { gid, mode = 0o755, uid } = options
        yield* makeDirectory(name, normal, { uid, gid, mode })
      }
    ),

    makeSymlink: Effect.fn("IncusContainerRuntime.makeSymlink")(
      function*(name: ProjectName, path: string, target: string) {
        const normal = yield* absolute(name, "make symlink", path)
        if (Option.isSome(yield* statFile(name, normal))) return yield* conflict(name, `${path} exists already`)
        yield* client.createInstanceSymlink(project, name, normal, target).pipe(
          mapErrors(ctx, subject(name, "make symlink"))
        )
      }
    )
  }
}
