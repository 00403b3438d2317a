/**
 * A typed client of the Incus REST API over the local unix socket.
 *
 * It mirrors the REST resources the way Incus's own Go client does, one
 * module per resource, on one transport ({@link IncusTransport}: envelope,
 * operations, errors):
 *
 * - {@link IncusInstances}: `/1.0/instances` and their state;
 * - {@link IncusInstanceFiles}: exec with recorded output, and the file API;
 * - {@link IncusProjects}, {@link IncusProfiles}, {@link IncusStoragePools};
 * - {@link IncusImages}: certificates (who a restricted client is) and images;
 * - here: the server (`GET /1.0`) and operations.
 *
 * The client sends what it is given and adds nothing: what repoman writes
 * into Incus objects (its managed keys, restrictions, devices) is decided by
 * `IncusContainerRuntime` and its config modules. Every failure is one
 * {@link IncusError} whose `reason` tells what happened.
 *
 * @since 0.1.0
 * @module
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as HttpClient from "effect/http/HttpClient"
import * as Layer from "effect/Layer"
import { Operation, Server } from "./IncusApi.ts"
import type { IncusError } from "./IncusError.ts"
import * as IncusImages from "./IncusImages.ts"
import * as IncusInstanceFiles from "./IncusInstanceFiles.ts"
import * as IncusInstances from "./IncusInstances.ts"
import * as IncusProfiles from "./IncusProfiles.ts"
import * as IncusProjects from "./IncusProjects.ts"
import * as IncusSocket from "./IncusSocket.ts"
import * as IncusStoragePools from "./IncusStoragePools.ts"
import * as IncusTransport from "./IncusTransport.ts"

/**
 * The client's operations. Each method is one REST call (plus the wait for
 * an asynchronous one); none has requirements.
 *
 * @since 0.1.0
 * @category models
 */
export interface IncusClientShape
  extends
    IncusInstances.InstancesClient,
    IncusInstanceFiles.InstanceFilesClient,
    IncusProjects.ProjectsClient,
    IncusProfiles.ProfilesClient,
    IncusStoragePools.StoragePoolsClient,
    IncusImages.ImagesClient
{
  /** The socket the client talks to. */
  readonly socketPath: string
  /** `GET /1.0`: API extensions and the server environment (kernel features, driver, ...). */
  readonly getServer: () => Effect.Effect<Server, IncusError>
  /** `GET /1.0/operations/ID`: one operation, without waiting. */
  readonly getOperation: (id: string) => Effect.Effect<Operation, IncusError>
  /** Waits for an operation to end; fails with the operation's error if it failed. */
  readonly waitOperation: (id: string) => Effect.Effect<Operation, IncusError>
}

/**
 * The Incus client service.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import * as IncusClient from "@repoman/incus/IncusClient"
 *
 * const driver = Effect.gen(function*() {
 *   const incus = yield* IncusClient.IncusClient
 *   const pool = yield* incus.getStoragePool("default")
 *   return pool.value.driver
 * }).pipe(Effect.provide(IncusClient.layer()))
 * ```
 *
 * @since 0.1.0
 * @category services
 */
export class IncusClient extends Context.Service<IncusClient, IncusClientShape>()("@repoman/incus/IncusClient") {}

/**
 * Options of {@link make}.
 *
 * @since 0.1.0
 * @category models
 */
export type MakeOptions = IncusTransport.Options

/**
 * Options of {@link layer}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The socket; default: resolved by {@link IncusSocket.fromEnvironment}. */
  readonly socketPath?: string
  /** How long to wait for one operation before failing it. Default 10 minutes. */
  readonly operationTimeout?: Duration.Input
}

/**
 * Builds the client on top of an `HttpClient` that reaches incusd (over the
 * socket, or a fake in tests).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: MakeOptions): Effect.Effect<IncusClientShape, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const transport = IncusTransport.make(yield* HttpClient.HttpClient, options)
    return {
      socketPath: transport.socketPath,
      getServer: Effect.fn("IncusClient.getServer")(function*() {
        return (yield* transport.getSync({ method: "GET", path: "/1.0" }, Server)).value
      }),
      getOperation: Effect.fn("IncusClient.getOperation")(function*(id) {
        const call = { method: "GET", path: `/1.0/operations/${IncusTransport.seg(id)}` } as const
        return (yield* transport.getSync(call, Operation)).value
      }),
      waitOperation: Effect.fn("IncusClient.waitOperation")(function*(id) {
        return yield* transport.wait(`wait for operation ${id}`, id)
      }),
      ...IncusInstances.make(transport),
      ...IncusInstanceFiles.make(transport),
      ...IncusProjects.make(transport),
      ...IncusProfiles.make(transport),
      ...IncusStoragePools.make(transport),
      ...IncusImages.make(transport)
    }
  })

/**
 * The client over an `HttpClient` you provide (a fake server in tests).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerNoDependencies = (options: MakeOptions): Layer.Layer<IncusClient, never, HttpClient.HttpClient> =>
  Layer.effect(IncusClient, make(options))

/**
 * The live client: the socket from `options` or the environment, one
 * keep-alive `node:http` Agent on it.
 *
 * @example
 * ```ts
 * import * as IncusClient from "@repoman/incus/IncusClient"
 * const live = IncusClient.layer()                                           // $INCUS_SOCKET, ... as `incus` does
 * const other = IncusClient.layer({ socketPath: "/run/incus/unix.socket" })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<IncusClient> =>
  Layer.unwrap(
    Effect.map(
      options.socketPath === undefined ? IncusSocket.fromEnvironment : Effect.succeed(options.socketPath),
      (socketPath) =>
        layerNoDependencies({
          socketPath,
          ...(options.operationTimeout === undefined ? {} : { operationTimeout: options.operationTimeout })
        }).pipe(Layer.provide(NodeHttpClient.layerNodeHttpOptions({ socketPath, keepAlive: true })))
    )
  )
