/**
 * File operations on a tree a hostile agent writes to, each one relative to
 * a directory *file descriptor* (Node has no openat(2)).
 *
 * Every path handed to the kernel is `/proc/self/fd/<dirFd>/<name>`: the
 * magic link resolves to exactly the directory the fd holds (whatever was
 * renamed or swapped since it was opened), and `<name>` is a single
 * component that came from readdir (never `.`, `..` or with a `/`). The last
 * component is then handled by calls that do not follow it (lstat,
 * readlink, unlink, rmdir, rename, mkdir, symlink, and open with
 * O_NOFOLLOW). So no symlink in the tree is ever followed, and no
 * intermediate component is resolved by path. The process's cwd is never
 * used or changed: the walk is safe to run beside anything else.
 *
 * Names are *byte strings* (one char per byte, latin1), so any name the
 * kernel accepts round-trips; a name with bytes above 0x7f is handed to
 * node:fs as a Buffer.
 *
 * Measured on a 50,000-file tree: a walk through these paths costs the same
 * CPU as one that `chdir`s into each directory (about 0.7-0.9 s with node's
 * start on this machine's loaded CPUs, either way).
 */
import * as fs from "node:fs"

const C = fs.constants
/** Opening a directory: never through a symlink. */
export const O_DIR = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW
/** Opening a file to read: O_NOFOLLOW, and O_NONBLOCK/O_NOCTTY so a FIFO or tty swapped in cannot block. */
export const O_READ = C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK | C.O_NOCTTY

// eslint-disable-next-line no-control-regex
const NON_ASCII = /[^\x00-\x7f]/

/** The node:fs argument for a byte-string path. */
export const arg = (bytes: string): string | Buffer => NON_ASCII.test(bytes) ? Buffer.from(bytes, "latin1") : bytes

/** The path of `name` in the directory held by `dirFd`. */
export const at = (dirFd: number, name: string): string | Buffer => arg(`/proc/self/fd/${dirFd}/${name}`)

/** The path through which node:fs (or a child) reopens exactly the file of `fd`. */
export const fdPath = (fd: number): string => `/proc/self/fd/${fd}`

/** The errno code of a node:fs error. */
export const errno = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : undefined

/** Opens a root directory (a path repoman validated; symlinks above it are the user's). */
export const openRoot = (path: string): number => fs.openSync(arg(path), C.O_RDONLY | C.O_DIRECTORY)

/** Opens directory `name` in `dirFd`, never through a symlink. */
export const openDirAt = (dirFd: number, name: string): number => fs.openSync(at(dirFd, name), O_DIR)

/** The names in a directory (byte strings), sorted bytewise. */
export const listAt = (dirFd: number): Array<string> => {
  const names = fs.readdirSync(fdPath(dirFd), { encoding: "latin1" })
  names.sort()
  return names
}

/** lstat of `name` in `dirFd`, with nanosecond times. */
export const lstatAt = (dirFd: number, name: string): fs.BigIntStats => fs.lstatSync(at(dirFd, name), { bigint: true })

/** The target of symlink `name` in `dirFd`, as a byte string. */
export const readlinkAt = (dirFd: number, name: string): string =>
  fs.readlinkSync(at(dirFd, name), { encoding: "latin1" })

/**
 * Opens regular file `name` in `dirFd` for reading. Returns the fd and its
 * fstat, or `undefined` when the name is no longer the regular file with
 * inode `ino` (swapped for a symlink, a FIFO, another file, or gone): the
 * caller looks again.
 */
export const openFileAt = (
  dirFd: number,
  name: string,
  ino: bigint
): { readonly fd: number; readonly st: fs.BigIntStats } | undefined => {
  let fd: number
  try {
    fd = fs.openSync(at(dirFd, name), O_READ)
  } catch (e) {
    const code = errno(e)
    if (code === "ELOOP" || code === "ENOENT" || code === "ENXIO" || code === "ENOTDIR") return undefined
    throw e
  }
  const st = fs.fstatSync(fd, { bigint: true })
  if (!st.isFile() || st.ino !== ino) {
    fs.closeSync(fd)
    return undefined
  }
  return { fd, st }
}

/**
 * Removes `name` in `dirFd` and everything under it, never following a
 * symlink. A directory without write or search permission for its owner
 * (which is us) is opened up first. Entries we may not remove (another
 * user's) are reported to `cannot` and left.
 */
export const removeAt = (dirFd: number, name: string, cannot: (name: string, code: string) => void): void => {
  let st: fs.Stats
  try {
    st = fs.lstatSync(at(dirFd, name))
  } catch (e) {
    if (errno(e) === "ENOENT") return
    throw e
  }
  const report = (e: unknown) => {
    const code = errno(e)
    if (code === "EACCES" || code === "EPERM" || code === "ENOTEMPTY" || code === "EROFS") cannot(name, code)
    else throw e
  }
  if (!st.isDirectory()) {
    try {
      fs.unlinkSync(at(dirFd, name))
    } catch (e) {
      if (errno(e) !== "ENOENT") report(e)
    }
    return
  }
  let fd: number
  try {
    fd = openDirAt(dirFd, name)
  } catch (e) {
    const code = errno(e)
    if (code === "ENOENT") return
    if (code === "ELOOP" || code === "ENOTDIR") return removeAt(dirFd, name, cannot) // swapped: look again
    if (code !== "EACCES") throw e
    try {
      fs.chmodSync(at(dirFd, name), (st.mode & 0o7777) | 0o700) // ours, without r/x: open it up
      fd = openDirAt(dirFd, name)
    } catch (again) {
      return report(again)
    }
  }
  try {
    if ((st.mode & 0o700) !== 0o700 && st.uid === process.getuid?.()) fs.fchmodSync(fd, (st.mode & 0o7777) | 0o700)
    for (const child of listAt(fd)) removeAt(fd, child, (n, code) => cannot(`${name}/${n}`, code))
  } finally {
    fs.closeSync(fd)
  }
  try {
    fs.rmdirSync(at(dirFd, name))
  } catch (e) {
    if (errno(e) !== "ENOENT") report(e)
  }
}

let tempCounter = 0

/** A fresh name for a file repoman creates in the tree and renames into place. */
export const tempName = (): string =>
  `.repoman-tmp-${process.pid}-${(tempCounter++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`

/**
 * Seconds for `futimes`/`lutimes` from nanoseconds: node takes a double, so
 * aim at the middle of the microsecond and the kernel's truncation keeps
 * the microsecond exact (the nanoseconds within it are lost).
 */
export const secondsOf = (ns: bigint): number =>
  Number(ns / 1_000_000_000n) + (Number((ns % 1_000_000_000n) / 1000n) * 1000 + 500) / 1e9
