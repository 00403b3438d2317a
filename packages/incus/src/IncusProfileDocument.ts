/**
 * What an Incus profile document means to repoman, and what repoman's
 * restricted project would refuse in one.
 *
 * Incus does not check a profile against the project restrictions when it
 * is created, and one bad profile then blocks every later call in the
 * project, so repoman checks first ({@link refusal}): no `raw.*` config, no
 * privileged or nested containers, no custom idmap, no kernel modules, only
 * disks and NICs on a managed network, disks from a host path or a pool,
 * and no `shift` where the project restricts host paths.
 *
 * @since 0.1.0
 * @module
 */
import {
  ProfileInfo,
  type ProfileInfo as ProfileInfoType,
  type ProfileResolution,
  ProfileSpec
} from "@repoman/core/ContainerRuntime"
import type { IdMapping } from "@repoman/core/IdMapping"
import * as Option from "effect/Option"
import { envOf, isHostDisk, mountOf } from "./IncusInstanceConfig.ts"
import { labelsOf } from "./IncusLabels.ts"

const FORBIDDEN_CONFIG: ReadonlyArray<readonly [RegExp, string]> = [
  [/^raw\./, "low-level raw.* config"],
  [/^security\.privileged$/, "a privileged container"],
  [/^security\.nesting$/, "container nesting"],
  [/^security\.idmap\./, "a custom idmap"],
  [/^linux\.kernel_modules$/, "loading kernel modules"]
]

const ALLOWED_DEVICES = new Set(["disk", "nic", "none"])

/**
 * The first thing in a profile that repoman's project (mapping ids as
 * `idMapping`) would refuse, or `undefined`.
 *
 * @since 0.1.0
 * @category profiles
 */
export const refusal = (spec: ProfileSpec, idMapping: IdMapping): string | undefined => {
  for (const [key, value] of Object.entries(spec.config)) {
    for (const [pattern, what] of FORBIDDEN_CONFIG) {
      if (pattern.test(key) && !(key.startsWith("security.") && value === "false")) {
        return `config ${key} asks for ${what}`
      }
    }
  }
  for (const [device, options] of Object.entries(spec.devices)) {
    const type = options["type"] ?? ""
    if (!ALLOWED_DEVICES.has(type)) {
      return `device "${device}" has type "${type}"; only disk and managed nic are allowed`
    }
    if (type === "nic" && options["network"] === undefined) {
      return `device "${device}" is a nic without a managed network`
    }
    if (type === "disk" && options["pool"] === undefined && !(options["source"] ?? "").startsWith("/")) {
      if (options["path"] !== "/") return `disk device "${device}" needs an absolute host source or a pool`
    }
    if (type === "disk" && options["shift"] === "true" && idMapping._tag === "HostUser") {
      return `disk device "${device}" uses shift=true, which restricted source paths forbid (uid mode idmap)`
    }
  }
  return undefined
}

/**
 * A profile document in repoman's terms: its host disks as mounts, its
 * `environment.*` keys, its `user.repoman.*` labels, and {@link refusal}.
 *
 * @since 0.1.0
 * @category profiles
 */
export const inspect = (spec: ProfileSpec, idMapping: IdMapping): ProfileInfoType =>
  new ProfileInfo({
    mounts: Object.entries(spec.devices).filter(([, d]) => isHostDisk(d)).map(([name, d]) => mountOf(name, d)),
    env: envOf(spec.config),
    labels: labelsOf(spec.config),
    refusal: Option.fromUndefinedOr(refusal(spec, idMapping))
  })

/**
 * A library profile as installed on this host: each host disk's source
 * replaced by its real path and, when ids are shifted, `shift: "true"` on
 * host disks that do not say otherwise (so the host user's files show as
 * uid 1000 inside, as in the repo).
 *
 * @since 0.1.0
 * @category profiles
 */
export const resolve = (spec: ProfileSpec, { idMapping, realPaths }: ProfileResolution): ProfileSpec =>
  new ProfileSpec({
    description: spec.description,
    config: spec.config,
    devices: Object.fromEntries(
      Object.entries(spec.devices).map(([name, d]) => {
        if (!isHostDisk(d)) return [name, d]
        const source = d["source"] ?? ""
        return [name, {
          ...d,
          source: realPaths.get(source) ?? source,
          ...(idMapping._tag === "Shift" && d["shift"] === undefined ? { shift: "true" } : {})
        }]
      })
    )
  })
