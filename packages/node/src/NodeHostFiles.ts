/**
 * The real {@link HostFiles}, on `node:fs`: `lstat` for looking,
 * `O_NOFOLLOW | O_NONBLOCK` opens and an `fstat` check for reading, an
 * iterative walk that never follows a symlink for scanning.
 *
 * @since 0.1.0
 * @module
 */
import {
  type FileStat,
  type FileType,
  HostFiles,
  HostFilesError,
  Missing,
  NotRegular,
  type ScanOptions,
  TooLarge,
  type TreeScan,
  Unreadable
} from "@repoman/core/HostFiles"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { constants, type Stats } from "node:fs"
import * as fsp from "node:fs/promises"

const typeOf = (s: Stats): FileType =>
  s.isFile()
    ? "file"
    : s.isDirectory()
    ? "directory"
    : s.isSymbolicLink()
    ? "symlink"
    : s.isFIFO()
    ? "fifo"
    : s.isSocket()
    ? "socket"
    : s.isBlockDevice()
    ? "block device"
    : s.isCharacterDevice()
    ? "character device"
    : "unknown"

const statOf = (s: Stats): FileStat => ({
  type: typeOf(s),
  uid: s.uid,
  gid: s.gid,
  mode: s.mode & 0o7777,
  size: s.size,
  dev: String(s.dev),
  ino: String(s.ino)
})

const codeOf = (cause: unknown): string =>
  typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string" ? cause.code : ""

const failure = (path: string) => (cause: unknown): HostFilesError => {
  const code = codeOf(cause)
  const reason = code === "ENOENT" || code === "ENOTDIR"
    ? new Missing({ path })
    : code === "ELOOP"
    ? new NotRegular({ path, type: "symlink" })
    : new Unreadable({ path, detail: cause instanceof Error ? cause.message : String(cause) })
  return new HostFilesError({ reason, cause })
}

const notRegular = (path: string, type: FileType) => new HostFilesError({ reason: new NotRegular({ path, type }) })

const lstat = (path: string): Effect.Effect<Option.Option<FileStat>, HostFilesError> =>
  Effect.tryPromise({ try: () => fsp.lstat(path), catch: failure(path) }).pipe(
    Effect.map((s) => Option.some(statOf(s))),
    Effect.catchReason("HostFilesError", "Missing", () => Effect.succeedNone)
  )

const readRegular = (path: string, options: { readonly maxBytes: number }) =>
  Effect.gen(function*() {
    // Looked at first, so that nothing but a regular file is even opened
    // (opening a device can do things); the fstat below closes the race.
    const before = yield* lstat(path)
    if (Option.isNone(before)) return yield* new HostFilesError({ reason: new Missing({ path }) })
    if (before.value.type !== "file") return yield* notRegular(path, before.value.type)
    return yield* Effect.acquireUseRelease(
      Effect.tryPromise({
        try: () => fsp.open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK),
        catch: failure(path)
      }),
      (handle) =>
        Effect.gen(function*() {
          const opened = yield* Effect.tryPromise({ try: () => handle.stat(), catch: failure(path) })
          if (!opened.isFile()) return yield* notRegular(path, typeOf(opened))
          const limit = options.maxBytes + 1
          const buffer = new Uint8Array(Math.min(limit, Math.max(opened.size + 1, 1)))
          const chunks: Array<Uint8Array> = []
          let total = 0
          for (;;) {
            const { bytesRead } = yield* Effect.tryPromise({
              try: () => handle.read(buffer, 0, Math.min(buffer.length, limit - total)),
              catch: failure(path)
            })
            if (bytesRead === 0) break
            chunks.push(buffer.slice(0, bytesRead))
            total += bytesRead
            if (total > options.maxBytes) {
              return yield* new HostFilesError({ reason: new TooLarge({ path, maxBytes: options.maxBytes }) })
            }
          }
          const out = new Uint8Array(total)
          let offset = 0
          for (const chunk of chunks) {
            out.set(chunk, offset)
            offset += chunk.length
          }
          return out
        }),
      (handle) => Effect.promise(() => handle.close())
    )
  })

/** One directory of a walk: its path, with the device and inode `lstat` gave it. */
interface Pending {
  readonly path: string
  readonly dev: number
  readonly ino: number
}

const scanTree = (root: string, options: ScanOptions): Effect.Effect<TreeScan, HostFilesError> =>
  Effect.tryPromise({
    try: async () => {
      const max = options.maxEntries ?? Number.POSITIVE_INFINITY
      const sampleSize = options.sample ?? 20
      const top = await fsp.lstat(root)
      if (!top.isDirectory()) throw Object.assign(new Error(`${root} is not a directory`), { code: "ENOTDIR" })
      const foreign: Array<{ path: string; uid: number }> = []
      const unreadable: Array<string> = []
      const nested: Array<string> = []
      let foreignCount = 0
      let unreadableCount = 0
      let nestedCount = 0
      let entries = 0
      let complete = true
      const check = (path: string, s: Stats, depth: number, name: string) => {
        if (s.uid !== options.uid) {
          foreignCount++
          if (foreign.length < sampleSize) foreign.push({ path, uid: s.uid })
        } else if ((s.isDirectory() && (s.mode & 0o500) !== 0o500) || (s.isFile() && (s.mode & 0o400) === 0)) {
          unreadableCount++
          if (unreadable.length < sampleSize) unreadable.push(path)
        }
        // The repo's own .git is at depth 1; a nested repo's is deeper.
        if (name === ".git" && depth > 1) {
          nestedCount++
          if (nested.length < sampleSize) nested.push(path)
        }
      }
      check(root, top, 0, "")
      const stack: Array<Pending & { readonly depth: number }> = [
        { path: root, dev: top.dev, ino: top.ino, depth: 0 }
      ]
      while (stack.length > 0) {
        const dir = stack.pop()!
        let names: Array<string>
        try {
          names = await fsp.readdir(dir.path)
          // The directory may have been swapped for a symlink since it was
          // looked at: what was listed must still be the same inode.
          const again = await fsp.lstat(dir.path)
          if (!again.isDirectory() || again.ino !== dir.ino || again.dev !== dir.dev) {
            complete = false
            continue
          }
        } catch {
          complete = false
          continue
        }
        for (const name of names) {
          if (entries >= max) {
            complete = false
            break
          }
          const path = `${dir.path}/${name}`
          let s: Stats
          try {
            s = await fsp.lstat(path)
          } catch {
            complete = false
            continue
          }
          entries++
          check(path, s, dir.depth + 1, name)
          // Never through a symlink, never onto another filesystem, and not
          // into a directory of the user's that the user cannot list (it is
          // reported as unreadable already).
          const closed = s.uid === options.uid && (s.mode & 0o500) !== 0o500
          if (s.isDirectory() && s.dev === top.dev && !closed) {
            stack.push({ path, dev: s.dev, ino: s.ino, depth: dir.depth + 1 })
          }
        }
        if (entries >= max && stack.length > 0) {
          complete = false
          break
        }
      }
      return {
        entries,
        complete,
        foreign: { count: foreignCount, sample: foreign },
        unreadable: { count: unreadableCount, sample: unreadable },
        nestedGitDirs: { count: nestedCount, sample: nested }
      } satisfies TreeScan
    },
    catch: failure(root)
  })

/**
 * The real {@link HostFiles}.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<HostFiles> = Layer.succeed(
  HostFiles,
  HostFiles.of({
    lstat,
    readDirectory: (path) => Effect.tryPromise({ try: () => fsp.readdir(path), catch: failure(path) }),
    readRegular,
    scanTree
  })
)
