/**
 * The storage pools resource of the Incus REST API (`/1.0/storage-pools`),
 * shared by every project. Part of {@link IncusClient}.
 *
 * @since 0.1.0
 * @module
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { StoragePool, type StoragePoolPut, type StoragePoolsPost, type Versioned } from "./IncusApi.ts"
import type { IncusError } from "./IncusError.ts"
import { type Call, seg, type Transport } from "./IncusTransport.ts"

/**
 * The storage pool calls.
 *
 * @since 0.1.0
 * @category models
 */
export interface StoragePoolsClient {
  /** `GET /1.0/storage-pools`: every storage pool. */
  readonly listStoragePools: () => Effect.Effect<ReadonlyArray<StoragePool>, IncusError>
  /** `GET /1.0/storage-pools/NAME`: one storage pool and its ETag. */
  readonly getStoragePool: (name: string) => Effect.Effect<Versioned<StoragePool>, IncusError>
  /** `POST /1.0/storage-pools`: creates a storage pool, exactly as `body` says. */
  readonly createStoragePool: (body: StoragePoolsPost) => Effect.Effect<void, IncusError>
  /** `PUT /1.0/storage-pools/NAME`: replaces a pool's settings (with `If-Match` when `etag` is given). */
  readonly updateStoragePool: (name: string, body: StoragePoolPut, etag?: string) => Effect.Effect<void, IncusError>
  /** `DELETE /1.0/storage-pools/NAME`: deletes an unused storage pool. */
  readonly deleteStoragePool: (name: string) => Effect.Effect<void, IncusError>
}

/**
 * The storage pool calls over `transport`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (transport: Transport): StoragePoolsClient => {
  const poolPath = (name: string) => `/1.0/storage-pools/${seg(name)}`
  return {
    listStoragePools: Effect.fn("IncusClient.listStoragePools")(function*() {
      const call: Call = { method: "GET", path: "/1.0/storage-pools", params: { recursion: "1" } }
      return (yield* transport.getSync(call, Schema.Array(StoragePool))).value
    }),

    getStoragePool: Effect.fn("IncusClient.getStoragePool")(function*(name) {
      return yield* transport.getSync({ method: "GET", path: poolPath(name) }, StoragePool)
    }),

    createStoragePool: Effect.fn("IncusClient.createStoragePool")(function*(body) {
      yield* transport.asVoid({ method: "POST", path: "/1.0/storage-pools", body })
    }),

    updateStoragePool: Effect.fn("IncusClient.updateStoragePool")(function*(name, body, etag) {
      yield* transport.asVoid({ method: "PUT", path: poolPath(name), body, etag })
    }),

    deleteStoragePool: Effect.fn("IncusClient.deleteStoragePool")(function*(name) {
      yield* transport.asVoid({ method: "DELETE", path: poolPath(name) })
    })
  }
}
