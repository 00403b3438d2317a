/**
 * Resource limits of a project's container: how many CPUs, how much memory
 * and how many processes it may use. They come from `[defaults] limits` in
 * the registry, `[container] limits` in the project's override file and the
 * `--cpu`/`--memory` flags of `new` (later ones win). How an engine enforces
 * them is the runtime's business (Incus: `limits.*` instance config). A
 * root-disk size would be one more optional key.
 *
 * @since 0.1.0
 * @module
 */
import * as Schema from "effect/Schema"

/**
 * A positive whole number (CPUs, processes).
 *
 * @since 0.1.0
 * @category models
 */
export const PositiveInt = Schema.Int.pipe(
  Schema.check(Schema.makeFilter((n: number) => n > 0 || "must be a positive whole number"))
)

/**
 * A memory size: a number and a unit (`512MiB`, `2GiB`,
 * `1.5GB`) or a percentage of the host's memory (`50%`).
 *
 * @example
 * ```ts
 * import * as Schema from "effect/Schema"
 * import { MemorySize } from "@repoman/core/ResourceLimits"
 * Schema.decodeUnknownSync(MemorySize)("4GiB")
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const MemorySize = Schema.String.pipe(
  Schema.check(
    Schema.makeFilter((s: string) =>
      /^(?:[1-9]\d*|0?\.\d+|[1-9]\d*\.\d+)(?:[kMGTPE]B|[KMGTPE]iB|B)$/.test(s)
      || /^(?:100|[1-9]\d?)%$/.test(s)
      || "a memory size is a number with a unit (B, kB, MB, GB, KiB, MiB, GiB, ...) or a percentage, e.g. 4GiB"
    )
  ),
  Schema.brand("MemorySize")
)
/**
 * The type of {@link MemorySize}.
 *
 * @since 0.1.0
 * @category models
 */
export type MemorySize = typeof MemorySize.Type

/**
 * `limits = { cpu = 2, memory = "4GiB", processes = 2000 }`: each key optional.
 *
 * @since 0.1.0
 * @category models
 */
export const ResourceLimits = Schema.Struct({
  cpu: Schema.optionalKey(PositiveInt),
  memory: Schema.optionalKey(MemorySize),
  processes: Schema.optionalKey(PositiveInt)
})
/**
 * The type of {@link ResourceLimits}.
 *
 * @since 0.1.0
 * @category models
 */
export type ResourceLimits = typeof ResourceLimits.Type

/**
 * Combines limits; a key set in a later one wins.
 *
 * @since 0.1.0
 * @category utils
 */
export const mergeLimits = (...layers: ReadonlyArray<ResourceLimits | undefined>): ResourceLimits =>
  layers.reduce<ResourceLimits>((acc, l) => (l === undefined ? acc : { ...acc, ...l }), {})

/**
 * The limits as `list` and `status` show them, `null` where unset.
 *
 * @since 0.1.0
 * @category models
 */
export interface LimitsView {
  readonly cpu: string | null
  readonly memory: string | null
  readonly processes: string | null
}

/**
 * The view of a set of limits.
 *
 * @since 0.1.0
 * @category utils
 */
export const limitsView = (limits: ResourceLimits): LimitsView => ({
  cpu: limits.cpu === undefined ? null : String(limits.cpu),
  memory: limits.memory ?? null,
  processes: limits.processes === undefined ? null : String(limits.processes)
})

/**
 * One short line: `cpu 2, memory 4GiB, processes 2000`, or `none`.
 *
 * @since 0.1.0
 * @category utils
 */
export const formatLimits = (view: LimitsView): string => {
  const parts = [
    ...(view.cpu === null ? [] : [`cpu ${view.cpu}`]),
    ...(view.memory === null ? [] : [`memory ${view.memory}`]),
    ...(view.processes === null ? [] : [`processes ${view.processes}`])
  ]
  return parts.length === 0 ? "none" : parts.join(", ")
}
