/**
 * Putting a tree back as a target (a checkpoint, or a trusted directory such
 * as a backup generation): bytes, modes, symlinks, deletions, empty
 * directories and mtimes (to the microsecond).
 *
 * Planning joins the target's entries with the current state's, both in walk
 * order; for undo the current state is the checkpoint taken just before
 * (its entries arrive as that take records them: one walk serves both).
 * Only differences are held. Applying then works through directory fds:
 *
 *  1. remove what the target does not have (or has with another type),
 *     topmost first, never following a symlink;
 *  2. in walk order, make missing directories and write differing files and
 *     symlinks: each under a fresh O_EXCL temp name in its directory, its
 *     mode and mtime set through the fd, then renamed over the name (a new
 *     inode: a hard link the agent made elsewhere is not written through);
 *  3. deepest first, set the mode and mtime of each directory touched.
 *
 * Paths whose content the target did not keep, and entries we may not
 * change (another user's), are left alone and reported. The root's own mode
 * and mtime are left as they are.
 */
import * as fs from "node:fs"
import { arg, at, errno, fdPath, O_DIR, openRoot, removeAt, secondsOf, tempName } from "./fsat.ts"
import { compareWalkOrder, type Entry, type EntrySource, within } from "./manifest.ts"
import type { Side } from "./sides.ts"
import { sameContent } from "./sides.ts"

const C = fs.constants

type Op = { readonly kind: "mkdir" | "file" | "symlink"; readonly t: Entry }

/** What applying did. */
export interface Applied {
  readonly removed: number
  readonly written: number
  readonly dirsFixed: number
  readonly leftAloneCount: number
  readonly leftAlone: ReadonlyArray<string>
}

const LEFT_ALONE_LISTED = 1000

const parentOf = (path: string): string => {
  const i = path.lastIndexOf("/")
  return i < 0 ? "" : path.slice(0, i)
}
const nameOf = (path: string): string => path.slice(path.lastIndexOf("/") + 1)

/**
 * A plan, built by feeding it the current entries in walk order
 * (`current`), then `finish`. The target is pulled as needed.
 */
export class Plan {
  readonly removals: Array<string> = []
  readonly ops: Array<Op> = []
  readonly dirs = new Map<string, Entry>()
  readonly touched = new Set<string>()
  readonly leftAlone: Array<string> = []
  leftAloneCount = 0
  private t: Entry | undefined
  private removedDir: string | undefined
  private opaque: string | undefined
  private readonly target: Side
  private readonly current: Side

  constructor(target: Side, current: Side) {
    this.target = target
    this.current = current
    this.t = target.source.next()
  }

  private alone(path: string): void {
    this.leftAloneCount++
    if (this.leftAlone.length < LEFT_ALONE_LISTED) this.leftAlone.push(path)
  }

  private touch(path: string): void {
    for (let d = parentOf(path); d !== "" && !this.touched.has(d); d = parentOf(d)) this.touched.add(d)
  }

  private hidden(path: string): boolean {
    return this.opaque !== undefined && within(path, this.opaque)
  }

  /** A target entry the current state lacks: make it. */
  private create(t: Entry): void {
    if (this.hidden(t.path)) return
    if (!t.saved) {
      // Its content was not kept (an unreadable directory: none of what is under it either).
      this.alone(t.path)
      if (t.type === "d") this.opaque = t.path
      return
    }
    this.ops.push({ kind: t.type === "d" ? "mkdir" : t.type === "f" ? "file" : "symlink", t })
    if (t.type === "d") {
      this.dirs.set(t.path, t)
      this.touched.add(t.path)
    }
    this.touch(t.path)
  }

  private remove(c: Entry): void {
    if (this.removedDir !== undefined && within(c.path, this.removedDir)) return
    this.removals.push(c.path)
    this.touch(c.path)
    if (c.type === "d") this.removedDir = c.path
  }

  /** Feeds the next current entry (walk order). */
  feed(c: Entry): void {
    while (this.t !== undefined && compareWalkOrder(this.t.path, c.path) < 0) {
      this.create(this.t)
      this.t = this.target.source.next()
    }
    const t = this.t !== undefined && this.t.path === c.path ? this.t : undefined
    if (t !== undefined) this.t = this.target.source.next()
    if (this.hidden(c.path)) return
    if (this.removedDir !== undefined && within(c.path, this.removedDir)) {
      // Inside a directory that goes: the target's entries here are made anew.
      if (t !== undefined) this.create(t)
      return
    }
    if (t === undefined) return this.remove(c)
    if (t.type === "d" && !t.saved) {
      this.alone(t.path)
      this.opaque = t.path
      return
    }
    if (c.type === "d" && !c.saved) {
      // We cannot see into it now: leave it and what is under it.
      this.alone(c.path)
      this.opaque = c.path
      return
    }
    if (t.type !== c.type) {
      this.remove(c)
      this.create(t)
      return
    }
    if (t.type === "d") {
      this.dirs.set(t.path, t)
      if (t.mode !== c.mode || t.mtime !== c.mtime) this.touched.add(t.path)
      return
    }
    if (!t.saved) return this.alone(t.path)
    const differs = t.type === "l"
      ? t.target !== c.target || t.mtime !== c.mtime
      : t.mode !== c.mode || t.mtime !== c.mtime || sameContent(this.target, t, this.current, c) !== true
    if (differs) {
      this.ops.push({ kind: t.type === "l" ? "symlink" : "file", t })
      this.touch(t.path)
    }
  }

  /** The current state is complete: what the target has beyond it is made. */
  finish(): void {
    while (this.t !== undefined) {
      this.create(this.t)
      this.t = this.target.source.next()
    }
  }
}

/** Feeds a whole entry source to the plan. */
export const planFrom = (plan: Plan, source: EntrySource): Plan => {
  for (let c = source.next(); c !== undefined; c = source.next()) plan.feed(c)
  plan.finish()
  return plan
}

/** Open directory fds along the path being worked on. */
class Cursor {
  private readonly stack: Array<{ readonly name: string; readonly fd: number }> = []
  private readonly rootFd: number
  constructor(rootFd: number) {
    this.rootFd = rootFd
  }
  private top(): number {
    return this.stack.at(-1)?.fd ?? this.rootFd
  }
  at(dir: string): number {
    const parts = dir === "" ? [] : dir.split("/")
    let i = 0
    while (i < this.stack.length && i < parts.length && this.stack[i]?.name === parts[i]) i++
    while (this.stack.length > i) fs.closeSync((this.stack.pop() as { fd: number }).fd)
    for (; i < parts.length; i++) {
      const name = parts[i] as string
      const fd = fs.openSync(at(this.top(), name), O_DIR)
      this.stack.push({ name, fd })
    }
    return this.top()
  }
  close(): void {
    while (this.stack.length > 0) fs.closeSync((this.stack.pop() as { fd: number }).fd)
  }
}

/** Runs `f` in directory `dirFd`, opening it up for its owner (us) if a write is refused. */
const inWritable = <A>(dirFd: number, f: () => A): A => {
  try {
    return f()
  } catch (e) {
    if (errno(e) !== "EACCES") throw e
    const st = fs.fstatSync(dirFd)
    fs.fchmodSync(dirFd, (st.mode & 0o7777) | 0o700)
    return f()
  }
}

const writeFile = (dirFd: number, name: string, source: number, t: Entry, flags: number) =>
  inWritable(dirFd, () => {
    const tmp = tempName()
    const fd = fs.openSync(at(dirFd, tmp), C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600)
    try {
      fs.copyFileSync(fdPath(source), fdPath(fd), flags)
      fs.fchmodSync(fd, t.mode)
      const mtime = secondsOf(BigInt(t.mtime))
      fs.futimesSync(fd, mtime, mtime)
    } catch (e) {
      fs.closeSync(fd)
      fs.rmSync(at(dirFd, tmp), { force: true })
      throw e
    }
    fs.closeSync(fd)
    fs.renameSync(at(dirFd, tmp), at(dirFd, name))
  })

const writeSymlink = (dirFd: number, name: string, t: Entry) =>
  inWritable(dirFd, () => {
    const tmp = tempName()
    fs.symlinkSync(arg(t.target), at(dirFd, tmp))
    const mtime = secondsOf(BigInt(t.mtime))
    fs.lutimesSync(at(dirFd, tmp), mtime, mtime)
    fs.renameSync(at(dirFd, tmp), at(dirFd, name))
  })

/** Applies `plan` to the tree at `root`, with the target's bytes read from `target`. */
export const apply = (root: string, plan: Plan, target: Side, copyFlags: number): Applied => {
  const rootFd = openRoot(root)
  const cursor = new Cursor(rootFd)
  let removed = 0
  const cannot = (path: string) => {
    plan.leftAloneCount++
    if (plan.leftAlone.length < LEFT_ALONE_LISTED) plan.leftAlone.push(path)
  }
  try {
    for (const path of plan.removals) {
      const fd = cursor.at(parentOf(path))
      const base = nameOf(path)
      inWritable(
        fd,
        () => removeAt(fd, base, (n) => cannot(`${parentOf(path) === "" ? "" : `${parentOf(path)}/`}${n}`))
      )
      removed++
    }
    for (const op of plan.ops) {
      const fd = cursor.at(parentOf(op.t.path))
      const name = nameOf(op.t.path)
      if (op.kind === "mkdir") {
        inWritable(fd, () => fs.mkdirSync(at(fd, name), 0o700))
      } else if (op.kind === "symlink") {
        writeSymlink(fd, name, op.t)
      } else {
        const source = target.open(op.t)
        if (source === undefined) {
          cannot(op.t.path)
          continue
        }
        try {
          writeFile(fd, name, source, op.t, copyFlags)
        } finally {
          fs.closeSync(source)
        }
      }
    }
    let dirsFixed = 0
    const dirs = [...plan.touched].sort(compareWalkOrder).reverse()
    for (const d of dirs) {
      const t = plan.dirs.get(d)
      if (t === undefined) continue
      const fd = cursor.at(d)
      fs.fchmodSync(fd, t.mode)
      const mtime = secondsOf(BigInt(t.mtime))
      fs.futimesSync(fd, mtime, mtime)
      dirsFixed++
    }
    return {
      removed,
      written: plan.ops.length,
      dirsFixed,
      leftAloneCount: plan.leftAloneCount,
      leftAlone: plan.leftAlone
    }
  } finally {
    cursor.close()
    fs.closeSync(rootFd)
  }
}
