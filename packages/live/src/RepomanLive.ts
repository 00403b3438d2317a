/**
 * The default live stack, as a library: what the `repoman` command runs on,
 * for scripts that compose the same services. Built from the user's config:
 * the registry file, the Incus runtime bound to the registry's Incus
 * project, the profile library, the backup target the registry names, the
 * host, the process's signals, and Node's platform services ({@link SessionLive}
 * is the part `exec`, `run` and `shell` need). Each part can be overridden.
 *
 * @example
 * ```ts
 * import { RepomanLive } from "@repoman/live/RepomanLive"
 * import { listProjects } from "@repoman/programs/ListProjects"
 * import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
 * import * as Effect from "effect/Effect"
 *
 * listProjects.pipe(Effect.provide(RepomanLive), NodeRuntime.runMain)
 * ```
 *
 * @since 0.1.0
 * @module
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as PluginLoader from "@repoman/backup/PluginLoader"
import * as CheckpointStore from "@repoman/checkpoints/CheckpointStore"
import type { BackupTarget } from "@repoman/core/BackupTarget"
import type { Checkpoints } from "@repoman/core/Checkpoints"
import type { ConfigPaths } from "@repoman/core/ConfigPaths"
import type { ContainerRuntime } from "@repoman/core/ContainerRuntime"
import type { HostFiles } from "@repoman/core/HostFiles"
import type * as HostInfo from "@repoman/core/HostInfo"
import type { ProfileStore } from "@repoman/core/ProfileStore"
import type { Registry } from "@repoman/core/Registry"
import * as NodeHostFiles from "@repoman/node/NodeHostFiles"
import * as NodeHostInfo from "@repoman/node/NodeHostInfo"
import * as ProfileLibrary from "@repoman/profiles/ProfileLibrary"
import * as Layer from "effect/Layer"
import * as SessionLive from "./SessionLive.ts"

/**
 * Every service the stack provides: what a script (or the CLI) may require.
 *
 * @since 0.1.0
 * @category models
 */
export type Services =
  | ContainerRuntime
  | HostInfo.HostInfo
  | HostFiles
  | ProfileStore
  | BackupTarget
  | Checkpoints
  | Registry
  | ConfigPaths
  | NodeServices.NodeServices

/**
 * What a replacement backup target layer may require: the registry, the
 * config paths and the platform (all provided by the stack).
 *
 * @since 0.1.0
 * @category models
 */
export type BackupTargetRequirements = Registry | ConfigPaths | NodeServices.NodeServices

/**
 * Overrides of {@link layer}; each absent field keeps the default.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options<E = never> extends SessionLive.Options {
  /** A replacement for the backup target the registry names. */
  readonly backupTarget?: Layer.Layer<BackupTarget, E, BackupTargetRequirements>
}

/**
 * The live stack with overrides.
 *
 * @example
 * ```ts
 * import * as RepomanLive from "@repoman/live/RepomanLive"
 * import * as BackupTargetMemory from "@repoman/core/BackupTargetMemory"
 *
 * // another config dir and Incus project, and backups kept in memory
 * const staging = RepomanLive.layer({
 *   configDir: "~/.config/repoman-staging",
 *   incusProject: "staging",
 *   backupTarget: BackupTargetMemory.layer()
 * })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <E = never>(
  options: Options<E> = {}
): Layer.Layer<Services, HostInfo.HostInfoError | E> => {
  return Layer.mergeAll(
    SessionLive.runtimeLayer(options),
    NodeHostInfo.layer,
    NodeHostFiles.layer,
    ProfileLibrary.layer,
    options.backupTarget ?? PluginLoader.layerFromRegistry,
    CheckpointStore.layerFromRegistry
  ).pipe(
    Layer.provideMerge(SessionLive.registryLayer(options)),
    Layer.provideMerge(NodeServices.layer)
  )
}

/**
 * The default live stack, built from the environment and the user's config.
 *
 * @since 0.1.0
 * @category layers
 */
export const RepomanLive: Layer.Layer<Services, HostInfo.HostInfoError> = layer()
