/**
 * How a {@link NamespaceSpec} becomes the config of repoman's Incus project,
 * and how a project reads back as a {@link Namespace}: the restrictions that
 * keep a bad profile or spec from reaching the host.
 *
 * - Always: `restricted=true`, unprivileged containers only, no nesting, no
 *   low-level (`raw.*`) config beyond the id map, disks allowed,
 *   `features.images=false` (images come from the default project) and
 *   `features.profiles=true` (the project has profiles of its own).
 * - `HostUser`: disks only from `restricted.devices.disk.paths` (the allowed
 *   paths) and `raw.idmap` only for the host user's ids
 *   (`restricted.idmap.uid`/`gid`).
 * - `Shift`: Incus refuses `shift` on a restricted path, so those three keys
 *   are left out and repoman checks paths itself.
 *
 * Keys of the project that repoman does not govern are kept as they are.
 *
 * @since 0.1.0
 * @module
 */
import { Namespace, type NamespaceSpec } from "@repoman/core/ContainerRuntime"
import { type IdMapping } from "@repoman/core/IdMapping"
import * as Option from "effect/Option"
import type * as IncusApi from "./IncusApi.ts"
import { isManaged, markManaged } from "./IncusLabels.ts"

/**
 * The project key listing the host paths disks may come from.
 *
 * @since 0.1.0
 * @category restrictions
 */
export const DISK_PATHS = "restricted.devices.disk.paths"

const ID_KEYS = ["restricted.idmap.uid", "restricted.idmap.gid"] as const

/**
 * The restriction keys of repoman's project for an id mapping and its
 * allowed paths.
 *
 * @since 0.1.0
 * @category restrictions
 */
export const restrictions = (idMapping: IdMapping, allowedPaths: ReadonlyArray<string>): IncusApi.StringMap => ({
  "restricted": "true",
  "restricted.containers.privilege": "unprivileged",
  "restricted.containers.nesting": "block",
  "restricted.containers.lowlevel": "block",
  "restricted.devices.disk": "allow",
  ...(idMapping._tag === "HostUser"
    ? {
      [DISK_PATHS]: [...new Set(allowedPaths)].join(","),
      "restricted.idmap.uid": String(idMapping.uid),
      "restricted.idmap.gid": String(idMapping.gid)
    }
    : {}),
  "features.images": "false",
  "features.profiles": "true"
})

/**
 * The config of the project for `spec`, starting from its `current` config:
 * the restrictions and managed keys set, the keys a `Shift` mapping cannot
 * have taken out, everything else kept.
 *
 * @since 0.1.0
 * @category restrictions
 */
export const projectConfig = (spec: NamespaceSpec, current: IncusApi.StringMap): IncusApi.StringMap => {
  const config: Record<string, string> = { ...current, ...restrictions(spec.idMapping, spec.allowedPaths) }
  if (spec.idMapping._tag === "Shift") {
    delete config[DISK_PATHS]
    for (const key of ID_KEYS) delete config[key]
  }
  return markManaged(config)
}

/**
 * The host paths a project allows disks from.
 *
 * @since 0.1.0
 * @category restrictions
 */
export const allowedPathsOf = (config: IncusApi.StringMap): ReadonlyArray<string> =>
  (config[DISK_PATHS] ?? "").split(",").filter((p) => p.length > 0)

/**
 * Whether a project restricts the host paths of disks (then only its
 * allowed paths may be mounted).
 *
 * @since 0.1.0
 * @category restrictions
 */
export const restrictsPaths = (config: IncusApi.StringMap): boolean =>
  config["restricted"] === "true" && config[DISK_PATHS] !== undefined

/**
 * `config` with its allowed paths replaced by `paths`.
 *
 * @since 0.1.0
 * @category restrictions
 */
export const withAllowedPaths = (config: IncusApi.StringMap, paths: ReadonlyArray<string>): IncusApi.StringMap => ({
  ...config,
  [DISK_PATHS]: [...new Set(paths)].join(",")
})

const idMappingOf = (config: IncusApi.StringMap): Option.Option<IdMapping> => {
  const [uid, gid] = ID_KEYS.map((k) => config[k])
  if (uid !== undefined && gid !== undefined && /^\d+$/.test(uid) && /^\d+$/.test(gid)) {
    return Option.some({ _tag: "HostUser", uid: Number(uid), gid: Number(gid) })
  }
  return config["restricted"] === "true" ? Option.some({ _tag: "Shift" }) : Option.none()
}

/**
 * An Incus project in repoman's terms.
 *
 * @since 0.1.0
 * @category restrictions
 */
export const toNamespace = (p: IncusApi.Project): Namespace =>
  new Namespace({
    name: p.name,
    description: p.description,
    allowedPaths: allowedPathsOf(p.config),
    idMapping: idMappingOf(p.config),
    managed: isManaged(p.config)
  })
