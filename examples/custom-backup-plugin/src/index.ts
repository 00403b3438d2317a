/**
 * An example third-party backup target for repoman: each `repoman sync`
 * takes a restic snapshot of every repo into one local restic repository,
 * so the backup keeps its history (restore any earlier state), instead of
 * the rsync mirror's latest state only.
 *
 * Use it from the registry:
 *
 * ```toml
 * [backup]
 * target = "repoman-backup-restic"
 * require_mount = false            # or keep it, with the restic repository on a mount
 * [backup.options]
 * repository = "/nfs/restic/repos"
 * password_file = "~/.config/repoman/restic-password"
 * ```
 *
 * The plugin surface is small: a name, a Schema for `[backup.options]`, and
 * a layer built with `BackupTarget.make({ check, mirrorOne })`, which
 * derives the mirror loop, the events and the target-wide guards. The
 * per-source guard (missing, non-directory or empty source) comes from
 * `BackupPlugin.checkSource`, and every process goes through `exec.run`
 * (argv list, optional deadline).
 */
import { checkSource, define, type PluginContext } from "@repoman/backup/BackupPlugin"
import { run } from "@repoman/backup/exec"
import * as Mountinfo from "@repoman/backup/Mountinfo"
import {
  BackupError,
  BackupTarget,
  Failed,
  make as makeBackupTarget,
  type MirrorSource,
  MirrorStats,
  TargetStatus
} from "@repoman/core/BackupTarget"
import { expandHome } from "@repoman/core/ConfigPaths"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Path from "effect/Path"
import { ChildProcessSpawner } from "effect/process/ChildProcessSpawner"
import * as Schema from "effect/Schema"
import * as Semaphore from "effect/Semaphore"
import { homedir } from "node:os"

/**
 * `[backup.options]` of the restic plugin.
 */
export const ResticOptions = Schema.Struct({
  /** The restic repository (a local path); created on first use. */
  repository: Schema.NonEmptyString,
  /** A file holding the repository password. */
  passwordFile: Schema.NonEmptyString,
  /** The restic executable. */
  restic: Schema.NonEmptyString.pipe(Schema.withDecodingDefaultKey(Effect.succeed("restic"))),
  /** Deadline for `restic cat config` (a hung mount fails after this). */
  probeTimeoutSeconds: Schema.Number.pipe(Schema.withDecodingDefaultKey(Effect.succeed(10)))
}).pipe(Schema.encodeKeys({ passwordFile: "password_file", probeTimeoutSeconds: "probe_timeout_seconds" }))
export type ResticOptions = typeof ResticOptions.Type

/** One snapshot, as `restic snapshots --json` lists it. */
export const Snapshot = Schema.Struct({
  id: Schema.String,
  short_id: Schema.String,
  time: Schema.String,
  paths: Schema.Array(Schema.String),
  tags: Schema.optionalKey(Schema.Array(Schema.String))
})
export type Snapshot = typeof Snapshot.Type

const Summary = Schema.Struct({
  message_type: Schema.Literal("summary"),
  files_new: Schema.Number,
  files_changed: Schema.Number,
  data_added: Schema.Number,
  snapshot_id: Schema.optionalKey(Schema.String)
})
const Status = Schema.Struct({
  message_type: Schema.Literal("status"),
  files_done: Schema.optionalKey(Schema.Number),
  bytes_done: Schema.optionalKey(Schema.Number)
})
const decodeLine = Schema.decodeUnknownOption(Schema.fromJsonString(Schema.Union([Summary, Status])))
const decodeSnapshots = Schema.decodeUnknownEffect(Schema.fromJsonString(Schema.Array(Snapshot)))

const projectTag = (project: string) => `project:${project}`

/** The restic command line for `args` against the configured repository. */
const restic = (options: ResticOptions, args: ReadonlyArray<string>) => {
  const home = homedir()
  return {
    command: options.restic,
    args: [
      "-r",
      expandHome(options.repository, home),
      "--password-file",
      expandHome(options.passwordFile, home),
      ...args
    ]
  }
}

const fail = (detail: string, exitCode?: number) =>
  new BackupError({ reason: new Failed({ detail, ...(exitCode === undefined ? {} : { exitCode }) }) })

/** Runs restic, failing with `Failed` (and restic's last stderr line) on a non-zero exit. */
const resticRun = (
  options: ResticOptions,
  args: ReadonlyArray<string>,
  onLine?: (line: string) => Effect.Effect<void>
) =>
  Effect.gen(function*() {
    const { args: argv, command } = restic(options, args)
    const result = yield* run(command, argv, { operation: `restic ${args[0]}`, onLine })
    if (result.exitCode !== 0) {
      const last = result.stderr.trim().split("\n").at(-1) ?? ""
      return yield* fail(`restic ${args[0]} failed: ${last}`, result.exitCode)
    }
    return result
  })

/**
 * The snapshots of one project, oldest first.
 */
export const snapshots = (options: ResticOptions, project: string) =>
  resticRun(options, ["snapshots", "--json", "--tag", projectTag(project)]).pipe(
    Effect.flatMap((r) => decodeSnapshots(r.stdout)),
    Effect.mapError((e) => e._tag === "BackupError" ? e : fail(`cannot read restic's snapshot list: ${e.message}`)),
    Effect.map((list) => [...list].sort((a, b) => a.time.localeCompare(b.time)))
  )

/**
 * Restores a snapshot under `target`; returns where the repo's files are
 * (restic recreates the snapshot's absolute path below `target`).
 */
export const restore = (options: ResticOptions, snapshot: Snapshot, target: string) =>
  resticRun(options, ["restore", snapshot.id, "--target", target]).pipe(
    Effect.as(`${target.replace(/\/+$/, "")}${snapshot.paths[0] ?? ""}`)
  )

const make = (options: ResticOptions, context: PluginContext) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const spawner = yield* ChildProcessSpawner
    const repository = expandHome(options.repository, homedir())
    const provide = <A, E>(effect: Effect.Effect<A, E, FileSystem.FileSystem | ChildProcessSpawner>) =>
      effect.pipe(Effect.provideService(FileSystem.FileSystem, fs), Effect.provideService(ChildProcessSpawner, spawner))

    /** Whether the repository exists (restic can read its config), with a deadline. */
    const initialized = provide(Effect.gen(function*() {
      const { args, command } = restic(options, ["cat", "config"])
      const result = yield* run(command, args, {
        operation: `reading the restic repository ${repository}`,
        timeout: Duration.seconds(options.probeTimeoutSeconds)
      })
      return result.exitCode === 0
    }))

    // Sources are backed up concurrently: create the repository only once.
    const initLock = yield* Semaphore.make(1)
    const ensureInitialized = initLock.withPermits(1)(
      provide(Effect.gen(function*() {
        if (!(yield* initialized)) yield* resticRun(options, ["init"])
      }))
    )

    const check = () =>
      provide(Effect.gen(function*() {
        const parent = path.dirname(repository)
        const ready = yield* initialized
        const parentExists = yield* fs.exists(parent).pipe(Effect.orElseSucceed(() => false))
        const entries = yield* Mountinfo.read().pipe(Effect.orElseSucceed(() => []))
        const real = yield* fs.realPath(parentExists ? parent : "/").pipe(Effect.orElseSucceed(() => parent))
        const { mount, mounted } = Mountinfo.separateMount(entries, real, context.reposRoot)
        const writable = yield* fs.access(ready ? repository : parent, { writable: true }).pipe(
          Effect.as(true),
          Effect.orElseSucceed(() => false)
        )
        return new TargetStatus({
          location: `restic:${repository}`,
          reachable: ready || parentExists,
          mounted,
          fsType: Option.map(mount, (m) => m.fsType),
          writable,
          freeBytes: Option.none()
        })
      }))

    const mirrorOne = (
      source: MirrorSource,
      mirror: { readonly dryRun: boolean },
      onProgress: (p: { filesTransferred: number; bytesTransferred: number }) => Effect.Effect<void>
    ) =>
      provide(Effect.gen(function*() {
        yield* checkSource(source)
        if (!mirror.dryRun) yield* ensureInitialized
        let summary: typeof Summary.Type | undefined
        const onLine = (line: string) => {
          const message = decodeLine(line)
          if (Option.isNone(message)) return Effect.void
          if (message.value.message_type === "summary") {
            summary = message.value
            return Effect.void
          }
          return onProgress({
            filesTransferred: message.value.files_done ?? 0,
            bytesTransferred: message.value.bytes_done ?? 0
          })
        }
        yield* resticRun(options, [
          "backup",
          "--json",
          "--host",
          "repoman",
          "--tag",
          "repoman",
          "--tag",
          projectTag(source.project),
          ...(mirror.dryRun ? ["--dry-run"] : []),
          source.path
        ], onLine)
        return new MirrorStats({
          filesTransferred: summary === undefined ? 0 : summary.files_new + summary.files_changed,
          bytesTransferred: summary?.data_added ?? 0,
          filesDeleted: 0
        })
      }))

    return makeBackupTarget({ check, mirrorOne })
  })

/**
 * The plugin: `[backup] target = "repoman-backup-restic"`.
 */
export const plugin = define({
  name: "restic",
  options: ResticOptions,
  layer: (options, context) => Layer.effect(BackupTarget, make(options, context))
})
