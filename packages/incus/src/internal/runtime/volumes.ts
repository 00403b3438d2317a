/**
 * The repo volume part of the Incus runtime: custom storage volumes of the
 * project, one per instance and named after it, in the pool of the default
 * profile's root disk (see `IncusVolumeConfig`). `create` makes or takes up
 * an instance's volume through {@link prepareRepoVolume}; `remove` never
 * deletes one. Snapshots are Incus volume snapshots (a restore stops the
 * instances that run on the volume, and starts them again); archives are
 * Incus volume backups, streamed both ways.
 */
import {
  AlreadyExists,
  Conflict,
  type ContainerRuntime,
  type ContainerRuntimeError,
  NotFound,
  OperationFailed,
  type RepoVolume,
  SnapshotName,
  VolumeSnapshot
} from "@repoman/core/ContainerRuntime"
import type { MemberName, ProjectName } from "@repoman/core/Ids"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { randomBytes } from "node:crypto"
import { nameFromUrl } from "../../IncusApi.ts"
import { isRootDisk, locationOf } from "../../IncusInstanceConfig.ts"
import {
  adoptedConfig,
  repoVolumeConfig,
  toRepoVolume,
  volumeRefusal,
  withSnapshotPolicy
} from "../../IncusVolumeConfig.ts"
import { mapErrors, type RuntimeContext, runtimeError, type Subject, toRuntimeError } from "./context.ts"

type Shape = ContainerRuntime["Service"]

const DEFAULT_PROFILE = "default"

const subject = (name: string, operation: string): Subject => ({ kind: "volume", name, operation })

const failed = (name: string, operation: string, detail: string) =>
  runtimeError(new OperationFailed({ kind: "volume", name, operation, detail }))

/** The pool repo volumes live in: the one of the namespace's default profile's root disk. */
export const repoPool = (ctx: RuntimeContext, name: string, operation: string) =>
  ctx.client.getProfile(ctx.project, DEFAULT_PROFILE).pipe(
    mapErrors(ctx, { kind: "profile", name: DEFAULT_PROFILE, operation }),
    Effect.flatMap(({ value }) => {
      const pool = Object.values(value.devices).find(isRootDisk)?.["pool"]
      return pool === undefined
        ? Effect.fail(failed(name, operation, `the default profile of namespace ${ctx.project} has no root disk pool`))
        : Effect.succeed(pool)
    })
  )

/** The volume of `name` in `pool` with its ETag, or `None`. */
const findVolume = (ctx: RuntimeContext, pool: string, name: string, operation: string) =>
  ctx.client.getStorageVolume(ctx.project, pool, name).pipe(
    Effect.map(Option.some),
    Effect.catchReason("IncusError", "NotFound", () => Effect.succeedNone),
    mapErrors(ctx, subject(name, operation))
  )

/**
 * The repo volume of instance `name` for `create`: the one there if this
 * runtime's owner made it for that instance (`Conflict` for any other, and
 * for one on another cluster member than `target`), or a new one (on
 * `target` when given). Says which pool, whether it made it (a failed
 * create deletes what it made), and the cluster member it is on (`None`
 * on one machine): the instance must go there too, since a volume of a
 * member's local pool is reachable from that member only (Incus's
 * scheduler does not follow it).
 */
export const prepareRepoVolume = (ctx: RuntimeContext, name: ProjectName, target?: MemberName) =>
  Effect.gen(function*() {
    const pool = yield* repoPool(ctx, name, "create")
    const existing = yield* findVolume(ctx, pool, name, "create")
    if (Option.isSome(existing)) {
      const refused = volumeRefusal(existing.value.value.config, name, ctx.owner)
      if (refused !== undefined) return yield* runtimeError(new Conflict({ kind: "volume", name, detail: refused }))
      const location = locationOf(existing.value.value.location)
      if (target !== undefined && Option.isSome(location) && location.value !== target) {
        const detail = `the repo volume is on cluster member ${location.value}, not ${target}`
        return yield* runtimeError(new Conflict({ kind: "volume", name, detail }))
      }
      return { pool, made: false, location }
    }
    yield* ctx.client.createStorageVolume(ctx.project, pool, {
      name,
      description: `repo of ${name} (repoman)`,
      config: repoVolumeConfig(name, ctx.owner),
      content_type: "filesystem"
    }, target === undefined ? undefined : { target }).pipe(mapErrors(ctx, subject(name, "create")))
    // Without a target it landed on the member that took the request: read where.
    const made = yield* findVolume(ctx, pool, name, "create")
    return { pool, made: true, location: Option.flatMap(made, (v) => locationOf(v.value.location)) }
  })

/** Deletes a volume a failed create made (what cannot be deleted stays). */
export const dropRepoVolume = (ctx: RuntimeContext, pool: string, name: string) =>
  Effect.ignore(ctx.client.deleteStorageVolume(ctx.project, pool, name))

export const make = (ctx: RuntimeContext): Pick<
  Shape,
  | "getRepoVolume"
  | "listRepoVolumes"
  | "deleteRepoVolume"
  | "setRepoVolumeSnapshots"
  | "snapshotRepoVolume"
  | "listRepoVolumeSnapshots"
  | "restoreRepoVolume"
  | "deleteRepoVolumeSnapshot"
  | "exportRepoVolume"
  | "importRepoVolume"
> => {
  const { client, project } = ctx

  /** The volume of `name` (`NotFound`, kind volume, when missing), its pool and ETag. */
  const volumeOf = (name: ProjectName, operation: string) =>
    Effect.gen(function*() {
      const pool = yield* repoPool(ctx, name, operation)
      const found = yield* findVolume(ctx, pool, name, operation)
      if (Option.isNone(found)) return yield* runtimeError(new NotFound({ kind: "volume", name }))
      return { pool, volume: found.value.value, etag: found.value.etag }
    })

  /** `volumeOf`, and `Conflict` unless it is this runtime owner's volume for `name`. */
  const ownVolume = (name: ProjectName, operation: string) =>
    Effect.flatMap(volumeOf(name, operation), (found) => {
      const refused = volumeRefusal(found.volume.config, name, ctx.owner)
      return refused === undefined
        ? Effect.succeed(found)
        : Effect.fail(runtimeError(new Conflict({ kind: "volume", name, detail: refused })))
    })

  const asRepoVolume = (name: ProjectName, volume: Parameters<typeof toRepoVolume>[0]) =>
    Option.match(toRepoVolume(volume), {
      onNone: () => Effect.fail(failed(name, "get", "the volume's name is not an instance name")),
      onSome: (v): Effect.Effect<RepoVolume, ContainerRuntimeError> => Effect.succeed(v)
    })

  const checkSnapshotName = (name: ProjectName, operation: string, snapshot: string) =>
    Schema.is(SnapshotName)(snapshot)
      ? Effect.void
      : Effect.fail(failed(name, operation, `${JSON.stringify(snapshot)} is not a snapshot name`))

  const snapshotSubject = (name: string, snapshot: string, operation: string): Subject => ({
    kind: "snapshot",
    name: `${name}/${snapshot}`,
    operation
  })

  /** The instances that use a volume, from its `used_by`. */
  const usersOf = (usedBy: ReadonlyArray<string>) =>
    usedBy.filter((u) => u.startsWith("/1.0/instances/")).map(nameFromUrl)

  return {
    getRepoVolume: Effect.fn("IncusContainerRuntime.getRepoVolume")(function*(name: ProjectName) {
      const { volume } = yield* volumeOf(name, "get")
      return yield* asRepoVolume(name, volume)
    }),

    listRepoVolumes: Effect.fn("IncusContainerRuntime.listRepoVolumes")(function*() {
      const pool = yield* repoPool(ctx, project, "list volumes")
      const volumes = yield* client.listStorageVolumes(project, pool).pipe(
        mapErrors(ctx, { kind: "namespace", name: project, operation: "list volumes" })
      )
      return volumes.flatMap((v) => Option.toArray(toRepoVolume(v)))
    }),

    deleteRepoVolume: Effect.fn("IncusContainerRuntime.deleteRepoVolume")(function*(name: ProjectName) {
      const { pool, volume } = yield* ownVolume(name, "delete")
      const users = usersOf(volume.used_by)
      if (users.length > 0) {
        return yield* runtimeError(
          new Conflict({ kind: "volume", name, detail: `is used by instance ${users.join(", ")}` })
        )
      }
      yield* client.deleteStorageVolume(project, pool, name).pipe(mapErrors(ctx, subject(name, "delete")))
    }),

    setRepoVolumeSnapshots: Effect.fn("IncusContainerRuntime.setRepoVolumeSnapshots")(
      function*(name: ProjectName, policy) {
        const { etag, pool, volume } = yield* ownVolume(name, "set snapshots")
        yield* client.updateStorageVolume(project, pool, name, {
          description: volume.description,
          config: withSnapshotPolicy(volume.config, policy)
        }, etag).pipe(mapErrors(ctx, subject(name, "set snapshots")))
      }
    ),

    snapshotRepoVolume: Effect.fn("IncusContainerRuntime.snapshotRepoVolume")(
      function*(name: ProjectName, snapshot: string) {
        yield* checkSnapshotName(name, "snapshot", snapshot)
        const { pool } = yield* ownVolume(name, "snapshot")
        const there = yield* client.getStorageVolumeSnapshot(project, pool, name, snapshot).pipe(
          Effect.as(true),
          Effect.catchReason("IncusError", "NotFound", () => Effect.succeed(false)),
          mapErrors(ctx, snapshotSubject(name, snapshot, "snapshot"))
        )
        if (there) return yield* runtimeError(new AlreadyExists({ kind: "snapshot", name: `${name}/${snapshot}` }))
        yield* client.createStorageVolumeSnapshot(project, pool, name, snapshot).pipe(
          mapErrors(ctx, snapshotSubject(name, snapshot, "snapshot"))
        )
        const taken = yield* client.getStorageVolumeSnapshot(project, pool, name, snapshot).pipe(
          mapErrors(ctx, snapshotSubject(name, snapshot, "snapshot"))
        )
        const createdAt = yield* DateTime.now
        return new VolumeSnapshot({
          name: snapshot,
          createdAt: Option.getOrElse(DateTime.make(taken.created_at), () => createdAt)
        })
      }
    ),

    listRepoVolumeSnapshots: Effect.fn("IncusContainerRuntime.listRepoVolumeSnapshots")(
      function*(name: ProjectName) {
        const { pool } = yield* volumeOf(name, "list snapshots")
        const snapshots = yield* client.listStorageVolumeSnapshots(project, pool, name).pipe(
          mapErrors(ctx, subject(name, "list snapshots"))
        )
        const listed = snapshots.map((s) => ({
          // Listed with recursion as `<volume>/<snapshot>`.
          name: s.name.slice(s.name.lastIndexOf("/") + 1),
          createdAt: Option.getOrElse(DateTime.make(s.created_at), () => DateTime.makeUnsafe(0))
        }))
        return listed
          .sort((a, b) => DateTime.toEpochMillis(a.createdAt) - DateTime.toEpochMillis(b.createdAt))
          .map((s) => new VolumeSnapshot(s))
      }
    ),

    restoreRepoVolume: Effect.fn("IncusContainerRuntime.restoreRepoVolume")(
      function*(name: ProjectName, snapshot: string) {
        yield* checkSnapshotName(name, "restore", snapshot)
        const { pool, volume } = yield* ownVolume(name, "restore")
        yield* client.getStorageVolumeSnapshot(project, pool, name, snapshot).pipe(
          mapErrors(ctx, snapshotSubject(name, snapshot, "restore"))
        )
        // Incus refuses to restore a volume a running instance uses: those stop for it, and start again.
        const running = yield* Effect.filter(usersOf(volume.used_by), (user) =>
          client.getInstance(project, user).pipe(
            Effect.map(({ value }) => value.status === "Running"),
            mapErrors(ctx, { kind: "instance", name: user, operation: "restore" })
          ))
        const restore = Effect.forEach(
          running,
          (user) =>
            client.updateInstanceState(project, user, { action: "stop", timeout: ctx.stopTimeout }).pipe(
              mapErrors(ctx, { kind: "instance", name: user, operation: "stop", stateful: true })
            ),
          { discard: true }
        ).pipe(
          Effect.andThen(
            client.restoreStorageVolume(project, pool, name, snapshot).pipe(
              mapErrors(ctx, snapshotSubject(name, snapshot, "restore"))
            )
          ),
          Effect.ensuring(
            Effect.forEach(
              running,
              (user) => Effect.ignore(client.updateInstanceState(project, user, { action: "start" })),
              { discard: true }
            )
          )
        )
        yield* Effect.uninterruptible(restore)
        // A start that failed above is reported: the instance should run as it did.
        for (const user of running) {
          const { value } = yield* client.getInstance(project, user).pipe(
            mapErrors(ctx, { kind: "instance", name: user, operation: "restore" })
          )
          if (value.status !== "Running") {
            return yield* failed(name, "restore", `instance ${user} did not start again after the restore`)
          }
        }
      }
    ),

    deleteRepoVolumeSnapshot: Effect.fn("IncusContainerRuntime.deleteRepoVolumeSnapshot")(
      function*(name: ProjectName, snapshot: string) {
        yield* checkSnapshotName(name, "delete snapshot", snapshot)
        const { pool } = yield* ownVolume(name, "delete snapshot")
        yield* client.deleteStorageVolumeSnapshot(project, pool, name, snapshot).pipe(
          mapErrors(ctx, snapshotSubject(name, snapshot, "delete snapshot"))
        )
      }
    ),

    exportRepoVolume: (name, { maxBytes }) =>
      Stream.unwrap(Effect.gen(function*() {
        const { pool } = yield* volumeOf(name, "export")
        const backup = `repoman-export-${randomBytes(6).toString("hex")}`
        // Incus drops the backup by itself a day on, should the deletion below never run.
        const expires = DateTime.formatIso(DateTime.add(yield* DateTime.now, { days: 1 }))
        yield* Effect.acquireRelease(
          client.createStorageVolumeBackup(project, pool, name, {
            name: backup,
            expires_at: expires,
            volume_only: true,
            optimized_storage: false,
            compression_algorithm: "gzip"
          }).pipe(mapErrors(ctx, subject(name, "export"))),
          () => Effect.ignore(client.deleteStorageVolumeBackup(project, pool, name, backup))
        )
        let total = 0
        return client.exportStorageVolumeBackup(project, pool, name, backup).pipe(
          Stream.mapError(toRuntimeError(project, subject(name, "export"))),
          Stream.mapEffect((chunk) => {
            total += chunk.length
            return total > maxBytes
              ? Effect.fail(failed(name, "export", `the archive is larger than ${maxBytes} bytes`))
              : Effect.succeed(chunk)
          })
        )
      })),

    importRepoVolume: <E>(name: ProjectName, archive: Stream.Stream<Uint8Array, E>, options: { maxBytes: number }) =>
      Effect.gen(function*() {
        const pool = yield* repoPool(ctx, name, "import")
        if (Option.isSome(yield* findVolume(ctx, pool, name, "import"))) {
          return yield* runtimeError(new AlreadyExists({ kind: "volume", name }))
        }
        // What stopped the upload on this side: the archive's own failure, or its size.
        let stopped: { readonly error: E | ContainerRuntimeError } | undefined
        let total = 0
        const capped = archive.pipe(
          Stream.tapError((error) =>
            Effect.sync(() => {
              stopped = { error }
            })
          ),
          Stream.mapEffect((chunk) => {
            total += chunk.length
            if (total <= options.maxBytes) return Effect.succeed(chunk)
            const error = failed(name, "import", `the archive is larger than ${options.maxBytes} bytes`)
            stopped = { error }
            return Effect.fail(error)
          })
        )
        yield* client.importStorageVolume(project, pool, name, Stream.toAsyncIterable(capped)).pipe(
          Effect.catch((e) =>
            stopped !== undefined
              ? Effect.fail(stopped.error)
              : Effect.fail(toRuntimeError(project, subject(name, "import"))(e))
          ),
          // No volume is left by a failed import (there was none before it).
          Effect.tapError(() => dropRepoVolume(ctx, pool, name)),
          Effect.uninterruptible
        )
        // What the archive said of owners and schedules does not count: the volume is this runtime's.
        const { etag, value } = yield* client.getStorageVolume(project, pool, name).pipe(
          mapErrors(ctx, subject(name, "import"))
        )
        yield* client.updateStorageVolume(project, pool, name, {
          description: `repo of ${name} (repoman)`,
          config: adoptedConfig(value.config, name, ctx.owner)
        }, etag).pipe(mapErrors(ctx, subject(name, "import")))
        const { volume } = yield* volumeOf(name, "import")
        return yield* asRepoVolume(name, volume)
      })
  }
}
