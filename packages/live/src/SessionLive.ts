/**
 * The live stack of the commands that run something in a container
 * (`exec`, `run`, `shell`): the registry file, the Incus runtime bound to
 * the registry's Incus project, the host, the process's signals, and Node's
 * file system and paths. It is the part of {@link RepomanLive} those commands
 * need, so that they load neither the profile library nor the backup
 * targets (start-up time is most of what they cost).
 *
 * @example
 * ```ts
 * import * as SessionLive from "@repoman/live/SessionLive"
 * import * as NodeSignals from "@repoman/node/NodeSignals"
 * import { ProjectName } from "@repoman/core/Ids"
 * import { openShell } from "@repoman/programs/OpenShell"
 * import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
 *
 * openShell(ProjectName.make("isurus"), { argv: ["make", "test"] }).pipe(
 *   Effect.provide(SessionLive.layer()),
 *   NodeSignals.runMain // signals go to the command while it runs
 * )
 * ```
 *
 * @since 0.1.0
 * @module
 */
import * as NodeChildProcessSpawner from "@effect/platform-node/NodeChildProcessSpawner"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as CheckpointStore from "@repoman/checkpoints/CheckpointStore"
import type { Checkpoints } from "@repoman/core/Checkpoints"
import { ConfigPaths, expandHome, paths } from "@repoman/core/ConfigPaths"
import type { ContainerRuntime } from "@repoman/core/ContainerRuntime"
import type * as HostInfo from "@repoman/core/HostInfo"
import { Registry } from "@repoman/core/Registry"
import * as IncusContainerRuntime from "@repoman/incus/IncusContainerRuntime"
import * as NodeConfigPaths from "@repoman/node/NodeConfigPaths"
import * as NodeHostInfo from "@repoman/node/NodeHostInfo"
import * as NodeSignals from "@repoman/node/NodeSignals"
import * as RegistryFile from "@repoman/node/RegistryFile"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import type * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Path from "effect/Path"

/**
 * Every service the session stack provides.
 *
 * @since 0.1.0
 * @category models
 */
export type Services =
  | ContainerRuntime
  | Checkpoints
  | HostInfo.HostInfo
  | Registry
  | ConfigPaths
  | FileSystem.FileSystem
  | Path.Path

/**
 * Overrides of {@link layer}; each absent field keeps the default.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The config dir (default `$REPOMAN_CONFIG_DIR`, `$XDG_CONFIG_HOME/repoman` or `~/.config/repoman`); `~` is expanded. */
  readonly configDir?: string
  /** The Incus unix socket (default: `$INCUS_SOCKET`, then the usual paths). */
  readonly incusSocket?: string
  /** The Incus project (default: the registry's `[defaults].incus_project`, `repoman` before setup). */
  readonly incusProject?: string
  /**
   * The Incus remote of the `incus` client to talk to over HTTPS (default:
   * `$REPOMAN_REMOTE`, else the registry's `[incus] remote`, else none: the
   * unix socket); `"local"` is the unix socket.
   */
  readonly remote?: string
}

/**
 * The Incus remote a run uses: `option` (`--remote`), else
 * `$REPOMAN_REMOTE`, else `[incus] remote` of the registry; `undefined`
 * (the unix socket) when none names one.
 *
 * @since 0.1.0
 * @category utils
 */
export const chooseRemote = (
  option: string | undefined,
  env: string | undefined,
  registry: string | undefined
): string | undefined => [option, env, registry].find((r) => r !== undefined && r.length > 0)

const envRemote = Config.String("REPOMAN_REMOTE").pipe(
  Config.option,
  Config.map(Option.getOrUndefined),
  Config.orElse(() => Config.succeed(undefined))
)

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

/**
 * The registry file in the config dir, with the config paths.
 *
 * @since 0.1.0
 * @category layers
 */
export const registryLayer = (
  options: Options
): Layer.Layer<Registry | ConfigPaths, never, FileSystem.FileSystem | Path.Path> =>
  RegistryFile.layer().pipe(Layer.provideMerge(configPaths(options.configDir)))

/**
 * The Incus runtime in the registry's Incus project (its `incus exec`
 * client config in the state dir), passing signals on to sessions.
 *
 * @since 0.1.0
 * @category layers
 */
export const runtimeLayer = (options: Options): Layer.Layer<ContainerRuntime, never, Registry | ConfigPaths> =>
  Layer.unwrap(
    Effect.gen(function*() {
      const registry = yield* Registry
      const { stateDir } = yield* ConfigPaths
      const document = yield* registry.load.pipe(Effect.option)
      const project = options.incusProject ??
        Option.match(document, { onNone: () => "repoman", onSome: (d) => d.defaults.incusProject })
      const remote = chooseRemote(
        options.remote,
        yield* envRemote.pipe(Effect.orElseSucceed(() => undefined)),
        Option.getOrUndefined(document)?.incus.remote
      )
      return IncusContainerRuntime.layerClient({
        project,
        clientConfigDir: `${stateDir}/incus-client`,
        ...(options.incusSocket === undefined ? {} : { socketPath: options.incusSocket }),
        ...(remote === undefined ? {} : { remote })
      }).pipe(Layer.provide(NodeSignals.layer))
    })
  )

/**
 * The session stack with overrides.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<Services, HostInfo.HostInfoError> =>
  Layer.mergeAll(runtimeLayer(options), NodeHostInfo.layer, CheckpointStore.layerFromRegistry).pipe(
    Layer.provideMerge(registryLayer(options)),
    Layer.provideMerge(NodeChildProcessSpawner.layer),
    Layer.provideMerge(Layer.mergeAll(NodeFileSystem.layer, NodePath.layer))
  )
