/**
 * Reading host files a container may have written, without ever following
 * them: the patches a hermetic container leaves, the repo tree a container
 * shares with the host, a `.git` a shared container can write.
 *
 * What a container writes is attacker input. A planted symlink would send a
 * plain `open` anywhere on the host, a FIFO would hang it, a huge file would
 * fill memory. Every operation here therefore:
 *
 * - looks at a path with `lstat`, never `stat` (a symlink is reported as a
 *   symlink, not as what it points to);
 * - opens files with `O_NOFOLLOW | O_NONBLOCK` and reads them only when
 *   `fstat` of the open file says "regular file", up to a byte cap;
 * - walks trees without following a symlink and without leaving the
 *   filesystem the walk started on, up to an entry cap.
 *
 * `@repoman/node` implements it (`NodeHostFiles`).
 *
 * @since 0.1.0
 * @module
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import * as Schema from "effect/Schema"

/**
 * What is at a path, as `lstat` says.
 *
 * @since 0.1.0
 * @category models
 */
export const FileType = Schema.Literals([
  "file",
  "directory",
  "symlink",
  "fifo",
  "socket",
  "block device",
  "character device",
  "unknown"
])
/**
 * The decoded type of the `FileType` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type FileType = typeof FileType.Type

/**
 * One `lstat`: the type, owner, permission bits, size, and the device and
 * inode numbers (as decimal strings: they may not fit a JavaScript number).
 *
 * @since 0.1.0
 * @category models
 */
export interface FileStat {
  readonly type: FileType
  readonly uid: number
  readonly gid: number
  /** The permission bits (`mode & 0o7777`). */
  readonly mode: number
  readonly size: number
  readonly dev: string
  readonly ino: string
}

/**
 * What a walk of a tree found (see `HostFiles.scanTree`).
 *
 * - `foreign`: entries whose owner is not the expected user (the host user
 *   cannot change or remove them, nor read them when their mode says no);
 * - `unreadable`: entries of the user that the user cannot read as they are
 *   (a file without `u+r`, a directory without `u+rx`);
 * - `nestedGitDirs`: `.git` entries below the top of the tree (nested repos:
 *   running git there on the host runs what that `.git` says);
 * - `complete`: `false` when the walk stopped at its entry cap, or could not
 *   enter a directory.
 *
 * Each list holds the first entries found (the sample size the walk was
 * given) and counts them all.
 *
 * @since 0.1.0
 * @category models
 */
export interface TreeScan {
  readonly entries: number
  readonly complete: boolean
  readonly foreign: {
    readonly count: number
    readonly sample: ReadonlyArray<{ readonly path: string; readonly uid: number }>
  }
  readonly unreadable: { readonly count: number; readonly sample: ReadonlyArray<string> }
  readonly nestedGitDirs: { readonly count: number; readonly sample: ReadonlyArray<string> }
}

/**
 * Options of a walk: the owner every entry should have, the most entries
 * to look at (default: no limit) and how many offenders to name.
 *
 * @since 0.1.0
 * @category models
 */
export interface ScanOptions {
  readonly uid: number
  readonly maxEntries?: number | undefined
  readonly sample?: number | undefined
}

/**
 * Nothing is at the path.
 *
 * @since 0.1.0
 * @category errors
 */
export class Missing extends Schema.TaggedClass<Missing>("@repoman/core/HostFiles/Missing")("Missing", {
  path: Schema.String
}) {
  /** One line for the user. */
  get message(): string {
    return `${this.path} does not exist`
  }
}

/**
 * The path is not a regular file (a symlink, a FIFO, a directory, ...), so
 * it is not read.
 *
 * @since 0.1.0
 * @category errors
 */
export class NotRegular extends Schema.TaggedClass<NotRegular>("@repoman/core/HostFiles/NotRegular")("NotRegular", {
  path: Schema.String,
  type: FileType
}) {
  /** One line for the user. */
  get message(): string {
    return `${this.path} is a ${this.type}, not a regular file: not read`
  }
}

/**
 * The file is larger than the cap it was read with.
 *
 * @since 0.1.0
 * @category errors
 */
export class TooLarge extends Schema.TaggedClass<TooLarge>("@repoman/core/HostFiles/TooLarge")("TooLarge", {
  path: Schema.String,
  maxBytes: Schema.Number
}) {
  /** One line for the user. */
  get message(): string {
    return `${this.path} is larger than ${this.maxBytes} bytes: not read`
  }
}

/**
 * Any other failure (permission denied, an I/O error), with the system's
 * words.
 *
 * @since 0.1.0
 * @category errors
 */
export class Unreadable extends Schema.TaggedClass<Unreadable>("@repoman/core/HostFiles/Unreadable")("Unreadable", {
  path: Schema.String,
  detail: Schema.String
}) {
  /** One line for the user. */
  get message(): string {
    return `cannot read ${this.path}: ${this.detail}`
  }
}

/**
 * The one error of {@link HostFiles}.
 *
 * @since 0.1.0
 * @category errors
 */
export class HostFilesError extends Schema.TaggedError<HostFilesError>("@repoman/core/HostFiles/HostFilesError")(
  "HostFilesError",
  { reason: Schema.Union([Missing, NotRegular, TooLarge, Unreadable]), cause: Schema.optional(Schema.Defect()) }
) {
  /** The reason's one-line message. */
  override get message(): string {
    return this.reason.message
  }
}

/**
 * Host file access that never follows what a container may have planted.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { HostFiles } from "@repoman/core/HostFiles"
 *
 * const readPatch = Effect.gen(function*() {
 *   const files = yield* HostFiles
 *   return yield* files.readRegular("/home/ada/.local/state/repoman/patches/isurus/0001-fix.patch", {
 *     maxBytes: 16 * 1024 * 1024
 *   })
 * })
 * ```
 *
 * @since 0.1.0
 * @category services
 */
export class HostFiles extends Context.Service<HostFiles, {
  /** `lstat(path)`: what is there, without following a symlink; `None` when nothing is. */
  lstat(path: string): Effect.Effect<Option.Option<FileStat>, HostFilesError>

  /** The names in a directory (`.` and `..` left out), in no particular order. */
  readDirectory(path: string): Effect.Effect<ReadonlyArray<string>, HostFilesError>

  /**
   * The content of the regular file at `path`: opened with `O_NOFOLLOW |
   * O_NONBLOCK` (a symlink at the last component fails, a FIFO does not
   * block), read only when `fstat` says regular file, and at most
   * `maxBytes` bytes (`TooLarge` past that).
   */
  readRegular(path: string, options: { readonly maxBytes: number }): Effect.Effect<Uint8Array, HostFilesError>

  /**
   * Walks the tree at `root` (a directory) with `lstat`: never follows a
   * symlink, stays on `root`'s filesystem, stops after `maxEntries`
   * entries. See {@link TreeScan}.
   */
  scanTree(root: string, options: ScanOptions): Effect.Effect<TreeScan, HostFilesError>
}>()("@repoman/core/HostFiles") {}
