/**
 * How checkpoints and their changes are shown: one line per change, names
 * escaped for the terminal (they are the agent's), and the JSON form.
 *
 * @since 0.1.0
 */
import type { Change, CheckpointInfo } from "@repoman/core/Checkpoints"
import { displayBytes, escape } from "@repoman/core/TerminalText"

const MARK: Readonly<Record<Change["kind"], string>> = {
  added: "A",
  removed: "D",
  type: "T",
  modified: "M",
  touched: "t",
  mode: "m",
  target: "L",
  unknown: "?"
}

/** One line for a change: `M  src/a.ts`, `m  run.sh (0755 -> 0644)`, `L  link (a -> b)`. */
export const changeLine = (c: Change): string => {
  const name = `${displayBytes(c.path)}${c.type === "directory" ? "/" : ""}`
  const detail = c.kind === "target"
    ? ` (${displayBytes(c.from ?? "")} -> ${displayBytes(c.to ?? "")})`
    : c.from !== undefined && c.to !== undefined
    ? ` (${c.from} -> ${c.to})`
    : ""
  return `${MARK[c.kind]}  ${name}${detail}`
}

/** Counts by kind: `3 added, 1 removed, 2 modified`. */
export const changeSummary = (changes: ReadonlyArray<Change>): string => {
  const counts = new Map<string, number>()
  for (const c of changes) counts.set(c.kind, (counts.get(c.kind) ?? 0) + 1)
  return changes.length === 0
    ? "no changes"
    : [...counts].map(([kind, n]) => `${n} ${kind === "type" ? "changed type" : kind}`).join(", ")
}

/** The exact bytes of a byte string, for JSON (the display form is escaped and may lose bytes). */
export const base64 = (bytes: string): string => Buffer.from(bytes, "latin1").toString("base64")

/** The JSON form of a change: the display path, the exact path in base64, and the rest. */
export const changeJson = (c: Change): Record<string, unknown> => ({
  kind: c.kind,
  path: displayBytes(c.path),
  pathBase64: base64(c.path),
  type: c.type,
  ...(c.from === undefined ? {} : { from: c.kind === "target" ? displayBytes(c.from) : c.from }),
  ...(c.to === undefined ? {} : { to: c.kind === "target" ? displayBytes(c.to) : c.to })
})

/** The JSON form of a checkpoint (its label escaped). */
export const checkpointJson = (c: CheckpointInfo): Record<string, unknown> => ({
  id: c.id,
  kind: c.kind,
  label: escape(c.label),
  created: c.created,
  layout: c.layout,
  entries: c.entries,
  bytes: c.bytes,
  copiedFiles: c.copiedFiles,
  copiedBytes: c.copiedBytes,
  skippedCount: c.skippedCount,
  skipped: c.skipped.map((s) => ({ path: displayBytes(s.path), reason: s.reason })),
  ...(c.changes === undefined
    ? {}
    : { changes: { added: c.changes.added, removed: c.changes.removed, changed: c.changes.changed } })
})
