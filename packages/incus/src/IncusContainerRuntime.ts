/**
 * The {@link ContainerRuntime} backed by Incus: the namespace is an Incus
 * project, instances are containers in it, runtime profiles are the
 * project's profiles.
 *
 * The runtime turns repoman's intent into Incus objects through its config
 * modules, where every Incus policy lives: {@link IncusInstanceConfig}
 * (instances: devices, `raw.idmap`, `limits.*`, `environment.*`),
 * {@link IncusProjectConfig} (the project's `restricted.*` keys and allowed
 * paths), {@link IncusProfileDocument} (what a profile means and what the
 * project would refuse) and {@link IncusLabels} (`user.repoman.*`, the
 * managed keys). Its parts, by concern:
 *
 * - namespace: `ensureNamespace` (GET, merge, PUT with the ETag; a root disk
 *   on the default profile; never a project repoman did not make, or made
 *   for another user), allowed paths, what repoman made, the client's
 *   `access` (the admin socket, or `incus-user`'s restricted certificate)
 *   and `checkNamespace` (what an admin must set up for a restricted one);
 * - owners: everything made records `user.repoman.owner` (the `owner`
 *   option, by default this process's uid); `adopt` records it on an object
 *   an older repoman made;
 * - instances: `create` is one `POST /1.0/instances` with `start: true`; if
 *   the container was made but does not start, it is deleted again;
 * - files: the Incus file API (running or stopped instances);
 * - exec: `exec` runs without a terminal and records the output; `shell`
 *   attaches the command to the caller's terminal and stdio over the exec
 *   websockets (no `incus` binary), with the process's signals passed on
 *   through `ProcessSignals`; `attachCommand` is `incus exec` with a client
 *   config dir of repoman's own;
 * - profiles: reads leave the managed keys out, so a profile reads back
 *   exactly as it was put.
 *
 * Errors name the object the call was about and keep the Incus error as
 * their cause.
 *
 * @since 0.1.0
 * @module
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { ContainerRuntime } from "@repoman/core/ContainerRuntime"
import { ProcessSignals } from "@repoman/core/ProcessSignals"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import { homedir } from "node:os"
import * as IncusClient from "./IncusClient.ts"
import { readAccess } from "./internal/runtime/access.ts"
import * as Cluster from "./internal/runtime/cluster.ts"
import type { RuntimeContext } from "./internal/runtime/context.ts"
import * as Exec from "./internal/runtime/exec.ts"
import * as Files from "./internal/runtime/files.ts"
import * as Instances from "./internal/runtime/instances.ts"
import * as Namespace from "./internal/runtime/namespace.ts"
import * as Profiles from "./internal/runtime/profiles.ts"
import { processIo } from "./internal/runtime/session.ts"
import * as Volumes from "./internal/runtime/volumes.ts"

/**
 * Options of {@link layer}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The Incus project the runtime acts in. */
  readonly project: string
  /** The host uid recorded as the owner of what the runtime makes. Default: this process's uid. */
  readonly owner?: number
  /** The `incus` command of `attachCommand`. Default `"incus"` (found on PATH). */
  readonly incusCommand?: string
  /**
   * The config dir of that command's client: repoman's own, so the user's
   * remotes cannot change where it goes, and with a `config.yml` in it the
   * client prints no first-run notice. Default
   * `$XDG_STATE_HOME/repoman/incus-client` (`~/.local/state/...`).
   */
  readonly clientConfigDir?: string
  /** How long a graceful stop or restart may take before Incus gives up. Default 30 s. */
  readonly stopTimeout?: Duration.Input
}

const defaultClientConfigDir = () =>
  `${process.env["XDG_STATE_HOME"] || `${homedir()}/.local/state`}/repoman/incus-client`

/**
 * Builds the runtime for `options.project`. A `shell` session passes the
 * process's signals on through the `ProcessSignals` of the context the
 * runtime is built in.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options
): Effect.Effect<ContainerRuntime["Service"], never, IncusClient.IncusClient | FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const client = yield* IncusClient.IncusClient
    const owner = options.owner ?? process.getuid?.() ?? 0
    const ctx: RuntimeContext = {
      client,
      fs: yield* FileSystem.FileSystem,
      signals: yield* ProcessSignals,
      io: processIo,
      project: options.project,
      owner,
      access: yield* Effect.cached(readAccess(client, options.project, owner)),
      incusCommand: options.incusCommand ?? "incus",
      clientConfigDir: options.clientConfigDir ?? defaultClientConfigDir(),
      stopTimeout: Math.max(1, Math.ceil(Duration.toSeconds(options.stopTimeout ?? "30 seconds")))
    }
    return ContainerRuntime.of({
      namespace: options.project,
      owner,
      hostPaths: client.local,
      ...Namespace.make(ctx),
      ...Instances.make(ctx),
      ...Files.make(ctx),
      ...Exec.make(ctx),
      ...Profiles.make(ctx),
      ...Volumes.make(ctx),
      ...Cluster.make(ctx)
    })
  })

/**
 * The runtime over an {@link IncusClient.IncusClient} and a `FileSystem`
 * you provide.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerNoDependencies = (
  options: Options
): Layer.Layer<ContainerRuntime, never, IncusClient.IncusClient | FileSystem.FileSystem> =>
  Layer.effect(ContainerRuntime, make(options))

/**
 * The runtime over an {@link IncusClient.IncusClient}, with Node's file
 * system.
 *
 * @example
 * ```ts
 * import * as IncusClient from "@repoman/incus/IncusClient"
 * import * as IncusContainerRuntime from "@repoman/incus/IncusContainerRuntime"
 * import * as Layer from "effect/Layer"
 *
 * const runtime = IncusContainerRuntime.layer({ project: "repoman" }).pipe(Layer.provide(IncusClient.layer()))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<ContainerRuntime, never, IncusClient.IncusClient> =>
  layerNoDependencies(options).pipe(Layer.provide(NodeFileSystem.layer))

/**
 * The runtime together with the live {@link IncusClient.layer} (socket from
 * `options.socketPath` or the environment).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerClient = (options: Options & IncusClient.Options): Layer.Layer<ContainerRuntime> => {
  const { operationTimeout, remote, socketPath } = options
  return layer(options).pipe(
    Layer.provide(IncusClient.layer({
      ...(socketPath === undefined ? {} : { socketPath }),
      ...(operationTimeout === undefined ? {} : { operationTimeout }),
      ...(remote === undefined ? {} : { remote })
    }))
  )
}
