/**
 * The built-in backup target: mirrors `<repos_root>/<repo>/` to
 * `<backup_root>/<repo>/` with rsync (argv lists, never a shell), keeping
 * dated generations (see `Generations`).
 *
 * - `check` first touches the backup root in a child process with a
 *   deadline (so an autofs mount is triggered, and a hung NFS server gives a
 *   `Timeout` instead of a hang), then reads `/proc/self/mountinfo`: the root
 *   counts as mounted when it is on another filesystem than the repos root
 *   (and not on `/`). It reports the filesystem type, free space, and how
 *   history is kept.
 * - `mirrorBatch` refuses missing, non-directory and empty sources, and
 *   sources whose first copy does not fit in the free space. For the rest,
 *   one `rsync --dry-run` (many sources, `--relative`) against the latest
 *   generations says what each would change and delete. A project whose
 *   mirror would delete more than the deletion guard allows is refused,
 *   naming what would go; a project with no change keeps its latest
 *   generation. Each changed project is then written into a new generation
 *   beside the latest (`--link-dest`: unchanged files are hard links), in a
 *   directory rsync reaches through a file descriptor repoman holds (so a
 *   lazily unmounted root cannot make it write onto the local disk under the
 *   mount point); after rsync the mount, the root and that directory are
 *   checked again, and only then is the generation put in place. A failure
 *   anywhere leaves the previous generation whole and the latest.
 * - rsync runs in a process group of its own, through `setpriv --pdeathsig
 *   TERM` when util-linux has it: it ends with repoman, even when repoman is
 *   killed with SIGKILL; the sync lock records it, so the next sync ends it
 *   if it outlived repoman anyway.
 * - `lock` allows one sync at a time per backup root (see `SyncLock`).
 * - `generations` lists the generations (and the snapshots of a ZFS root's
 *   `.zfs/snapshot`), `restore` writes one out into a new directory.
 *
 * History (`[backup.options] history`): `generations` keeps up to
 * `keep_generations` (and `keep_generation_days`); `filesystem` keeps only
 * the latest, for a root whose filesystem takes snapshots itself; `auto`
 * (the default) is `filesystem` on a ZFS root, else `generations`.
 *
 * @since 0.1.0
 * @module
 */
import {
  BackupError,
  BackupTarget,
  DeletionGuard,
  Failed,
  Generation,
  GenerationNotFound,
  InsufficientSpace,
  make as makeBackupTarget,
  type MirrorOptions,
  type MirrorProgress,
  type MirrorSource,
  MirrorStats,
  MountVanished,
  TargetStatus
} from "@repoman/core/BackupTarget"
import * as DeletionPolicy from "@repoman/core/DeletionGuard"
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
import type * as Scope from "effect/Scope"
import * as nodefs from "node:fs"
import { checkSource, define, type Platform } from "./BackupPlugin.ts"
import { run, type RunResult } from "./exec.ts"
import * as Generations from "./Generations.ts"
import * as Mountinfo from "./Mountinfo.ts"
import { failureReason, OUT_FORMAT, parseItemLine, StatsReader, succeeded } from "./rsyncOutput.ts"
import * as SyncLock from "./SyncLock.ts"

const positive = Schema.Number.pipe(
  Schema.check(Schema.makeFilter((n: number) => (Number.isFinite(n) && n > 0) || "must be a positive number"))
)
const withDefault = <S extends Schema.Top & { readonly "~type.make.in": unknown }>(value: S["Encoded"]) =>
  Schema.withDecodingDefaultKey<S>(Effect.succeed(value))

// Options that make rsync write into files that exist: into a previous generation, through its hard links.
const IN_PLACE = /^--(inplace|append|append-verify|link-dest|copy-dest|compare-dest)(=|$)/

/**
 * `[backup.options]` of the rsync target (all optional):
 *
 * ```toml
 * [backup.options]
 * rsync = "rsync"               # the rsync executable
 * probe_timeout_seconds = 10    # touching the backup root; a hung NFS fails after this
 * io_timeout_seconds = 300      # rsync --timeout: no data for this long fails the run
 * max_batch_size = 25           # repos per rsync process (the dry run that finds changes)
 * extra_args = []               # more rsync arguments, e.g. ["--exclude=node_modules/"]
 * history = "auto"              # auto, generations (kept by repoman), filesystem (ZFS snapshots keep them)
 * keep_generations = 30         # generations per repo, the latest included
 * keep_generation_days = 90     # and none older (the latest always stays)
 * # pdeathsig = true            # rsync through setpriv --pdeathsig (default: when setpriv is there)
 * ```
 *
 * `extra_args` may not hold `--inplace`, `--append` or a `--*-dest`: they
 * would write into a previous generation through its hard links.
 *
 * @since 0.1.0
 * @category models
 */
export const RsyncOptions = Schema.Struct({
  rsync: Schema.NonEmptyString.pipe(withDefault("rsync")),
  probeTimeoutSeconds: positive.pipe(withDefault(10)),
  ioTimeoutSeconds: Schema.Int.pipe(Schema.check(Schema.isGreaterThan(0)), withDefault(300)),
  maxBatchSize: Schema.Int.pipe(Schema.check(Schema.isGreaterThan(0)), withDefault(25)),
  extraArgs: Schema.Array(
    Schema.String.pipe(
      Schema.check(
        Schema.makeFilter((a: string) =>
          !IN_PLACE.test(a) || `${a} would write into the previous generation through its hard links`
        )
      )
    )
  ).pipe(withDefault([])),
  history: Schema.Literals(["auto", "generations", "filesystem"]).pipe(withDefault("auto")),
  keepGenerations: Schema.Int.pipe(Schema.check(Schema.isGreaterThan(0)), withDefault(30)),
  keepGenerationDays: positive.pipe(withDefault(90)),
  pdeathsig: Schema.optionalKey(Schema.Boolean)
}).pipe(Schema.encodeKeys({
  probeTimeoutSeconds: "probe_timeout_seconds",
  ioTimeoutSeconds: "io_timeout_seconds",
  maxBatchSize: "max_batch_size",
  extraArgs: "extra_args",
  keepGenerations: "keep_generations",
  keepGenerationDays: "keep_generation_days"
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
  /**
   * Run rsync through `setpriv --pdeathsig TERM` so that it dies with
   * repoman. Default: when `setpriv` is on the PATH.
   */
  readonly pdeathsig?: boolean | undefined
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

/**
 * The rsync argv of the dry run over a batch: one `--relative` source per
 * repo (`<dir>/./<repo>/`, so the copy lands in `<root>/<repo>/` and a
 * symlinked repo dir is followed), then the root.
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
  "--dry-run",
  `--timeout=${rsync.ioTimeoutSeconds}`,
  `--out-format=${OUT_FORMAT}`,
  ...rsync.extraArgs,
  "--",
  ...sources.map((s) => `${dirname(s)}/./${basename(s)}/`),
  `${root.replace(/\/+$/, "")}/`
]

/** What the dry run says about one project. */
interface Planned {
  changed: boolean
  transferred: number
  bytes: number
  readonly deleted: Array<string>
}

const onPath = (): boolean =>
  (process.env["PATH"] ?? "").split(":").some((dir) => dir !== "" && nodefs.existsSync(`${dir}/setpriv`))

const errno = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : undefined

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
    const pdeathsig = config.pdeathsig ?? rsync.pdeathsig ?? onPath()
    const provide = <A, E>(effect: Effect.Effect<A, E, Platform>) =>
      effect.pipe(
        Effect.provideService(FileSystem.FileSystem, fs),
        Effect.provideService(Path.Path, path),
        Effect.provideService(ChildProcessSpawner, spawner)
      )
    const io = (what: string) => (e: unknown) =>
      new BackupError({
        reason: new Failed({ detail: `${what}: ${e instanceof Error ? e.message : String(e)}` }),
        cause: e
      })
    const attempt = <A>(what: string, f: () => A) => Effect.try({ try: f, catch: io(what) })
    let lockHeld: SyncLock.Held | undefined

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

    const mountOfRoot = Effect.gen(function*() {
      const realRoot = yield* realOrSelf(root)
      const entries = yield* Mountinfo.read(config.mountinfo).pipe(
        Effect.provideService(FileSystem.FileSystem, fs),
        Effect.orElseSucceed(() => [])
      )
      return { realRoot, entries, mount: Mountinfo.mountOf(entries, realRoot) }
    })

    /** Whether the root's filesystem keeps snapshots itself (ZFS), and what to tell the user. */
    const historyOf = Effect.gen(function*() {
      const { mount, realRoot } = yield* mountOfRoot
      const fsType = Option.getOrUndefined(Option.map(mount, (m) => m.fsType))
      const snapshots = Option.match(mount, {
        onNone: () => [],
        onSome: (m) => Generations.snapshotDirs(m.mountPoint, realRoot)
      })
      const zfs = fsType === "zfs" || (fsType?.startsWith("nfs") === true && snapshots.length > 0)
      const mode = rsync.history === "auto" ? (zfs ? "filesystem" : "generations") : rsync.history
      const note = mode === "filesystem"
        ? `the latest generation only; history is the filesystem's snapshots (${snapshots.length} under .zfs/snapshot)`
        : `dated generations (rsync --link-dest), up to ${rsync.keepGenerations} and ${rsync.keepGenerationDays} days${
          fsType === "btrfs" ? "; the root is on btrfs: set history = \"filesystem\" if you snapshot it" : ""
        }${snapshots.length > 0 ? `; ${snapshots.length} snapshots under .zfs/snapshot are listed too` : ""}`
      return { mode, note, snapshots }
    })

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
        const history = yield* historyOf
        return new TargetStatus({
          location: root,
          reachable: true,
          mounted,
          fsType: Option.map(mount, (m) => m.fsType),
          writable,
          freeBytes: yield* freeBytes,
          history: history.note
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

    /** The per-source guards; failures by index. */
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

    /**
     * Runs rsync (through setpriv, in a process group of its own, recorded
     * in the sync lock while it runs), streaming its stdout to `onLine`.
     */
    const rsyncRun = (args: ReadonlyArray<string>, onLine: (line: string) => Effect.Effect<void>) => {
      const [command, argv] = pdeathsig
        ? ["setpriv", ["--pdeathsig", "TERM", "--", rsync.rsync, ...args]] as const
        : [rsync.rsync, args] as const
      let child: number | undefined
      return run(command, argv, {
        operation: `rsync to ${root}`,
        detached: true,
        env: { LC_ALL: "C" },
        onLine,
        onStart: (pid) =>
          Effect.suspend(() => {
            child = pid
            return lockHeld?.addChild(pid) ?? Effect.void
          })
      }).pipe(
        Effect.ensuring(
          Effect.suspend(() => child === undefined ? Effect.void : lockHeld?.removeChild(child) ?? Effect.void)
        )
      )
    }

    /** The dry run over `sources`: what each would change and delete. */
    const plan = (sources: ReadonlyArray<MirrorSource>, options: MirrorOptions) =>
      Effect.gen(function*() {
        const byName = new Map(sources.map((s) => [basename(s.path), s.project] as const))
        const plans = new Map<ProjectName, Planned>(
          sources.map((s) => [s.project, { changed: false, transferred: 0, bytes: 0, deleted: [] }])
        )
        const onLine = (line: string) =>
          Effect.sync(() => {
            const item = parseItemLine(line)
            const project = item === undefined ? undefined : byName.get(item.top)
            const planned = project === undefined ? undefined : plans.get(project)
            if (item === undefined || planned === undefined) return
            planned.changed = true
            if (item._tag === "Deleted") planned.deleted.push(item.name.slice(item.top.length + 1))
            if (item._tag === "Transferred") {
              planned.transferred += 1
              planned.bytes += item.bytes
            }
          })
        const result = yield* rsyncRun(rsyncArgs(sources.map((s) => s.path), root, options, rsync), onLine)
        return { result, plans }
      })

    /** Deleted files (not directories) of a plan, with their bytes in the latest generation. */
    const deletedAmount = (repo: string, planned: Planned) => {
      let bytes = 0
      let files = 0
      const base = Generations.paths(root, repo).latest
      for (const name of planned.deleted) {
        if (name === "" || name.endsWith("/")) continue
        files++
        try {
          const st = nodefs.lstatSync(Buffer.from(`${base}/${name}`, "latin1"))
          if (!st.isDirectory()) bytes += st.size
        } catch {
          // gone meanwhile
        }
      }
      return { files, bytes }
    }

    /** A new generation of one project, written beside the latest and put in place once checked. */
    const write = (
      source: MirrorSource,
      options: MirrorOptions,
      previous: Generations.GenerationMeta | undefined,
      planned: Planned,
      onProgress: (progress: MirrorProgress) => Effect.Effect<void>
    ) =>
      Effect.gen(function*() {
        const repo = basename(source.path)
        const p = Generations.paths(root, repo)
        const now = new Date(yield* Clock.currentTimeMillis)
        // A name after the latest's, that nothing holds yet.
        const last = previous === undefined ? "" : previous.name
        const taken = (n: string) => n <= last || nodefs.existsSync(p.meta(n)) || nodefs.existsSync(p.generation(n))
        let name = Generations.generationName(now)
        for (let i = 0; taken(name) && i < 100_000; i++) {
          name = Generations.generationName(new Date(Date.parse(Generations.generationTime(name)) + 1000))
        }
        const before = yield* mountOfRoot
        const rootDev = yield* attempt("reading the backup root", () => nodefs.statSync(root).dev)
        yield* attempt(`creating ${p.dir}`, () => nodefs.mkdirSync(p.dir, { recursive: true, mode: 0o755 }))
        const dirFd = yield* attempt(
          `opening ${p.dir}`,
          () =>
            nodefs.openSync(
              p.dir,
              nodefs.constants.O_RDONLY | nodefs.constants.O_DIRECTORY | nodefs.constants.O_NOFOLLOW
            )
        )
        const dirStat = nodefs.fstatSync(dirFd)
        const partialName = `.partial-${name}`
        // rsync reaches the directory through the fd we hold: the filesystem we checked, whatever
        // is mounted at the path meanwhile.
        const dest = `/proc/${process.pid}/fd/${dirFd}/${partialName}/`
        const linkDest = `--link-dest=../../../${repo}`
        const removePartial = Effect.sync(() => {
          try {
            Generations.removeTree(`/proc/self/fd/${dirFd}/${partialName}`)
          } catch {
            // the detached filesystem may be gone altogether
          }
        })
        return yield* Effect.gen(function*() {
          if (!options.delete && previous !== undefined) {
            // --no-delete: the new generation starts as the latest (all hard links), and gets the changes.
            const cloned = yield* rsyncRun(["-a", linkDest, "--", `${p.latest}/`, dest], () => Effect.void)
            if (!succeeded(cloned.exitCode)) return yield* Effect.fail(cloned)
          }
          const stats = new StatsReader()
          let files = 0
          let bytes = 0
          let sinceReport = 0
          const onLine = (line: string) =>
            Effect.suspend(() => {
              stats.line(line)
              const item = parseItemLine(line)
              if (item?._tag !== "Transferred") return Effect.void
              files++
              bytes += item.bytes
              if (++sinceReport < PROGRESS_EVERY) return Effect.void
              sinceReport = 0
              return onProgress({ filesTransferred: files, bytesTransferred: bytes })
            })
          const result = yield* rsyncRun([
            "-a",
            ...(options.delete ? ["--delete"] : []),
            "--stats",
            `--timeout=${rsync.ioTimeoutSeconds}`,
            `--out-format=${OUT_FORMAT}`,
            ...(previous === undefined ? [] : [linkDest]),
            ...rsync.extraArgs,
            "--",
            `${source.path.replace(/\/+$/, "")}/`,
            dest
          ], onLine)
          if (sinceReport > 0) yield* onProgress({ filesTransferred: files, bytesTransferred: bytes })
          return { result, files, bytes, totals: stats.totals }
        }).pipe(
          // Whatever rsync said: is the root still the filesystem we wrote to?
          Effect.flatMap((done) =>
            Effect.gen(function*() {
              const after = yield* mountOfRoot
              const vanished = (() => {
                const [b, a] = [Option.getOrUndefined(before.mount), Option.getOrUndefined(after.mount)]
                if (b === undefined || a === undefined) return "the mount is gone"
                if (a.id !== b.id || a.device !== b.device) return `${a.mountPoint} is another mount now`
                try {
                  if (nodefs.statSync(root).dev !== rootDev) return "the root is on another filesystem now"
                  const here = nodefs.statSync(p.dir)
                  if (here.dev !== dirStat.dev || here.ino !== dirStat.ino) return `${p.dir} is another directory now`
                } catch (e) {
                  return `${root} cannot be read (${errno(e) ?? String(e)})`
                }
                return undefined
              })()
              if (vanished !== undefined) {
                return yield* new BackupError({
                  reason: new MountVanished({
                    location: root,
                    detail: vanished,
                    ...(previous === undefined ? {} : { previous: previous.name })
                  })
                })
              }
              if (!succeeded(done.result.exitCode)) return yield* Effect.fail(done.result)
              const totals = done.totals ?? { files: done.files, bytes: done.bytes }
              yield* attempt(`putting the new generation of ${repo} in place`, () =>
                Generations.commit(root, repo, `${p.dir}/${partialName}`, {
                  name,
                  created: Generations.generationTime(name),
                  files: totals.files,
                  bytes: totals.bytes,
                  source: source.path
                }, previous))
              const history = yield* historyOf
              yield* attempt(`dropping old generations of ${repo}`, () =>
                Generations.prune(
                  root,
                  repo,
                  history.mode === "filesystem" ? 1 : rsync.keepGenerations,
                  rsync.keepGenerationDays,
                  now
                ))
              return new MirrorStats({
                filesTransferred: done.files,
                bytesTransferred: done.bytes,
                filesDeleted: deletedAmount(repo, planned).files,
                generation: name,
                newGeneration: true
              })
            })
          ),
          Effect.catch((e: BackupError | RunResult) =>
            removePartial.pipe(
              Effect.andThen(
                Effect.fail(
                  e instanceof BackupError ? e : new BackupError({
                    reason: withPrevious(
                      failureReason(e.exitCode, e.stderr, { location: root, ioTimeout }),
                      previous?.name
                    )
                  })
                )
              )
            )
          ),
          Effect.ensuring(Effect.sync(() => nodefs.closeSync(dirFd)))
        )
      })

    /** One batch: the dry run for all, then a new generation for each that changed and may. */
    const mirrorAdmitted = (
      sources: ReadonlyArray<MirrorSource>,
      options: MirrorOptions,
      onProgress: (project: ProjectName, progress: MirrorProgress) => Effect.Effect<void>
    ): Effect.Effect<Map<ProjectName, Result.Result<MirrorStats, BackupError>>, BackupError, ChildProcessSpawner> =>
      Effect.gen(function*() {
        const outcomes = new Map<ProjectName, Result.Result<MirrorStats, BackupError>>()
        const now = new Date(yield* Clock.currentTimeMillis)
        const previous = new Map<ProjectName, Generations.GenerationMeta | undefined>()
        for (const source of sources) {
          const state = options.dryRun
            ? Generations.read(root, basename(source.path))
            : yield* attempt(
              `reading the generations of ${source.project}`,
              () => Generations.recover(root, basename(source.path), source.path, now)
            )
          previous.set(source.project, state.latest)
        }
        const { plans, result } = yield* plan(sources, options)
        if (!succeeded(result.exitCode)) {
          if (sources.length === 1) {
            const latest = previous.get(sources[0]?.project as ProjectName)?.name
            return yield* new BackupError({
              reason: withPrevious(failureReason(result.exitCode, result.stderr, { location: root, ioTimeout }), latest)
            })
          }
          // Which source failed? Each on its own: only the failing ones fail.
          for (const source of sources) {
            const single = yield* Effect.result(mirrorAdmitted([source], options, onProgress))
            outcomes.set(
              source.project,
              Result.isSuccess(single)
                ? (single.success.get(source.project) ?? Result.succeed(MirrorStats.zero))
                : Result.fail(single.failure)
            )
          }
          return outcomes
        }
        const policy = options.deletionGuard ?? DeletionPolicy.defaultPolicy
        for (const source of sources) {
          const repo = basename(source.path)
          const planned = plans.get(source.project) as Planned
          const latest = previous.get(source.project)
          const deleted = deletedAmount(repo, planned)
          if (latest !== undefined && options.delete && options.allowDeletions !== true) {
            const verdict = DeletionPolicy.judge(deleted, latest, policy)
            if (verdict._tag === "Refuse") {
              outcomes.set(
                source.project,
                Result.fail(
                  new BackupError({
                    reason: new DeletionGuard({
                      project: source.project,
                      deletedFiles: deleted.files,
                      totalFiles: latest.files,
                      deletedBytes: deleted.bytes,
                      totalBytes: latest.bytes,
                      by: verdict.by,
                      maxPercent: policy.maxPercent,
                      paths: planned.deleted.filter((n) => !n.endsWith("/")).slice(0, 50),
                      previous: latest.name
                    })
                  })
                )
              )
              continue
            }
          }
          if (options.dryRun || (latest !== undefined && !planned.changed)) {
            if (planned.transferred > 0) {
              yield* onProgress(source.project, {
                filesTransferred: planned.transferred,
                bytesTransferred: planned.bytes
              })
            }
            outcomes.set(
              source.project,
              Result.succeed(
                new MirrorStats({
                  filesTransferred: planned.transferred,
                  bytesTransferred: planned.bytes,
                  filesDeleted: deleted.files,
                  ...(latest === undefined ? {} : { generation: latest.name, newGeneration: false })
                })
              )
            )
            continue
          }
          outcomes.set(
            source.project,
            yield* Effect.result(
              write(source, options, latest, planned, (progress) => onProgress(source.project, progress))
            )
          )
        }
        return outcomes
      })

    const mirrorBatch = (
      sources: ReadonlyArray<MirrorSource>,
      options: MirrorOptions,
      onProgress: (project: ProjectName, progress: MirrorProgress) => Effect.Effect<void>
    ): Effect.Effect<ReadonlyArray<Result.Result<MirrorStats, BackupError>>, BackupError> =>
      provide(Effect.gen(function*() {
        const outcomes = yield* admit(sources, options)
        const admitted = sources.filter((_, i) => !outcomes.has(i))
        const results = admitted.length === 0
          ? new Map<ProjectName, Result.Result<MirrorStats, BackupError>>()
          : yield* mirrorAdmitted(admitted, options, onProgress)
        return sources.map((s, i) => outcomes.get(i) ?? results.get(s.project) ?? Result.succeed(MirrorStats.zero))
      }))

    const generations = (source: MirrorSource) =>
      provide(Effect.gen(function*() {
        const repo = basename(source.path)
        const state = yield* attempt(`reading the generations of ${source.project}`, () => Generations.read(root, repo))
        const p = Generations.paths(root, repo)
        const own = [...state.older, ...(state.latest === undefined ? [] : [state.latest])].map((m) =>
          new Generation({
            name: m.name,
            created: Generations.generationTime(m.name),
            kind: "generation",
            latest: m === state.latest,
            location: m === state.latest ? p.latest : p.generation(m.name),
            files: m.files,
            bytes: m.bytes
          })
        )
        const history = yield* historyOf
        const snapshots = history.snapshots.flatMap((s) =>
          nodefs.existsSync(`${s.path}/${repo}`)
            ? [
              new Generation({
                name: s.name,
                created: Generations.generationTime(Generations.generationName(s.created)),
                kind: "snapshot",
                latest: false,
                location: `${s.path}/${repo}`
              })
            ]
            : []
        )
        return [...own, ...snapshots].sort((a, b) => a.created < b.created ? -1 : a.created > b.created ? 1 : 0)
      }))

    const restore = (source: MirrorSource, name: string, to: string) =>
      provide(Effect.gen(function*() {
        const all = yield* generations(source)
        const found = all.find((g) => g.name === name)
        if (found?.location === undefined) {
          return yield* new BackupError({ reason: new GenerationNotFound({ project: source.project, name }) })
        }
        yield* attempt(`creating ${to}`, () => nodefs.mkdirSync(to, { mode: 0o700 }))
        const stats = new StatsReader()
        const result = yield* run(rsync.rsync, ["-a", "--stats", "--", `${found.location}/`, `${to}/`], {
          operation: `rsync from ${found.location}`,
          env: { LC_ALL: "C" },
          onLine: (line) => Effect.sync(() => stats.line(line))
        })
        if (!succeeded(result.exitCode)) {
          return yield* new BackupError({
            reason: failureReason(result.exitCode, result.stderr, { location: to, ioTimeout })
          })
        }
        const totals = stats.totals ?? { files: 0, bytes: 0 }
        return new MirrorStats({
          filesTransferred: totals.files,
          bytesTransferred: totals.bytes,
          filesDeleted: 0,
          generation: name
        })
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
      lock: (): Effect.Effect<void, BackupError, Scope.Scope> =>
        Effect.gen(function*() {
          const now = new Date(yield* Clock.currentTimeMillis)
          const realRoot = yield* realOrSelf(root)
          const held = yield* SyncLock.acquire(config.lockDir, realRoot, now)
          lockHeld = held
          yield* Effect.addFinalizer(() =>
            Effect.sync(() => {
              lockHeld = undefined
            })
          )
        }),
      generations,
      restore
    })
  })

/** The same failure, saying that the previous generation is whole. */
const withPrevious = (
  reason: ReturnType<typeof failureReason>,
  previous: string | undefined
): ReturnType<typeof failureReason> => {
  if (previous === undefined) return reason
  if (reason._tag === "InsufficientSpace") return new InsufficientSpace({ ...reason, previous })
  if (reason._tag === "Failed") return new Failed({ ...reason, previous })
  return reason
}

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
