/**
 * Where repoman mirrors project repos to, and how.
 *
 * An implementation supplies two primitives, `check` (is the target there and
 * usable?) and `mirrorOne` (mirror one source, reporting progress); {@link make}
 * derives the rest, the way `ChildProcessSpawner.make(spawn)` derives its
 * helpers. Two optional primitives make a target fast and safe to share:
 * `mirrorBatch` (several sources in one go; `make` batches and runs batches
 * in parallel) and `lock` (one mirror run at a time). The derived `mirror` is
 * where the target-wide safety checks live (safety invariant 5 in
 * docs/design.md), so every target gets them:
 *
 * - it refuses to write to a backup root that is not a mounted filesystem,
 *   unless the caller turns that check off (`requireMount: false`);
 * - it refuses an unwritable root (except for a dry run).
 *
 * The per-source checks (a missing or empty source is refused, because a
 * `--delete` mirror of it would wipe the backup) belong to `mirrorOne`, which
 * fails with `SourceMissing` or `SourceEmpty`.
 *
 * @since 0.1.0
 * @module
 */
import type * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { DeletionPolicy } from "./DeletionGuard.ts"
import { ProjectName } from "./Ids.ts"
import { Timestamp } from "./Project.ts"
import { displayBytes } from "./TerminalText.ts"

// ---------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------

/**
 * One project's source directory to mirror. A target names the backup copy
 * after the project or after the last component of `path` (the rsync target
 * mirrors `<repos_root>/<repo>/` to `<backup_root>/<repo>/`).
 *
 * @since 0.1.0
 * @category models
 */
export class MirrorSource extends Schema.Class<MirrorSource>("@repoman/core/BackupTarget/MirrorSource")({
  project: ProjectName,
  path: Schema.String
}) {}

/**
 * How to mirror.
 *
 * @since 0.1.0
 * @category models
 */
export interface MirrorOptions {
  /** Delete files from the backup that are gone from the source. */
  readonly delete: boolean
  /** Work out and report what would change, without changing anything. */
  readonly dryRun: boolean
  /**
   * Refuse to run unless the backup root is a mounted filesystem. Default
   * `true`; turn off only for a local backup disk.
   */
  readonly requireMount?: boolean
  /** How many sources to mirror at once. Default `1`. */
  readonly concurrency?: number
  /**
   * Mirror even when it deletes more of a backup than `deletionGuard`
   * allows (`--allow-deletions`). Default `false`.
   */
  readonly allowDeletions?: boolean
  /** How much a mirror may delete without `allowDeletions`. Default 30 % (20 files). */
  readonly deletionGuard?: DeletionPolicy
}

/**
 * What `check` found out about the target. `None` means unknown (for
 * instance because the target is unreachable).
 *
 * @since 0.1.0
 * @category models
 */
export class TargetStatus extends Schema.Class<TargetStatus>("@repoman/core/BackupTarget/TargetStatus")({
  /** The backup root, as the user knows it (a path, a URL). */
  location: Schema.String,
  reachable: Schema.Boolean,
  mounted: Schema.Boolean,
  fsType: Schema.Option(Schema.String),
  writable: Schema.Boolean,
  freeBytes: Schema.Option(Schema.Number),
  /** How the target keeps history (dated generations, filesystem snapshots), for the user. */
  history: Schema.optionalKey(Schema.String)
}) {}

/**
 * What mirroring one source did (or, in a dry run, would do).
 *
 * @since 0.1.0
 * @category models
 */
export class MirrorStats extends Schema.Class<MirrorStats>("@repoman/core/BackupTarget/MirrorStats")({
  filesTransferred: Schema.Int,
  bytesTransferred: Schema.Number,
  filesDeleted: Schema.Int,
  /** The generation the backup is at now (a new one, or the last one when nothing changed). */
  generation: Schema.optionalKey(Schema.String),
  /** Whether this mirror made `generation`. */
  newGeneration: Schema.optionalKey(Schema.Boolean)
}) {
  /** No files, no bytes. */
  static readonly zero = new MirrorStats({ filesTransferred: 0, bytesTransferred: 0, filesDeleted: 0 })
}

/**
 * Progress reported by `mirrorOne` while it runs: totals so far.
 *
 * @since 0.1.0
 * @category models
 */
export interface MirrorProgress {
  readonly filesTransferred: number
  readonly bytesTransferred: number
}

/**
 * A state of a project's backup that can be restored: a dated generation the
 * target keeps, or a snapshot of the filesystem under the backup root (ZFS
 * `.zfs/snapshot`).
 *
 * @since 0.1.0
 * @category models
 */
export class Generation extends Schema.Class<Generation>("@repoman/core/BackupTarget/Generation")({
  /** How the user names it (`20260501T101502Z`, or a snapshot's name). */
  name: Schema.String,
  created: Timestamp,
  kind: Schema.Literals(["generation", "snapshot"]),
  /** The newest generation: what a sync compares with. */
  latest: Schema.Boolean,
  /** Where it is, when the target can say. */
  location: Schema.optionalKey(Schema.String),
  files: Schema.optionalKey(Schema.Int),
  bytes: Schema.optionalKey(Schema.Number)
}) {}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

const whole = (previous: string | undefined) =>
  previous === undefined ? "" : `; the previous generation ${previous} is whole and still the latest`

/**
 * The backup root is not a mounted filesystem, or cannot be reached.
 *
 * @since 0.1.0
 * @category errors
 */
export class NotMounted extends Schema.TaggedClass<NotMounted>("@repoman/core/BackupTarget/NotMounted")("NotMounted", {
  location: Schema.String
}) {
  /** One line for the user. */
  get message(): string {
    return `the backup root ${this.location} is not a mounted filesystem; mount it, or, for a local disk, turn the ` +
      `mount check off with [backup] require_mount = false in repoman.toml`
  }
}

/**
 * The backup root cannot be written to.
 *
 * @since 0.1.0
 * @category errors
 */
export class NotWritable extends Schema.TaggedClass<NotWritable>("@repoman/core/BackupTarget/NotWritable")(
  "NotWritable",
  { location: Schema.String }
) {
  /** One line for the user. */
  get message(): string {
    return `the backup root ${this.location} is not writable`
  }
}

/**
 * The source of a project does not exist.
 *
 * @since 0.1.0
 * @category errors
 */
export class SourceMissing extends Schema.TaggedClass<SourceMissing>("@repoman/core/BackupTarget/SourceMissing")(
  "SourceMissing",
  { project: ProjectName, path: Schema.String }
) {
  /** One line for the user. */
  get message(): string {
    return `not mirroring ${this.project}: its source ${this.path} does not exist`
  }
}

/**
 * The source of a project exists but is not a directory.
 *
 * @since 0.1.0
 * @category errors
 */
export class SourceNotDirectory extends Schema.TaggedClass<SourceNotDirectory>(
  "@repoman/core/BackupTarget/SourceNotDirectory"
)("SourceNotDirectory", { project: ProjectName, path: Schema.String }) {
  /** One line for the user. */
  get message(): string {
    return `not mirroring ${this.project}: its source ${this.path} is not a directory`
  }
}

/**
 * The source of a project is empty; mirroring it could wipe its backup.
 *
 * @since 0.1.0
 * @category errors
 */
export class SourceEmpty extends Schema.TaggedClass<SourceEmpty>("@repoman/core/BackupTarget/SourceEmpty")(
  "SourceEmpty",
  { project: ProjectName, path: Schema.String }
) {
  /** One line for the user. */
  get message(): string {
    return `not mirroring ${this.project}: its source ${this.path} is empty, and mirroring it could wipe the backup`
  }
}

/**
 * The source of a project resolves (symlinks followed) outside the repos
 * root: it is not mirrored, since it is not the repo repoman registered.
 *
 * @since 0.1.0
 * @category errors
 */
export class SourceOutsideRoot
  extends Schema.TaggedClass<SourceOutsideRoot>("@repoman/core/BackupTarget/SourceOutsideRoot")("SourceOutsideRoot", {
    project: ProjectName,
    path: Schema.String,
    resolved: Schema.String,
    root: Schema.String
  })
{
  /** One line for the user. */
  get message(): string {
    return `not mirroring ${this.project}: its repo ${this.path} resolves to ${this.resolved}, outside the repos root ${this.root}`
  }
}

/**
 * The backup root has not enough free space.
 *
 * @since 0.1.0
 * @category models
 */
export class InsufficientSpace extends Schema.TaggedClass<InsufficientSpace>(
  "@repoman/core/BackupTarget/InsufficientSpace"
)("InsufficientSpace", {
  location: Schema.String,
  neededBytes: Schema.optional(Schema.Number),
  freeBytes: Schema.optional(Schema.Number),
  /** The generation that stays the latest. */
  previous: Schema.optional(Schema.String)
}) {
  /** One line for the user. */
  get message(): string {
    const sizes = this.neededBytes !== undefined && this.freeBytes !== undefined
      ? ` (${this.neededBytes} bytes needed, ${this.freeBytes} free)`
      : ""
    return `not enough space on the backup root ${this.location}${sizes}${whole(this.previous)}`
  }
}

/**
 * Something else holds the target (another mirror run, a lock).
 *
 * @since 0.1.0
 * @category errors
 */
export class Busy extends Schema.TaggedClass<Busy>("@repoman/core/BackupTarget/Busy")("Busy", {
  location: Schema.String,
  detail: Schema.String
}) {
  /** One line for the user. */
  get message(): string {
    return `the backup root ${this.location} is busy: ${this.detail}`
  }
}

/**
 * An operation did not finish in time (a hung NFS server, say).
 *
 * @since 0.1.0
 * @category errors
 */
export class Timeout extends Schema.TaggedClass<Timeout>("@repoman/core/BackupTarget/Timeout")("Timeout", {
  operation: Schema.String,
  after: Schema.Duration
}) {
  /** One line for the user. */
  get message(): string {
    return `${this.operation} did not finish within ${Duration.format(this.after)}`
  }
}

/**
 * Any other failure, with the tool's exit code when there is one.
 *
 * @since 0.1.0
 * @category errors
 */
export class Failed extends Schema.TaggedClass<Failed>("@repoman/core/BackupTarget/Failed")("Failed", {
  detail: Schema.String,
  exitCode: Schema.optional(Schema.Int),
  /** The generation that stays the latest. */
  previous: Schema.optional(Schema.String)
}) {
  /** One line for the user. */
  get message(): string {
    return `${this.exitCode === undefined ? this.detail : `${this.detail} (exit code ${this.exitCode})`}${
      whole(this.previous)
    }`
  }
}

/**
 * A mirror would delete more of a project's backup than the deletion guard
 * allows; nothing was changed. `paths` names the first of what would go (byte
 * strings, escaped in the message).
 *
 * @since 0.1.0
 * @category errors
 */
export class DeletionGuard extends Schema.TaggedClass<DeletionGuard>("@repoman/core/BackupTarget/DeletionGuard")(
  "DeletionGuard",
  {
    project: ProjectName,
    deletedFiles: Schema.Int,
    totalFiles: Schema.Int,
    deletedBytes: Schema.Number,
    totalBytes: Schema.Number,
    by: Schema.Literals(["files", "bytes"]),
    maxPercent: Schema.Number,
    paths: Schema.Array(Schema.String),
    previous: Schema.optional(Schema.String)
  }
) {
  /** One line for the user. */
  get message(): string {
    const [part, total, unit] = this.by === "files"
      ? [this.deletedFiles, this.totalFiles, "files"]
      : [this.deletedBytes, this.totalBytes, "bytes"]
    const percent = total === 0 ? 0 : (100 * part) / total
    const shown = this.paths.slice(0, 5).map(displayBytes).join(", ")
    const more = this.deletedFiles > 5 ? `, and ${this.deletedFiles - Math.min(5, this.paths.length)} more` : ""
    return `not syncing ${this.project}: it would delete ${part} of ${total} ${unit} of its backup (${
      percent.toFixed(0)
    }% > ${this.maxPercent}%): ${shown}${more}${
      whole(this.previous)
    }; run 'repoman sync ${this.project} --allow-deletions' if that is intended`
  }
}

/**
 * The backup root was unmounted or replaced while a mirror wrote to it; what
 * was written is not recorded.
 *
 * @since 0.1.0
 * @category errors
 */
export class MountVanished extends Schema.TaggedClass<MountVanished>("@repoman/core/BackupTarget/MountVanished")(
  "MountVanished",
  { location: Schema.String, detail: Schema.String, previous: Schema.optional(Schema.String) }
) {
  /** One line for the user. */
  get message(): string {
    return `the backup root ${this.location} was unmounted or replaced during the sync (${this.detail}); nothing was recorded${
      whole(this.previous)
    }`
  }
}

/**
 * The target cannot do what was asked (a plugin without generations, say).
 *
 * @since 0.1.0
 * @category errors
 */
export class Unsupported extends Schema.TaggedClass<Unsupported>("@repoman/core/BackupTarget/Unsupported")(
  "Unsupported",
  { location: Schema.String, operation: Schema.String }
) {
  /** One line for the user. */
  get message(): string {
    return `the backup target at ${this.location} cannot ${this.operation}`
  }
}

/**
 * A generation asked for is not there.
 *
 * @since 0.1.0
 * @category errors
 */
export class GenerationNotFound extends Schema.TaggedClass<GenerationNotFound>(
  "@repoman/core/BackupTarget/GenerationNotFound"
)("GenerationNotFound", { project: ProjectName, name: Schema.String }) {
  /** One line for the user. */
  get message(): string {
    return `the backup of ${this.project} has no generation ${
      JSON.stringify(this.name)
    }; 'repoman restore ${this.project} --list' lists them`
  }
}

/**
 * Why a {@link BackupError} happened.
 *
 * @since 0.1.0
 * @category errors
 */
export const BackupErrorReason = Schema.Union([
  NotMounted,
  NotWritable,
  SourceMissing,
  SourceNotDirectory,
  SourceEmpty,
  SourceOutsideRoot,
  InsufficientSpace,
  Busy,
  Timeout,
  Failed,
  DeletionGuard,
  MountVanished,
  Unsupported,
  GenerationNotFound
])
/**
 * The decoded type of the `BackupErrorReason` schema.
 *
 * @since 0.1.0
 * @category errors
 */
export type BackupErrorReason = typeof BackupErrorReason.Type

/**
 * The one error of the {@link BackupTarget} boundary.
 *
 * @since 0.1.0
 * @category errors
 */
export class BackupError extends Schema.TaggedError<BackupError>("@repoman/core/BackupTarget/BackupError")(
  "BackupError",
  { reason: BackupErrorReason, cause: Schema.optional(Schema.Defect()) }
) {
  /** The reason's one-line message. */
  override get message(): string {
    return this.reason.message
  }

  /** Whether the user's input was at fault (a generation they named): the CLI exits 2. */
  get usage(): boolean {
    return this.reason._tag === "GenerationNotFound"
  }
}

// ---------------------------------------------------------------------------
// Results and events
// ---------------------------------------------------------------------------

/**
 * How mirroring one source ended.
 *
 * @since 0.1.0
 * @category models
 */
export const MirrorOutcome = Schema.Union([
  Schema.TaggedStruct("Success", {}),
  Schema.TaggedStruct("Failure", { reason: BackupErrorReason })
])
/**
 * The decoded type of the `MirrorOutcome` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type MirrorOutcome = typeof MirrorOutcome.Type

/**
 * The result for one project. A failed source does not stop the others; its
 * result says why it failed, and its counts are zero.
 *
 * @since 0.1.0
 * @category models
 */
export class MirrorResult extends Schema.Class<MirrorResult>("@repoman/core/BackupTarget/MirrorResult")({
  project: ProjectName,
  filesTransferred: Schema.Int,
  bytesTransferred: Schema.Number,
  filesDeleted: Schema.Int,
  duration: Schema.Duration,
  outcome: MirrorOutcome,
  /** The generation the backup is at after this mirror (see `MirrorStats.generation`). */
  generation: Schema.optionalKey(Schema.String),
  newGeneration: Schema.optionalKey(Schema.Boolean)
}) {
  /** Whether the mirror of this project succeeded. */
  get succeeded(): boolean {
    return this.outcome._tag === "Success"
  }
}

/**
 * Mirroring of one project started.
 *
 * @since 0.1.0
 * @category models
 */
export class MirrorStarted extends Schema.TaggedClass<MirrorStarted>("@repoman/core/BackupTarget/MirrorStarted")(
  "MirrorStarted",
  { project: ProjectName, path: Schema.String }
) {}

/**
 * Progress of one project: totals so far.
 *
 * @since 0.1.0
 * @category models
 */
export class MirrorProgressed extends Schema.TaggedClass<MirrorProgressed>(
  "@repoman/core/BackupTarget/MirrorProgressed"
)("MirrorProgressed", {
  project: ProjectName,
  filesTransferred: Schema.Int,
  bytesTransferred: Schema.Number
}) {}

/**
 * Mirroring of one project ended, successfully or not.
 *
 * @since 0.1.0
 * @category models
 */
export class MirrorFinished extends Schema.TaggedClass<MirrorFinished>("@repoman/core/BackupTarget/MirrorFinished")(
  "MirrorFinished",
  { result: MirrorResult }
) {}

/**
 * What `mirror` streams: for each project one `MirrorStarted`, any number of
 * `MirrorProgressed` and one `MirrorFinished`.
 *
 * @since 0.1.0
 * @category models
 */
export const MirrorEvent = Schema.Union([MirrorStarted, MirrorProgressed, MirrorFinished])
/**
 * The decoded type of the `MirrorEvent` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type MirrorEvent = typeof MirrorEvent.Type

// ---------------------------------------------------------------------------
// Service
// ---------------------------------------------------------------------------

/**
 * What a backup target implementation has to supply; see {@link make}.
 *
 * @since 0.1.0
 * @category models
 */
export interface BackupTargetPrimitives {
  /** Reports whether the target is reachable, mounted and writable. */
  check(): Effect.Effect<TargetStatus, BackupError>
  /**
   * Mirrors one source into the backup copy named after its project, calling
   * `onProgress` with totals as it goes. Must fail with `SourceMissing` or
   * `SourceEmpty` (and change nothing) for a missing or empty source.
   */
  mirrorOne(
    source: MirrorSource,
    options: MirrorOptions,
    onProgress: (progress: MirrorProgress) => Effect.Effect<void>
  ): Effect.Effect<MirrorStats, BackupError>
  /**
   * Optional: mirrors several sources in one go (one process, say), calling
   * `onProgress` with each project's totals, and returns one outcome per
   * source, in the order of `sources`. When it is there, {@link make} groups
   * the sources into batches of at most `maxBatchSize` and runs up to
   * `concurrency` batches at once; a failure of the whole batch fails each
   * of its sources with that reason.
   */
  readonly mirrorBatch?: (
    sources: ReadonlyArray<MirrorSource>,
    options: MirrorOptions,
    onProgress: (project: ProjectName, progress: MirrorProgress) => Effect.Effect<void>
  ) => Effect.Effect<ReadonlyArray<Result.Result<MirrorStats, BackupError>>, BackupError>
  /** The largest batch `mirrorBatch` takes. Default 32. */
  readonly maxBatchSize?: number
  /**
   * Optional: takes the target's lock for the current scope, so that only
   * one `mirror` at a time writes to it; fails with `Busy` when another one
   * holds it. {@link make} takes it after the checks, for the whole run.
   */
  readonly lock?: () => Effect.Effect<void, BackupError, Scope.Scope>
  /**
   * Optional: the generations of a project's backup that can be restored,
   * oldest first. Without it the target keeps no history it can show.
   */
  readonly generations?: (source: MirrorSource) => Effect.Effect<ReadonlyArray<Generation>, BackupError>
  /**
   * Optional: writes generation `generation` of a project's backup into the
   * new directory `to` (its parent exists; `to` must not).
   */
  readonly restore?: (
    source: MirrorSource,
    generation: string,
    to: string
  ) => Effect.Effect<MirrorStats, BackupError>
}

/**
 * Splits `items` into at most `workers` batches of about equal size, none
 * larger than `maxBatchSize` (more batches then).
 *
 * @since 0.1.0
 * @category utils
 */
export const batches = <A>(
  items: ReadonlyArray<A>,
  workers: number,
  maxBatchSize: number
): ReadonlyArray<ReadonlyArray<A>> => {
  if (items.length === 0) return []
  const size = Math.max(
    1,
    Math.min(Math.max(1, Math.floor(maxBatchSize)), Math.ceil(items.length / Math.max(1, workers)))
  )
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/**
 * A backup target: the {@link BackupTargetPrimitives} plus what {@link make}
 * derives from them.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { BackupTarget, MirrorSource } from "@repoman/core/BackupTarget"
 * import { ProjectName } from "@repoman/core/Ids"
 *
 * const sync = Effect.gen(function*() {
 *   const target = yield* BackupTarget
 *   const results = yield* target.mirrorAll(
 *     [new MirrorSource({ project: ProjectName.make("isurus"), path: "/home/me/repos/isurus-project" })],
 *     { delete: true, dryRun: false }
 *   )
 *   return results.filter((r) => !r.succeeded)
 * })
 * ```
 *
 * @since 0.1.0
 * @category services
 */
export class BackupTarget extends Context.Service<
  BackupTarget,
  BackupTargetPrimitives & {
    /**
     * Checks the target once, then mirrors every source (up to `concurrency` at
     * a time) and streams the progress. Fails only for target-wide problems
     * (`NotMounted`, `NotWritable`, or a failing `check`); a failing source ends
     * in a `MirrorFinished` whose outcome is a `Failure`.
     */
    mirror(sources: ReadonlyArray<MirrorSource>, options: MirrorOptions): Stream.Stream<MirrorEvent, BackupError>
    /** Runs `mirror` to the end and returns the result of each project. */
    mirrorAll(
      sources: ReadonlyArray<MirrorSource>,
      options: MirrorOptions
    ): Effect.Effect<ReadonlyArray<MirrorResult>, BackupError>
    /** The generations of a project's backup, oldest first (`Unsupported` without history). */
    listGenerations(source: MirrorSource): Effect.Effect<ReadonlyArray<Generation>, BackupError>
    /** Writes a generation out into a new directory (`Unsupported` without history). */
    restoreGeneration(source: MirrorSource, generation: string, to: string): Effect.Effect<MirrorStats, BackupError>
  }
>()("@repoman/core/BackupTarget") {}

const refuse = (reason: BackupErrorReason) => Effect.fail(new BackupError({ reason }))

/**
 * Refuses a mirror the target-wide checks rule out.
 *
 * @since 0.1.0
 * @category utils
 */
export const guard = (status: TargetStatus, options: MirrorOptions): Effect.Effect<void, BackupError> => {
  if (!status.reachable || ((options.requireMount ?? true) && !status.mounted)) {
    return refuse(new NotMounted({ location: status.location }))
  }
  if (!options.dryRun && !status.writable) return refuse(new NotWritable({ location: status.location }))
  return Effect.void
}

/** The event for a progress report of `project`. */
const progressed = (queue: Queue.Queue<MirrorEvent, Cause.Done>, project: ProjectName, progress: MirrorProgress) =>
  Queue.offer(
    queue,
    new MirrorProgressed({
      project,
      filesTransferred: progress.filesTransferred,
      bytesTransferred: progress.bytesTransferred
    })
  ).pipe(Effect.asVoid)

/** The result of one project from how its mirror ended. */
const resultOf = (
  project: ProjectName,
  outcome: Result.Result<MirrorStats, BackupError>,
  duration: Duration.Duration
): MirrorResult => {
  const stats = Result.isSuccess(outcome) ? outcome.success : MirrorStats.zero
  return new MirrorResult({
    project,
    filesTransferred: stats.filesTransferred,
    bytesTransferred: stats.bytesTransferred,
    filesDeleted: stats.filesDeleted,
    duration,
    outcome: Result.isSuccess(outcome) ? { _tag: "Success" } : { _tag: "Failure", reason: outcome.failure.reason },
    ...(stats.generation === undefined ? {} : { generation: stats.generation }),
    ...(stats.newGeneration === undefined ? {} : { newGeneration: stats.newGeneration })
  })
}

/**
 * Builds a {@link BackupTarget} from its two primitives.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import * as Layer from "effect/Layer"
 * import * as Option from "effect/Option"
 * import * as BackupTarget from "@repoman/core/BackupTarget"
 *
 * // A target that accepts everything and copies nothing.
 * const layerNull = Layer.succeed(
 *   BackupTarget.BackupTarget,
 *   BackupTarget.make({
 *     check: () =>
 *       Effect.succeed(
 *         new BackupTarget.TargetStatus({
 *           location: "/dev/null",
 *           reachable: true,
 *           mounted: true,
 *           fsType: Option.none(),
 *           writable: true,
 *           freeBytes: Option.none()
 *         })
 *       ),
 *     mirrorOne: () => Effect.succeed(BackupTarget.MirrorStats.zero)
 *   })
 * )
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (primitives: BackupTargetPrimitives): BackupTarget["Service"] => {
  const mirrorSource = (source: MirrorSource, options: MirrorOptions): Stream.Stream<MirrorEvent> =>
    Stream.callback<MirrorEvent>((queue) =>
      Effect.gen(function*() {
        const { path, project } = source
        yield* Queue.offer(queue, new MirrorStarted({ project, path }))
        const startedAt = yield* Clock.currentTimeMillis
        const outcome = yield* Effect.result(
          primitives.mirrorOne(source, options, (progress) => progressed(queue, project, progress))
        )
        const duration = Duration.millis((yield* Clock.currentTimeMillis) - startedAt)
        yield* Queue.offer(queue, new MirrorFinished({ result: resultOf(project, outcome, duration) }))
        yield* Queue.end(queue)
      })
    )

  const mirrorBatchStream = (
    mirrorBatch: NonNullable<BackupTargetPrimitives["mirrorBatch"]>,
    batch: ReadonlyArray<MirrorSource>,
    options: MirrorOptions
  ): Stream.Stream<MirrorEvent> =>
    Stream.callback<MirrorEvent>((queue) =>
      Effect.gen(function*() {
        for (const { path, project } of batch) yield* Queue.offer(queue, new MirrorStarted({ project, path }))
        const startedAt = yield* Clock.currentTimeMillis
        const outcomes = yield* Effect.result(
          mirrorBatch(batch, options, (project, progress) => progressed(queue, project, progress))
        )
        const duration = Duration.millis((yield* Clock.currentTimeMillis) - startedAt)
        for (const [i, { project }] of batch.entries()) {
          const outcome: Result.Result<MirrorStats, BackupError> = Result.isSuccess(outcomes)
            ? (outcomes.success[i] ?? Result.fail(
              new BackupError({
                reason: new Failed({ detail: `the target returned no result for ${project}` })
              })
            ))
            : Result.fail(outcomes.failure)
          yield* Queue.offer(queue, new MirrorFinished({ result: resultOf(project, outcome, duration) }))
        }
        yield* Queue.end(queue)
      })
    )

  const mirrorSources = (sources: ReadonlyArray<MirrorSource>, options: MirrorOptions) => {
    const concurrency = Math.max(1, options.concurrency ?? 1)
    const { mirrorBatch } = primitives
    return mirrorBatch === undefined
      ? Stream.fromIterable(sources).pipe(
        Stream.flatMap((source) => mirrorSource(source, options), { concurrency })
      )
      : Stream.fromIterable(batches(sources, concurrency, primitives.maxBatchSize ?? 32)).pipe(
        Stream.flatMap((batch) => mirrorBatchStream(mirrorBatch, batch, options), { concurrency })
      )
  }

  const mirror = (sources: ReadonlyArray<MirrorSource>, options: MirrorOptions) =>
    Stream.unwrap(
      primitives.check().pipe(
        Effect.flatMap((status) => guard(status, options)),
        Effect.andThen(primitives.lock === undefined ? Effect.void : primitives.lock()),
        Effect.as(mirrorSources(sources, options))
      )
    )

  const mirrorAll = (sources: ReadonlyArray<MirrorSource>, options: MirrorOptions) =>
    mirror(sources, options).pipe(
      Stream.filter((event): event is MirrorFinished => event._tag === "MirrorFinished"),
      Stream.map((event) => event.result),
      Stream.runCollect
    )

  const unsupported = (operation: string) =>
    primitives.check().pipe(
      Effect.map((status) => status.location),
      Effect.orElseSucceed(() => "(unknown)"),
      Effect.flatMap((location) => refuse(new Unsupported({ location, operation })))
    )
  const { generations, restore } = primitives

  return BackupTarget.of({
    check: () => primitives.check(),
    mirrorOne: (source, options, onProgress) => primitives.mirrorOne(source, options, onProgress),
    ...(primitives.mirrorBatch === undefined ? {} : { mirrorBatch: primitives.mirrorBatch }),
    ...(primitives.maxBatchSize === undefined ? {} : { maxBatchSize: primitives.maxBatchSize }),
    ...(primitives.lock === undefined ? {} : { lock: primitives.lock }),
    ...(generations === undefined ? {} : { generations }),
    ...(restore === undefined ? {} : { restore }),
    mirror,
    mirrorAll,
    listGenerations: (source) =>
      generations === undefined ? unsupported("list the generations of a backup") : generations(source),
    restoreGeneration: (source, generation, to) =>
      restore === undefined ? unsupported("restore a backup") : restore(source, generation, to)
  })
}
