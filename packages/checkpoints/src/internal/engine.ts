/**
 * The engine's operations, as the Effect layer calls them (synchronous: a
 * take is some 60,000 syscalls for a 50,000-file tree, and a fiber per call
 * would cost more than the call). The caller holds the store's lock around
 * anything that writes, and around reads that must not see a prune.
 */
import * as fs from "node:fs"
import { type Applied, apply, Plan, planFrom } from "./apply.ts"
import { type ChangeRecord, diff } from "./diff.ts"
import { EngineError } from "./errors.ts"
import { arg, errno, O_READ } from "./fsat.ts"
import { type Entry, type Header, noEntries } from "./manifest.ts"
import { liveSide, type Side } from "./sides.ts"
import { copyFlags, type CopyMode, type Limits, paths, take, type TakeOptions } from "./store.ts"

/** Opens object `oid` of the store: committed, or still in the temp dir of the take writing it. */
export const openObject = (store: string, oid: string): number | undefined => {
  const slash = oid.indexOf("/")
  for (
    const path of [paths(store).object(oid), `${store}/.tmp-${oid.slice(0, slash)}/objects/${oid.slice(slash + 1)}`]
  ) {
    try {
      return fs.openSync(arg(path), O_READ)
    } catch (e) {
      if (errno(e) !== "ENOENT") throw e
    }
  }
  return undefined
}

/** The current state as the take before an undo records it (bytes in the store). */
const recordedSide = (store: string): Side => ({
  source: noEntries,
  statIdentity: true,
  open: (e: Entry) => e.oid === "" ? undefined : openObject(store, e.oid)
})

/** The changes from side `a` to side `b`; both are closed afterwards. */
export const diffSides = (a: Side, b: Side): Array<ChangeRecord> => {
  try {
    return diff(a, b)
  } finally {
    a.source.close()
    b.source.close()
  }
}

/** The changes from side `a` to the live tree at `root`. */
export const diffLive = (a: Side, root: string, limits: Limits, now: Date): Array<ChangeRecord> =>
  diffSides(a, liveSide(root, limits, BigInt(now.getTime()) * 1_000_000n - limits.racyWindowNs))

/** How the state before an undo is recorded. */
export type Before =
  | { readonly kind: "objects"; readonly take: Omit<TakeOptions, "observe"> }
  /** A snapshot the caller took already (its header); the live tree is then walked for the plan. */
  | { readonly kind: "snapshot"; readonly header: Header; readonly limits: Limits; readonly now: Date }

/**
 * Puts the tree at `root` back as `target`, after recording the current
 * state (`before`). Returns that record and what was changed.
 */
export const undo = (
  o: { readonly store: string; readonly root: string; readonly target: Side; readonly copy: CopyMode },
  before: Before
): { readonly before: Header; readonly applied: Applied } => {
  try {
    let header: Header
    let plan: Plan
    if (before.kind === "objects") {
      const p = new Plan(o.target, recordedSide(o.store))
      header = take({ ...before.take, observe: (entry) => p.feed(entry) })
      p.finish()
      plan = p
    } else {
      header = before.header
      const racyFrom = BigInt(before.now.getTime()) * 1_000_000n - before.limits.racyWindowNs
      const live = liveSide(o.root, before.limits, racyFrom)
      try {
        plan = planFrom(new Plan(o.target, live), live.source)
      } finally {
        live.source.close()
      }
    }
    return { before: header, applied: apply(o.root, plan, o.target, copyFlags(o.copy)) }
  } finally {
    o.target.source.close()
  }
}

/** Writes `target` out into the new directory `to` (its parent must exist). */
export const restoreTo = (to: string, target: Side, copy: CopyMode): Applied => {
  try {
    try {
      fs.mkdirSync(arg(to), 0o700)
    } catch (e) {
      const code = errno(e)
      if (code === "EEXIST") throw new EngineError("TargetExists", "it exists already", to)
      if (code === "ENOENT") throw new EngineError("RootInvalid", "its parent directory does not exist", to)
      throw e
    }
    const plan = new Plan(target, recordedSide(""))
    plan.finish()
    const applied = apply(to, plan, target, copyFlags(copy))
    fs.chmodSync(arg(to), 0o755)
    return applied
  } finally {
    target.source.close()
  }
}
