/**
 * The built-in backup target: mirrors `<repos_root>/<repo>/` to
 * `<backup_root>/<repo>/` with `rsync -a --delete` (no `--delete` under
 * `--no-delete`), spawned with an argv list.
 *
 * - `check` first touches the backup root in a child process with a
 *   deadline (so an autofs mount is triggered, and a hung NFS server gives a
 *   `Timeout` instead of a hang), then reads `/proc/self/mountinfo`: the root
 *   counts as mounted when it is on another filesystem than the repos root
 *   (and not on `/`). It reports the filesystem type and free space.
 * - `mirrorBatch` refuses missing, non-directory and empty sources, and
 *   sources whose first copy does not fit in the free space, then mirrors
 *   the rest with one rsync process (many sources, `--relative`); the
 *   itemized output gives each project its counts. When that rsync fails,
 *   each source is mirrored on its own, so only the failing ones fail.
 * - `lock` allows one sync at a time per backup root (see `SyncLock`).
 *
 * @since 0.1.0
 * @module
 */
import {
  BackupError,
  BackupTarget,
  Failed,
  InsufficientSpace,
  make as makeBackupTarget,
  type MirrorOptions,
  type MirrorProgress,
  type MirrorSource,
  MirrorStats,
  TargetStatus
} from "@repoman/core/BackupTarget"
import type { ProjectName } from "@repoman/core/Ids"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Path from "effect/Path"
import { ChildProcessSpawner } from "effect/process/ChildProcessSpawner"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { checkSource, define, type Platform } from "./BackupPlugin.ts"
import { run } from "./exec.ts"
import * as Mountinfo from "./Mountinfo.ts"
import { failureReason, OUT_FORMAT, parseItemLine, succeeded } from "./rsyncOutput.ts"
import * as SyncLock from "./SyncLock.ts"

const positive = Schema.Number.pipe(
  Schema.check(Schema.makeFilter((n: number) => (Number.isFinite(n) && n > 0) || "must be a positive number"))
)
const withDefault = <S extends Schema.Top & { readonly "~type.make.in": unknown }>(value: S["Encoded"]) =>
  Schema.withDecodingDefaultKey<S>(Effect.succeed(value))

/**
 * `[backup.options]` of the rsync target (all optional):
 *
 * ```toml
 * [backup.options]
 * rsync = "rsync"               # the rsync executable
 * probe_timeout_seconds = 10    # touching the backup root; a hung NFS fails after this
 * io_timeout_seconds = 300      # rsync --timeout: no data for this long fails the run
 * max_batch_size = 25           # repos per rsync process
 * extra_args = []               # more rsync arguments, e.g. ["--exclude=node_modules/"]
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const RsyncOptions = Schema.Struct({
  rsync: Schema.NonEmptyString.pipe(withDefault("rsync")),
  probeTimeoutSeconds: positive.pipe(withDefault(10)),
  ioTimeoutSeconds: Schema.Int.pipe(Schema.check(Schema.isGreaterThan(0)), withDefault(300)),
  maxBatchSize: Schema.Int.pipe(Schema.check(Schema.isGreaterThan(0)), withDefault(25)),
  extraArgs: Schema.Array(Schema.String).pipe(withDefault([]))
}).pipe(Schema.encodeKeys({
  probeTimeoutSeconds: "probe_timeout_seconds",
  ioTimeoutSeconds: "io_timeout_seconds",
  maxBatchSize: "max_batch_size",
  extraArgs: "extra_args"
}))
/**
 * The decoded type of the `RsyncOptions` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type RsyncOptions = typeof RsyncOptions.Type

/**
 * Everything the rsync target needs.
 *
 * @since 0.1.0
 * @category models
 */
export interface RsyncConfig {
  /** The backup root: backups go to `<root>/<repo>/`. */
  readonly root: string
  /** The repos root, to tell whether the backup root is on another filesystem. */
  readonly reposRoot?: string | undefined
  /** Where the per-root lock files live (a local directory). */
  readonly lockDir: string
  readonly options: RsyncOptions
  /** The mount table to read. Default `/proc/self/mountinfo`. */
  readonly mountinfo?: string | undefined
}

/**
 * The defaults of {@link RsyncOptions}.
 *
 * @since 0.1.0
 * @category models
 */
export const defaultOptions: RsyncOptions = Schema.decodeUnknownSync(RsyncOptions)({})

const basename = (p: string) => p.replace(/\/+$/, "").split("/").pop() ?? p
const dirname = (p: string) => {
  const trimmed = p.replace(/\/+$/, "")
  const i = trimmed.lastIndexOf("/")
  return i <= 0 ? "/" : trimmed.slice(0, i)
}

/** How often (in items) a running rsync reports progress per project. */
const PROGRESS_EVERY = 100

interface Tally {
  files: number
  bytes: number
  deleted: number
  sinceReport: number
}

/**
 * The rsync argv for a batch: one `--relative` source per repo
 * (`<dir>/./<repo>/`, so the copy lands in `<root>/<repo>/` and a symlinked
 * repo dir is followed), then the root.
 *
 * @since 0.1.0
 * @category utils
 */
export const rsyncArgs = (
  sources: ReadonlyArray<string>,
  root: string,
  options: MirrorOptions,
  rsync: RsyncOptions
): ReadonlyArray<string> => [
  "-a",
  "--relative",
  ...(options.delete ? ["--delete"] : []),
  ...(options.dryRun ? ["--dry-run"] : []),
  `--timeout=${rsync.ioTimeoutSeconds}`,
  `--out-format=${OUT_FORMAT}`,
  ...rsync.extraArgs,
  "--",
  ...sources.map((s) => `${dirname(s)}/./${basename(s)}/`),
  `${root.replace(/\/+$/, "")}/`
]

/**
 * Builds the rsync target.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (config: RsyncConfig): Effect.Effect<BackupTarget["Service"], never, Platform> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const spawner = yield* ChildProcessSpawner
    const { options: rsync, root } = config
    const probeTimeout = Duration.seconds(rsync.probeTimeoutSeconds)
    const ioTimeout = Duration.seconds(rsync.ioTimeoutSeconds)
    const provide = <A, E>(effect: Effect.Effect<A, E, Platform>) =>
      effect.pipe(
        Effect.provideService(FileSystem.FileSystem, fs),
        Effect.provideService(Path.Path, path),
        Effect.provideService(ChildProcessSpawner, spawner)
      )

    const realOrSelf = (p: string) => fs.realPath(p).pipe(Effect.orElseSucceed(() => p))

    /** Free bytes for an unprivileged user on the filesystem of `root`. */
    const freeBytes = provide(
      run("stat", ["-f", "-c", "%a %S", "--", root], {
        operation: `reading the free space of ${root}`,
        timeout: probeTimeout
      }).pipe(Effect.map((r) => {
        const [avail, size] = r.stdout.trim().split(" ").map(Number)
        return r.exitCode === 0 && avail !== undefined && size !== undefined && Number.isFinite(avail * size)
          ? Option.some(avail * size)
          : Option.none<number>()
      }))
    )

    const check = () =>
      provide(Effect.gen(function*() {
        // Touch first: this triggers autofs, and hangs (up to the deadline) on a hung server.
        // The trailing "/." makes the kernel walk into the directory, which a plain stat of
        // an automount point does not do.
        const touched = yield* run("stat", ["--", `${root.replace(/\/+$/, "")}/.`], {
          operation: `touching the backup root ${root}`,
          timeout: probeTimeout,
          discardOutput: true
        })
        const unreachable = new TargetStatus({
          location: root,
          reachable: false,
          mounted: false,
          fsType: Option.none(),
          writable: false,
          freeBytes: Option.none()
        })
        if (touched.exitCode !== 0) return unreachable
        const info = yield* fs.stat(root).pipe(Effect.option)
        if (Option.isNone(info) || info.value.type !== "Directory") return unreachable
        const realRoot = yield* realOrSelf(root)
        const realRepos = config.reposRoot === undefined ? undefined : yield* realOrSelf(config.reposRoot)
        const entries = yield* Mountinfo.read(config.mountinfo).pipe(Effect.orElseSucceed(() => []))
        const { mount, mounted } = Mountinfo.separateMount(entries, realRoot, realRepos)
        const writable = yield* fs.access(root, { writable: true }).pipe(
          Effect.as(true),
          Effect.orElseSucceed(() => false)
        )
        return new TargetStatus({
          location: root,
          reachable: true,
          mounted,
          fsType: Option.map(mount, (m) => m.fsType),
          writable,
          freeBytes: yield* freeBytes
        })
      }))

    /** Bytes a first copy of `source` takes (du's disk usage). */
    const sizeOf = (source: string) =>
      run("du", ["-s", "-B1", "--", source], { operation: `measuring ${source}` }).pipe(
        Effect.map((r) => {
          const n = Number(r.stdout.trim().split(/\s/)[0])
          return r.exitCode === 0 && Number.isFinite(n) ? n : 0
        })
      )

    /** The per-source guards; the sources that pass, and failures by index. */
    const admit = (sources: ReadonlyArray<MirrorSource>, options: MirrorOptions) =>
      Effect.gen(function*() {
        const outcomes = new Map<number, Result.Result<MirrorStats, BackupError>>()
        const seen = new Set<string>()
        let free: Option.Option<number> | undefined
        for (const [i, source] of sources.entries()) {
          const guarded = yield* Effect.result(checkSource(source))
          if (Result.isFailure(guarded)) {
            outcomes.set(i, Result.fail(guarded.failure))
            continue
          }
          const name = basename(source.path)
          if (seen.has(name)) {
            outcomes.set(
              i,
              Result.fail(
                new BackupError({
                  reason: new Failed({
                    detail: `not mirroring ${source.project}: ${root}/${name} is already the backup of another project`
                  })
                })
              )
            )
            continue
          }
          seen.add(name)
          if (options.dryRun) continue
          const exists = yield* fs.exists(path.join(root, name)).pipe(Effect.orElseSucceed(() => true))
          if (exists) continue
          free ??= yield* freeBytes
          if (Option.isNone(free)) continue
          const needed = yield* sizeOf(source.path)
          if (needed > free.value) {
            outcomes.set(
              i,
              Result.fail(
                new BackupError({
                  reason: new InsufficientSpace({ location: root, neededBytes: needed, freeBytes: free.value })
                })
              )
            )
          } else {
            free = Option.some(free.value - needed)
          }
        }
        return outcomes
      })

    /** One rsync process over `sources` (all admitted). */
    const rsyncOnce = (
      sources: ReadonlyArray<MirrorSource>,
      options: MirrorOptions,
      onProgress: (project: ProjectName, progress: MirrorProgress) => Effect.Effect<void>
    ) =>
      Effect.gen(function*() {
        const byName = new Map(sources.map((s) => [basename(s.path), s.project] as const))
        const tallies = new Map<ProjectName, Tally>(
          sources.map((s) => [s.project, { files: 0, bytes: 0, deleted: 0, sinceReport: 0 }])
        )
        const onLine = (line: string) =>
          Effect.suspend(() => {
            const item = parseItemLine(line)
            const project = item === undefined ? undefined : byName.get(item.top)
            const tally = project === undefined ? undefined : tallies.get(project)
            if (item === undefined || project === undefined || tally === undefined) return Effect.void
            if (item._tag === "Deleted") tally.deleted += 1
            if (item._tag !== "Transferred") return Effect.void
            tally.files += 1
            tally.bytes += item.bytes
            tally.sinceReport += 1
            if (tally.sinceReport < PROGRESS_EVERY) return Effect.void
            tally.sinceReport = 0
            return onProgress(project, { filesTransferred: tally.files, bytesTransferred: tally.bytes })
          })
        const result = yield* run(rsync.rsync, rsyncArgs(sources.map((s) => s.path), root, options, rsync), {
          operation: `rsync to ${root}`,
          onLine
        })
        for (const [project, tally] of tallies) {
          if (tally.sinceReport > 0) {
            yield* onProgress(project, { filesTransferred: tally.files, bytesTransferred: tally.bytes })
          }
        }
        return { result, tallies }
      })

    const mirrorBatch = (
      sources: ReadonlyArray<MirrorSource>,
      options: MirrorOptions,
      onProgress: (project: ProjectName, progress: MirrorProgress) => Effect.Effect<void>
    ): Effect.Effect<ReadonlyArray<Result.Result<MirrorStats, BackupError>>, BackupError> =>
      provide(Effect.gen(function*() {
        const outcomes = yield* admit(sources, options)
        const admitted = sources.filter((_, i) => !outcomes.has(i))
        if (admitted.length > 0) {
          const { result, tallies } = yield* rsyncOnce(admitted, options, onProgress)
          if (succeeded(result.exitCode)) {
            for (const [i, source] of sources.entries()) {
              const tally = tallies.get(source.project)
              if (outcomes.has(i) || tally === undefined) continue
              outcomes.set(
                i,
                Result.succeed(
                  new MirrorStats({
                    filesTransferred: tally.files,
                    bytesTransferred: tally.bytes,
                    filesDeleted: tally.deleted
                  })
                )
              )
            }
          } else if (admitted.length === 1) {
            const i = sources.findIndex((s) => s === admitted[0])
            outcomes.set(
              i,
              Result.fail(
                new BackupError({
                  reason: failureReason(result.exitCode, result.stderr, { location: root, ioTimeout })
                })
              )
            )
          } else {
            // Which source failed? Mirror each on its own: only the failing ones fail.
            for (const [i, source] of sources.entries()) {
              if (outcomes.has(i)) continue
              const single = yield* Effect.result(mirrorBatch([source], options, onProgress))
              outcomes.set(
                i,
                Result.isSuccess(single)
                  ? (single.success[0] ?? Result.succeed(MirrorStats.zero))
                  : Result.fail(single.failure)
              )
            }
          }
        }
        return sources.map((_, i) => outcomes.get(i) ?? Result.succeed(MirrorStats.zero))
      }))

    return makeBackupTarget({
      check,
      mirrorOne: (source, options, onProgress) =>
        mirrorBatch([source], options, (_, progress) => onProgress(progress)).pipe(
          Effect.flatMap((results) => {
            const first = results[0]
            return first === undefined
              ? Effect.succeed(MirrorStats.zero)
              : Result.isSuccess(first)
              ? Effect.succeed(first.success)
              : Effect.fail(first.failure)
          })
        ),
      mirrorBatch,
      maxBatchSize: rsync.maxBatchSize,
      lock: () =>
        Effect.gen(function*() {
          const now = new Date(yield* Clock.currentTimeMillis)
          const realRoot = yield* realOrSelf(root)
          yield* SyncLock.acquire(config.lockDir, realRoot, now).pipe(Effect.provideService(FileSystem.FileSystem, fs))
        })
    })
  })

/**
 * The rsync target as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (config: RsyncConfig): Layer.Layer<BackupTarget, never, Platform> =>
  Layer.effect(BackupTarget, make(config))

/**
 * The rsync target as a plugin (`[backup] target = "rsync"`, built in).
 *
 * @since 0.1.0
 * @category utils
 */
export const plugin = define({
  name: "rsync",
  options: RsyncOptions,
  layer: (options, context) =>
    layer({
      root: context.backupRoot,
      reposRoot: context.reposRoot,
      lockDir: `${context.stateDir}/locks`,
      options
    })
})
