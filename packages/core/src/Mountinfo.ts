/**
 * A mount table in the `/proc/<pid>/mountinfo` format, and the questions
 * repoman asks of it: which mount holds a path (the backup guard: is the
 * backup root on a different mount than the repos root?), and where inside
 * its filesystem a host path lies (the git seal: is the mount over a
 * container's `REPO/.git` really repoman's gitdir?).
 *
 * See proc(5): each line is
 * `id parent major:minor root mountpoint options [optional fields...] - fstype source superoptions`,
 * with spaces, tabs, newlines and backslashes in paths written as octal
 * escapes (`\040`).
 *
 * @since 0.1.0
 * @module
 */
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import type * as PlatformError from "effect/PlatformError"

/**
 * One mount.
 *
 * @since 0.1.0
 * @category models
 */
export interface MountEntry {
  readonly id: number
  readonly parentId: number
  /** `major:minor` of the filesystem. */
  readonly device: string
  /** The directory of the filesystem mounted here (`/` for a whole filesystem; a bind mount's source path within it), unescaped. */
  readonly root: string
  /** The mount point, unescaped. */
  readonly mountPoint: string
  readonly fsType: string
  /** The mount source (`server:/export`, `/dev/sda1`, `tmpfs`). */
  readonly source: string
  /** The per-mount options (`rw`, `ro`, `nosuid`, ...). */
  readonly options: ReadonlyArray<string>
  /** The peer group when the mount is shared (`shared:N`), else `None`. */
  readonly sharedGroup: Option.Option<number>
}

const unescape = (s: string): string =>
  s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)))

/**
 * Parses one mountinfo line; `None` for a line that does not have the
 * documented shape.
 *
 * @since 0.1.0
 * @category utils
 */
export const parseLine = (line: string): Option.Option<MountEntry> => {
  const fields = line.trim().split(" ")
  const dash = fields.indexOf("-", 6)
  if (dash < 0 || fields.length < dash + 3) return Option.none()
  const [id, parentId, device, root, mountPoint, options] = fields
  const fsType = fields[dash + 1]
  const source = fields[dash + 2]
  if (
    id === undefined || parentId === undefined || device === undefined || root === undefined ||
    mountPoint === undefined ||
    options === undefined || fsType === undefined || source === undefined
  ) return Option.none()
  const n = Number(id)
  const p = Number(parentId)
  if (!Number.isInteger(n) || !Number.isInteger(p)) return Option.none()
  const shared = fields.slice(6, dash).find((f) => /^shared:\d+$/.test(f))
  return Option.some({
    id: n,
    parentId: p,
    device,
    root: unescape(root),
    mountPoint: unescape(mountPoint),
    fsType,
    source: unescape(source),
    options: options.split(","),
    sharedGroup: shared === undefined ? Option.none() : Option.some(Number(shared.slice("shared:".length)))
  })
}

/**
 * Parses the whole file, skipping malformed lines.
 *
 * @since 0.1.0
 * @category utils
 */
export const parse = (text: string): ReadonlyArray<MountEntry> =>
  text.split("\n").flatMap((line) => line.trim() === "" ? [] : Option.toArray(parseLine(line)))

/**
 * Whether `inner` is `outer` or lies below it (whole path components).
 *
 * @since 0.1.0
 * @category utils
 */
export const isWithin = (inner: string, outer: string): boolean =>
  outer === "/" || inner === outer || inner.startsWith(`${outer}/`)

/**
 * The mount that holds `path` (an absolute path with symlinks resolved): the
 * one with the longest mount point containing it, and of those the last
 * mounted (an automounted NFS share is mounted over its `autofs` trigger).
 *
 * @since 0.1.0
 * @category utils
 */
export const mountOf = (entries: ReadonlyArray<MountEntry>, path: string): Option.Option<MountEntry> => {
  let best: MountEntry | undefined
  for (const entry of entries) {
    if (!isWithin(path, entry.mountPoint)) continue
    if (best === undefined || entry.mountPoint.length >= best.mountPoint.length) best = entry
  }
  return Option.fromUndefinedOr(best)
}

/**
 * Reads and parses `/proc/self/mountinfo` (or another file, for tests).
 *
 * @since 0.1.0
 * @category utils
 */
export const read = (
  file = "/proc/self/mountinfo"
): Effect.Effect<ReadonlyArray<MountEntry>, PlatformError.PlatformError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    return parse(yield* fs.readFileString(file))
  })

/**
 * Where `path` (absolute, symlinks resolved) lies within its filesystem, by
 * the mount that holds it: the filesystem's device and the path from the
 * filesystem's root, the form a mountinfo `root` field takes. A container
 * mount whose device and root are these shows that very directory.
 *
 * @example
 * ```ts
 * import * as Mountinfo from "@repoman/core/Mountinfo"
 * const entries = Mountinfo.parse("27 1 254:0 / / rw - ext4 /dev/vda rw\n40 27 254:1 / /home rw - ext4 /dev/vdb rw")
 * Mountinfo.locate(entries, "/home/ada/repos") // Some({ device: "254:1", root: "/ada/repos" })
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const locate = (
  entries: ReadonlyArray<MountEntry>,
  path: string
): Option.Option<{ readonly device: string; readonly root: string }> =>
  Option.map(mountOf(entries, path), (mount) => {
    const rest = mount.mountPoint === "/" ? path : path.slice(mount.mountPoint.length)
    const root = mount.root === "/" ? rest : `${mount.root}${rest}`
    return { device: mount.device, root: root === "" ? "/" : root }
  })
