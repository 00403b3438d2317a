/**
 * An in-memory {@link Checkpoints} for unit tests and embedders: trees are
 * maps from a relative path to an entry, held by a handle the test changes
 * (as an agent would) and reads back. It keeps the contract's shape: `undo`
 * and `applyTree` take a checkpoint of kind `undo`/`restore` first, `restore`
 * refuses a directory that exists, `take` keeps at most `keep` checkpoints.
 *
 * @since 0.1.0
 * @module
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import {
  ApplyResult,
  Change,
  ChangeCounts,
  CheckpointDiff,
  CheckpointError,
  CheckpointId,
  CheckpointInfo,
  type CheckpointKind,
  type CheckpointRoot,
  Checkpoints,
  NotFound,
  RootInvalid,
  TargetExists,
  UndoResult
} from "./Checkpoints.ts"
import type { ProjectName } from "./Ids.ts"
import { Timestamp } from "./Project.ts"

/**
 * One entry of a memory tree.
 *
 * @since 0.1.0
 * @category models
 */
export type MemoryEntry =
  | { readonly type: "file"; readonly content: string; readonly mode: number }
  | { readonly type: "directory"; readonly mode: number }
  | { readonly type: "symlink"; readonly target: string }

/**
 * A tree: relative paths to entries.
 *
 * @since 0.1.0
 * @category models
 */
export type MemoryTree = Map<string, MemoryEntry>

/**
 * The state behind the memory store: the trees by root path (tests edit
 * them), and the checkpoints taken.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryCheckpointsState {
  readonly trees: Map<string, MemoryTree>
  readonly taken: Map<ProjectName, Array<{ readonly info: CheckpointInfo; readonly tree: MemoryTree }>>
}

/**
 * A fresh, empty state.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeState = (): MemoryCheckpointsState => ({ trees: new Map(), taken: new Map() })

const fail = (reason: NotFound | RootInvalid | TargetExists) => Effect.fail(new CheckpointError({ reason }))

const sameEntry = (a: MemoryEntry, b: MemoryEntry): boolean =>
  a.type === b.type && JSON.stringify(a) === JSON.stringify(b)

const changesBetween = (before: MemoryTree, after: MemoryTree): Array<Change> => {
  const out: Array<Change> = []
  for (const path of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const a = before.get(path)
    const b = after.get(path)
    if (a === undefined && b !== undefined) out.push(new Change({ kind: "added", path, type: b.type }))
    else if (a !== undefined && b === undefined) out.push(new Change({ kind: "removed", path, type: a.type }))
    else if (a !== undefined && b !== undefined && !sameEntry(a, b)) {
      if (a.type !== b.type) out.push(new Change({ kind: "type", path, type: b.type, from: a.type, to: b.type }))
      else if (a.type === "symlink" && b.type === "symlink") {
        out.push(new Change({ kind: "target", path, type: "symlink", from: a.target, to: b.target }))
      } else if (a.type !== "symlink" && b.type !== "symlink" && a.mode !== b.mode) {
        out.push(new Change({ kind: "mode", path, type: a.type, from: a.mode.toString(8), to: b.mode.toString(8) }))
      } else out.push(new Change({ kind: "modified", path, type: b.type }))
    }
  }
  return out
}

let sequence = 0

/**
 * Options of {@link make}: how many checkpoints to keep per project (default
 * 30), and whether a root never seen is an empty tree (`anyRoot`, for tests
 * that do not care about the repo) instead of a missing one.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryOptions {
  readonly keep?: number
  readonly anyRoot?: boolean
}

/**
 * Builds the memory store over `state`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (state: MemoryCheckpointsState, options: MemoryOptions = {}): Checkpoints["Service"] => {
  const keep = Math.max(1, options.keep ?? 30)
  const listOf = (project: ProjectName) => {
    const existing = state.taken.get(project)
    if (existing !== undefined) return existing
    const fresh: Array<{ readonly info: CheckpointInfo; readonly tree: MemoryTree }> = []
    state.taken.set(project, fresh)
    return fresh
  }
  const treeOf = (root: CheckpointRoot) => {
    if (options.anyRoot === true && !state.trees.has(root.path)) state.trees.set(root.path, new Map())
    const tree = state.trees.get(root.path)
    return tree === undefined
      ? fail(new RootInvalid({ path: root.path, detail: "it does not exist" }))
      : Effect.succeed(tree)
  }
  const find = (project: ProjectName, id: CheckpointId | undefined) => {
    const all = listOf(project)
    const found = id === undefined ? all.at(-1) : all.find((c) => c.info.id === id)
    return found === undefined
      ? fail(new NotFound({ project, ...(id === undefined ? {} : { id }) }))
      : Effect.succeed(found)
  }
  const record = (root: CheckpointRoot, kind: CheckpointKind, label: string) =>
    Effect.gen(function*() {
      const tree = yield* treeOf(root)
      const now = new Date(yield* Clock.currentTimeMillis)
      const all = listOf(root.project)
      const previous = all.at(-1)
      const changes = previous === undefined ? undefined : changesBetween(previous.tree, tree)
      const suffix = (sequence++ % 36 ** 4).toString(36).padStart(4, "0")
      const info = new CheckpointInfo({
        id: CheckpointId.make(`${now.toISOString().replace(/[-:]/g, "")}-${suffix}`),
        project: root.project,
        kind,
        label,
        created: Timestamp.make(now.toISOString()),
        layout: "objects",
        root: root.path,
        entries: tree.size,
        bytes: [...tree.values()].reduce((n, e) => n + (e.type === "file" ? e.content.length : 0), 0),
        copiedFiles: 0,
        copiedBytes: 0,
        skippedCount: 0,
        skipped: [],
        ...(changes === undefined ? {} : {
          changes: new ChangeCounts({
            added: changes.filter((c) => c.kind === "added").length,
            removed: changes.filter((c) => c.kind === "removed").length,
            changed: changes.filter((c) => c.kind !== "added" && c.kind !== "removed").length
          })
        })
      })
      all.push({ info, tree: new Map(tree) })
      return info
    })
  const prune = (project: ProjectName) =>
    Effect.sync(() => {
      const all = listOf(project)
      return all.splice(0, Math.max(0, all.length - keep)).map((c) => c.info.id)
    })
  const put = (root: CheckpointRoot, from: MemoryTree) =>
    Effect.sync(() => {
      const before = state.trees.get(root.path) ?? new Map()
      const changes = changesBetween(before, from)
      state.trees.set(root.path, new Map(from))
      return new ApplyResult({
        removed: changes.filter((c) => c.kind === "removed").length,
        written: changes.filter((c) => c.kind !== "removed").length,
        dirsFixed: 0,
        leftAloneCount: 0,
        leftAlone: []
      })
    })
  return Checkpoints.of({
    take: (root, kind, label) => record(root, kind, label).pipe(Effect.tap(() => prune(root.project))),
    list: (project) => Effect.sync(() => listOf(project).map((c) => c.info)),
    diff: (root, range) =>
      Effect.gen(function*() {
        const since = yield* find(root.project, range?.since)
        const until = range?.until === undefined ? undefined : yield* find(root.project, range.until)
        const after = until === undefined ? yield* treeOf(root) : until.tree
        return new CheckpointDiff({
          since: since.info.id,
          ...(until === undefined ? {} : { until: until.info.id }),
          changes: changesBetween(since.tree, after)
        })
      }),
    undo: (root, target) =>
      Effect.gen(function*() {
        const to = yield* find(root.project, target)
        const before = yield* record(root, "undo", `before undo to ${to.info.id}`)
        const applied = yield* put(root, to.tree)
        yield* prune(root.project)
        return new UndoResult({ target: to.info.id, before, applied })
      }),
    applyTree: (root, tree, kind, label) =>
      Effect.gen(function*() {
        const from = yield* treeOf({ project: root.project, path: tree })
        const before = yield* record(root, kind, label)
        const applied = yield* put(root, from)
        yield* prune(root.project)
        return new UndoResult({ before, applied })
      }),
    restore: (project, id, to) =>
      Effect.gen(function*() {
        const found = yield* find(project, id)
        if (state.trees.has(to)) return yield* fail(new TargetExists({ path: to }))
        return yield* put({ project, path: to }, found.tree)
      }),
    prune
  })
}

/**
 * The memory store as a layer over `state`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  state: MemoryCheckpointsState = makeState(),
  options: MemoryOptions = {}
): Layer.Layer<Checkpoints> => Layer.succeed(Checkpoints, make(state, options))
