/**
 * The walker: a pull-based, pre-order walk of a tree (names sorted bytewise
 * within each directory), every step taken through directory fds (see
 * fsat.ts), so nothing the agent planted is followed.
 *
 * - Special files (FIFOs, sockets, devices) are yielded as `special`: listed,
 *   never opened.
 * - A directory is opened from its parent's fd with O_NOFOLLOW and its fstat
 *   checked against the lstat that named it; if it was swapped meanwhile the
 *   name is looked at again (3 times, then it is skipped as `unstable`).
 * - A directory that cannot be opened or read is yielded with
 *   `readable: false` and not entered.
 * - Directories deeper than `maxDepth` are skipped (`too-deep`); the walk
 *   holds one fd per level. More than `maxEntries` entries is an error.
 * - An entry that vanishes between readdir and lstat is not there.
 */
import type * as fs from "node:fs"
import * as nodefs from "node:fs"
import { EngineError } from "./errors.ts"
import { errno, listAt, lstatAt, openDirAt, openRoot, readlinkAt } from "./fsat.ts"

/** Limits of a walk. */
export interface WalkLimits {
  readonly maxEntries: number
  readonly maxDepth: number
}

/** A regular file the walker found. */
export interface FileItem {
  readonly kind: "f"
  readonly path: string
  readonly name: string
  /** The parent directory's fd: valid until the next call of `next`. */
  readonly dirFd: number
  readonly st: fs.BigIntStats
  readonly target: ""
}

/** What the walker yields. */
export type WalkItem =
  | FileItem
  | {
    readonly kind: "l"
    readonly path: string
    readonly name: string
    readonly dirFd: number
    readonly st: fs.BigIntStats
    /** The symlink's target (byte string). */
    readonly target: string
  }
  | {
    readonly kind: "d"
    readonly path: string
    readonly name: string
    readonly dirFd: number
    readonly st: fs.BigIntStats
    /** Whether it was entered; an unreadable directory's content is unknown. */
    readonly readable: boolean
    /** The directory's own fd while it is readable (valid until the walk leaves it). */
    readonly fd: number
  }
  | {
    readonly kind: "skip"
    readonly path: string
    readonly reason: "special" | "too-deep" | "unstable"
  }

interface Frame {
  readonly fd: number
  readonly dir: string
  readonly names: Array<string>
  index: number
  readonly depth: number
}

/** Walks the tree under `root`. Call `close` when done (also after an error). */
export class Walker {
  readonly rootFd: number
  readonly rootStat: fs.BigIntStats
  private readonly stack: Array<Frame> = []
  private count = 0

  private readonly limits: WalkLimits

  constructor(root: string, limits: WalkLimits) {
    this.limits = limits
    let fd: number
    try {
      fd = openRoot(root)
    } catch (e) {
      const code = errno(e)
      if (code === "ENOENT" || code === "ENOTDIR") {
        throw new EngineError("RootInvalid", code === "ENOENT" ? "it does not exist" : "it is not a directory", root)
      }
      throw e
    }
    this.rootFd = fd
    this.rootStat = nodefs.fstatSync(fd, { bigint: true })
    this.stack.push({ fd, dir: "", names: listAt(fd), index: 0, depth: 0 })
  }

  /** The next item in walk order, or `undefined` at the end. */
  next(): WalkItem | undefined {
    for (;;) {
      const frame = this.stack.at(-1)
      if (frame === undefined) return undefined
      if (frame.index >= frame.names.length) {
        this.stack.pop()
        if (frame.fd !== this.rootFd) nodefs.closeSync(frame.fd)
        continue
      }
      const name = frame.names[frame.index++] as string
      const item = this.visit(frame, name)
      if (item !== undefined) return item
    }
  }

  private visit(frame: Frame, name: string): WalkItem | undefined {
    const path = frame.dir === "" ? name : `${frame.dir}/${name}`
    for (let attempt = 0;; attempt++) {
      let st: fs.BigIntStats
      try {
        st = lstatAt(frame.fd, name)
      } catch (e) {
        if (errno(e) === "ENOENT") return undefined
        throw e
      }
      if (++this.count > this.limits.maxEntries) {
        throw new EngineError("TooLarge", `it has more than ${this.limits.maxEntries} entries`)
      }
      if (st.isSymbolicLink()) {
        let target: string
        try {
          target = readlinkAt(frame.fd, name)
        } catch (e) {
          const code = errno(e)
          if (code !== "EINVAL" && code !== "ENOENT") throw e
          this.count--
          if (code === "ENOENT") return undefined
          if (attempt < 3) continue
          return { kind: "skip", path, reason: "unstable" }
        }
        return { kind: "l", path, name, dirFd: frame.fd, st, target }
      }
      if (st.isFile()) return { kind: "f", path, name, dirFd: frame.fd, st, target: "" }
      if (!st.isDirectory()) return { kind: "skip", path, reason: "special" }
      if (frame.depth + 1 > this.limits.maxDepth) return { kind: "skip", path, reason: "too-deep" }
      let fd: number
      try {
        fd = openDirAt(frame.fd, name)
      } catch (e) {
        const code = errno(e)
        if (code === "EACCES") return { kind: "d", path, name, dirFd: frame.fd, st, readable: false, fd: -1 }
        if (code === "ENOENT") return undefined
        if ((code === "ELOOP" || code === "ENOTDIR") && attempt < 3) {
          this.count--
          continue
        }
        if (code === "ELOOP" || code === "ENOTDIR") return { kind: "skip", path, reason: "unstable" }
        throw e
      }
      const opened = nodefs.fstatSync(fd, { bigint: true })
      if (opened.ino !== st.ino || opened.dev !== st.dev) {
        nodefs.closeSync(fd)
        this.count--
        if (attempt < 3) continue
        return { kind: "skip", path, reason: "unstable" }
      }
      let names: Array<string>
      try {
        names = listAt(fd)
      } catch (e) {
        nodefs.closeSync(fd)
        if (errno(e) !== "EACCES") throw e
        return { kind: "d", path, name, dirFd: frame.fd, st: opened, readable: false, fd: -1 }
      }
      this.stack.push({ fd, dir: path, names, index: 0, depth: frame.depth + 1 })
      return { kind: "d", path, name, dirFd: frame.fd, st: opened, readable: true, fd }
    }
  }

  /** Closes every fd the walk holds. */
  close(): void {
    for (const frame of this.stack) if (frame.fd !== this.rootFd) nodefs.closeSync(frame.fd)
    this.stack.length = 0
    nodefs.closeSync(this.rootFd)
  }
}
