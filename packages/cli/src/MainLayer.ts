/**
 * The default live composition: Node platform services, the user's config
 * paths, the file-backed registry, the host, and the Incus runtime bound to
 * the registry's Incus project. The only place implementations and Node
 * layers meet.
 *
 * @since 0.1.0
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as PluginLoader from "@repoman/backup/PluginLoader"
import { ConfigPaths } from "@repoman/core/ConfigPaths"
import * as HostInfo from "@repoman/core/HostInfo"
import { Registry } from "@repoman/core/Registry"
import * as RegistryFile from "@repoman/core/RegistryFile"
import * as IncusContainerRuntime from "@repoman/incus/IncusContainerRuntime"
import * as ProfileLibrary from "@repoman/profiles/ProfileLibrary"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/** The Incus project from the registry (`[defaults].incus_project`), `repoman` before setup. */
const runtime = Layer.unwrap(
  Effect.gen(function*() {
    const registry = yield* Registry
    const project = yield* registry.load.pipe(
      Effect.map((d) => d.defaults.incusProject),
      Effect.orElseSucceed(() => "repoman")
    )
    return IncusContainerRuntime.layerClient({ project })
  })
)

const registry = RegistryFile.layer().pipe(Layer.provideMerge(ConfigPaths.layer))

/**
 * Everything the CLI needs, built from the environment.
 *
 * @since 0.1.0
 */
export const MainLayer = Layer.mergeAll(
  runtime,
  HostInfo.layerNode,
  ProfileLibrary.layer,
  PluginLoader.layerFromRegistry
).pipe(
  Layer.provideMerge(registry),
  Layer.provideMerge(NodeServices.layer)
)
