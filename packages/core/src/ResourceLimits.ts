/**
 * Resource limits of a project's container: how many CPUs, how much memory,
 * how many processes, how large a root disk, and how many inotify instances
 * each user inside may hold. Every container gets {@link DEFAULT_LIMITS};
 * `[defaults] limits` in the registry, `[container] limits` in the project's
 * override file and the flags of `new` override them key by key (later ones
 * win). How an engine enforces them is the runtime's business (Incus:
 * `limits.*` instance config, the root disk's `size`, and the
 * `user.max_inotify_instances` sysctl of the container).
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
 * A disk size: a number and a unit (`20GiB`, `500MB`).
 *
 * @example
 * ```ts
 * import * as Schema from "effect/Schema"
 * import { DiskSize } from "@repoman/core/ResourceLimits"
 * Schema.decodeUnknownSync(DiskSize)("20GiB")
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const DiskSize = Schema.String.pipe(
  Schema.check(
    Schema.makeFilter((s: string) =>
      /^(?:[1-9]\d*|0?\.\d+|[1-9]\d*\.\d+)(?:[kMGTPE]B|[KMGTPE]iB)$/.test(s)
      || "a disk size is a number with a unit (kB, MB, GB, KiB, MiB, GiB, ...), e.g. 20GiB"
    )
  ),
  Schema.brand("DiskSize")
)
/**
 * The type of {@link DiskSize}.
 *
 * @since 0.1.0
 * @category models
 */
export type DiskSize = typeof DiskSize.Type

/**
 * `limits = { cpu = 2, memory = "4GiB", processes = 2000, disk = "20GiB",
 * inotify_instances = 32 }`: each key optional. `disk` is the size of the
 * container's root disk (the repo is on the host and does not count);
 * `inotify_instances` caps the inotify instances each user inside may hold
 * (the kernel counts them against one host-wide budget, see README).
 *
 * @since 0.1.0
 * @category models
 */
export const ResourceLimits = Schema.Struct({
  cpu: Schema.optionalKey(PositiveInt),
  memory: Schema.optionalKey(MemorySize),
  processes: Schema.optionalKey(PositiveInt),
  disk: Schema.optionalKey(DiskSize),
  inotifyInstances: Schema.optionalKey(PositiveInt)
}).pipe(Schema.encodeKeys({ inotifyInstances: "inotify_instances" }))
/**
 * The type of {@link ResourceLimits}.
 *
 * @since 0.1.0
 * @category models
 */
export type ResourceLimits = typeof ResourceLimits.Type

/**
 * The limits every container gets unless the registry, the project's
 * override or `new` say otherwise: 2000 processes, half the host's memory,
 * a 20 GiB root disk, 32 inotify instances per user inside. No CPU limit
 * (CPU time is shared fairly by the kernel already).
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_LIMITS: ResourceLimits = Schema.decodeUnknownSync(ResourceLimits)({
  processes: 2000,
  memory: "50%",
  disk: "20GiB",
  inotify_instances: 32
})

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
  readonly disk: string | null
  readonly inotifyInstances: string | null
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
  processes: limits.processes === undefined ? null : String(limits.processes),
  disk: limits.disk ?? null,
  inotifyInstances: limits.inotifyInstances === undefined ? null : String(limits.inotifyInstances)
})

/**
 * One short line: `cpu 2, memory 4GiB, processes 2000, disk 20GiB, inotify 32`, or `none`.
 *
 * @since 0.1.0
 * @category utils
 */
export const formatLimits = (view: LimitsView): string => {
  const parts = [
    ...(view.cpu === null ? [] : [`cpu ${view.cpu}`]),
    ...(view.memory === null ? [] : [`memory ${view.memory}`]),
    ...(view.processes === null ? [] : [`processes ${view.processes}`]),
    ...(view.disk === null ? [] : [`disk ${view.disk}`]),
    ...(view.inotifyInstances === null ? [] : [`inotify ${view.inotifyInstances}`])
  ]
  return parts.length === 0 ? "none" : parts.join(", ")
}
