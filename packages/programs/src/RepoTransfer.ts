/**
 * Moving a tree between a host directory and a project's repo when the repo
 * lives in a storage volume of a remote engine (`new --from DIR`,
 * `repoman push NAME DIR`, `repoman pull NAME DIR`), through the runtime's
 * file API: modes and symlinks are kept, every file is owned by the
 * container user inside.
 *
 * Host to container (`push`): the host tree is the user's, walked with
 * `lstat` (a symlink is sent as a symlink, never followed; FIFOs, sockets
 * and devices are skipped and said). Setuid, setgid and sticky bits are
 * dropped.
 *
 * Container to host (`pull`): everything read is attacker input.
 *
 * - The host directory must be new (or empty): everything under it is made
 *   by the pull itself (`mkdir`, files created with `O_EXCL`, which never
 *   follows a symlink), so no name from the container can lead a write
 *   elsewhere; names are checked by the runtime (`isEntryName`).
 * - `.git` (a directory or a gitfile, at any depth) is never copied: a
 *   container's git metadata (hooks, `core.fsmonitor`, ...) would run on the
 *   host's next git command. Commits come over as patches or a bundle.
 * - Symlinks are made as symlinks with the container's target, as `git
 *   checkout` makes them, and never followed by the pull.
 * - Caps on entries, depth, bytes per file and bytes in all, so that a
 *   hostile tree cannot fill the host's disk or keep the pull going.
 * - On failure, the directory the pull made is removed again.
 *
 * @since 0.1.0
 * @module
 */
import { ConfigPaths, expandHome } from "@repoman/core/ConfigPaths"
import { ContainerRuntime, type ContainerRuntimeError } from "@repoman/core/ContainerRuntime"
import { HostFiles } from "@repoman/core/HostFiles"
import { CONTAINER_ID } from "@repoman/core/IdMapping"
import type { ProjectName } from "@repoman/core/Ids"
import { storageOf } from "@repoman/core/Project"
import { Registry } from "@repoman/core/Registry"
import * as TerminalText from "@repoman/core/TerminalText"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { requireOwnInstance } from "./Owners.ts"
import { takeVolumeCheckpoint } from "./VolumeCheckpoints.ts"

/**
 * The limits of one transfer.
 *
 * @since 0.1.0
 * @category models
 */
export interface TransferLimits {
  /** Entries (files, directories, symlinks) at most. */
  readonly maxEntries: number
  /** Directory depth at most. */
  readonly maxDepth: number
  /** Bytes of one file at most. */
  readonly maxFileBytes: number
  /** Bytes of all files together at most. */
  readonly maxTotalBytes: number
}

/**
 * The default limits: 200,000 entries, depth 256, 512 MiB per file, 8 GiB
 * in all.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_LIMITS: TransferLimits = {
  maxEntries: 200_000,
  maxDepth: 256,
  maxFileBytes: 512 * 1024 * 1024,
  maxTotalBytes: 8 * 1024 * 1024 * 1024
}

/**
 * A transfer failed; `detail` says why (escaped: it may quote a name the
 * container chose). `usage` marks a mistake of the caller (exit 2).
 *
 * @since 0.1.0
 * @category errors
 */
export class TransferError extends Schema.TaggedError<TransferError>("@repoman/programs/RepoTransfer/TransferError")(
  "TransferError",
  {
    project: Schema.String,
    detail: Schema.String,
    usage: Schema.Boolean,
    cause: Schema.optional(Schema.Defect())
  }
) {
  /** One line for the user. */
  override get message(): string {
    return `${this.project}: ${this.detail}`
  }
}

/**
 * What a transfer did: counts, bytes, and what it left out (paths relative
 * to the tree, escaped for a terminal).
 *
 * @since 0.1.0
 * @category models
 */
export interface TransferResult {
  readonly files: number
  readonly directories: number
  readonly symlinks: number
  readonly bytes: number
  readonly skipped: ReadonlyArray<{ readonly path: string; readonly reason: string }>
}

interface Counter {
  files: number
  directories: number
  symlinks: number
  bytes: number
  entries: number
  skipped: Array<{ readonly path: string; readonly reason: string }>
}

const counter = (): Counter => ({ files: 0, directories: 0, symlinks: 0, bytes: 0, entries: 0, skipped: [] })

const resultOf = (c: Counter): TransferResult => ({
  files: c.files,
  directories: c.directories,
  symlinks: c.symlinks,
  bytes: c.bytes,
  skipped: c.skipped
})

const join = (dir: string, entry: string): string => dir === "/" ? `/${entry}` : `${dir}/${entry}`
const shown = (rel: string): string => TerminalText.escape(rel.length === 0 ? "." : rel)

/** Permission bits only: setuid, setgid and sticky never cross. */
const PERMISSIONS = 0o777

/**
 * Sends the host tree at `hostDir` into the instance at `target` (a
 * directory of the instance, made if missing), owned by the container user.
 * What is in the instance already and not in the tree is kept; a file of
 * the same name is replaced.
 *
 * @since 0.1.0
 * @category programs
 */
export const pushTree = Effect.fn("pushTree")(function*(
  name: ProjectName,
  hostDir: string,
  target: string,
  limits: TransferLimits = DEFAULT_LIMITS
) {
  const runtime = yield* ContainerRuntime
  const files = yield* HostFiles
  const fs = yield* FileSystem.FileSystem
  const failed = (detail: string, cause?: unknown) =>
    new TransferError({ project: name, detail, usage: false, ...(cause === undefined ? {} : { cause }) })
  const onRuntime = (rel: string) => (e: ContainerRuntimeError) =>
    Effect.fail(failed(`cannot write ${shown(rel)} into the container: ${e.message}`, e))
  const onHost = (rel: string) => (e: { readonly message: string }) =>
    Effect.fail(failed(`cannot read ${shown(rel)} on the host: ${e.message}`, e))

  const top = yield* files.lstat(hostDir).pipe(Effect.catch(onHost("")))
  if (Option.isNone(top) || top.value.type !== "directory") {
    return yield* new TransferError({ project: name, detail: `${hostDir} is not a directory`, usage: true })
  }
  const c = counter()
  const owner = { uid: CONTAINER_ID, gid: CONTAINER_ID }
  yield* runtime.makeDirectory(name, target, { ...owner, mode: top.value.mode & PERMISSIONS }).pipe(
    Effect.catchTag("ContainerRuntimeError", onRuntime(""))
  )

  const walk = (rel: string, depth: number): Effect.Effect<void, TransferError> =>
    Effect.gen(function*() {
      if (depth > limits.maxDepth) return yield* failed(`${shown(rel)} is nested deeper than ${limits.maxDepth}`)
      const names = yield* files.readDirectory(rel.length === 0 ? hostDir : `${hostDir}/${rel}`).pipe(
        Effect.catch(onHost(rel))
      )
      for (const entry of [...names].sort()) {
        const childRel = rel.length === 0 ? entry : `${rel}/${entry}`
        const host = `${hostDir}/${childRel}`
        const inside = join(target, childRel)
        c.entries += 1
        if (c.entries > limits.maxEntries) return yield* failed(`more than ${limits.maxEntries} entries`)
        const stat = yield* files.lstat(host).pipe(Effect.catch(onHost(childRel)))
        if (Option.isNone(stat)) continue
        const mode = stat.value.mode & PERMISSIONS
        switch (stat.value.type) {
          case "directory": {
            yield* runtime.makeDirectory(name, inside, { ...owner, mode }).pipe(
              Effect.catchTag("ContainerRuntimeError", onRuntime(childRel))
            )
            c.directories += 1
            yield* walk(childRel, depth + 1)
            break
          }
          case "file": {
            if (c.bytes + stat.value.size > limits.maxTotalBytes) {
              return yield* failed(`the tree is larger than ${limits.maxTotalBytes} bytes`)
            }
            const bytes = yield* files.readRegular(host, { maxBytes: limits.maxFileBytes }).pipe(
              Effect.catch(onHost(childRel))
            )
            yield* runtime.writeFile(name, inside, bytes, { ...owner, mode }).pipe(
              Effect.catchTag("ContainerRuntimeError", onRuntime(childRel))
            )
            c.files += 1
            c.bytes += bytes.length
            break
          }
          case "symlink": {
            const link = yield* fs.readLink(host).pipe(Effect.catch(onHost(childRel)))
            const there = yield* runtime.fileInfo(name, inside).pipe(
              Effect.catchTag("ContainerRuntimeError", onRuntime(childRel))
            )
            if (Option.isSome(there)) {
              if (there.value.type !== "symlink" || there.value.target !== link) {
                c.skipped.push({ path: shown(childRel), reason: "something else is there in the container" })
              }
              break
            }
            yield* runtime.makeSymlink(name, inside, link).pipe(
              Effect.catchTag("ContainerRuntimeError", onRuntime(childRel))
            )
            c.symlinks += 1
            break
          }
          default:
            c.skipped.push({ path: shown(childRel), reason: `a ${stat.value.type.toLowerCase()} is not copied` })
        }
      }
    })
  yield* walk("", 1)
  return resultOf(c)
})

/**
 * Brings the tree at `source` (a directory of the instance) to the host
 * directory `hostDir`, which must not exist or be empty (see the module
 * doc for what is never copied and the limits).
 *
 * @since 0.1.0
 * @category programs
 */
export const pullTree = Effect.fn("pullTree")(function*(
  name: ProjectName,
  source: string,
  hostDir: string,
  limits: TransferLimits = DEFAULT_LIMITS
) {
  const runtime = yield* ContainerRuntime
  const files = yield* HostFiles
  const fs = yield* FileSystem.FileSystem
  const usage = (detail: string) => new TransferError({ project: name, detail, usage: true })
  const failed = (detail: string, cause?: unknown) =>
    new TransferError({ project: name, detail, usage: false, ...(cause === undefined ? {} : { cause }) })
  const onRuntime = (rel: string) => (e: ContainerRuntimeError) =>
    Effect.fail(failed(`cannot read ${shown(rel)} in the container: ${e.message}`, e))
  const onHost = (rel: string) => (e: { readonly message: string }) =>
    Effect.fail(failed(`cannot write ${shown(rel)} on the host: ${e.message}`, e))

  const existing = yield* files.lstat(hostDir).pipe(Effect.catch(onHost("")))
  let made = false
  if (Option.isSome(existing)) {
    if (existing.value.type !== "directory") return yield* usage(`${hostDir} exists and is not a directory`)
    const inside = yield* files.readDirectory(hostDir).pipe(Effect.catch(onHost("")))
    if (inside.length > 0) return yield* usage(`${hostDir} is not empty (pull writes only into a new directory)`)
  } else {
    yield* fs.makeDirectory(hostDir, { mode: 0o700 }).pipe(Effect.catch(onHost("")))
    made = true
  }
  const top = yield* runtime.fileInfo(name, source).pipe(Effect.catchTag("ContainerRuntimeError", onRuntime("")))
  if (Option.isNone(top) || top.value.type !== "directory") {
    return yield* failed(`${source} is not a directory in the container`)
  }

  const c = counter()
  // Directory modes are set last, deepest first: a read-only directory must
  // stay writable while the pull fills it.
  const modes: Array<{ readonly path: string; readonly mode: number }> = [{
    path: hostDir,
    mode: top.value.mode & PERMISSIONS
  }]

  const readAll = (rel: string, inside: string) =>
    Effect.gen(function*() {
      const room = Math.min(limits.maxFileBytes, limits.maxTotalBytes - c.bytes)
      const chunks = yield* runtime.readFile(name, inside, { maxBytes: room }).pipe(
        Stream.runCollect,
        Effect.catchTag("ContainerRuntimeError", (e) =>
          Effect.fail(
            failed(
              room < limits.maxFileBytes && /more than|larger|bytes/.test(e.message)
                ? `the tree is larger than ${limits.maxTotalBytes} bytes`
                : `cannot read ${shown(rel)} in the container: ${e.message}`,
              e
            )
          ))
      )
      const total = chunks.reduce((n, chunk) => n + chunk.length, 0)
      const bytes = new Uint8Array(total)
      let at = 0
      for (const chunk of chunks) {
        bytes.set(chunk, at)
        at += chunk.length
      }
      return bytes
    })

  const walk = (rel: string, depth: number): Effect.Effect<void, TransferError> =>
    Effect.gen(function*() {
      if (depth > limits.maxDepth) return yield* failed(`${shown(rel)} is nested deeper than ${limits.maxDepth}`)
      const dirInside = rel.length === 0 ? source : join(source, rel)
      const names = yield* runtime.listDirectory(name, dirInside).pipe(
        Effect.catchTag("ContainerRuntimeError", onRuntime(rel))
      )
      for (const entry of names) {
        const childRel = rel.length === 0 ? entry : `${rel}/${entry}`
        c.entries += 1
        if (c.entries > limits.maxEntries) return yield* failed(`more than ${limits.maxEntries} entries`)
        if (entry === ".git") {
          c.skipped.push({ path: shown(childRel), reason: "a container's git metadata is never copied to the host" })
          continue
        }
        const inside = join(source, childRel)
        const host = `${hostDir}/${childRel}`
        const info = yield* runtime.fileInfo(name, inside).pipe(
          Effect.catchTag("ContainerRuntimeError", onRuntime(childRel))
        )
        if (Option.isNone(info)) continue
        const mode = info.value.mode & PERMISSIONS
        switch (info.value.type) {
          case "directory": {
            yield* fs.makeDirectory(host, { mode: 0o700 }).pipe(Effect.catch(onHost(childRel)))
            modes.push({ path: host, mode })
            c.directories += 1
            yield* walk(childRel, depth + 1)
            break
          }
          case "file": {
            const bytes = yield* readAll(childRel, inside)
            // "wx": O_CREAT | O_EXCL, which fails on anything there, a symlink included.
            yield* fs.writeFile(host, bytes, { flag: "wx", mode }).pipe(Effect.catch(onHost(childRel)))
            yield* fs.chmod(host, mode).pipe(Effect.catch(onHost(childRel)))
            c.files += 1
            c.bytes += bytes.length
            break
          }
          case "symlink": {
            const link = info.value.target
            if (link === undefined || link.length === 0 || link.includes("\0")) {
              c.skipped.push({ path: shown(childRel), reason: "a symlink without a readable target" })
              break
            }
            yield* fs.symlink(link, host).pipe(Effect.catch(onHost(childRel)))
            c.symlinks += 1
            break
          }
        }
      }
    })

  return yield* Effect.gen(function*() {
    yield* walk("", 1)
    for (const { mode, path } of modes.reverse()) yield* fs.chmod(path, mode).pipe(Effect.catch(onHost(path)))
    return resultOf(c)
  }).pipe(
    Effect.tapError(() => made ? Effect.ignore(fs.remove(hostDir, { recursive: true })) : Effect.void)
  )
})

/**
 * The repo volume of a registered project, its instance (the runtime
 * owner's, checked) running (started if it was stopped: a stopped
 * container has its volume unmounted, and the file API would reach the
 * root disk under it), and the repo path inside.
 */
const volumeRepo = Effect.fn("RepoTransfer.volumeRepo")(function*(name: ProjectName) {
  const registry = yield* Registry
  const runtime = yield* ContainerRuntime
  const { home } = yield* ConfigPaths
  const document = yield* registry.load
  const project = yield* registry.getProject(name)
  const repoPath = `${expandHome(document.defaults.reposRoot, home)}/${project.repo}`
  if (storageOf(project) !== "volume") {
    return yield* new TransferError({
      project: name,
      detail: `the repo is the host directory ${repoPath}, mounted as it is: there is nothing to copy`,
      usage: true
    })
  }
  const instance = yield* requireOwnInstance(yield* runtime.get(name))
  if (instance.status === "Frozen") {
    return yield* new TransferError({ project: name, detail: "the container is frozen", usage: false })
  }
  if (instance.status !== "Running") yield* runtime.start(name)
  return repoPath
})

/**
 * `repoman pull NAME DIR`: the project's repo volume to the host directory
 * `hostDir` (new or empty), without `.git` (see the module doc).
 *
 * @since 0.1.0
 * @category programs
 */
export const pullProject = Effect.fn("pullProject")(function*(name: ProjectName, hostDir: string) {
  const repoPath = yield* volumeRepo(name)
  return yield* pullTree(name, repoPath, hostDir)
})

/**
 * `repoman push NAME DIR`: the host directory `hostDir` into the project's
 * repo volume (files of the same name replaced, others kept), after a
 * snapshot of the volume (`push-<time>`), so that a push can be undone.
 *
 * @since 0.1.0
 * @category programs
 */
export const pushProject = Effect.fn("pushProject")(function*(name: ProjectName, hostDir: string) {
  const repoPath = yield* volumeRepo(name)
  const files = yield* HostFiles
  const stat = yield* files.lstat(hostDir).pipe(
    Effect.mapError((e) => new TransferError({ project: name, detail: e.message, usage: true, cause: e }))
  )
  if (Option.isNone(stat) || stat.value.type !== "directory") {
    return yield* new TransferError({ project: name, detail: `${hostDir} is not a directory`, usage: true })
  }
  const snapshot = yield* takeVolumeCheckpoint(name, "push")
  const result = yield* pushTree(name, hostDir, repoPath)
  return { ...result, snapshot: snapshot.name }
})
