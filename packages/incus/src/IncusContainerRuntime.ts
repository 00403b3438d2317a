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
 * - exec: `exec` runs without a terminal and records the output (REST only);
 *   `shell` hands the terminal to `incus exec`;
 * - profiles: reads leave the managed keys out, so a profile reads back
 *   exactly as it was put.
 *
 * Errors name the object the call was about and keep the Incus error as
 * their cause.
 *
 * @since 0.1.0
 * @module
 */
import * as NodeChildProcessSpawner from "@effect/platform-node/NodeChildProcessSpawner"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { ContainerRuntime } from "@repoman/core/ContainerRuntime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import { ChildProcessSpawner } from "effect/process/ChildProcessSpawner"
import * as IncusClient from "./IncusClient.ts"
import { readAccess } from "./internal/runtime/access.ts"
import type { RuntimeContext } from "./internal/runtime/context.ts"
import * as Exec from "./internal/runtime/exec.ts"
import * as Files from "./internal/runtime/files.ts"
import * as Instances from "./internal/runtime/instances.ts"
import * as Namespace from "./internal/runtime/namespace.ts"
import * as Profiles from "./internal/runtime/profiles.ts"

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
  /** The `incus` command `shell` runs. Default `"incus"` (found on PATH). */
  readonly incusCommand?: string
  /** How long a graceful stop or restart may take before Incus gives up. Default 30 s. */
  readonly stopTimeout?: Duration.Input
}

/**
 * Builds the runtime for `options.project`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options
): Effect.Effect<
  ContainerRuntime["Service"],
  never,
  IncusClient.IncusClient | ChildProcessSpawner | FileSystem.FileSystem
> =>
  Effect.gen(function*() {
    const client = yield* IncusClient.IncusClient
    const owner = options.owner ?? process.getuid?.() ?? 0
    const ctx: RuntimeContext = {
      client,
      spawner: yield* ChildProcessSpawner,
      fs: yield* FileSystem.FileSystem,
      project: options.project,
      owner,
      access: yield* Effect.cached(readAccess(client, options.project, owner)),
      incusCommand: options.incusCommand ?? "incus",
      stopTimeout: Math.max(1, Math.ceil(Duration.toSeconds(options.stopTimeout ?? "30 seconds")))
    }
    return ContainerRuntime.of({
      namespace: options.project,
      owner,
      ...Namespace.make(ctx),
      ...Instances.make(ctx),
      ...Files.make(ctx),
      ...Exec.make(ctx),
      ...Profiles.make(ctx)
    })
  })

/**
 * The runtime over an {@link IncusClient.IncusClient} and a
 * `ChildProcessSpawner` you provide (fakes in tests).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerNoDependencies = (
  options: Options
): Layer.Layer<ContainerRuntime, never, IncusClient.IncusClient | ChildProcessSpawner | FileSystem.FileSystem> =>
  Layer.effect(ContainerRuntime, make(options))

/**
 * The runtime over an {@link IncusClient.IncusClient}, spawning `incus` with
 * Node's child processes.
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
  layerNoDependencies(options).pipe(
    Layer.provide(NodeChildProcessSpawner.layer),
    Layer.provide(Layer.mergeAll(NodeFileSystem.layer, NodePath.layer))
  )

/**
 * The runtime together with the live {@link IncusClient.layer} (socket from
 * `options.socketPath` or the environment).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerClient = (options: Options & IncusClient.Options): Layer.Layer<ContainerRuntime> => {
  const { operationTimeout, socketPath } = options
  return layer(options).pipe(
    Layer.provide(IncusClient.layer({
      ...(socketPath === undefined ? {} : { socketPath }),
      ...(operationTimeout === undefined ? {} : { operationTimeout })
    }))
  )
}
