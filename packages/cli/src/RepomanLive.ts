/**
 * The default live stack, as a library: what the `repoman` command runs on,
 * for scripts that compose the same services. Built from the user's config:
 * the registry file, the Incus runtime bound to the registry's Incus
 * project, the profile library, the backup target the registry names, the
 * host, and Node's platform services. Each part can be overridden.
 *
 * @example
 * ```ts
 * import { RepomanLive } from "@repoman/cli/RepomanLive"
 * import { listProjects } from "@repoman/programs/ListProjects"
 * import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
 * import * as Effect from "effect/Effect"
 *
 * listProjects.pipe(Effect.provide(RepomanLive), NodeRuntime.runMain)
 * ```
 *
 * @since 0.1.0
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as PluginLoader from "@repoman/backup/PluginLoader"
import * as CheckpointStore from "@repoman/checkpoints/CheckpointStore"
import type { BackupTarget } from "@repoman/core/BackupTarget"
import type { Checkpoints } from "@repoman/core/Checkpoints"
import { ConfigPaths, expandHome, paths } from "@repoman/core/ConfigPaths"
import type { ContainerRuntime } from "@repoman/core/ContainerRuntime"
import type * as HostInfo from "@repoman/core/HostInfo"
import type { ProfileStore } from "@repoman/core/ProfileStore"
import { Registry } from "@repoman/core/Registry"
import * as IncusContainerRuntime from "@repoman/incus/IncusContainerRuntime"
import * as NodeConfigPaths from "@repoman/node/NodeConfigPaths"
import * as NodeHostInfo from "@repoman/node/NodeHostInfo"
import * as RegistryFile from "@repoman/node/RegistryFile"
import * as ProfileLibrary from "@repoman/profiles/ProfileLibrary"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/**
 * Every service the stack provides: what a script (or the CLI) may require.
 *
 * @since 0.1.0
 * @category models
 */
export type Services =
  | ContainerRuntime
  | HostInfo.HostInfo
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
export interface Options<E = never> {
  /** The config dir (default `$REPOMAN_CONFIG_DIR`, `$XDG_CONFIG_HOME/repoman` or `~/.config/repoman`); `~` is expanded. */
  readonly configDir?: string
  /** The Incus unix socket (default: `$INCUS_SOCKET`, then the usual paths). */
  readonly incusSocket?: string
  /** The Incus project (default: the registry's `[defaults].incus_project`, `repoman` before setup). */
  readonly incusProject?: string
  /** A replacement for the backup target the registry names. */
  readonly backupTarget?: Layer.Layer<BackupTarget, E, BackupTargetRequirements>
}

const configPaths = (configDir: string | undefined): Layer.Layer<ConfigPaths> =>
  configDir === undefined ? NodeConfigPaths.layer : Layer.effect(
    ConfigPaths,
    Effect.gen(function*() {
      const resolved = yield* ConfigPaths
      return paths({
        home: resolved.home,
        configDir: expandHome(configDir, resolved.home),
        stateDir: resolved.stateDir
      })
    })
  ).pipe(Layer.provide(NodeConfigPaths.layer))

const runtime = (options: Options<unknown>): Layer.Layer<ContainerRuntime, never, Registry> =>
  Layer.unwrap(
    Effect.gen(function*() {
      const registry = yield* Registry
      const project = options.incusProject ?? (yield* registry.load.pipe(
        Effect.map((d) => d.defaults.incusProject),
        Effect.orElseSucceed(() => "repoman")
      ))
      return IncusContainerRuntime.layerClient({
        project,
        ...(options.incusSocket === undefined ? {} : { socketPath: options.incusSocket })
      })
    })
  )

/**
 * The live stack with overrides.
 *
 * @example
 * ```ts
 * import * as RepomanLive from "@repoman/cli/RepomanLive"
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
  const registry = RegistryFile.layer().pipe(Layer.provideMerge(configPaths(options.configDir)))
  return Layer.mergeAll(
    runtime(options),
    NodeHostInfo.layer,
    ProfileLibrary.layer,
    options.backupTarget ?? PluginLoader.layerFromRegistry,
    CheckpointStore.layerFromRegistry
  ).pipe(
    Layer.provideMerge(registry),
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
