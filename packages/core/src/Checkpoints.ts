/**
 * Checkpoints of a project's working tree, taken before each agent session,
 * so that what a session did can be shown (`diff`) and put back (`undo`).
 *
 * A checkpoint records the whole tree: untracked and ignored files, `.git`,
 * empty directories, symlinks (as links, never followed) and modes. What an
 * implementation must guarantee (the filesystem one in
 * `@repoman/checkpoints` does, and says how):
 *
 * - no checkpoint shares anything with the live tree that the agent could
 *   write through (no hard link to a repo file): an in-place write to a repo
 *   file never changes a checkpoint;
 * - nothing in the tree is followed or opened in a way the agent can redirect
 *   (symlinks swapped in, FIFOs, devices): special files are listed, never
 *   opened;
 * - `undo` takes a checkpoint of the current state first, so an undo can be
 *   undone;
 * - file names are byte strings: any name the kernel accepts survives, and
 *   is escaped (`TerminalText.displayBytes`) before it reaches a terminal.
 *
 * Paths in {@link Change}, {@link Skipped} and the results are *byte strings*
 * relative to the repo: one char per byte of the name (latin1), so that a
 * name that is not UTF-8 round-trips. Show them with
 * `TerminalText.displayBytes`.
 *
 * @since 0.1.0
 * @module
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { ProjectName } from "./Ids.ts"
import { Timestamp } from "./Project.ts"

// ---------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------

/**
 * A checkpoint id: its UTC creation time to the millisecond plus four random
 * characters, so ids sort in time order (`20260501T101502.123Z-k3v9`).
 *
 * @since 0.1.0
 * @category models
 */
export const CheckpointId = Schema.String.pipe(
  Schema.check(
    Schema.makeFilter((s: string) =>
      /^\d{8}T\d{6}\.\d{3}Z-[0-9a-z]{4}$/.test(s) || "a checkpoint id looks like 20260501T101502.123Z-k3v9"
    )
  ),
  Schema.brand("CheckpointId")
)
/**
 * The decoded type of the `CheckpointId` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type CheckpointId = typeof CheckpointId.Type

/**
 * How a checkpoint keeps the tree: `objects` (a manifest plus a store of
 * copied files, reflinked where the filesystem can; unchanged files reuse
 * the previous checkpoint's copy) or `btrfs-snapshot` (a read-only snapshot
 * of the repo's btrfs subvolume).
 *
 * @since 0.1.0
 * @category models
 */
export const CheckpointLayout = Schema.Literals(["objects", "btrfs-snapshot"])
/**
 * The decoded type of the `CheckpointLayout` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type CheckpointLayout = typeof CheckpointLayout.Type

/**
 * Why a checkpoint was taken: before an agent `session`, before an `undo`,
 * before a `restore` into the repo, or on request (`manual`).
 *
 * @since 0.1.0
 * @category models
 */
export const CheckpointKind = Schema.Literals(["session", "undo", "restore", "manual"])
/**
 * The decoded type of the `CheckpointKind` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type CheckpointKind = typeof CheckpointKind.Type

/**
 * An entry of the tree whose content a checkpoint did not keep, and why:
 * `special` (FIFO, socket, device: listed, never opened), `too-large`,
 * `unreadable`, `unstable` (it kept changing while it was copied),
 * `too-deep`.
 *
 * @since 0.1.0
 * @category models
 */
export class Skipped extends Schema.Class<Skipped>("@repoman/core/Checkpoints/Skipped")({
  /** The path relative to the repo, as a byte string. */
  path: Schema.String,
  reason: Schema.Literals(["special", "too-large", "unreadable", "unstable", "too-deep"])
}) {}

/**
 * How many entries were added, removed and changed between a checkpoint and
 * the one before it (what the session before it did, with any edits made
 * on the host meanwhile).
 *
 * @since 0.1.0
 * @category models
 */
export class ChangeCounts extends Schema.Class<ChangeCounts>("@repoman/core/Checkpoints/ChangeCounts")({
  added: Schema.Int,
  removed: Schema.Int,
  changed: Schema.Int
}) {}

/**
 * One checkpoint.
 *
 * @since 0.1.0
 * @category models
 */
export class CheckpointInfo extends Schema.Class<CheckpointInfo>("@repoman/core/Checkpoints/CheckpointInfo")({
  id: CheckpointId,
  project: ProjectName,
  kind: CheckpointKind,
  /** What it was taken for, e.g. the session's command (text from the user: escape it). */
  label: Schema.String,
  created: Timestamp,
  layout: CheckpointLayout,
  /** The repo directory it is of. */
  root: Schema.String,
  /** Entries recorded (files, directories, symlinks). */
  entries: Schema.Int,
  /** Bytes of the files recorded. */
  bytes: Schema.Number,
  /** Files this checkpoint had to copy (the rest were unchanged). */
  copiedFiles: Schema.Int,
  copiedBytes: Schema.Number,
  /** Entries whose content was not kept; the first ones are listed in `skipped`. */
  skippedCount: Schema.Int,
  skipped: Schema.Array(Skipped),
  /** What changed since the checkpoint before it; absent when unknown (the first one, a snapshot). */
  changes: Schema.optionalKey(ChangeCounts)
}) {}

/**
 * The kind of entry at a path.
 *
 * @since 0.1.0
 * @category models
 */
export const EntryType = Schema.Literals(["file", "directory", "symlink"])
/**
 * The decoded type of the `EntryType` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type EntryType = typeof EntryType.Type

/**
 * One difference between two states of a tree, at `path`:
 *
 * - `added`, `removed`: `type` says what it is (was);
 * - `type`: a file became a directory, and so on (`from` and `to` are types);
 * - `modified`: other bytes; `touched`: the same bytes, another mtime;
 * - `mode`: permission bits (`from` and `to` in octal);
 * - `target`: a symlink points elsewhere (`from` and `to` are targets, as
 *   byte strings);
 * - `unknown`: its content was not kept, so whether it changed is unknown.
 *
 * @since 0.1.0
 * @category models
 */
export class Change extends Schema.Class<Change>("@repoman/core/Checkpoints/Change")({
  kind: Schema.Literals(["added", "removed", "type", "modified", "touched", "mode", "target", "unknown"]),
  /** The path relative to the repo, as a byte string. */
  path: Schema.String,
  type: EntryType,
  from: Schema.optionalKey(Schema.String),
  to: Schema.optionalKey(Schema.String)
}) {}

/**
 * What changed between checkpoint `since` and checkpoint `until` (or the
 * live tree, when `until` is absent).
 *
 * @since 0.1.0
 * @category models
 */
export class CheckpointDiff extends Schema.Class<CheckpointDiff>("@repoman/core/Checkpoints/CheckpointDiff")({
  since: CheckpointId,
  until: Schema.optionalKey(CheckpointId),
  /** In walk order: a directory before what is in it. */
  changes: Schema.Array(Change)
}) {}

/**
 * What putting a tree back did: entries removed, files, symlinks and
 * directories written, directories whose mode or mtime was set, and the
 * paths left alone (content the checkpoint did not keep, or entries repoman
 * may not change, such as files of another user).
 *
 * @since 0.1.0
 * @category models
 */
export class ApplyResult extends Schema.Class<ApplyResult>("@repoman/core/Checkpoints/ApplyResult")({
  removed: Schema.Int,
  written: Schema.Int,
  dirsFixed: Schema.Int,
  leftAloneCount: Schema.Int,
  /** The first paths left alone (byte strings). */
  leftAlone: Schema.Array(Schema.String)
}) {}

/**
 * What `undo` (or a restore into the repo) did: the checkpoint it went back
 * to (absent for a tree from elsewhere, such as a backup), the checkpoint it
 * took of the state before (undo that one to undo the undo), and what it
 * changed.
 *
 * @since 0.1.0
 * @category models
 */
export class UndoResult extends Schema.Class<UndoResult>("@repoman/core/Checkpoints/UndoResult")({
  target: Schema.optionalKey(CheckpointId),
  before: CheckpointInfo,
  applied: ApplyResult
}) {}

/**
 * A project's repo directory: whose checkpoints, and where the tree is.
 *
 * @since 0.1.0
 * @category models
 */
export interface CheckpointRoot {
  readonly project: ProjectName
  /** The repo directory on the host (absolute). */
  readonly path: string
}

// ---------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------

const positive = Schema.Number.pipe(
  Schema.check(Schema.makeFilter((n: number) => (Number.isFinite(n) && n > 0) || "must be a positive number"))
)
const positiveInt = Schema.Int.pipe(Schema.check(Schema.isGreaterThan(0)))
const withDefault = <S extends Schema.Top & { readonly "~type.make.in": unknown }>(value: S["Encoded"]) =>
  Schema.withDecodingDefaultKey<S>(Effect.succeed(value))

/**
 * `[checkpoints]` of the registry:
 *
 * ```toml
 * [checkpoints]
 * enabled = true        # a checkpoint before each shell, exec and run session
 * layout = "auto"       # auto (a btrfs snapshot where the repo is a subvolume), objects, btrfs-snapshot
 * keep = 30             # at most this many per project ...
 * keep_days = 14        # ... and none older than this (the newest is always kept)
 * max_file_mb = 1024    # a larger file is listed without its content
 * max_new_mb = 8192     # a checkpoint that would copy more fails
 * max_entries = 2000000 # a tree with more entries fails
 * # dir = "~/repos/.repoman/checkpoints"  # default: <repos_root>/.repoman/checkpoints
 * volume_schedule = "@daily"  # a volume repo (remote Incus): the engine's own snapshots ("" for none)
 * volume_expiry = "2w"        # ... each kept this long ("" for until deleted)
 * ```
 *
 * The directory must be on the repos root's filesystem for reflinks and
 * snapshots, and never inside a repo or mounted into a container.
 *
 * @since 0.1.0
 * @category models
 */
export const CheckpointSettings = Schema.Struct({
  enabled: Schema.Boolean.pipe(withDefault(true)),
  dir: Schema.optionalKey(Schema.String.pipe(
    Schema.check(
      Schema.makeFilter((s: string) =>
        (s.length > 0 && !s.includes("\0") && (s.startsWith("/") || s.startsWith("~/")))
        || "a path must be absolute or start with ~/"
      )
    )
  )),
  layout: Schema.Literals(["auto", "objects", "btrfs-snapshot"]).pipe(withDefault("auto")),
  keep: positiveInt.pipe(withDefault(30)),
  keepDays: positive.pipe(withDefault(14)),
  maxFileMb: positive.pipe(withDefault(1024)),
  maxNewMb: positive.pipe(withDefault(8192)),
  maxEntries: positiveInt.pipe(withDefault(2_000_000)),
  volumeSchedule: Schema.String.pipe(withDefault("@daily")),
  volumeExpiry: Schema.String.pipe(withDefault("2w"))
}).pipe(Schema.encodeKeys({
  keepDays: "keep_days",
  maxFileMb: "max_file_mb",
  maxNewMb: "max_new_mb",
  maxEntries: "max_entries",
  volumeSchedule: "volume_schedule",
  volumeExpiry: "volume_expiry"
}))
/**
 * The decoded type of the `CheckpointSettings` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type CheckpointSettings = typeof CheckpointSettings.Type

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/**
 * No such checkpoint (or, without an id, none at all) for the project.
 *
 * @since 0.1.0
 * @category errors
 */
export class NotFound extends Schema.TaggedClass<NotFound>("@repoman/core/Checkpoints/NotFound")("NotFound", {
  project: ProjectName,
  id: Schema.optionalKey(Schema.String)
}) {
  /** One line for the user. */
  get message(): string {
    return this.id === undefined
      ? `${this.project} has no checkpoints yet`
      : `${this.project} has no checkpoint ${JSON.stringify(this.id)}; 'repoman checkpoints ${this.project}' lists them`
  }
}

/**
 * Another repoman process is taking, pruning or applying a checkpoint of the
 * project.
 *
 * @since 0.1.0
 * @category errors
 */
export class Busy extends Schema.TaggedClass<Busy>("@repoman/core/Checkpoints/Busy")("Busy", {
  project: ProjectName,
  detail: Schema.String
}) {
  /** One line for the user. */
  get message(): string {
    return `the checkpoints of ${this.project} are busy: ${this.detail}`
  }
}

/**
 * The repo directory is missing or not a directory.
 *
 * @since 0.1.0
 * @category errors
 */
export class RootInvalid extends Schema.TaggedClass<RootInvalid>("@repoman/core/Checkpoints/RootInvalid")(
  "RootInvalid",
  { path: Schema.String, detail: Schema.String }
) {
  /** One line for the user. */
  get message(): string {
    return `cannot checkpoint ${this.path}: ${this.detail}`
  }
}

/**
 * The tree is over a limit (`max_entries`, or `max_new_mb` of content to copy).
 *
 * @since 0.1.0
 * @category errors
 */
export class TooLarge extends Schema.TaggedClass<TooLarge>("@repoman/core/Checkpoints/TooLarge")("TooLarge", {
  path: Schema.String,
  detail: Schema.String
}) {
  /** One line for the user. */
  get message(): string {
    return `no checkpoint of ${this.path} was taken: ${this.detail} (see [checkpoints] in repoman.toml)`
  }
}

/**
 * A stored checkpoint cannot be read back as written.
 *
 * @since 0.1.0
 * @category errors
 */
export class Corrupt extends Schema.TaggedClass<Corrupt>("@repoman/core/Checkpoints/Corrupt")("Corrupt", {
  file: Schema.String,
  detail: Schema.String
}) {
  /** One line for the user. */
  get message(): string {
    return `the checkpoint file ${this.file} is corrupt: ${this.detail}`
  }
}

/**
 * A restore would write into a directory that exists already.
 *
 * @since 0.1.0
 * @category errors
 */
export class TargetExists extends Schema.TaggedClass<TargetExists>("@repoman/core/Checkpoints/TargetExists")(
  "TargetExists",
  { path: Schema.String }
) {
  /** One line for the user. */
  get message(): string {
    return `${this.path} exists already: a restore goes into a new directory`
  }
}

/**
 * Any other failure (an I/O error, a snapshot that failed).
 *
 * @since 0.1.0
 * @category errors
 */
export class Failed extends Schema.TaggedClass<Failed>("@repoman/core/Checkpoints/Failed")("Failed", {
  detail: Schema.String
}) {
  /** One line for the user. */
  get message(): string {
    return this.detail
  }
}

/**
 * Why a {@link CheckpointError} happened.
 *
 * @since 0.1.0
 * @category errors
 */
export const CheckpointErrorReason = Schema.Union([
  NotFound,
  Busy,
  RootInvalid,
  TooLarge,
  Corrupt,
  TargetExists,
  Failed
])
/**
 * The decoded type of the `CheckpointErrorReason` schema.
 *
 * @since 0.1.0
 * @category errors
 */
export type CheckpointErrorReason = typeof CheckpointErrorReason.Type

/**
 * The one error of the {@link Checkpoints} boundary.
 *
 * @since 0.1.0
 * @category errors
 */
export class CheckpointError extends Schema.TaggedError<CheckpointError>("@repoman/core/Checkpoints/CheckpointError")(
  "CheckpointError",
  { reason: CheckpointErrorReason, cause: Schema.optional(Schema.Defect()) }
) {
  /** The reason's one-line message. */
  override get message(): string {
    return this.reason.message
  }

  /** Whether the user's input was at fault (a checkpoint or directory they named): the CLI exits 2. */
  get usage(): boolean {
    return (this.reason._tag === "NotFound" && this.reason.id !== undefined) || this.reason._tag === "TargetExists"
  }
}

// ---------------------------------------------------------------------------
// Service
// ---------------------------------------------------------------------------

/**
 * The checkpoint store of every project.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { Checkpoints } from "@repoman/core/Checkpoints"
 * import { ProjectName } from "@repoman/core/Ids"
 *
 * const root = { project: ProjectName.make("isurus"), path: "/home/me/repos/isurus-project" }
 * const session = Effect.gen(function*() {
 *   const checkpoints = yield* Checkpoints
 *   const before = yield* checkpoints.take(root, "session", "claude")
 *   // ... the agent works ...
 *   const diff = yield* checkpoints.diff(root, { since: before.id })
 *   if (diff.changes.length > 100) yield* checkpoints.undo(root, before.id)
 * })
 * ```
 *
 * @since 0.1.0
 * @category services
 */
export class Checkpoints extends Context.Service<Checkpoints, {
  /**
   * Records the tree at `root.path`, then drops what the retention policy
   * says is too many or too old (never the newest).
   */
  take(root: CheckpointRoot, kind: CheckpointKind, label: string): Effect.Effect<CheckpointInfo, CheckpointError>

  /** The project's checkpoints, oldest first. */
  list(project: ProjectName): Effect.Effect<ReadonlyArray<CheckpointInfo>, CheckpointError>

  /**
   * What changed from checkpoint `since` (default: the newest) to checkpoint
   * `until` (default: the live tree at `root.path`).
   */
  diff(
    root: CheckpointRoot,
    options?: { readonly since?: CheckpointId | undefined; readonly until?: CheckpointId | undefined }
  ): Effect.Effect<CheckpointDiff, CheckpointError>

  /**
   * Puts the tree at `root.path` back as checkpoint `target` was: bytes,
   * modes, symlinks, deletions, empty directories and mtimes. Takes a
   * checkpoint of the current state first (kind `undo`), so the undo can be
   * undone. The caller keeps writers away meanwhile (the container frozen).
   */
  undo(root: CheckpointRoot, target: CheckpointId): Effect.Effect<UndoResult, CheckpointError>

  /**
   * Puts the tree at `root.path` back as the directory `tree` is (a backup
   * generation, say), after taking a checkpoint of `kind` of the current
   * state.
   */
  applyTree(
    root: CheckpointRoot,
    tree: string,
    kind: CheckpointKind,
    label: string
  ): Effect.Effect<UndoResult, CheckpointError>

  /**
   * Writes checkpoint `id` out into the new directory `to` (its parent must
   * exist; `to` must not); the repo is not touched.
   */
  restore(project: ProjectName, id: CheckpointId, to: string): Effect.Effect<ApplyResult, CheckpointError>

  /** Applies the retention policy now; returns the checkpoints dropped. */
  prune(project: ProjectName): Effect.Effect<ReadonlyArray<CheckpointId>, CheckpointError>
}>()("@repoman/core/Checkpoints") {}

/**
 * The newest checkpoint taken before a session (skipping those taken before
 * an undo or a restore): what `undo` goes back to by default.
 *
 * @since 0.1.0
 * @category utils
 */
export const lastSessionCheckpoint = (
  checkpoints: ReadonlyArray<CheckpointInfo>
): CheckpointInfo | undefined => checkpoints.findLast((c) => c.kind === "session" || c.kind === "manual")
