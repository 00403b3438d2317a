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
 * @since 0.1.0
 * @module
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import {
  BackupError,
  type BackupErrorReason,
  BackupTarget,
  InsufficientSpace,
  make as makeBackupTarget,
  MirrorStats,
  NotMounted,
  NotWritable,
  SourceEmpty,
  SourceMissing,
  TargetStatus
} from "./BackupTarget.ts"
import type { ProjectName } from "./Ids.ts"

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
            freeBytes: state.reachable ? Option.fromUndefinedOr(state.freeBytes) : Option.none()
          })
        ),

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

          const stats = new MirrorStats({
            filesTransferred: changed.length,
            bytesTransferred: written,
            filesDeleted: deleted.length
          })
          let bytes = 0
          return Effect.forEach(changed, ([, content], index) => {
            bytes += sizeOf(content)
            return onProgress({ filesTransferred: index + 1, bytesTransferred: bytes })
          }, { discard: true }).pipe(
            Effect.andThen(Effect.sync(() => {
              if (mirrorOptions.dryRun) return
              for (const [path, content] of changed) copy.set(path, content)
              for (const path of deleted) copy.delete(path)
              backups.set(source.project, copy)
            })),
            Effect.as(stats)
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
