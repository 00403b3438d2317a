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
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Operation, Server } from "./IncusApi.ts"
import * as IncusCluster from "./IncusCluster.ts"
import { type IncusError, RemoteFailed } from "./IncusError.ts"
import * as IncusImages from "./IncusImages.ts"
import * as IncusInstanceFiles from "./IncusInstanceFiles.ts"
import * as IncusInstances from "./IncusInstances.ts"
import * as IncusProfiles from "./IncusProfiles.ts"
import * as IncusProjects from "./IncusProjects.ts"
import * as IncusSocket from "./IncusSocket.ts"
import * as IncusStoragePools from "./IncusStoragePools.ts"
import * as IncusStorageVolumes from "./IncusStorageVolumes.ts"
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
    IncusStorageVolumes.StorageVolumesClient,
    IncusImages.ImagesClient,
    IncusCluster.ClusterClient
{
  /** The socket the client talks to. */
  readonly socketPath: string
  /**
   * Whether incusd runs on this host and can mount its paths: true for the
   * unix socket, false for a remote reached over HTTPS.
   */
  readonly local: boolean
  /** Opens a connection to incusd (for the websockets of an exec session). */
  readonly dial: IncusTransport.Dial
  /** The Incus remote reached over HTTPS, if any (`undefined`: the unix socket). */
  readonly remote: IncusTransport.RemoteLabel | undefined
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
  /** How to open a connection (default: the unix socket). */
  readonly dial?: IncusTransport.Dial
  /** Whether incusd runs on this host and can mount its paths (default true: the unix socket). */
  readonly local?: boolean
  /** How long to wait for one operation before failing it. Default 10 minutes. */
  readonly operationTimeout?: Duration.Input
  /**
   * An Incus remote of the `incus` client's config (`$INCUS_CONF`, else
   * `~/.config/incus`) to talk to instead of the unix socket: HTTPS with
   * its client certificate and pinned server certificate
   * ({@link IncusRemotes}, {@link IncusTls}). `local` (or none) is the unix
   * socket. A remote that cannot be used fails every request with a
   * `RemoteFailed` reason that says why.
   */
  readonly remote?: string | undefined
  /** The `incus` client's config dir the remote is read from (default `$INCUS_CONF`, else `~/.config/incus`). */
  readonly incusConfigDir?: string | undefined
}

/**
 * Builds the client on the socket (or the dial) of `options`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: MakeOptions): IncusClientShape => {
  const transport = IncusTransport.make(options)
  return {
    socketPath: transport.socketPath,
    local: transport.local,
    dial: transport.dial,
    remote: transport.remote,
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
    ...IncusStorageVolumes.make(transport),
    ...IncusImages.make(transport),
    ...IncusCluster.make(transport)
  }
}

/**
 * The live client: the socket from `options` or the environment, or the
 * Incus remote `options.remote` over HTTPS; one connection per request.
 *
 * @example
 * ```ts
 * import * as IncusClient from "@repoman/incus/IncusClient"
 * const live = IncusClient.layer()                                           // $INCUS_SOCKET, ... as `incus` does
 * const other = IncusClient.layer({ socketPath: "/run/incus/unix.socket" })
 * const lab = IncusClient.layer({ remote: "lab" })                          // over HTTPS, as `incus remote add` set it up
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<IncusClient> =>
  Layer.effect(
    IncusClient,
    options.remote === undefined || options.remote === "local" ? onSocket(options) : onRemote(options, options.remote)
  )

const onSocket = (options: Options, given = options.socketPath) =>
  Effect.map(
    given === undefined ? IncusSocket.fromEnvironment : Effect.succeed(given),
    (socketPath) =>
      make({
        socketPath,
        ...(options.dial === undefined ? {} : { dial: options.dial }),
        ...(options.local === undefined ? {} : { local: options.local }),
        ...(options.operationTimeout === undefined ? {} : { operationTimeout: options.operationTimeout })
      })
  )

/** The client of remote `name`; its modules (YAML, TLS) are loaded only for a remote. */
const onRemote = (options: Options, name: string) =>
  Effect.gen(function*() {
    const [IncusRemotes, IncusTls] = yield* Effect.promise(() =>
      Promise.all([import("./IncusRemotes.ts"), import("./IncusTls.ts")])
    )
    const timeout = options.operationTimeout === undefined ? {} : { operationTimeout: options.operationTimeout }
    const INCUS_CONF = options.incusConfigDir ?? (yield* IncusSocket.optionalString("INCUS_CONF").pipe(Effect.orDie))
    const insecure = yield* IncusSocket.optionalString("INCUS_INSECURE_TLS").pipe(Effect.orDie)
    const resolved = yield* Effect.result(IncusRemotes.load(name, { INCUS_CONF }))
    if (resolved._tag === "Failure") {
      const p = resolved.failure
      return make({
        socketPath: `remote ${name}`,
        local: false,
        refused: new RemoteFailed({ remote: name, address: "", problem: p.problem, detail: p.explanation, code: "" }),
        ...timeout
      })
    }
    const remote = resolved.success
    if (remote._tag === "Unix") return yield* onSocket(options, options.socketPath ?? remote.socketPath)
    const { credentials } = remote
    const label = {
      name,
      address: remote.address,
      pinned: credentials.serverCert === undefined ? undefined : credentials.serverCertPath,
      configDir: credentials.configDir
    }
    const dial = Effect.try({
      try: () =>
        IncusTls.dial({
          host: remote.host,
          port: remote.port,
          cert: credentials.cert,
          key: credentials.key,
          serverCert: credentials.serverCert,
          ca: credentials.ca,
          allowTls12: insecure !== undefined && insecure !== "" && insecure !== "false"
        }),
      catch: (cause) =>
        new RemoteFailed({
          remote: name,
          address: remote.address,
          problem: cause instanceof IncusTls.TlsSetupError && cause.which === "server"
            ? "certificate"
            : "client-certificate",
          detail: `${cause instanceof Error ? cause.message : String(cause)}: ${
            cause instanceof IncusTls.TlsSetupError && cause.which === "server"
              ? credentials.serverCertPath
              : credentials.certPath
          }`,
          code: ""
        })
    })
    return yield* Effect.match(dial, {
      onSuccess: (d) => make({ socketPath: remote.address, local: false, remote: label, dial: d, ...timeout }),
      onFailure: (refused) => make({ socketPath: remote.address, local: false, remote: label, refused, ...timeout })
    })
  })
