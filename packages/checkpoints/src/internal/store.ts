/**
 * The checkpoint store of one project and taking a checkpoint.
 *
 * Layout (mode 0700; never inside a repo, never mounted into a container):
 *
 *   checkpoints/<id>.json     the header: the commit record, written last
 *   checkpoints/<id>.entries  objects layout: the entries (manifest.ts)
 *   objects/<id>/<b>/<n>      objects layout: bytes copied by checkpoint <id>, mode 0400, never written again
 *   snapshots/<id>/           btrfs layout: a read-only snapshot of the repo subvolume
 *   .tmp-<id>/                a checkpoint being written
 *   lock                      one take, undo or prune at a time (pid and start time)
 *
 * Content is never shared with the live tree: a changed file is copied
 * (reflinked where the filesystem can: a reflink is copy-on-write, a new
 * inode) out of the tree, and an unchanged file reuses the previous
 * checkpoint's object. So an in-place write to a repo file (`echo x >> f`,
 * through any hard link the agent made) never reaches a checkpoint.
 *
 * A file is unchanged when (ino, size, mtime ns, ctime ns, mode) all equal
 * the previous checkpoint's record and that record was neither racy nor
 * incomplete. ctime is what makes this sound against a hostile writer:
 * userspace cannot set it (utimes sets it to now), every data or metadata
 * change bumps it, and (ino, ctime) cannot come back after delete+recreate
 * except within one clock tick, which the racy window covers (as it covers
 * writes through a shared mmap, which reach ctime only at writeback).
 */
import * as ProcessTable from "@repoman/node/ProcessTable"
import * as fs from "node:fs"
import { EngineError } from "./errors.ts"
import { errno, fdPath, lstatAt, openFileAt } from "./fsat.ts"
import {
  compareWalkOrder,
  EntriesReader,
  EntriesWriter,
  type Entry,
  type EntrySource,
  type Header,
  noEntries,
  readHeader,
  writeHeader
} from "./manifest.ts"
import { type FileItem, Walker, type WalkItem } from "./walk.ts"

const C = fs.constants

/** Limits and the racy window of a take. */
export interface Limits {
  readonly maxEntries: number
  readonly maxDepth: number
  /** A larger file is listed without its content (`too-large`). */
  readonly maxFileBytes: number
  /** A take that would copy more fails (nothing is left behind). */
  readonly maxNewBytes: number
  /** Entries changed this recently (ns) are racy. */
  readonly racyWindowNs: bigint
}

/** The defaults: 2M entries, depth 200, 1 GiB per file, 8 GiB per take, a 40 s racy window. */
export const defaultLimits: Limits = {
  maxEntries: 2_000_000,
  maxDepth: 200,
  maxFileBytes: 1024 * 1024 * 1024,
  maxNewBytes: 8 * 1024 * 1024 * 1024,
  // The kernel's dirty page expiry (30 s) plus its writeback interval (5 s):
  // a write into an already dirty shared mmap page reaches ctime only then.
  racyWindowNs: 40_000_000_000n
}

/** How files are copied into the store: `auto` reflinks where it can, `reflink` must, `copy` never. */
export type CopyMode = "auto" | "reflink" | "copy"

export const copyFlags = (mode: CopyMode): number =>
  mode === "reflink" ? C.COPYFILE_FICLONE_FORCE : mode === "auto" ? C.COPYFILE_FICLONE : 0

const ID = /^\d{8}T\d{6}\.\d{3}Z-[0-9a-z]{4}$/

/** A fresh id: the UTC time to the ms and 4 random characters. */
export const makeId = (now: Date): string =>
  `${now.toISOString().replace(/[-:]/g, "")}-${Math.random().toString(36).slice(2, 6).padEnd(4, "0")}`

/** The paths of a store. */
export const paths = (store: string) => ({
  checkpoints: `${store}/checkpoints`,
  objects: `${store}/objects`,
  snapshots: `${store}/snapshots`,
  lock: `${store}/lock`,
  header: (id: string) => `${store}/checkpoints/${id}.json`,
  entries: (id: string) => `${store}/checkpoints/${id}.entries`,
  object: (oid: string) => `${store}/objects/${oid}`,
  snapshot: (id: string) => `${store}/snapshots/${id}`
})

/** Makes the store's directories (0700). */
export const ensureStore = (store: string): void => {
  fs.mkdirSync(store, { recursive: true, mode: 0o700 })
  for (const d of ["checkpoints", "objects", "snapshots"]) {
    fs.mkdirSync(`${store}/${d}`, { recursive: true, mode: 0o700 })
  }
}

/** The committed checkpoints, oldest first; an unreadable header hides only itself. */
export const list = (store: string): Array<Header> => {
  let names: Array<string>
  try {
    names = fs.readdirSync(paths(store).checkpoints)
  } catch (e) {
    if (errno(e) === "ENOENT") return []
    throw e
  }
  return names
    .filter((n) => n.endsWith(".json") && ID.test(n.slice(0, -5)))
    .sort()
    .flatMap((n) => {
      try {
        const header = readHeader(`${paths(store).checkpoints}/${n}`)
        return header.id === n.slice(0, -5) ? [header] : []
      } catch (e) {
        if (e instanceof EngineError) return []
        throw e
      }
    })
}

/** The header of checkpoint `id`. */
export const load = (store: string, id: string): Header => {
  if (!ID.test(id)) throw new EngineError("NotFound", id)
  try {
    const header = readHeader(paths(store).header(id))
    if (header.id !== id) throw new EngineError("Corrupt", `it holds checkpoint ${header.id}`, paths(store).header(id))
    return header
  } catch (e) {
    if (errno(e) === "ENOENT") throw new EngineError("NotFound", id)
    throw e
  }
}

/** The entries of an objects-layout checkpoint, streamed. */
export const entriesOf = (store: string, header: Header): EntrySource =>
  header.layout === "objects" ? new EntriesReader(paths(store).entries(header.id), header.entries) : noEntries

interface LockOwner {
  readonly pid: number
  readonly start: string
}

/**
 * Takes the store's lock and returns its release; a lock whose holder no
 * longer runs (pid and start time) is taken over.
 */
export const acquireLock = (store: string): () => void => {
  ensureStore(store)
  const file = paths(store).lock
  const me = ProcessTable.self()
  const text = JSON.stringify({ pid: me.pid, start: me.start })
  for (let attempt = 0;; attempt++) {
    try {
      fs.writeFileSync(file, text, { flag: "wx", mode: 0o600 })
      break
    } catch (e) {
      if (errno(e) !== "EEXIST") throw e
    }
    let holder: LockOwner | undefined
    try {
      const parsed: unknown = JSON.parse(fs.readFileSync(file, "utf8"))
      if (
        typeof parsed === "object" && parsed !== null && "pid" in parsed && typeof parsed.pid === "number" &&
        "start" in parsed && typeof parsed.start === "string"
      ) holder = { pid: parsed.pid, start: parsed.start }
    } catch {
      holder = undefined
    }
    const alive = holder !== undefined && ProcessTable.isRunning(holder)
    if (alive || attempt > 0) {
      throw new EngineError(
        "Busy",
        holder === undefined ? `locked (${file})` : `process ${holder.pid} holds the lock ${file}`
      )
    }
    fs.rmSync(file, { force: true })
  }
  return () => {
    try {
      if (fs.readFileSync(file, "utf8") === text) fs.rmSync(file, { force: true })
    } catch {
      // gone already
    }
  }
}

/** Runs `f` holding the store's lock. */
export const withLock = <A>(store: string, f: () => A): A => {
  const release = acquireLock(store)
  try {
    return f()
  } finally {
    release()
  }
}

/** What a take is asked to do. */
export interface TakeOptions {
  readonly store: string
  readonly project: string
  readonly root: string
  readonly kind: Header["kind"]
  readonly label: string
  readonly now: Date
  readonly limits: Limits
  readonly copy: CopyMode
  /**
   * Sees each entry as it is recorded, in walk order (undo joins it with the
   * target). Called while the entry's directory is still open.
   */
  readonly observe?: ((entry: Entry, item: WalkItem) => void) | undefined
}

/** Advances through a source in walk order, yielding the record at a path if there is one. */
export class Seeker {
  private current: Entry | undefined
  private readonly source: EntrySource
  private readonly passed: (e: Entry) => void
  constructor(source: EntrySource, passed: (e: Entry) => void = () => undefined) {
    this.source = source
    this.passed = passed
    this.current = source.next()
  }
  /** The record at `path`; records before it that were not asked for go to `passed`. */
  seek(path: string): Entry | undefined {
    while (this.current !== undefined && compareWalkOrder(this.current.path, path) < 0) {
      this.passed(this.current)
      this.current = this.source.next()
    }
    if (this.current === undefined || this.current.path !== path) return undefined
    const found = this.current
    this.current = this.source.next()
    return found
  }
  /** Hands the records left to `passed`. */
  drain(): void {
    while (this.current !== undefined) {
      this.passed(this.current)
      this.current = this.source.next()
    }
  }
  close(): void {
    this.source.close()
  }
}

const SKIPPED_LISTED = 1000

const modeOf = (st: fs.BigIntStats) => Number(st.mode & 0o7777n)

/** An entry from a walk item (content decided by the caller). */
export const entryOf = (
  item: Extract<WalkItem, { readonly kind: "f" | "l" | "d" }>,
  racyFrom: bigint,
  oid: string,
  saved: boolean
): Entry => ({
  type: item.kind,
  mode: modeOf(item.st),
  size: item.kind === "d" ? 0 : Number(item.st.size),
  mtime: String(item.st.mtimeNs),
  ctime: String(item.st.ctimeNs),
  ino: String(item.st.ino),
  racy: item.st.ctimeNs >= racyFrom || item.st.mtimeNs >= racyFrom,
  saved,
  oid,
  path: item.path,
  target: item.kind === "l" ? item.target : ""
})

const sameRecord = (p: Entry, e: Entry): boolean =>
  p.type === e.type && p.mode === e.mode && p.target === e.target && p.oid === e.oid &&
  (p.type !== "f" || p.size === e.size)

/**
 * Takes an objects-layout checkpoint (the caller holds the lock). On any
 * failure nothing of it is left behind.
 */
export const take = (o: TakeOptions): Header => {
  ensureStore(o.store)
  const p = paths(o.store)
  let id = makeId(o.now)
  while (fs.existsSync(p.header(id))) id = makeId(o.now)
  const startNs = BigInt(o.now.getTime()) * 1_000_000n
  const racyFrom = startNs - o.limits.racyWindowNs
  const previous = list(o.store).at(-1)
  const chained = previous !== undefined && previous.layout === "objects" && previous.root === o.root
    ? previous
    : undefined
  const counts = { added: 0, removed: 0, changed: 0 }
  const prev = new Seeker(chained === undefined ? noEntries : entriesOf(o.store, chained), () => counts.removed++)
  const tmp = `${o.store}/.tmp-${id}`
  fs.mkdirSync(tmp, { mode: 0o700 })
  const objects = `${tmp}/objects`
  const flags = copyFlags(o.copy) | C.COPYFILE_EXCL
  const buckets = new Set<number>()
  const objectDirs = new Set<string>()
  const links = new Map<string, { readonly oid: string; readonly ctime: bigint }>()
  const skipped: Array<{ path: string; reason: "special" | "too-large" | "unreadable" | "unstable" | "too-deep" }> = []
  let skippedCount = 0
  let seq = 0
  let bytes = 0
  let copiedFiles = 0
  let copiedBytes = 0
  const skip = (path: string, reason: (typeof skipped)[number]["reason"]) => {
    skippedCount++
    if (skipped.length < SKIPPED_LISTED) skipped.push({ path, reason })
  }
  const useOid = (oid: string) => {
    objectDirs.add(oid.slice(0, oid.indexOf("/")))
    return oid
  }

  /** Copies the file out of the tree; its oid, or why its content is not kept. */
  const copyOut = (item: FileItem): string | "unreadable" | "unstable" | "too-large" => {
    let st = item.st
    for (let attempt = 0; attempt < 3; attempt++) {
      if (Number(st.size) > o.limits.maxFileBytes) return "too-large"
      if (copiedBytes + Number(st.size) > o.limits.maxNewBytes) {
        throw new EngineError("TooLarge", `it has more than ${o.limits.maxNewBytes} bytes of new content`)
      }
      let opened: ReturnType<typeof openFileAt>
      try {
        opened = openFileAt(item.dirFd, item.name, st.ino)
      } catch (e) {
        if (errno(e) === "EACCES") return "unreadable"
        throw e
      }
      if (opened !== undefined) {
        const { fd, st: before } = opened
        const n = seq++
        const bucket = n >>> 10
        const oid = `${id}/${bucket.toString(16)}/${n}`
        const dest = `${objects}/${oid.slice(id.length + 1)}`
        try {
          if (!buckets.has(bucket)) {
            fs.mkdirSync(`${objects}/${bucket.toString(16)}`, { recursive: true, mode: 0o700 })
            buckets.add(bucket)
          }
          fs.copyFileSync(fdPath(fd), dest, flags)
          const after = fs.fstatSync(fd, { bigint: true })
          if (after.size === before.size && after.mtimeNs === before.mtimeNs && after.ctimeNs === before.ctimeNs) {
            fs.chmodSync(dest, 0o400)
            copiedFiles++
            copiedBytes += Number(before.size)
            return oid
          }
          fs.unlinkSync(dest) // it changed while we copied: take it again
        } finally {
          fs.closeSync(fd)
        }
      }
      try {
        st = lstatAt(item.dirFd, item.name)
      } catch {
        return "unstable"
      }
      if (!st.isFile()) return "unstable"
    }
    return "unstable"
  }

  const walker = new Walker(o.root, o.limits)
  let writer: EntriesWriter | undefined
  try {
    writer = new EntriesWriter(`${tmp}/entries`)
    for (let item = walker.next(); item !== undefined; item = walker.next()) {
      if (item.kind === "skip") {
        skip(item.path, item.reason)
        continue
      }
      const before = prev.seek(item.path)
      let entry: Entry
      if (item.kind === "f") {
        const size = Number(item.st.size)
        bytes += size
        const key = `${item.st.dev}:${item.st.ino}`
        const linked = item.st.nlink > 1n ? links.get(key) : undefined
        const mode = modeOf(item.st)
        let oid: string | "unreadable" | "unstable" | "too-large"
        if (linked !== undefined && linked.ctime === item.st.ctimeNs) oid = linked.oid
        else if (
          before !== undefined && before.type === "f" && before.saved && !before.racy && before.oid !== "" &&
          before.ino === String(item.st.ino) && before.size === size && before.mode === mode &&
          before.mtime === String(item.st.mtimeNs) && before.ctime === String(item.st.ctimeNs)
        ) oid = before.oid
        else oid = copyOut(item)
        if (oid === "unreadable" || oid === "unstable" || oid === "too-large") {
          skip(item.path, oid)
          entry = entryOf(item, racyFrom, "", false)
        } else {
          entry = entryOf(item, racyFrom, useOid(oid), true)
          if (item.st.nlink > 1n) links.set(key, { oid, ctime: item.st.ctimeNs })
        }
      } else if (item.kind === "d") {
        if (!item.readable) skip(item.path, "unreadable")
        entry = entryOf(item, racyFrom, "", item.readable)
      } else {
        bytes += item.target.length
        entry = entryOf(item, racyFrom, "", true)
      }
      if (before === undefined) counts.added++
      else if (!sameRecord(before, entry)) counts.changed++
      writer.write(entry)
      o.observe?.(entry, item)
    }
    prev.drain()
    writer.close()
    const header: Header = {
      v: 1,
      id,
      project: o.project,
      kind: o.kind,
      label: o.label,
      layout: "objects",
      root: o.root,
      created: o.now.toISOString(),
      startedNs: String(startNs),
      entries: writer.count,
      bytes,
      copiedFiles,
      copiedBytes,
      skippedCount,
      skipped,
      ...(chained === undefined ? {} : { changes: counts }),
      objectDirs: [...objectDirs].sort()
    }
    // Commit: the content first, the header (the commit record) last.
    if (buckets.size > 0) fs.renameSync(objects, p.object(id))
    fs.renameSync(`${tmp}/entries`, p.entries(id))
    writeHeader(`${tmp}/header`, header)
    fs.renameSync(`${tmp}/header`, p.header(id))
    fs.rmSync(tmp, { recursive: true, force: true })
    return header
  } catch (e) {
    writer?.abort()
    fs.rmSync(tmp, { recursive: true, force: true })
    fs.rmSync(p.entries(id), { force: true })
    fs.rmSync(p.object(id), { recursive: true, force: true })
    throw e
  } finally {
    prev.close()
    walker.close()
  }
}

/**
 * Records a btrfs snapshot the caller made at `snapshots/.tmp-<id>` as
 * checkpoint `id` (the caller holds the lock).
 */
export const commitSnapshot = (
  o: Pick<TakeOptions, "store" | "project" | "root" | "kind" | "label" | "now">,
  id: string
): Header => {
  const p = paths(o.store)
  fs.renameSync(`${p.snapshots}/.tmp-${id}`, p.snapshot(id))
  const header: Header = {
    v: 1,
    id,
    project: o.project,
    kind: o.kind,
    label: o.label,
    layout: "btrfs-snapshot",
    root: o.root,
    created: o.now.toISOString(),
    startedNs: String(BigInt(o.now.getTime()) * 1_000_000n),
    entries: 0,
    bytes: 0,
    copiedFiles: 0,
    copiedBytes: 0,
    skippedCount: 0,
    skipped: [],
    objectDirs: []
  }
  const tmp = `${p.checkpoints}/.tmp-${id}.json`
  fs.rmSync(tmp, { force: true })
  writeHeader(tmp, header)
  fs.renameSync(tmp, p.header(id))
  return header
}

/** Whether `dir` is the root of a btrfs subvolume (inode 256 on btrfs) owned by this user. */
export const isOwnBtrfsSubvolume = (dir: string): boolean => {
  try {
    const st = fs.statSync(dir, { bigint: true })
    return st.ino === 256n && fs.statfsSync(dir).type === 0x9123683e && Number(st.uid) === process.getuid?.()
  } catch {
    return false
  }
}
