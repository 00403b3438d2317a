/**
 * An in-memory {@link BackupTarget} for unit tests and plugin authors.
 *
 * Sources and backups are file trees held in maps: a source is a path with a
 * tree of files (relative path to content), a backup copy is a tree per
 * project. `mirrorOne` compares the two like `rsync --checksum` would, copies
 * what differs, deletes what is gone when asked to, and reports one progress
 * event per file. The target's state (mounted, writable, free space) is set
 * through the handle {@link make} returns, so tests can exercise the safety
 * checks.
 *
 * Like the rsync target it keeps history: a mirror that changes something
 * makes a new generation (named after the clock's second), one that changes
 * nothing leaves the latest one; the deletion guard refuses a mirror that
 * would delete too much of a backup unless `allowDeletions`; `restore`
 * writes a generation out as a new source tree.
 *
 * @since 0.1.0
 * @module
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import {
  BackupError,
  type BackupErrorReason,
  BackupTarget,
  DeletionGuard,
  Failed,
  Generation,
  GenerationNotFound,
  InsufficientSpace,
  make as makeBackupTarget,
  MirrorStats,
  NotMounted,
  NotWritable,
  SourceEmpty,
  SourceMissing,
  TargetStatus
} from "./BackupTarget.ts"
import { defaultPolicy, judge } from "./DeletionGuard.ts"
import type { ProjectName } from "./Ids.ts"
import { Timestamp } from "./Project.ts"

/**
 * Files by path relative to the tree's root, with their content.
 *
 * @since 0.1.0
 * @category models
 */
export type FileTree = ReadonlyMap<string, string>

/**
 * The state of the memory target that tests may change.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryTargetState {
  readonly reachable: boolean
  readonly mounted: boolean
  readonly writable: boolean
  /** Free space in bytes; `undefined` for unlimited (reported as unknown). */
  readonly freeBytes: number | undefined
}

/**
 * Options of {@link make} and {@link layer}.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryOptions extends Partial<MemoryTargetState> {
  /** The location reported by `check`. Default `"memory:/backup"`. */
  readonly location?: string
  /** The source trees that exist from the start, by path. */
  readonly sources?: Iterable<readonly [string, FileTree]>
}

/**
 * The memory target: the service plus handles to arrange and inspect it.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryBackupTarget extends BackupTargetShape {
  /** Creates or replaces a source tree; `undefined` removes it. */
  setSource(path: string, files: FileTree | undefined): Effect.Effect<void>
  /** The backup copy of a project, if there is one. */
  backup(project: ProjectName): Effect.Effect<Option.Option<FileTree>>
  /** A source tree (a restored one, say), if there is one. */
  source(path: string): Effect.Effect<Option.Option<FileTree>>
  /** Changes the target's state. */
  setState(state: Partial<MemoryTargetState>): Effect.Effect<void>
}

type BackupTargetShape = BackupTarget["Service"]

const encoder = new TextEncoder()
const sizeOf = (content: string | undefined) => content === undefined ? 0 : encoder.encode(content).length
const refuse = (reason: BackupErrorReason) => Effect.fail(new BackupError({ reason }))

/**
 * Builds a fresh memory target.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import * as BackupTargetMemory from "@repoman/core/BackupTargetMemory"
 *
 * const target = BackupTargetMemory.make({
 *   sources: [["/repos/isurus", new Map([["README.md", "# isurus\n"]])]]
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: MemoryOptions = {}): Effect.Effect<MemoryBackupTarget> =>
  Effect.sync(() => {
    const location = options.location ?? "memory:/backup"
    const sources = new Map<string, FileTree>(options.sources ?? [])
    const backups = new Map<ProjectName, Map<string, string>>()
    const history = new Map<
      ProjectName,
      Array<{ readonly name: string; readonly files: ReadonlyMap<string, string> }>
    >()
    let state: MemoryTargetState = {
      reachable: options.reachable ?? true,
      mounted: options.mounted ?? true,
      writable: options.writable ?? true,
      freeBytes: options.freeBytes
    }

    const target = makeBackupTarget({
      check: () =>
        Effect.sync(() =>
          new TargetStatus({
            location,
            reachable: state.reachable,
            mounted: state.reachable && state.mounted,
            fsType: state.reachable ? Option.some("memory") : Option.none(),
            writable: state.reachable && state.writable,
            freeBytes: state.reachable ? Option.fromUndefinedOr(state.freeBytes) : Option.none(),
            history: "dated generations (in memory)"
          })
        ),

      generations: (source) =>
        Effect.sync(() => {
          const all = history.get(source.project) ?? []
          return all.map((g, i) =>
            new Generation({
              name: g.name,
              created: Timestamp.make(
                `${g.name.slice(0, 4)}-${g.name.slice(4, 6)}-${g.name.slice(6, 8)}T${g.name.slice(9, 11)}:${
                  g.name.slice(11, 13)
                }:${g.name.slice(13, 15)}Z`
              ),
              kind: "generation",
              latest: i === all.length - 1,
              files: g.files.size
            })
          )
        }),

      restore: (source, name, to) =>
        Effect.suspend(() => {
          const found = (history.get(source.project) ?? []).find((g) => g.name === name)
          if (found === undefined) return refuse(new GenerationNotFound({ project: source.project, name }))
          if (sources.has(to)) return refuse(new Failed({ detail: `${to} exists already` }))
          sources.set(to, new Map(found.files))
          return Effect.succeed(
            new MirrorStats({
              filesTransferred: found.files.size,
              bytesTransferred: Array.from(found.files.values()).reduce((n, c) => n + sizeOf(c), 0),
              filesDeleted: 0
            })
          )
        }),

      mirrorOne: (source, mirrorOptions, onProgress) =>
        Effect.suspend(() => {
          if (!state.reachable) return refuse(new NotMounted({ location }))
          if (!mirrorOptions.dryRun && !state.writable) return refuse(new NotWritable({ location }))
          const files = sources.get(source.path)
          if (files === undefined) return refuse(new SourceMissing({ project: source.project, path: source.path }))
          if (files.size === 0) return refuse(new SourceEmpty({ project: source.project, path: source.path }))

          // Plan, check the space and reserve it in one synchronous step.
          const copy = backups.get(source.project) ?? new Map<string, string>()
          const changed = Array.from(files).filter(([path, content]) => copy.get(path) !== content)
          const deleted = mirrorOptions.delete ? Array.from(copy.keys()).filter((path) => !files.has(path)) : []
          const generations = history.get(source.project) ?? []
          const previous = generations.at(-1)?.name
          const policy = mirrorOptions.deletionGuard ?? defaultPolicy
          const verdict = judge(
            { files: deleted.length, bytes: deleted.reduce((sum, path) => sum + sizeOf(copy.get(path)), 0) },
            { files: copy.size, bytes: Array.from(copy.values()).reduce((sum, c) => sum + sizeOf(c), 0) },
            policy
          )
          if (verdict._tag === "Refuse" && mirrorOptions.allowDeletions !== true) {
            return refuse(
              new DeletionGuard({
                project: source.project,
                deletedFiles: deleted.length,
                totalFiles: copy.size,
                deletedBytes: deleted.reduce((sum, path) => sum + sizeOf(copy.get(path)), 0),
                totalBytes: Array.from(copy.values()).reduce((sum, c) => sum + sizeOf(c), 0),
                by: verdict.by,
                maxPercent: policy.maxPercent,
                paths: deleted.slice(0, 50),
                ...(previous === undefined ? {} : { previous })
              })
            )
          }
          const written = changed.reduce((sum, [, content]) => sum + sizeOf(content), 0)
          const freed = changed.reduce((sum, [path]) => sum + sizeOf(copy.get(path)), 0)
            + deleted.reduce((sum, path) => sum + sizeOf(copy.get(path)), 0)
          const free = state.freeBytes
          if (!mirrorOptions.dryRun && free !== undefined) {
            if (written > free) {
              return refuse(new InsufficientSpace({ location, neededBytes: written, freeBytes: free }))
            }
            state = { ...state, freeBytes: free - written + freed }
          }

          const fresh = changed.length > 0 || deleted.length > 0 || previous === undefined
          let bytes = 0
          return Effect.forEach(changed, ([, content], index) => {
            bytes += sizeOf(content)
            return onProgress({ filesTransferred: index + 1, bytesTransferred: bytes })
          }, { discard: true }).pipe(
            Effect.andThen(Clock.currentTimeMillis),
            Effect.map((now) => {
              let generation = previous
              if (!mirrorOptions.dryRun) {
                for (const [path, content] of changed) copy.set(path, content)
                for (const path of deleted) copy.delete(path)
                backups.set(source.project, copy)
                if (fresh) {
                  const base = new Date(now).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}Z$/, "Z")
                  const taken = generations.filter((g) => g.name.startsWith(base)).length
                  generation = taken === 0 ? base : `${base}-${taken}`
                  history.set(source.project, [...generations, { name: generation, files: new Map(copy) }])
                }
              }
              return new MirrorStats({
                filesTransferred: changed.length,
                bytesTransferred: written,
                filesDeleted: deleted.length,
                ...(generation === undefined ? {} : { generation, newGeneration: fresh && !mirrorOptions.dryRun })
              })
            })
          )
        })
    })

    const memory: MemoryBackupTarget = {
      ...target,
      setSource: (path, files) =>
        Effect.sync(() => {
          if (files === undefined) sources.delete(path)
          else sources.set(path, new Map(files))
        }),
      backup: (project) =>
        Effect.sync(() => Option.map(Option.fromUndefinedOr(backups.get(project)), (m) => new Map(m))),
      source: (path) => Effect.sync(() => Option.map(Option.fromUndefinedOr(sources.get(path)), (m) => new Map(m))),
      setState: (patch) =>
        Effect.sync(() => {
          state = { ...state, ...patch }
        })
    }
    return memory
  })

/**
 * A layer providing a fresh memory {@link BackupTarget}.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: MemoryOptions = {}): Layer.Layer<BackupTarget> =>
  Layer.effect(BackupTarget, make(options))
