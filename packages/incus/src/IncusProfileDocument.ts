/**
 * What an Incus profile document means to repoman, and what repoman lets a
 * profile do: an allow list.
 *
 * Incus does not check a profile against the project restrictions when it
 * is created, and one bad profile then blocks every later call in the
 * project (`security.syscalls.intercept.*` or `boot.host_shutdown_timeout`
 * in a profile made every `new` fail). So repoman checks first
 * ({@link refusal}), and accepts only what is known to be safe in a
 * restricted project; anything else is refused, naming the key:
 *
 * | | allowed |
 * | --- | --- |
 * | config | `environment.*`; `user.*` (not repoman's own `user.repoman.managed`, `version`, `owner`, `image`); `limits.cpu`, `limits.cpu.allowance`, `limits.cpu.priority`, `limits.memory`, `limits.memory.enforce`, `limits.processes`, `limits.disk.priority` with valid values |
 * | `disk` devices | `source` (an absolute host path, or a volume with `pool`), `path` (not `/`: the root disk is the project's default profile's, sized by repoman's limits), `readonly`, `required`, `pool`, `shift` (only where ids are shifted) |
 * | `nic` devices | on a managed `network`: `network`, `name`, `hwaddr` |
 * | `none` devices | masking a device of another profile |
 *
 * Refused, among the rest: `security.*`, `raw.*`, `boot.*`, `linux.*`,
 * `volatile.*`, `snapshots.*`, `cloud-init.*`; `proxy`, `unix-char`,
 * `unix-block`, `gpu`, `usb`, `pci`, `tpm`, `infiniband` devices; disk
 * options such as `recursive`, `propagation` and `raw.mount.options`.
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
import { MemorySize } from "@repoman/core/ResourceLimits"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { envOf, isHostDisk, mountOf } from "./IncusInstanceConfig.ts"
import { labelsOf, PREFIX } from "./IncusLabels.ts"

const isMemorySize = Schema.is(MemorySize)
const intIn = (min: number, max: number) => (v: string) => /^\d+$/.test(v) && Number(v) >= min && Number(v) <= max

/** Allowed config keys, each with a check of its value (what a valid one looks like). */
const LIMITS: Readonly<Record<string, readonly [(value: string) => boolean, string]>> = {
  "limits.cpu": [(v) => intIn(1, 4096)(v) || /^\d+(?:-\d+)?(?:,\d+(?:-\d+)?)*$/.test(v), "a CPU count or set"],
  "limits.cpu.allowance": [
    (v) => /^(?:100|[1-9]\d?)%$/.test(v) || /^\d+ms\/\d+ms$/.test(v),
    "a percentage or a time slice"
  ],
  "limits.cpu.priority": [intIn(0, 10), "0 to 10"],
  "limits.memory": [isMemorySize, "a memory size"],
  "limits.memory.enforce": [(v) => v === "hard" || v === "soft", "hard or soft"],
  "limits.processes": [intIn(1, 10_000_000), "a positive number"],
  "limits.disk.priority": [intIn(0, 10), "0 to 10"]
}

const RESERVED = new Set(["managed", "version", "owner", "image"].map((k) => `${PREFIX}${k}`))

const ALLOWED_SUMMARY = "a profile may set environment.*, user.* and " + Object.keys(LIMITS).join(", ")

const configRefusal = (key: string, value: string): string | undefined => {
  if (key.startsWith("environment.") && key.length > "environment.".length) return undefined
  if (RESERVED.has(key)) return `config key ${key} is repoman's own and may not be set by a profile`
  if (key.startsWith("user.") && key.length > "user.".length) return undefined
  const limit = LIMITS[key]
  if (limit === undefined) return `config key ${key} is not on the allow list (${ALLOWED_SUMMARY})`
  return limit[0](value) ? undefined : `config key ${key} has value "${value}", which is not ${limit[1]}`
}

const isBoolean = (v: string) => ["true", "false", "1", "0", "yes", "no", "on", "off"].includes(v)

/** Allowed device options by device type; `type` is always allowed. */
const DEVICE_OPTIONS: Readonly<Record<string, ReadonlyArray<string>>> = {
  disk: ["source", "path", "readonly", "required", "pool", "shift"],
  nic: ["network", "name", "hwaddr"],
  none: []
}

const deviceRefusal = (
  device: string,
  options: Readonly<Record<string, string>>,
  idMapping: IdMapping
): string | undefined => {
  const type = options["type"] ?? ""
  const allowed = DEVICE_OPTIONS[type]
  if (allowed === undefined) {
    return `device "${device}" has type "${type}", which is not on the allow list (disk, nic on a managed network, none)`
  }
  for (const key of Object.keys(options)) {
    if (key !== "type" && !allowed.includes(key)) {
      return `device "${device}" (${type}) option ${key} is not on the allow list (${allowed.join(", ")})`
    }
  }
  for (const key of ["readonly", "required", "shift"]) {
    const v = options[key]
    if (v !== undefined && !isBoolean(v)) return `device "${device}" option ${key} has value "${v}", not a boolean`
  }
  if (type === "nic" && options["network"] === undefined) {
    return `device "${device}" is a nic without a managed network`
  }
  if (type === "disk") {
    const path = options["path"] ?? ""
    if (!path.startsWith("/")) return `disk device "${device}" needs an absolute path inside the container`
    if (path === "/") {
      return `disk device "${device}" would replace the root disk, which is the project's default profile's ` +
        `(repoman sizes it from the limits)`
    }
    if (options["pool"] === undefined && !(options["source"] ?? "").startsWith("/")) {
      return `disk device "${device}" needs an absolute host source or a pool`
    }
    if (
      options["shift"] !== undefined && isBoolean(options["shift"]) &&
      ["true", "1", "yes", "on"].includes(options["shift"])
    ) {
      if (idMapping._tag === "HostUser") {
        return `disk device "${device}" uses shift=true, which restricted source paths forbid (uid mode idmap)`
      }
    }
  }
  return undefined
}

/**
 * The first thing in a profile that is not on the allow list, or that
 * repoman's project (mapping ids as `idMapping`) would refuse, as one line;
 * `undefined` when the profile passes.
 *
 * @since 0.1.0
 * @category profiles
 */
export const refusal = (spec: ProfileSpec, idMapping: IdMapping): string | undefined => {
  for (const [key, value] of Object.entries(spec.config)) {
    const refused = configRefusal(key, value)
    if (refused !== undefined) return refused
  }
  for (const [device, options] of Object.entries(spec.devices)) {
    const refused = deviceRefusal(device, options, idMapping)
    if (refused !== undefined) return refused
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
