/**
 * The layer `bin.ts` runs the CLI on: the default live stack of
 * `RepomanLive` (`@repoman/live`), without overrides. The only place
 * implementations and Node layers meet is RepomanLive; this module names its
 * use by the executable, and the bundle carries it (the published CLI has no
 * runtime dependencies).
 *
 * @since 0.1.0
 * @module
 */
import type { HostInfoError } from "@repoman/core/HostInfo"
import { layer, RepomanLive, type Services } from "@repoman/live/RepomanLive"
import type * as Layer from "effect/Layer"

/**
 * Everything the CLI needs, built from the environment.
 *
 * @since 0.1.0
 * @category layers
 */
export const MainLayer: Layer.Layer<Services, HostInfoError> = RepomanLive

/**
 * The CLI's stack talking to Incus remote `remote` (`--remote`), or
 * {@link MainLayer} when none is given.
 *
 * @since 0.1.0
 * @category layers
 */
export const mainLayer = (remote: string | undefined): Layer.Layer<Services, HostInfoError> =>
  remote === undefined ? MainLayer : layer({ remote })
