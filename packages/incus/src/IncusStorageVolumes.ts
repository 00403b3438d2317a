/**
 * The custom storage volumes of a project (`/1.0/storage-pools/POOL/volumes/custom`):
 * create, read, change, delete, snapshots (take, list, restore, delete) and
 * backups as tarballs (export as a stream, import from one). Part of
 * {@link IncusClient}.
 *
 * @since 0.1.0
 * @module
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import {
  nameFromUrl,
  StorageVolume,
  type StorageVolumeBackupsPost,
  type StorageVolumePut,
  StorageVolumeSnapshot,
  type StorageVolumesPost,
  type Versioned
} from "./IncusApi.ts"
import type { IncusError } from "./IncusError.ts"
import { seg, type Transport } from "./IncusTransport.ts"

/**
 * The custom volume calls. Every call names the project and the pool.
 *
 * @since 0.1.0
 * @category models
 */
export interface StorageVolumesClient {
  /** `GET .../volumes/custom?recursion=1`: the custom volumes of the project in the pool. */
  readonly listStorageVolumes: (
    project: string,
    pool: string
  ) => Effect.Effect<ReadonlyArray<StorageVolume>, IncusError>
  /** `GET .../volumes/custom/NAME`: one volume and its ETag (`NotFound` when missing). */
  readonly getStorageVolume: (
    project: string,
    pool: string,
    name: string
  ) => Effect.Effect<Versioned<StorageVolume>, IncusError>
  /** `POST .../volumes/custom`: makes an empty filesystem volume (on cluster member `options.target` when given). */
  readonly createStorageVolume: (
    project: string,
    pool: string,
    body: StorageVolumesPost,
    options?: { readonly target?: string }
  ) => Effect.Effect<void, IncusError>
  /** `PUT .../volumes/custom/NAME`: replaces the volume's settings (with `If-Match` when `etag` is given). */
  readonly updateStorageVolume: (
    project: string,
    pool: string,
    name: string,
    body: StorageVolumePut,
    etag?: string
  ) => Effect.Effect<void, IncusError>
  /** `DELETE .../volumes/custom/NAME`: deletes the volume and its snapshots (refused while attached). */
  readonly deleteStorageVolume: (project: string, pool: string, name: string) => Effect.Effect<void, IncusError>
  /** `POST .../volumes/custom/NAME/snapshots`: takes a snapshot, and waits for it. */
  readonly createStorageVolumeSnapshot: (
    project: string,
    pool: string,
    name: string,
    snapshot: string
  ) => Effect.Effect<void, IncusError>
  /** `GET .../volumes/custom/NAME/snapshots/SNAP`: one snapshot (`NotFound` when missing). */
  readonly getStorageVolumeSnapshot: (
    project: string,
    pool: string,
    name: string,
    snapshot: string
  ) => Effect.Effect<StorageVolumeSnapshot, IncusError>
  /** `GET .../volumes/custom/NAME/snapshots?recursion=1`: the snapshots, as Incus lists them. */
  readonly listStorageVolumeSnapshots: (
    project: string,
    pool: string,
    name: string
  ) => Effect.Effect<ReadonlyArray<StorageVolumeSnapshot>, IncusError>
  /** `DELETE .../volumes/custom/NAME/snapshots/SNAP`, waiting for it. */
  readonly deleteStorageVolumeSnapshot: (
    project: string,
    pool: string,
    name: string,
    snapshot: string
  ) => Effect.Effect<void, IncusError>
  /**
   * `PUT .../volumes/custom/NAME` with `{"restore": SNAP}`: puts the volume
   * back as it was in the snapshot (Incus refuses while a running instance
   * uses it).
   */
  readonly restoreStorageVolume: (
    project: string,
    pool: string,
    name: string,
    snapshot: string
  ) => Effect.Effect<void, IncusError>
  /** `POST .../volumes/custom/NAME/backups`: makes a backup tarball, and waits for it. */
  readonly createStorageVolumeBackup: (
    project: string,
    pool: string,
    name: string,
    body: StorageVolumeBackupsPost
  ) => Effect.Effect<void, IncusError>
  /** `GET .../volumes/custom/NAME/backups/BACKUP/export`: the tarball, as it arrives (the consumer caps it). */
  readonly exportStorageVolumeBackup: (
    project: string,
    pool: string,
    name: string,
    backup: string
  ) => Stream.Stream<Uint8Array, IncusError>
  /** `GET .../volumes/custom/NAME/backups`: the names of the volume's backups. */
  readonly listStorageVolumeBackups: (
    project: string,
    pool: string,
    name: string
  ) => Effect.Effect<ReadonlyArray<string>, IncusError>
  /** `DELETE .../volumes/custom/NAME/backups/BACKUP`, waiting for it. */
  readonly deleteStorageVolumeBackup: (
    project: string,
    pool: string,
    name: string,
    backup: string
  ) => Effect.Effect<void, IncusError>
  /**
   * `POST .../volumes/custom` with the tarball as an `application/octet-stream`
   * body, sent as it is read, and `X-Incus-Name: NAME`: makes volume `name`
   * from a backup, and waits for it.
   */
  readonly importStorageVolume: (
    project: string,
    pool: string,
    name: string,
    tarball: AsyncIterable<Uint8Array>
  ) => Effect.Effect<void, IncusError>
}

/**
 * The custom volume calls over `transport`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (transport: Transport): StorageVolumesClient => {
  const volumes = (pool: string) => `/1.0/storage-pools/${seg(pool)}/volumes/custom`
  const volume = (pool: string, name: string) => `${volumes(pool)}/${seg(name)}`
  return {
    listStorageVolumes: Effect.fn("IncusClient.listStorageVolumes")(function*(project, pool) {
      const call = { method: "GET", path: volumes(pool), project, params: { recursion: "1" } } as const
      return (yield* transport.getSync(call, Schema.Array(StorageVolume))).value
    }),

    getStorageVolume: Effect.fn("IncusClient.getStorageVolume")(function*(project, pool, name) {
      return yield* transport.getSync({ method: "GET", path: volume(pool, name), project }, StorageVolume)
    }),

    createStorageVolume: Effect.fn("IncusClient.createStorageVolume")(function*(project, pool, body, options) {
      const target = options?.target
      yield* transport.asVoid({
        method: "POST",
        path: volumes(pool),
        project,
        body,
        ...(target === undefined ? {} : { params: { target } })
      })
    }),

    updateStorageVolume: Effect.fn("IncusClient.updateStorageVolume")(function*(project, pool, name, body, etag) {
      yield* transport.asVoid({ method: "PUT", path: volume(pool, name), project, body, etag })
    }),

    deleteStorageVolume: Effect.fn("IncusClient.deleteStorageVolume")(function*(project, pool, name) {
      yield* transport.asVoid({ method: "DELETE", path: volume(pool, name), project })
    }),

    createStorageVolumeSnapshot: Effect.fn("IncusClient.createStorageVolumeSnapshot")(
      function*(project, pool, name, snapshot) {
        yield* transport.asVoid({
          method: "POST",
          path: `${volume(pool, name)}/snapshots`,
          project,
          body: { name: snapshot }
        })
      }
    ),

    getStorageVolumeSnapshot: Effect.fn("IncusClient.getStorageVolumeSnapshot")(
      function*(project, pool, name, snapshot) {
        const call = { method: "GET", path: `${volume(pool, name)}/snapshots/${seg(snapshot)}`, project } as const
        return (yield* transport.getSync(call, StorageVolumeSnapshot)).value
      }
    ),

    listStorageVolumeSnapshots: Effect.fn("IncusClient.listStorageVolumeSnapshots")(function*(project, pool, name) {
      const call = {
        method: "GET",
        path: `${volume(pool, name)}/snapshots`,
        project,
        params: { recursion: "1" }
      } as const
      return (yield* transport.getSync(call, Schema.Array(StorageVolumeSnapshot))).value
    }),

    deleteStorageVolumeSnapshot: Effect.fn("IncusClient.deleteStorageVolumeSnapshot")(
      function*(project, pool, name, snapshot) {
        yield* transport.asVoid({ method: "DELETE", path: `${volume(pool, name)}/snapshots/${seg(snapshot)}`, project })
      }
    ),

    restoreStorageVolume: Effect.fn("IncusClient.restoreStorageVolume")(function*(project, pool, name, snapshot) {
      yield* transport.asVoid({ method: "PUT", path: volume(pool, name), project, body: { restore: snapshot } })
    }),

    createStorageVolumeBackup: Effect.fn("IncusClient.createStorageVolumeBackup")(function*(project, pool, name, body) {
      yield* transport.asVoid({ method: "POST", path: `${volume(pool, name)}/backups`, project, body })
    }),

    exportStorageVolumeBackup: (project, pool, name, backup) =>
      transport.readStream({
        method: "GET",
        path: `${volume(pool, name)}/backups/${seg(backup)}/export`,
        project
      }),

    listStorageVolumeBackups: Effect.fn("IncusClient.listStorageVolumeBackups")(function*(project, pool, name) {
      const call = { method: "GET", path: `${volume(pool, name)}/backups`, project } as const
      return (yield* transport.getSync(call, Schema.Array(Schema.String))).value.map(nameFromUrl)
    }),

    deleteStorageVolumeBackup: Effect.fn("IncusClient.deleteStorageVolumeBackup")(
      function*(project, pool, name, backup) {
        yield* transport.asVoid({ method: "DELETE", path: `${volume(pool, name)}/backups/${seg(backup)}`, project })
      }
    ),

    importStorageVolume: Effect.fn("IncusClient.importStorageVolume")(function*(project, pool, name, tarball) {
      yield* transport.asVoid({
        method: "POST",
        path: volumes(pool),
        project,
        headers: { "X-Incus-Name": name },
        upload: tarball
      })
    })
  }
}
