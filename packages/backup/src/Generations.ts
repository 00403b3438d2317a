/**
 * Dated generations of the rsync target's backups, on the backup root:
 *
 * ```text
 * <root>/<repo>/                         the latest generation: a plain directory, as before generations
 * <root>/.repoman/<repo>/<GEN>/           an older generation (unchanged files are hard links into the next)
 * <root>/.repoman/<repo>/<GEN>.json       what each generation holds (files, bytes, when), the latest's too
 * <root>/.repoman/<repo>/.ready-<GEN>/    a new generation, complete and checked, being put in place
 * <root>/.repoman/.partial-<RUN>/<repo>/  new generations being written by a sync run
 * ```
 *
 * `GEN` is the UTC time to the second (`20260501T101502Z`). A new
 * generation is written beside the latest one (rsync `--link-dest`: only
 * what changed takes space), checked, renamed to `.ready-<GEN>`, and then
 * put in place by two renames: the latest moves to `.repoman/<repo>/<PREV>`,
 * the ready one to `<root>/<repo>`. The previous generation is never
 * written to; a sync that fails or is killed at any point leaves it whole,
 * and the next sync (under the lock) finishes a put-in-place that was
 * interrupted and drops what a dead run left half-written.
 *
 * The latest is the newest `<GEN>.json` whose directory is not under
 * `.repoman/<repo>/` (it is at `<root>/<repo>`). A backup made before
 * generations (a plain mirror) becomes the first generation the first time a
 * sync sees it: it gets its `<GEN>.json` (named after its mtime), nothing
 * moves.
 *
 * Synchronous node:fs code: a handful of renames and small files per sync.
 *
 * @since 0.1.0
 * @module
 */
import { Timestamp } from "@repoman/core/Project"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"

/**
 * What a generation holds (`<GEN>.json`).
 *
 * @since 0.1.0
 * @category models
 */
export const GenerationMeta = Schema.Struct({
  name: Schema.String,
  created: Schema.String,
  /** Entries that are not directories, and their bytes (from rsync's `--stats`, or a walk). */
  files: Schema.Int,
  bytes: Schema.Number,
  source: Schema.String
})
/**
 * The decoded type of the `GenerationMeta` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type GenerationMeta = typeof GenerationMeta.Type

const MetaJson = Schema.fromJsonString(GenerationMeta)
const decodeMeta = Schema.decodeUnknownOption(MetaJson)
const encodeMeta = Schema.encodeSync(MetaJson)

const GEN = /^\d{8}T\d{6}Z$/

/**
 * A generation's name for a time.
 *
 * @since 0.1.0
 * @category utils
 */
export const generationName = (date: Date): string => date.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}Z$/, "Z")

/**
 * The time of a generation's name, as a registry timestamp.
 *
 * @since 0.1.0
 * @category utils
 */
export const generationTime = (name: string): Timestamp =>
  Timestamp.make(
    `${name.slice(0, 4)}-${name.slice(4, 6)}-${name.slice(6, 8)}T${name.slice(9, 11)}:${name.slice(11, 13)}:${
      name.slice(13, 15)
    }Z`
  )

/**
 * Where one repo's backup lives under a backup root.
 *
 * @since 0.1.0
 * @category models
 */
export interface BackupPaths {
  /** The backup root, without a trailing slash. */
  readonly root: string
  /** repoman's own directory in the root (`.repoman`). */
  readonly state: string
  /** The latest generation as a plain mirror, at the repo's name. */
  readonly latest: string
  /** The directory of the repo's generations. */
  readonly dir: string
  /** The directory of one generation. */
  readonly generation: (name: string) => string
  /** The metadata file of one generation. */
  readonly meta: (name: string) => string
  /** The marker that says a generation is complete. */
  readonly ready: (name: string) => string
}

/**
 * The paths of one repo's backup under `root`.
 *
 * @since 0.1.0
 * @category utils
 */
export const paths = (root: string, repo: string): BackupPaths => {
  const base = `${root.replace(/\/+$/, "")}`
  const dir = `${base}/.repoman/${repo}`
  return {
    root: base,
    state: `${base}/.repoman`,
    latest: `${base}/${repo}`,
    dir,
    generation: (name: string) => `${dir}/${name}`,
    meta: (name: string) => `${dir}/${name}.json`,
    ready: (name: string) => `${dir}/.ready-${name}`
  }
}

const errno = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : undefined

const readdir = (dir: string): Array<string> => {
  try {
    return fs.readdirSync(dir)
  } catch (e) {
    if (errno(e) === "ENOENT") return []
    throw e
  }
}

const exists = (path: string): boolean => fs.lstatSync(path, { throwIfNoEntry: false }) !== undefined

/**
 * Removes a tree repoman wrote (a generation, a partial one): directories
 * without write permission for their owner are opened up first; symlinks are
 * removed, never followed.
 *
 * @since 0.1.0
 * @category utils
 */
export const removeTree = (path: string): void => removeAt(Buffer.from(path))

const SLASH = Buffer.from("/")

const removeAt = (path: Buffer): void => {
  const st = fs.lstatSync(path, { throwIfNoEntry: false })
  if (st === undefined) return
  if (!st.isDirectory()) return fs.unlinkSync(path)
  if ((st.mode & 0o700) !== 0o700) fs.chmodSync(path, (st.mode & 0o7777) | 0o700)
  for (const name of fs.readdirSync(path, { encoding: "buffer" })) removeAt(Buffer.concat([path, SLASH, name]))
  fs.rmdirSync(path)
}

/**
 * Counts what a directory holds (entries that are not directories, and
 * their bytes), for a backup made before generations.
 *
 * @since 0.1.0
 * @category utils
 */
export const totals = (dir: string): { readonly files: number; readonly bytes: number } => {
  let files = 0
  let bytes = 0
  const walk = (d: Buffer) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true, encoding: "buffer" })) {
      const p = Buffer.concat([d, Buffer.from("/"), e.name])
      if (e.isDirectory()) walk(p)
      else {
        files++
        bytes += fs.lstatSync(p).size
      }
    }
  }
  walk(Buffer.from(dir))
  return { files, bytes }
}

/**
 * The generations of one repo's backup.
 *
 * @since 0.1.0
 * @category models
 */
export interface RepoGenerations {
  /** The latest, at `<root>/<repo>`; absent when there is no backup yet. */
  readonly latest: GenerationMeta | undefined
  /** The older ones, oldest first, each in `.repoman/<repo>/<GEN>`. */
  readonly older: ReadonlyArray<GenerationMeta>
}

const readMeta = (file: string): GenerationMeta | undefined => {
  try {
    const decoded = decodeMeta(fs.readFileSync(file, "utf8"))
    return decoded._tag === "Some" ? decoded.value : undefined
  } catch {
    return undefined
  }
}

/**
 * Reads the generations of `repo` as they are on disk (no repair).
 *
 * @since 0.1.0
 * @category utils
 */
export const read = (root: string, repo: string): RepoGenerations => {
  const p = paths(root, repo)
  const metas = readdir(p.dir)
    .filter((n) => n.endsWith(".json") && GEN.test(n.slice(0, -5)))
    .sort()
    .flatMap((n) => {
      const meta = readMeta(`${p.dir}/${n}`)
      return meta !== undefined && meta.name === n.slice(0, -5) ? [meta] : []
    })
  const older = metas.filter((m) => exists(p.generation(m.name)))
  const latest = exists(p.latest) ? metas.filter((m) => !exists(p.generation(m.name))).at(-1) : undefined
  return { latest, older }
}

const writeMeta = (file: string, meta: GenerationMeta): void => {
  const tmp = `${file}.tmp-${process.pid}`
  fs.writeFileSync(tmp, encodeMeta(meta), { mode: 0o644 })
  fs.renameSync(tmp, file)
}

/**
 * Brings `repo`'s backup to a known state before a sync (the caller holds
 * the sync lock): drops what a dead run left half-written, finishes a
 * put-in-place it left half done, drops ready generations it cannot place,
 * and gives a backup made before generations its `<GEN>.json`. Returns the
 * state after.
 *
 * @since 0.1.0
 * @category utils
 */
export const recover = (root: string, repo: string, source: string, now: Date): RepoGenerations => {
  const p = paths(root, repo)
  // What a dead run was writing: never complete, never checked.
  for (const name of readdir(p.dir).filter((n) => n.startsWith(".partial-"))) removeTree(`${p.dir}/${name}`)
  for (const name of readdir(p.dir).filter((n) => n.startsWith(".ready-")).sort()) {
    const gen = name.slice(".ready-".length)
    if (!GEN.test(gen) || readMeta(p.meta(gen)) === undefined) {
      removeTree(`${p.dir}/${name}`)
      continue
    }
    const before = read(root, repo)
    if (exists(p.latest)) {
      // Not moved yet: move the latest aside under its own name (a plain mirror gets one now).
      const prev = before.latest?.name ?? adoptLegacy(root, repo, source, now).name
      if (prev === gen || exists(p.generation(prev))) {
        removeTree(`${p.dir}/${name}`)
        continue
      }
      fs.renameSync(p.latest, p.generation(prev))
    }
    fs.renameSync(p.ready(gen), p.latest)
  }
  const state = read(root, repo)
  if (state.latest === undefined && exists(p.latest)) {
    return { latest: adoptLegacy(root, repo, source, now), older: state.older }
  }
  return state
}

/** Gives a plain mirror at `<root>/<repo>` its `<GEN>.json`, named after its mtime. */
const adoptLegacy = (root: string, repo: string, source: string, now: Date): GenerationMeta => {
  const p = paths(root, repo)
  fs.mkdirSync(p.dir, { recursive: true, mode: 0o755 })
  const mtime = fs.statSync(p.latest).mtime
  let name = generationName(mtime.getTime() > now.getTime() ? now : mtime)
  while (exists(p.meta(name)) || exists(p.generation(name))) {
    name = generationName(new Date(Date.parse(generationTime(name)) - 1000))
  }
  const meta: GenerationMeta = { name, created: generationTime(name), ...totals(p.latest), source }
  writeMeta(p.meta(name), meta)
  return meta
}

/**
 * Puts the new generation written at `written` in place as the latest
 * (the caller holds the sync lock and has checked it): it becomes
 * `.ready-<GEN>` with its `<GEN>.json`, then the latest moves to
 * `.repoman/<repo>/<PREV>` and the ready one to `<root>/<repo>`.
 *
 * @since 0.1.0
 * @category utils
 */
export const commit = (
  root: string,
  repo: string,
  written: string,
  meta: GenerationMeta,
  previous: GenerationMeta | undefined
): void => {
  const p = paths(root, repo)
  fs.mkdirSync(p.dir, { recursive: true, mode: 0o755 })
  writeMeta(p.meta(meta.name), meta)
  fs.renameSync(written, p.ready(meta.name))
  if (previous !== undefined && exists(p.latest)) fs.renameSync(p.latest, p.generation(previous.name))
  fs.renameSync(p.ready(meta.name), p.latest)
}

/**
 * Drops older generations beyond `keep`, or older than `maxAgeDays` (the
 * latest always stays): the `<GEN>.json` first, then the directory.
 *
 * @since 0.1.0
 * @category utils
 */
export const prune = (root: string, repo: string, keep: number, maxAgeDays: number, now: Date): Array<string> => {
  const p = paths(root, repo)
  const { older } = read(root, repo)
  const newestFirst = [...older].reverse()
  const limit = now.getTime() - maxAgeDays * 86_400_000
  // `keep` counts the latest.
  const drop = newestFirst.filter((m, i) => i + 1 >= Math.max(1, keep) || Date.parse(m.created) < limit)
  for (const m of drop) {
    fs.rmSync(p.meta(m.name), { force: true })
    removeTree(p.generation(m.name))
  }
  return drop.map((m) => m.name)
}

/**
 * Where the backup root's filesystem keeps snapshots of its own: the
 * `.zfs/snapshot` directory of its mount (ZFS, or ZFS over NFS with
 * `snapdir=visible`), and the path of the root inside each snapshot.
 *
 * @since 0.1.0
 * @category utils
 */
export const snapshotDirs = (
  mountPoint: string,
  realRoot: string
): ReadonlyArray<{ readonly name: string; readonly path: string; readonly created: Date }> => {
  const base = `${mountPoint.replace(/\/+$/, "")}/.zfs/snapshot`
  const rel = realRoot === mountPoint ? "" : realRoot.slice(mountPoint.replace(/\/+$/, "").length + 1)
  return readdir(base).sort().flatMap((name) => {
    const path = rel === "" ? `${base}/${name}` : `${base}/${name}/${rel}`
    try {
      return [{ name, path, created: fs.statSync(`${base}/${name}`).mtime }]
    } catch {
      return []
    }
  })
}
