/**
 * The default live composition: Node platform services, the user's config
 * paths and the file-backed registry. The only place implementations and
 * Node layers meet.
 *
 * @since 0.1.0
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { ConfigPaths } from "@repoman/core/ConfigPaths"
import * as RegistryFile from "@repoman/core/RegistryFile"
import * as Layer from "effect/Layer"

/**
 * Everything the CLI needs, built from the environment.
 *
 * @since 0.1.0
 */
export const MainLayer = RegistryFile.layer().pipe(
  Layer.provideMerge(ConfigPaths.layer),
  Layer.provideMerge(NodeServices.layer)
)
