/**
 * The two sides a diff or an undo compares, each a stream of entries in walk
 * order plus a way to reach an entry's bytes:
 *
 * - a checkpoint of the objects layout: its entries file, bytes in the store;
 * - a btrfs snapshot, or any directory repoman trusts (a backup generation):
 *   a walk of it, bytes at the same relative path in it;
 * - the live tree: a walk of it, bytes read through the walk's directory fd.
 */
import * as fs from "node:fs"
import { arg, errno, O_READ, openFileAt } from "./fsat.ts"
import { type Entry, type EntrySource, type Header } from "./manifest.ts"
import { entriesOf, entryOf, type Limits, paths } from "./store.ts"
import { Walker, type WalkItem } from "./walk.ts"

/** Entries of a walk (skipped items are reported, not yielded); `item` is the current one. */
export class WalkSource implements EntrySource {
  readonly walker: Walker
  item: WalkItem | undefined
  private readonly racyFrom: bigint
  private readonly skipped: (path: string, reason: string) => void
  constructor(
    root: string,
    limits: Pick<Limits, "maxEntries" | "maxDepth">,
    racyFrom: bigint,
    skipped: (path: string, reason: string) => void = () => undefined
  ) {
    this.racyFrom = racyFrom
    this.skipped = skipped
    this.walker = new Walker(root, limits)
  }
  next(): Entry | undefined {
    for (;;) {
      const item = this.walker.next()
      this.item = item
      if (item === undefined) return undefined
      if (item.kind === "skip") {
        this.skipped(item.path, item.reason)
        continue
      }
      return entryOf(item, this.racyFrom, "", item.kind !== "d" || item.readable)
    }
  }
  close(): void {
    this.walker.close()
  }
}

/** One side of a comparison. */
export interface Side {
  readonly source: EntrySource
  /**
   * Whether an entry's (ino, size, mtime, ctime) is that of the live file it
   * was recorded from: then an equal, non-racy identity on both sides means
   * equal bytes. Not so for a tree from elsewhere (a backup generation).
   */
  readonly statIdentity: boolean
  /** Opens the bytes of file entry `e` (O_NOFOLLOW), or `undefined` if they are not there. */
  open(e: Entry): number | undefined
}

const openPath = (path: string): number | undefined => {
  try {
    const fd = fs.openSync(arg(path), O_READ)
    if (!fs.fstatSync(fd).isFile()) {
      fs.closeSync(fd)
      return undefined
    }
    return fd
  } catch (e) {
    const code = errno(e)
    if (code === "ENOENT" || code === "ELOOP" || code === "ENOTDIR" || code === "EACCES" || code === "ENXIO") {
      return undefined
    }
    throw e
  }
}

/** The side of a stored checkpoint: its entries, or a walk of its snapshot. */
export const checkpointSide = (store: string, header: Header, limits: Limits): Side => {
  if (header.layout === "objects") {
    return {
      source: entriesOf(store, header),
      statIdentity: true,
      open: (e) => e.oid === "" ? undefined : openPath(paths(store).object(e.oid))
    }
  }
  return treeSide(paths(store).snapshot(header.id), limits, BigInt(header.startedNs) - limits.racyWindowNs, true)
}

/** The side of a directory repoman trusts (a snapshot, a backup generation). */
export const treeSide = (dir: string, limits: Limits, racyFrom: bigint, statIdentity: boolean): Side => ({
  source: new WalkSource(dir, limits, racyFrom),
  statIdentity,
  open: (e) => openPath(`${dir}/${e.path}`)
})

/** The side of the live tree (the walk's current item gives the directory fd to read through). */
export const liveSide = (root: string, limits: Limits, racyFrom: bigint): Side & { readonly source: WalkSource } => {
  const source = new WalkSource(root, limits, racyFrom)
  return {
    source,
    statIdentity: true,
    open: (e) => {
      const item = source.item
      if (item === undefined || item.kind !== "f" || item.path !== e.path) return undefined
      return openFileAt(item.dirFd, item.name, item.st.ino)?.fd
    }
  }
}

/** Whether two open files hold the same bytes. */
export const equalFiles = (a: number, b: number): boolean => {
  const ba = Buffer.allocUnsafe(1 << 20)
  const bb = Buffer.allocUnsafe(1 << 20)
  for (let pos = 0;;) {
    const na = fs.readSync(a, ba, 0, ba.length, pos)
    let nb = 0
    while (nb < na) {
      const r = fs.readSync(b, bb, nb, na - nb, pos + nb)
      if (r === 0) break
      nb += r
    }
    if (na !== nb) return false
    if (na === 0) return fs.readSync(b, bb, 0, 1, pos) === 0
    if (!ba.subarray(0, na).equals(bb.subarray(0, na))) return false
    pos += na
  }
}

/**
 * Whether file `x` of side `a` and file `y` of side `b` hold the same bytes:
 * `true`, `false`, or `undefined` when it cannot be told (content not kept).
 */
export const sameContent = (a: Side, x: Entry, b: Side, y: Entry): boolean | undefined => {
  if (x.oid !== "" && x.oid === y.oid) return true
  const identical = x.ino === y.ino && x.size === y.size && x.mtime === y.mtime && x.ctime === y.ctime && !x.racy
  if (a.statIdentity && b.statIdentity && identical) return true
  if (!x.saved || !y.saved) return undefined
  if (x.size !== y.size) return false
  const fa = a.open(x)
  if (fa === undefined) return undefined
  try {
    const fb = b.open(y)
    if (fb === undefined) return undefined
    try {
      return equalFiles(fa, fb)
    } finally {
      fs.closeSync(fb)
    }
  } finally {
    fs.closeSync(fa)
  }
}
