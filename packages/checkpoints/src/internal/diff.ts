/**
 * What changed between two sides (a checkpoint and the live tree, or two
 * checkpoints): both streams are in walk order, so one merge pass compares
 * them, holding only the changes.
 *
 * Content is compared without reading where identity proves it (equal oids,
 * or an equal non-racy stat identity); otherwise the bytes are compared.
 */
import type { Entry } from "./manifest.ts"
import { compareWalkOrder, within } from "./manifest.ts"
import { sameContent, type Side } from "./sides.ts"

/** One change (see `Change` of @repoman/core/Checkpoints). */
export interface ChangeRecord {
  readonly kind: "added" | "removed" | "type" | "modified" | "touched" | "mode" | "target" | "unknown"
  readonly path: string
  readonly type: "file" | "directory" | "symlink"
  readonly from?: string
  readonly to?: string
}

const TYPE = { f: "file", d: "directory", l: "symlink" } as const

/**
 * Calls `left`, `right` or `both` for each path of the union of two streams
 * in walk order; each callback runs before its side moves on, so a live
 * side's current item is the entry's.
 */
export const mergeJoin = (
  a: Side,
  b: Side,
  on: {
    readonly left: (x: Entry) => void
    readonly right: (y: Entry) => void
    readonly both: (x: Entry, y: Entry) => void
  }
): void => {
  let x = a.source.next()
  let y = b.source.next()
  while (x !== undefined || y !== undefined) {
    const c = x === undefined ? 1 : y === undefined ? -1 : compareWalkOrder(x.path, y.path)
    if (c < 0 && x !== undefined) {
      on.left(x)
      x = a.source.next()
    } else if (c > 0 && y !== undefined) {
      on.right(y)
      y = b.source.next()
    } else if (x !== undefined && y !== undefined) {
      on.both(x, y)
      x = a.source.next()
      y = b.source.next()
    }
  }
}

/** The changes from side `a` (before) to side `b` (after). */
export const diff = (a: Side, b: Side): Array<ChangeRecord> => {
  const out: Array<ChangeRecord> = []
  // A directory one side could not read: what is under it is unknown on both sides.
  let opaque: string | undefined
  const hidden = (p: string) => opaque !== undefined && p !== opaque && within(p, opaque)
  const note = (e: Entry) => {
    if (e.type === "d" && !e.saved && !hidden(e.path)) opaque = e.path
  }
  mergeJoin(a, b, {
    left: (x) => {
      if (hidden(x.path)) return
      out.push({ kind: "removed", path: x.path, type: TYPE[x.type] })
      note(x)
    },
    right: (y) => {
      if (hidden(y.path)) return
      out.push({ kind: "added", path: y.path, type: TYPE[y.type] })
      note(y)
    },
    both: (x, y) => {
      if (hidden(x.path)) return
      note(x)
      note(y)
      if (x.type !== y.type) {
        out.push({ kind: "type", path: x.path, type: TYPE[y.type], from: TYPE[x.type], to: TYPE[y.type] })
        return
      }
      if (x.type === "f") {
        const same = sameContent(a, x, b, y)
        if (same === undefined) out.push({ kind: "unknown", path: x.path, type: "file" })
        else if (!same) out.push({ kind: "modified", path: x.path, type: "file" })
        else if (x.mtime !== y.mtime) out.push({ kind: "touched", path: x.path, type: "file" })
      }
      if (x.type === "l" && x.target !== y.target) {
        out.push({ kind: "target", path: x.path, type: "symlink", from: x.target, to: y.target })
      }
      if (x.type !== "l" && x.mode !== y.mode) {
        out.push({
          kind: "mode",
          path: x.path,
          type: TYPE[x.type],
          from: x.mode.toString(8).padStart(4, "0"),
          to: y.mode.toString(8).padStart(4, "0")
        })
      }
    }
  })
  return out
}
