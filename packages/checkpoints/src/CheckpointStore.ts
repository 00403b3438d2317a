/**
 * The filesystem implementation of `Checkpoints` (`@repoman/core/Checkpoints`):
 * one store per project under a base directory (by default
 * `<repos_root>/.repoman/checkpoints/<project>`, mode 0700).
 *
 * Layouts (`[checkpoints] layout`):
 *
 * - `objects`: a manifest of every entry plus a store of copied files. A
 *   changed file is copied out of the tree (reflinked where the filesystem
 *   can: btrfs, XFS), an unchanged one reuses the previous checkpoint's copy
 *   without a syscall. No checkpoint ever shares an inode with the repo, so
 *   an in-place write to a repo file never changes a checkpoint.
 * - `btrfs-snapshot`: a read-only snapshot of the repo, where the repo dir
 *   is a btrfs subvolume the user owns (`btrfs subvolume snapshot -r`, no
 *   privileges needed); the store must be on the same btrfs filesystem.
 * - `auto` (the default): a snapshot where the repo is such a subvolume,
 *   else objects; a snapshot that fails falls back to objects.
 *
 * Every access to the tree goes through directory fds (no symlink the agent
 * planted is followed, and the process's cwd is never used), special files
 * are listed and never opened, and sizes, entry counts and depth are capped.
 * A take, an undo and a prune of one project hold its store's lock (a lock
 * left by a process that no longer runs is taken over).
 *
 * The engine is synchronous node:fs code: the event loop waits while a
 * checkpoint is taken (about a second for 50,000 files).
 *
 * @since 0.1.0
 * @module
 */
import {
  ApplyResult,
  Busy,
  Change,
  ChangeCounts,
  CheckpointDiff,
  CheckpointError,
  type CheckpointErrorReason,
  CheckpointId,
  CheckpointInfo,
  type CheckpointKind,
  type CheckpointRoot,
  Checkpoints,
  type CheckpointSettings,
  Corrupt,
  Failed,
  NotFound,
  RootInvalid,
  Skipped,
  TargetExists,
  TooLarge,
  UndoResult
} from "@repoman/core/Checkpoints"
import { ConfigPaths, expandHome, joinPath } from "@repoman/core/ConfigPaths"
import * as HostProcess from "@repoman/core/HostProcess"
import type { ProjectName } from "@repoman/core/Ids"
import { Timestamp } from "@repoman/core/Project"
import { Registry } from "@repoman/core/Registry"
import { escape } from "@repoman/core/TerminalText"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { ChildProcessSpawner } from "effect/process/ChildProcessSpawner"
import * as fs from "node:fs"
import type { Applied } from "./internal/apply.ts"
import type { ChangeRecord } from "./internal/diff.ts"
import * as Engine from "./internal/engine.ts"
import { EngineError } from "./internal/errors.ts"
import type { Header } from "./internal/manifest.ts"
import * as Retention from "./internal/retention.ts"
import { checkpointSide, treeSide } from "./internal/sides.ts"
import * as Store from "./internal/store.ts"

/**
 * Everything the store needs.
 *
 * @since 0.1.0
 * @category models
 */
export interface StoreConfig {
  /** The base directory: project `p`'s store is `<base>/<p>`. */
  readonly base: string
  readonly layout: CheckpointSettings["layout"]
  /** How files are copied into the store. Default `auto` (reflink where the filesystem can). */
  readonly copy?: Store.CopyMode | undefined
  readonly keep: number
  readonly keepDays: number
  readonly maxFileBytes: number
  readonly maxNewBytes: number
  readonly maxEntries: number
  /** The deepest a walk goes. Default 200. */
  readonly maxDepth?: number | undefined
  /** Seconds within which a change makes an entry "racy" (never trusted as unchanged). Default 40. */
  readonly racyWindowSeconds?: number | undefined
}

/**
 * The store's config from `[checkpoints]` and the repos root.
 *
 * @since 0.1.0
 * @category models
 */
export const configFromSettings = (settings: CheckpointSettings, reposRoot: string, home: string): StoreConfig => ({
  base: settings.dir === undefined
    ? joinPath(reposRoot, ".repoman", "checkpoints")
    : expandHome(settings.dir, home),
  layout: settings.layout,
  keep: settings.keep,
  keepDays: settings.keepDays,
  maxFileBytes: Math.floor(settings.maxFileMb * 1024 * 1024),
  maxNewBytes: Math.floor(settings.maxNewMb * 1024 * 1024),
  maxEntries: settings.maxEntries
})

const fail = (reason: CheckpointErrorReason, cause?: unknown) =>
  new CheckpointError({ reason, ...(cause === undefined ? {} : { cause }) })

/** The CheckpointError of whatever the engine threw. */
const toError = (project: ProjectName) => (e: unknown): CheckpointError => {
  if (e instanceof CheckpointError) return e
  if (e instanceof EngineError) {
    const detail = escape(e.detail)
    const subject = escape(e.subject)
    switch (e.reason) {
      case "NotFound":
        return fail(new NotFound({ project, ...(subject === "" && detail === "" ? {} : { id: detail }) }), e)
      case "Busy":
        return fail(new Busy({ project, detail }), e)
      case "RootInvalid":
        return fail(new RootInvalid({ path: subject, detail }), e)
      case "TooLarge":
        return fail(new TooLarge({ path: subject, detail }), e)
      case "Corrupt":
        return fail(new Corrupt({ file: subject, detail }), e)
      case "TargetExists":
        return fail(new TargetExists({ path: subject }), e)
      case "Failed":
        return fail(new Failed({ detail: subject === "" ? detail : `${subject}: ${detail}` }), e)
    }
  }
  return fail(new Failed({ detail: escape(e instanceof Error ? e.message : String(e)) }), e)
}

const infoOf = (h: Header, project: ProjectName): CheckpointInfo =>
  new CheckpointInfo({
    id: CheckpointId.make(h.id),
    project,
    kind: h.kind,
    label: h.label,
    created: Timestamp.make(h.created),
    layout: h.layout,
    root: h.root,
    entries: h.entries,
    bytes: h.bytes,
    copiedFiles: h.copiedFiles,
    copiedBytes: h.copiedBytes,
    skippedCount: h.skippedCount,
    skipped: h.skipped.map((s) => new Skipped(s)),
    ...(h.changes === undefined ? {} : { changes: new ChangeCounts(h.changes) })
  })

const appliedOf = (a: Applied): ApplyResult =>
  new ApplyResult({
    removed: a.removed,
    written: a.written,
    dirsFixed: a.dirsFixed,
    leftAloneCount: a.leftAloneCount,
    leftAlone: [...a.leftAlone]
  })

const changeOf = (c: ChangeRecord): Change =>
  new Change({
    kind: c.kind,
    path: c.path,
    type: c.type,
    ...(c.from === undefined ? {} : { from: c.from }),
    ...(c.to === undefined ? {} : { to: c.to })
  })

/**
 * Builds the store.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (config: StoreConfig): Effect.Effect<Checkpoints["Service"], never, ChildProcessSpawner> =>
  Effect.gen(function*() {
    const spawner = yield* Effect.context<ChildProcessSpawner>()
    const copy = config.copy ?? "auto"
    const limits: Store.Limits = {
      maxEntries: config.maxEntries,
      maxDepth: config.maxDepth ?? Store.defaultLimits.maxDepth,
      maxFileBytes: config.maxFileBytes,
      maxNewBytes: config.maxNewBytes,
      racyWindowNs: BigInt(Math.round((config.racyWindowSeconds ?? 40) * 1e9))
    }
    const storeOf = (project: ProjectName) => `${config.base}/${project}`
    const now = Clock.currentTimeMillis.pipe(Effect.map((ms) => new Date(ms)))
    const run = (command: string, args: ReadonlyArray<string>) =>
      HostProcess.run(command, args).pipe(Effect.provide(spawner), Effect.orElseSucceed(() => undefined))

    /** Runs `f` with the project's store locked. */
    const locked = <A>(project: ProjectName, f: (store: string) => Effect.Effect<A, CheckpointError>) => {
      const store = storeOf(project)
      return Effect.acquireUseRelease(
        Effect.try({
          try: () => Store.acquireLock(store),
          catch: toError(project)
        }),
        () => f(store),
        (release) => Effect.sync(release)
      )
    }
    const attempt = <A>(project: ProjectName, f: () => A) => Effect.try({ try: f, catch: toError(project) })

    /** Refuses a root that holds the store (a checkpoint of itself), or that is not a directory. */
    const checkRoot = (root: CheckpointRoot) =>
      attempt(root.project, () => {
        const store = storeOf(root.project)
        const real = (p: string) => {
          try {
            return fs.realpathSync(p)
          } catch {
            return p
          }
        }
        const r = real(root.path)
        const s = real(config.base)
        if (s === r || s.startsWith(`${r}/`)) {
          throw new EngineError("RootInvalid", `the checkpoint directory ${store} is inside it`, root.path)
        }
      })

    const removeSnapshots = (dirs: ReadonlyArray<string>) =>
      Effect.forEach(dirs, (dir) =>
        run("btrfs", ["property", "set", "-ts", "--", dir, "ro", "false"]).pipe(
          Effect.andThen(Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))),
          Effect.ignore
        ), { discard: true })

    const pruneLocked = (project: ProjectName, store: string) =>
      Effect.gen(function*() {
        const at = yield* Clock.currentTimeMillis
        const pruned = yield* attempt(project, () =>
          Retention.prune(store, { keep: config.keep, maxAgeMs: config.keepDays * 86_400_000 }, at))
        yield* removeSnapshots(pruned.snapshotsToRemove)
        return pruned.dropped.map((id) =>
          CheckpointId.make(id)
        )
      })

    /** Takes a btrfs snapshot of the root; the header, or undefined if it cannot be done. */
    const snapshot = (root: CheckpointRoot, store: string, kind: CheckpointKind, label: string, at: Date) =>
      Effect.gen(function*() {
        const id = Store.makeId(at)
        const tmp = `${Store.paths(store).snapshots}/.tmp-${id}`
        const result = yield* run("btrfs", ["subvolume", "snapshot", "-r", "--", root.path, tmp])
        if (result === undefined || result.exitCode !== 0) {
          yield* removeSnapshots([tmp])
          return { header: undefined, why: escape(result?.stderr.trim().split("\n").at(-1) ?? "btrfs did not run") }
        }
        const header = yield* attempt(
          root.project,
          () => Store.commitSnapshot({ store, project: root.project, root: root.path, kind, label, now: at }, id)
        )
        return { header, why: "" }
      })

    const wantsSnapshot = (root: CheckpointRoot) =>
      config.layout === "btrfs-snapshot" || (config.layout === "auto" && Store.isOwnBtrfsSubvolume(root.path))

    const takeOptions = (root: CheckpointRoot, store: string, kind: CheckpointKind, label: string, at: Date) => ({
      store,
      project: root.project,
      root: root.path,
      kind,
      label,
      now: at,
      limits,
      copy
    })

    /** Records the tree (the store locked): a snapshot where wanted and possible, else objects. */
    const record = (root: CheckpointRoot, store: string, kind: CheckpointKind, label: string) =>
      Effect.gen(function*() {
        const at = yield* now
        if (wantsSnapshot(root)) {
          const snap = yield* snapshot(root, store, kind, label, at)
          if (snap.header !== undefined) return snap.header
          if (config.layout === "btrfs-snapshot") {
            return yield* fail(new Failed({ detail: `btrfs snapshot of ${root.path} failed: ${snap.why}` }))
          }
        }
        return yield* attempt(root.project, () => Store.take(takeOptions(root, store, kind, label, at)))
      })

    const findHeader = (project: ProjectName, store: string, id: string | undefined) =>
      attempt(project, () => {
        if (id !== undefined) return Store.load(store, id)
        const latest = Store.list(store).at(-1)
        if (latest === undefined) throw new EngineError("NotFound", "")
        return latest
      })

    const take = Effect.fn("Checkpoints.take")(function*(root: CheckpointRoot, kind: CheckpointKind, label: string) {
      yield* checkRoot(root)
      return yield* locked(root.project, (store) =>
        Effect.gen(function*() {
          const header = yield* record(root, store, kind, label)
          yield* pruneLocked(root.project, store)
          return infoOf(header, root.project)
        }))
    })

    const list = Effect.fn("Checkpoints.list")(function*(project: ProjectName) {
      const store = storeOf(project)
      return yield* attempt(project, () => Store.list(store).map((h) => infoOf(h, project)))
    })

    const diff = Effect.fn("Checkpoints.diff")(function*(
      root: CheckpointRoot,
      options?: { readonly since?: CheckpointId | undefined; readonly until?: CheckpointId | undefined }
    ) {
      const at = yield* now
      return yield* locked(root.project, (store) =>
        Effect.gen(function*() {
          const since = yield* findHeader(root.project, store, options?.since)
          const until = options?.until === undefined
            ? undefined
            : yield* findHeader(root.project, store, options.until)
          const changes = yield* attempt(root.project, () =>
            until === undefined
              ? Engine.diffLive(checkpointSide(store, since, limits), root.path, limits, at)
              : Engine.diffSides(checkpointSide(store, since, limits), checkpointSide(store, until, limits)))
          return new CheckpointDiff({
            since: CheckpointId.make(since.id),
            ...(until === undefined ? {} : { until: CheckpointId.make(until.id) }),
            changes: changes.map(changeOf)
          })
        }))
    })

    /** Records the current state (kind, label), then puts the tree back as `target`. */
    const putBack = (
      root: CheckpointRoot,
      store: string,
      target: ReturnType<typeof checkpointSide>,
      kind: CheckpointKind,
      label: string
    ) =>
      Effect.gen(function*() {
        const at = yield* now
        if (wantsSnapshot(root)) {
          const snap = yield* snapshot(root, store, kind, label, at)
          if (snap.header !== undefined) {
            const header = snap.header
            return yield* attempt(root.project, () =>
              Engine.undo({ store, root: root.path, target, copy }, { kind: "snapshot", header, limits, now: at }))
          }
        }
        return yield* attempt(root.project, () =>
          Engine.undo({ store, root: root.path, target, copy }, {
            kind: "objects",
            take: takeOptions(root, store, kind, label, at)
          }))
      })

    const undo = Effect.fn("Checkpoints.undo")(function*(root: CheckpointRoot, targetId: CheckpointId) {
      yield* checkRoot(root)
      return yield* locked(root.project, (store) =>
        Effect.gen(function*() {
          const target = yield* findHeader(root.project, store, targetId)
          if (target.root !== root.path) {
            return yield* fail(
              new Failed({ detail: `checkpoint ${target.id} is of ${escape(target.root)}, not of ${root.path}` })
            )
          }
          const side = yield* attempt(root.project, () => checkpointSide(store, target, limits))
          const done = yield* putBack(root, store, side, "undo", `before undo to ${target.id}`)
          yield* pruneLocked(root.project, store)
          return new UndoResult({
            target: CheckpointId.make(target.id),
            before: infoOf(done.before, root.project),
            applied: appliedOf(done.applied)
          })
        }))
    })

    const applyTree = Effect.fn("Checkpoints.applyTree")(function*(
      root: CheckpointRoot,
      tree: string,
      kind: CheckpointKind,
      label: string
    ) {
      yield* checkRoot(root)
      return yield* locked(root.project, (store) =>
        Effect.gen(function*() {
          const side = yield* attempt(root.project, () => treeSide(tree, limits, 0n, false))
          const done = yield* putBack(root, store, side, kind, label)
          yield* pruneLocked(root.project, store)
          return new UndoResult({ before: infoOf(done.before, root.project), applied: appliedOf(done.applied) })
        }))
    })

    const restore = Effect.fn("Checkpoints.restore")(function*(project: ProjectName, id: CheckpointId, to: string) {
      return yield* locked(project, (store) =>
        Effect.gen(function*() {
          const header = yield* findHeader(project, store, id)
          const applied = yield* attempt(
            project,
            () => Engine.restoreTo(to, checkpointSide(store, header, limits), copy)
          )
          return appliedOf(applied)
        }))
    })

    const prune = Effect.fn("Checkpoints.prune")(function*(project: ProjectName) {
      return yield* locked(project, (store) => pruneLocked(project, store))
    })

    return Checkpoints.of({ take, list, diff, undo, applyTree, restore, prune })
  })

/**
 * The store as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (config: StoreConfig): Layer.Layer<Checkpoints, never, ChildProcessSpawner> =>
  Layer.effect(Checkpoints, make(config))

const unavailable = (detail: string): Checkpoints["Service"] => {
  const failed = Effect.fail(new CheckpointError({ reason: new Failed({ detail }) }))
  return Checkpoints.of({
    take: () => failed,
    list: () => failed,
    diff: () => failed,
    undo: () => failed,
    applyTree: () => failed,
    restore: () => failed,
    prune: () => failed
  })
}

/**
 * The store configured by the registry's `[checkpoints]` and repos root; if
 * the registry cannot be read, every call fails with that reason.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFromRegistry: Layer.Layer<Checkpoints, never, Registry | ConfigPaths | ChildProcessSpawner> = Layer
  .effect(
    Checkpoints,
    Effect.gen(function*() {
      const registry = yield* Registry
      const { home } = yield* ConfigPaths
      return yield* registry.load.pipe(
        Effect.flatMap((document) =>
          make(configFromSettings(document.checkpoints, expandHome(document.defaults.reposRoot, home), home))
        ),
        Effect.catch((e) => Effect.succeed(unavailable(e.message)))
      )
    })
  )
