/**
 * `sync`: mirror the repos of one project or of all projects to the backup
 * target, as a stream of events.
 *
 * - Projects with `backup = false` are skipped and reported as skipped.
 * - A project whose repo holds entries the user does not own or cannot read
 *   (container root chowned them) is refused before the target sees it,
 *   with the way out (`repoman repair NAME`), instead of a half mirror.
 * - Each repo must still resolve (symlinks followed) inside the repos root
 *   when the sync runs: one that became a symlink out of it is refused
 *   (`SourceOutsideRoot`) and nothing of it is mirrored.
 * - Every other project gets one result; a failing project does not stop
 *   the others.
 * - `last_sync` is recorded for each project that succeeded, and only for
 *   those, in one registry write at the end; a dry run records nothing (and
 *   the target changes nothing).
 * - A mirror that would delete more of a backup than `[backup]
 *   delete_guard_percent` allows fails for that project (naming what would
 *   go), unless `allowDeletions`.
 *
 * @since 0.1.0
 * @module
 */
import {
  type BackupError,
  BackupTarget,
  Failed,
  MirrorFinished,
  MirrorProgressed,
  MirrorResult,
  MirrorSource,
  MirrorStarted,
  SourceOutsideRoot
} from "@repoman/core/BackupTarget"
import { ConfigPaths, expandHome } from "@repoman/core/ConfigPaths"
import { ContainerRuntime } from "@repoman/core/ContainerRuntime"
import type { HostFiles } from "@repoman/core/HostFiles"
import type { HostInfo } from "@repoman/core/HostInfo"
import { ProjectName } from "@repoman/core/Ids"
import { storageOf, timestampFromDate } from "@repoman/core/Project"
import { Registry, type RegistryError } from "@repoman/core/Registry"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import * as Path from "effect/Path"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { ownershipProblem, scanRepo } from "./Ownership.ts"
import { stageVolumeExport } from "./VolumeBackups.ts"

/**
 * The run is about to start: what will be mirrored, and where to.
 *
 * @since 0.1.0
 * @category models
 */
export class SyncPlanned extends Schema.TaggedClass<SyncPlanned>("@repoman/programs/SyncProjects/SyncPlanned")(
  "SyncPlanned",
  {
    projects: Schema.Array(ProjectName),
    backupRoot: Schema.String,
    dryRun: Schema.Boolean,
    delete: Schema.Boolean
  }
) {}

/**
 * A project that is not mirrored, and why (`backup = false`).
 *
 * @since 0.1.0
 * @category models
 */
export class ProjectSkipped extends Schema.TaggedClass<ProjectSkipped>("@repoman/programs/SyncProjects/ProjectSkipped")(
  "ProjectSkipped",
  { project: ProjectName, reason: Schema.String }
) {}

/**
 * The run is over: every result, the skipped projects, and the projects whose
 * `last_sync` was recorded.
 *
 * @since 0.1.0
 * @category models
 */
export class SyncCompleted extends Schema.TaggedClass<SyncCompleted>("@repoman/programs/SyncProjects/SyncCompleted")(
  "SyncCompleted",
  {
    results: Schema.Array(MirrorResult),
    skipped: Schema.Array(ProjectName),
    recorded: Schema.Array(ProjectName),
    dryRun: Schema.Boolean
  }
) {
  /** The projects that failed. */
  get failed(): ReadonlyArray<MirrorResult> {
    return this.results.filter((r) => !r.succeeded)
  }
}

/**
 * Everything `sync` streams, in order: one `SyncPlanned`, the
 * `ProjectSkipped`, the mirror events of each project, one `SyncCompleted`.
 *
 * @since 0.1.0
 * @category models
 */
export const SyncEvent = Schema.Union([
  SyncPlanned,
  ProjectSkipped,
  MirrorStarted,
  MirrorProgressed,
  MirrorFinished,
  SyncCompleted
])
/**
 * The decoded type of the `SyncEvent` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type SyncEvent = typeof SyncEvent.Type

/**
 * Options of {@link syncProjects}.
 *
 * @since 0.1.0
 * @category models
 */
export interface SyncOptions {
  /** One project; default all. */
  readonly name?: ProjectName | undefined
  /** Delete from the backup what is gone from the source. */
  readonly delete: boolean
  /** Report what would change; change and record nothing. */
  readonly dryRun: boolean
  /** Batches mirrored at once. Default: the target's default (1). */
  readonly concurrency?: number | undefined
  /** Mirror even what deletes more of a backup than `[backup] delete_guard_percent` allows. */
  readonly allowDeletions?: boolean | undefined
}

/**
 * Mirrors the projects' repos to the backup target, streaming events.
 * Fails only when the registry cannot be read or written, or when the
 * target as a whole refuses (not mounted, not writable, busy, unreachable).
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import * as Stream from "effect/Stream"
import { ownershipProblem, scanRepo } from "./Ownership.ts"
 * import { syncProjects } from "@repoman/programs/SyncProjects"
 * const events = syncProjects({ delete: true, dryRun: false }).pipe(
 *   Stream.runForEach((event) => Effect.log(event._tag))
 * )
 * ```
 *
 * @since 0.1.0
 * @category programs
 */
export const syncProjects = (
  options: SyncOptions
): Stream.Stream<
  SyncEvent,
  BackupError | RegistryError,
  Registry | BackupTarget | ConfigPaths | Path.Path | HostFiles | HostInfo | FileSystem.FileSystem
> =>
  Stream.unwrap(Effect.gen(function*() {
    const registry = yield* Registry
    const target = yield* BackupTarget
    const { home } = yield* ConfigPaths
    const path = yield* Path.Path
    const fs = yield* FileSystem.FileSystem
    const document = yield* registry.load
    const projects = options.name === undefined ? document.projects : [yield* registry.getProject(options.name)]
    const reposRoot = expandHome(document.defaults.reposRoot, home)
    const backupRoot = expandHome(document.defaults.backupRoot, home)
    const included = projects.filter((p) => p.backup)
    const skipped: Array<ProjectSkipped> = projects.filter((p) => !p.backup).map((p) =>
      new ProjectSkipped({ project: p.name, reason: "backup = false" })
    )
    // Where each repo resolves now (it may have become a symlink since `new`):
    // one outside the repos root is refused. Every entry of each repo must be
    // the user's and readable: else the mirror would stop half way. A repo
    // that cannot be walked (missing) goes on to the target, which says why.
    const realRoot = yield* fs.realPath(reposRoot).pipe(Effect.orElseSucceed(() => reposRoot))
    const refused: Array<MirrorFinished> = []
    const sources: Array<MirrorSource> = []
    const refuse = (project: typeof included[number]["name"], reason: MirrorResult["outcome"]) =>
      refused.push(
        new MirrorFinished({
          result: new MirrorResult({
            project,
            filesTransferred: 0,
            bytesTransferred: 0,
            filesDeleted: 0,
            duration: Duration.zero,
            outcome: reason
          })
        })
      )
    for (const p of included) {
      if (storageOf(p) === "volume") {
        // The engine exports the volume into a staging dir, mirrored like a repo (see VolumeBackups).
        if (options.dryRun) {
          skipped.push(new ProjectSkipped({ project: p.name, reason: "its volume is exported by a real sync only" }))
          continue
        }
        // The runtime is needed only here: a stack without one (a backup-only script) says so.
        const runtime = yield* Effect.serviceOption(ContainerRuntime)
        const staged = Option.isNone(runtime)
          ? Result.fail({ message: "no container runtime in this stack to export it with" })
          : yield* stageVolumeExport(p).pipe(Effect.provideService(ContainerRuntime, runtime.value), Effect.result)
        if (Result.isFailure(staged)) {
          refuse(p.name, {
            _tag: "Failure",
            reason: new Failed({ detail: `the volume was not exported: ${staged.failure.message}` })
          })
        } else sources.push(new MirrorSource({ project: p.name, path: staged.success }))
        continue
      }
      const logical = path.join(reposRoot, p.repo)
      const real = yield* fs.realPath(logical).pipe(Effect.orElseSucceed(() => undefined))
      if (real !== undefined && !real.startsWith(`${realRoot}/`)) {
        refuse(p.name, {
          _tag: "Failure",
          reason: new SourceOutsideRoot({ project: p.name, path: logical, resolved: real, root: realRoot })
        })
        continue
      }
      const scan = yield* scanRepo(logical).pipe(Effect.option)
      const problem = Option.flatMap(scan, (sc) => ownershipProblem(p.name, sc))
      if (Option.isSome(problem)) {
        refuse(p.name, { _tag: "Failure", reason: new Failed({ detail: `not mirrored: ${problem.value}` }) })
      } else sources.push(new MirrorSource({ project: p.name, path: logical }))
    }

    const results: Array<MirrorResult> = refused.map((r) => r.result)
    const finishedAt = new Map<ProjectName, number>()
    const mirrored = sources.length === 0 ? Stream.empty : target.mirror(sources, {
      delete: options.delete,
      dryRun: options.dryRun,
      requireMount: document.backup.requireMount,
      allowDeletions: options.allowDeletions === true,
      deletionGuard: { maxPercent: document.backup.deleteGuardPercent, minFiles: document.backup.deleteGuardMinFiles },
      ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency })
    }).pipe(
      Stream.tap((event) =>
        event._tag !== "MirrorFinished" ? Effect.void : Clock.currentTimeMillis.pipe(Effect.map((now) => {
          results.push(event.result)
          if (event.result.succeeded) finishedAt.set(event.result.project, now)
        }))
      )
    )

    const complete = Effect.gen(function*() {
      const recorded = options.dryRun || finishedAt.size === 0 ? [] : yield* registry.modify((d) =>
        Effect.succeed(
          [
            d.projects.filter((p) => finishedAt.has(p.name)).map((p) => p.name),
            {
              ...d,
              projects: d.projects.map((p) => {
                const at = finishedAt.get(p.name)
                return at === undefined ? p : { ...p, lastSync: timestampFromDate(new Date(at)) }
              })
            }
          ] as const
        )
      )
      const order = new Map(included.map((p, i) => [p.name, i]))
      const sorted = [...results].sort((a, b) => (order.get(a.project) ?? 0) - (order.get(b.project) ?? 0))
      return new SyncCompleted({
        results: sorted,
        skipped: skipped.map((s) => s.project),
        recorded,
        dryRun: options.dryRun
      })
    })

    const planned = new SyncPlanned({
      projects: included.map((p) => p.name),
      backupRoot,
      dryRun: options.dryRun,
      delete: options.delete
    })
    return Stream.fromIterable<SyncEvent>([planned, ...skipped, ...refused]).pipe(
      Stream.concat(mirrored),
      Stream.concat(Stream.fromEffect(complete))
    )
  }))
