/**
 * A checkpoint on disk: a header (`<id>.json`, decoded with a Schema: the
 * commit record, written last) and, for the objects layout, its entries
 * (`<id>.entries`): one tab-separated line per entry, in walk order
 * (pre-order, names sorted bytewise within a directory), streamed in and out
 * so that memory stays flat whatever the size of the tree.
 *
 * Entry line: `type mode size mtime ctime ino flags oid path target`
 * - type `f` (regular file), `d` (directory), `l` (symlink);
 * - mode in octal (07777 bits); size, mtime and ctime (ns), ino in decimal;
 * - flags `-` or letters: `r` racy (changed too recently to trust its
 *   identity next time), `s` content not kept;
 * - oid: where the bytes of a kept file are in the object store (`-` for none);
 * - path and target: byte strings, `\` and control characters escaped as `\xHH`.
 */
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import { EngineError } from "./errors.ts"

/** The type letter of an entry. */
export type EntryType = "f" | "d" | "l"

/** One entry of a checkpoint or of a walk. */
export interface Entry {
  readonly type: EntryType
  readonly mode: number
  readonly size: number
  /** Nanoseconds, as a decimal string (compared as strings: canonical, no leading zeros). */
  readonly mtime: string
  readonly ctime: string
  readonly ino: string
  /** Changed within the racy window before the walk: never trusted as unchanged later. */
  readonly racy: boolean
  /** The content was kept (a file) or the directory was readable. */
  readonly saved: boolean
  /** Objects layout: the object holding the bytes (`""` otherwise). */
  readonly oid: string
  /** Relative path, a byte string. */
  readonly path: string
  /** Symlink target, a byte string (`""` otherwise). */
  readonly target: string
}

const SkippedReason = Schema.Literals(["special", "too-large", "unreadable", "unstable", "too-deep"])

/** The header of a checkpoint: its commit record. */
export const Header = Schema.Struct({
  v: Schema.Literal(1),
  id: Schema.String,
  project: Schema.String,
  kind: Schema.Literals(["session", "undo", "restore", "manual"]),
  label: Schema.String,
  layout: Schema.Literals(["objects", "btrfs-snapshot"]),
  root: Schema.String,
  created: Schema.String,
  /** The walk's start, ns since the epoch: entries younger than the racy window before it are racy. */
  startedNs: Schema.String,
  entries: Schema.Int,
  bytes: Schema.Number,
  copiedFiles: Schema.Int,
  copiedBytes: Schema.Number,
  skippedCount: Schema.Int,
  skipped: Schema.Array(Schema.Struct({ path: Schema.String, reason: SkippedReason })),
  changes: Schema.optionalKey(Schema.Struct({ added: Schema.Int, removed: Schema.Int, changed: Schema.Int })),
  /** The object directories (checkpoint ids) whose objects this checkpoint uses. */
  objectDirs: Schema.Array(Schema.String)
})
/** The decoded header. */
export type Header = typeof Header.Type

const HeaderJson = Schema.fromJsonString(Header)
const decodeHeader = Schema.decodeUnknownSync(HeaderJson)
const encodeHeader = Schema.encodeSync(HeaderJson)

/** The header of `file`. */
export const readHeader = (file: string): Header => {
  const text = fs.readFileSync(file, "utf8")
  try {
    return decodeHeader(text)
  } catch (e) {
    throw new EngineError("Corrupt", e instanceof Error ? e.message.split("\n")[0] ?? "" : String(e), file)
  }
}

/** Writes `header` to `file` (a new file; the caller renames it into place). */
export const writeHeader = (file: string, header: Header): void => {
  const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600)
  try {
    fs.writeSync(fd, `${encodeHeader(header)}\n`)
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
}

// --- escaping of byte strings in a line ----------------------------------------------------

// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /[\x00-\x1f\x7f\\]/

const escapeField = (s: string): string => {
  if (!NEEDS_ESCAPE.test(s)) return s
  let out = ""
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    out += c < 0x20 || c === 0x7f || c === 0x5c ? `\\x${c.toString(16).padStart(2, "0")}` : s[i]
  }
  return out
}

const HEX2 = /^[0-9a-f]{2}$/

const unescapeField = (s: string): string | undefined => {
  if (!s.includes("\\")) return s
  let out = ""
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== "\\") {
      out += s[i]
      continue
    }
    const hex = s.slice(i + 2, i + 4)
    if (s[i + 1] !== "x" || !HEX2.test(hex)) return undefined
    out += String.fromCharCode(parseInt(hex, 16))
    i += 3
  }
  return out
}

/** One line (without the newline) for `e`. */
export const encodeEntry = (e: Entry): string =>
  `${e.type}\t${e.mode.toString(8)}\t${e.size}\t${e.mtime}\t${e.ctime}\t${e.ino}\t${
    (e.racy ? "r" : "") + (e.saved ? "" : "s") || "-"
  }\t${e.oid === "" ? "-" : e.oid}\t${escapeField(e.path)}\t${escapeField(e.target)}`

const NUMBER = /^(0|[1-9][0-9]*)$/
const MODE = /^[0-7]{1,5}$/
const FLAGS = /^(-|r|s|rs)$/
const OID = /^(-|[0-9A-Za-z.]+-[0-9a-z]{4}\/[0-9a-f]+\/[0-9]+)$/

/** A clean relative path: no empty, `.` or `..` component, no leading `/`. */
export const cleanPath = (p: string): boolean =>
  p !== "" && !p.startsWith("/") && !p.split("/").some((c) => c === "" || c === "." || c === "..")

/** Parses one entry line; throws a `Corrupt` EngineError naming the file and line. */
export const decodeEntry = (line: string, file: string, n: number): Entry => {
  const bad = (detail: string) => new EngineError("Corrupt", `line ${n}: ${detail}`, file)
  const f = line.split("\t")
  if (f.length !== 10) throw bad(`expected 10 fields, found ${f.length}`)
  const [type, mode, size, mtime, ctime, ino, flags, oid, path, target] = f as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string
  ]
  if (type !== "f" && type !== "d" && type !== "l") throw bad("bad type")
  if (!MODE.test(mode)) throw bad("bad mode")
  if (!NUMBER.test(size) || !NUMBER.test(mtime) || !NUMBER.test(ctime) || !NUMBER.test(ino)) throw bad("bad number")
  if (!FLAGS.test(flags)) throw bad("bad flags")
  if (!OID.test(oid)) throw bad("bad object id")
  const p = unescapeField(path)
  const t = unescapeField(target)
  if (p === undefined || t === undefined) throw bad("bad escape")
  if (!cleanPath(p)) throw bad("the path is not a clean relative path")
  return {
    type,
    mode: parseInt(mode, 8),
    size: Number(size),
    mtime,
    ctime,
    ino,
    racy: flags.includes("r"),
    saved: !flags.includes("s"),
    oid: oid === "-" ? "" : oid,
    path: p,
    target: t
  }
}

/** Streams entry lines into a new file (fsync'ed on close). */
export class EntriesWriter {
  private readonly fd: number
  private open = true
  private chunk: Array<string> = []
  private size = 0
  count = 0

  constructor(file: string) {
    this.fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600)
  }

  write(e: Entry): void {
    const line = encodeEntry(e)
    this.chunk.push(line)
    this.size += line.length + 1
    this.count++
    if (this.size >= 1 << 20) this.flush()
  }

  private flush(): void {
    if (this.chunk.length === 0) return
    fs.writeSync(this.fd, Buffer.from(`${this.chunk.join("\n")}\n`, "latin1"))
    this.chunk = []
    this.size = 0
  }

  close(): void {
    this.flush()
    fs.fsyncSync(this.fd)
    this.open = false
    fs.closeSync(this.fd)
  }

  /** Closes without flushing (after a failure); harmless after `close`. */
  abort(): void {
    if (!this.open) return
    this.open = false
    fs.closeSync(this.fd)
  }
}

/** Something that yields entries in walk order, one at a time. */
export interface EntrySource {
  /** The next entry, or `undefined` at the end. */
  next(): Entry | undefined
  close(): void
}

/** The empty source. */
export const noEntries: EntrySource = { next: () => undefined, close: () => undefined }

/** Streams the entries of an entries file, checking each line and the count at the end. */
export class EntriesReader implements EntrySource {
  private readonly fd: number
  private readonly buf = Buffer.allocUnsafe(1 << 20)
  private lines: Array<string> = []
  private index = 0
  private rest = ""
  private eof = false
  private lineNo = 0
  private readonly file: string
  private readonly expected: number

  constructor(file: string, expected: number) {
    this.file = file
    this.expected = expected
    this.fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW)
  }

  private fill(): boolean {
    while (this.index >= this.lines.length) {
      if (this.eof) return false
      const n = fs.readSync(this.fd, this.buf, 0, this.buf.length, null)
      if (n === 0) {
        this.eof = true
        if (this.rest !== "") throw new EngineError("Corrupt", "truncated (no final newline)", this.file)
        return false
      }
      const text = this.rest + this.buf.toString("latin1", 0, n)
      const parts = text.split("\n")
      this.rest = parts.pop() ?? ""
      this.lines = parts
      this.index = 0
    }
    return true
  }

  next(): Entry | undefined {
    if (!this.fill()) {
      if (this.lineNo !== this.expected) {
        throw new EngineError("Corrupt", `the header says ${this.expected} entries, found ${this.lineNo}`, this.file)
      }
      return undefined
    }
    const line = this.lines[this.index++] as string
    this.lineNo++
    if (this.lineNo > this.expected) {
      throw new EngineError("Corrupt", `more entries than the header's ${this.expected}`, this.file)
    }
    return decodeEntry(line, this.file, this.lineNo)
  }

  close(): void {
    fs.closeSync(this.fd)
  }
}

/**
 * Walk order of two relative paths: pre-order with names sorted bytewise,
 * i.e. compared component by component (`a` < `a/b` < `a.txt`): at the first
 * difference, `/` sorts before every byte.
 */
export const compareWalkOrder = (a: string, b: string): number => {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x === y) continue
    if (x === 0x2f) return -1
    if (y === 0x2f) return 1
    return x - y
  }
  return a.length - b.length
}

/** Whether `path` is `dir` or inside it. */
export const within = (path: string, dir: string): boolean =>
  path === dir || (path.length > dir.length && path.charCodeAt(dir.length) === 0x2f && path.startsWith(dir))
