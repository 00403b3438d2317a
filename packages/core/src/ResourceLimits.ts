/**
 * Resource limits of a project's container: how many CPUs, how much memory
 * and how many processes it may use. They come from `[defaults] limits` in
 * the registry, `[container] limits` in the project's override file and the
 * `--cpu`/`--memory` flags of `new` (later ones win), and map to Incus's
 * `limits.cpu`, `limits.memory` and `limits.processes` instance config.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * A positive whole number (CPUs, processes).
 *
 * @since 0.1.0
 */
export const PositiveInt = Schema.Int.pipe(
  Schema.check(Schema.makeFilter((n: number) => n > 0 || "must be a positive whole number"))
)

/**
 * A memory size as Incus takes it: a number and a unit (`512MiB`, `2GiB`,
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
 */
export type MemorySize = typeof MemorySize.Type

/**
 * `limits = { cpu = 2, memory = "4GiB", processes = 2000 }`: each key optional.
 *
 * @since 0.1.0
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
 */
export type ResourceLimits = typeof ResourceLimits.Type

/**
 * Combines limits; a key set in a later one wins.
 *
 * @since 0.1.0
 */
export const mergeLimits = (...layers: ReadonlyArray<ResourceLimits | undefined>): ResourceLimits =>
  layers.reduce<ResourceLimits>((acc, l) => (l === undefined ? acc : { ...acc, ...l }), {})

/**
 * The instance config keys for `limits`.
 *
 * @since 0.1.0
 */
export const limitsConfig = (limits: ResourceLimits): Readonly<Record<string, string>> => ({
  ...(limits.cpu === undefined ? {} : { "limits.cpu": String(limits.cpu) }),
  ...(limits.memory === undefined ? {} : { "limits.memory": limits.memory }),
  ...(limits.processes === undefined ? {} : { "limits.processes": String(limits.processes) })
})

/**
 * The limits as an instance carries them (its own config), `null` where unset.
 *
 * @since 0.1.0
 */
export interface LimitsView {
  readonly cpu: string | null
  readonly memory: string | null
  readonly processes: string | null
}

/**
 * Reads the limits back from an instance's config.
 *
 * @since 0.1.0
 */
export const limitsOf = (config: Readonly<Record<string, string>>): LimitsView => ({
  cpu: config["limits.cpu"] ?? null,
  memory: config["limits.memory"] ?? null,
  processes: config["limits.processes"] ?? null
})

/**
 * One short line: `cpu 2, memory 4GiB, processes 2000`, or `none`.
 *
 * @since 0.1.0
 */
export const formatLimits = (view: LimitsView): string => {
  const parts = [
    ...(view.cpu === null ? [] : [`cpu ${view.cpu}`]),
    ...(view.memory === null ? [] : [`memory ${view.memory}`]),
    ...(view.processes === null ? [] : [`processes ${view.processes}`])
  ]
  return parts.length === 0 ? "none" : parts.join(", ")
}
