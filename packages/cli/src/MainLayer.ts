/**
 * The layer `bin.ts` runs the CLI on: the default live stack of
 * {@link RepomanLive}, without overrides. The only place implementations
 * and Node layers meet is RepomanLive; this module names its use by the
 * executable.
 *
 * @since 0.1.0
 */
import type { HostInfoError } from "@repoman/core/HostInfo"
import type * as Layer from "effect/Layer"
import { RepomanLive, type Services } from "./RepomanLive.ts"

/**
 * Everything the CLI needs, built from the environment.
 *
 * @since 0.1.0
 * @category layers
 */
export const MainLayer: Layer.Layer<Services, HostInfoError> = RepomanLive
