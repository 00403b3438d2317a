/**
 * Retention: keep at most `keep` checkpoints and none older than `maxAgeMs`,
 * but always the newest. Then collect the store's garbage.
 *
 * The order is crash-safe: a checkpoint's header (its commit record) goes
 * first, then its content; a crash in between leaves garbage that the next
 * prune collects, never a header whose content is gone.
 *
 * Objects are collected without reading every manifest: a checkpoint reuses
 * objects only from the checkpoint right before it, so an object that a
 * remaining checkpoint uses and that lives in the directory of a dropped one
 * is used by the oldest remaining checkpoint too. One manifest tells which
 * objects of the dropped directories stay.
 */
import * as fs from "node:fs"
import { errno } from "./fsat.ts"
import type { Header } from "./manifest.ts"
import { entriesOf, list, paths } from "./store.ts"

/** How many checkpoints to keep, and for how long. */
export interface Policy {
  readonly keep: number
  readonly maxAgeMs: number
}

/** Which checkpoints to drop (pure): oldest first in, ids out; never the newest. */
export const selectDrops = (
  checkpoints: ReadonlyArray<{ readonly id: string; readonly created: number }>,
  policy: Policy,
  now: number
): Array<string> => {
  const newestFirst = [...checkpoints].sort((a, b) => b.created - a.created || (a.id < b.id ? 1 : -1))
  // Everything older than the first one dropped goes too: what is dropped is a prefix in time.
  const cut = newestFirst.findIndex((c, i) =>
    i >= 1 && (i >= Math.max(1, policy.keep) || now - c.created > policy.maxAgeMs)
  )
  return cut < 0 ? [] : newestFirst.slice(cut).map((c) => c.id)
}

const readdir = (dir: string): Array<string> => {
  try {
    return fs.readdirSync(dir)
  } catch (e) {
    if (errno(e) === "ENOENT") return []
    throw e
  }
}

/** What a prune did, and the snapshots the caller must remove (they need `btrfs property set`). */
export interface Pruned {
  readonly dropped: ReadonlyArray<string>
  readonly objectsRemoved: number
  readonly snapshotsToRemove: ReadonlyArray<string>
}

/** Applies `policy` and collects garbage (the caller holds the lock). */
export const prune = (store: string, policy: Policy, now: number): Pruned => {
  const p = paths(store)
  const all = list(store)
  const drops = new Set(selectDrops(all.map((h) => ({ id: h.id, created: Date.parse(h.created) })), policy, now))
  for (const id of drops) {
    fs.rmSync(p.header(id), { force: true })
    fs.rmSync(p.entries(id), { force: true })
  }
  const kept = all.filter((h) => !drops.has(h.id))
  const keptIds = new Set(kept.map((h) => h.id))

  // Leftovers of takes that crashed, and entries files without a header.
  for (const name of readdir(store)) {
    if (name.startsWith(".tmp-")) fs.rmSync(`${store}/${name}`, { recursive: true, force: true })
  }
  for (const name of readdir(p.checkpoints)) {
    const id = name.replace(/\.(json|entries)$/, "")
    if (!keptIds.has(id)) fs.rmSync(`${p.checkpoints}/${name}`, { force: true })
  }

  // Objects: directories no kept header uses go; in a dropped one that is still used, what the oldest kept leaves.
  const used = new Set(kept.flatMap((h) => h.objectDirs))
  const partial = readdir(p.objects).filter((d) => used.has(d) && !keptIds.has(d))
  for (const d of readdir(p.objects)) {
    if (!used.has(d)) fs.rmSync(`${p.objects}/${d}`, { recursive: true, force: true })
  }
  let objectsRemoved = 0
  const oldest: Header | undefined = kept.find((h) => h.layout === "objects")
  if (partial.length > 0 && oldest !== undefined) {
    const live = new Set<string>()
    const prefixes = new Set(partial)
    const source = entriesOf(store, oldest)
    try {
      for (let e = source.next(); e !== undefined; e = source.next()) {
        if (e.oid !== "" && prefixes.has(e.oid.slice(0, e.oid.indexOf("/")))) live.add(e.oid)
      }
    } finally {
      source.close()
    }
    for (const d of partial) {
      for (const bucket of readdir(`${p.objects}/${d}`)) {
        for (const n of readdir(`${p.objects}/${d}/${bucket}`)) {
          if (live.has(`${d}/${bucket}/${n}`)) continue
          fs.rmSync(`${p.objects}/${d}/${bucket}/${n}`, { force: true })
          objectsRemoved++
        }
      }
    }
  }
  const snapshotsToRemove = readdir(p.snapshots)
    .filter((name) => !keptIds.has(name.replace(/^\.tmp-/, "")) || name.startsWith(".tmp-"))
    .map((name) => `${p.snapshots}/${name}`)
  return { dropped: [...drops], objectsRemoved, snapshotsToRemove }
}
