/**
 * The mount table of the current process, from `/proc/self/mountinfo`, and
 * the question the backup guard asks of it: which mount holds a path, and is
 * the backup root on a different mount than the repos root?
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
  /** The mount point, unescaped. */
  readonly mountPoint: string
  readonly fsType: string
  /** The mount source (`server:/export`, `/dev/sda1`, `tmpfs`). */
  readonly source: string
  /** The per-mount options (`rw`, `ro`, `nosuid`, ...). */
  readonly options: ReadonlyArray<string>
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
  const [id, parentId, device, , mountPoint, options] = fields
  const fsType = fields[dash + 1]
  const source = fields[dash + 2]
  if (
    id === undefined || parentId === undefined || device === undefined || mountPoint === undefined ||
    options === undefined || fsType === undefined || source === undefined
  ) return Option.none()
  const n = Number(id)
  const p = Number(parentId)
  if (!Number.isInteger(n) || !Number.isInteger(p)) return Option.none()
  return Option.some({
    id: n,
    parentId: p,
    device,
    mountPoint: unescape(mountPoint),
    fsType,
    source: unescape(source),
    options: options.split(",")
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

const contains = (mountPoint: string, path: string): boolean =>
  mountPoint === "/" || path === mountPoint || path.startsWith(`${mountPoint}/`)

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
    if (!contains(entry.mountPoint, path)) continue
    if (best === undefined || entry.mountPoint.length >= best.mountPoint.length) best = entry
  }
  return Option.fromUndefinedOr(best)
}

/**
 * Whether `backupRoot` is on a mount of its own: a different filesystem
 * (mount and device) than the one holding `reposRoot` (when given), and not
 * the root filesystem or a bare `autofs` trigger.
 *
 * @since 0.1.0
 * @category utils
 */
export const separateMount = (
  entries: ReadonlyArray<MountEntry>,
  backupRoot: string,
  reposRoot: string | undefined
): { readonly mounted: boolean; readonly mount: Option.Option<MountEntry> } => {
  const mount = mountOf(entries, backupRoot)
  if (Option.isNone(mount)) return { mounted: false, mount }
  if (mount.value.mountPoint === "/" || mount.value.fsType === "autofs") return { mounted: false, mount }
  if (reposRoot === undefined) return { mounted: true, mount }
  const repos = mountOf(entries, reposRoot)
  const same = Option.isSome(repos) && (repos.value.id === mount.value.id || repos.value.device === mount.value.device)
  return { mounted: !same, mount }
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
