/**
 * How a {@link NamespaceSpec} becomes the config of repoman's Incus project,
 * and how a project reads back as a {@link Namespace}: the restrictions that
 * keep a bad profile or spec from reaching the host.
 *
 * - Always: `restricted=true`, unprivileged containers only
 *   (`restricted.containers.privilege=isolated`: an instance may not turn its
 *   own host id range off), no nesting, no low-level (`raw.*`) config beyond
 *   the id map, disks allowed, snapshots and backups allowed (a repo volume's
 *   checkpoints and backups are made of them), targeting a cluster member
 *   allowed (`new --target`; Incus's default `block` refuses it to a
 *   restricted client certificate, though not to the unix socket's admin),
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
 * A user of `incus-user` cannot set any of this: {@link adminSteps} says
 * what of it an admin must set once in the user's project, as commands.
 *
 * @since 0.1.0
 * @module
 */
import { AdminStep, coveredBy, Namespace, type NamespaceSpec } from "@repoman/core/ContainerRuntime"
import { type IdMapping } from "@repoman/core/IdMapping"
import * as Option from "effect/Option"
import type * as IncusApi from "./IncusApi.ts"
import { isManaged, markManaged, ownerOf } from "./IncusLabels.ts"

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
  "restricted.containers.privilege": "isolated",
  "restricted.containers.nesting": "block",
  "restricted.containers.lowlevel": "block",
  "restricted.devices.disk": "allow",
  "restricted.snapshots": "allow",
  "restricted.backups": "allow",
  "restricted.cluster.target": "allow",
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
export const projectConfig = (
  spec: NamespaceSpec,
  current: IncusApi.StringMap,
  owner: number
): IncusApi.StringMap => {
  const config: Record<string, string> = { ...current, ...restrictions(spec.idMapping, spec.allowedPaths) }
  if (spec.idMapping._tag === "Shift") {
    delete config[DISK_PATHS]
    for (const key of ID_KEYS) delete config[key]
  }
  return markManaged(config, owner)
}

/**
 * Whether an Incus id list (`restricted.idmap.uid`: ids and ranges, comma
 * separated, e.g. `1000,2000-2100`) holds `id`.
 *
 * @since 0.1.0
 * @category restrictions
 */
export const idListHas = (list: string | undefined, id: number): boolean =>
  (list ?? "").split(",").map((p) => p.trim()).some((part) => {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part)
    if (m === null) return false
    const first = Number(m[1])
    const last = m[2] === undefined ? first : Number(m[2])
    return id >= first && id <= last
  })

/**
 * Why repoman may not take project `name` over for host uid `owner`, or
 * `undefined` when it may: it must be repoman's, and the owner's (a project
 * made before owners were recorded counts as the owner's when it restricts
 * id maps to the owner's uid, which only that user's setup sets).
 *
 * @since 0.1.0
 * @category restrictions
 */
export const takeoverRefusal = (config: IncusApi.StringMap, owner: number): string | undefined => {
  if (!isManaged(config)) return "exists and was not made by repoman (repoman never takes over a project)"
  const recorded = ownerOf(config)
  if (Option.isSome(recorded)) {
    return recorded.value === owner ? undefined : `belongs to another user's repoman (host uid ${recorded.value})`
  }
  return config["restricted.idmap.uid"]?.trim() === String(owner)
    ? undefined
    : "was made by an older repoman that recorded no owner, and it does not map your uid"
}

const set = (project: string, pairs: ReadonlyArray<readonly [string, string]>) =>
  `incus project set ${project} ${pairs.map(([k, v]) => `${k}=${v}`).join(" ")}`

/**
 * What an admin must set in project `name` (its `config`) before repoman
 * can work in it for `spec` without being able to change it itself (an
 * `incus-user` client, or a client certificate restricted to it), as
 * commands. Empty when nothing is missing. `hostPaths` (default true): the
 * client is local, its repos are host directories (disks from host paths,
 * the user's ids mapped); false: a remote one, its repos are volumes
 * (snapshots and backups allowed).
 *
 * @since 0.1.0
 * @category restrictions
 */
export const adminSteps = (
  name: string,
  config: IncusApi.StringMap,
  spec: NamespaceSpec,
  options: { readonly hostPaths?: boolean } = {}
): ReadonlyArray<AdminStep> => {
  // A local client mounts host paths and maps the user's ids; a remote one keeps repos in volumes,
  // whose checkpoints and backups are snapshots and exports.
  const hostPaths = options.hostPaths ?? true
  const steps: Array<AdminStep> = []
  const step = (problem: string, ...commands: ReadonlyArray<string>) => steps.push(new AdminStep({ problem, commands }))
  if (config["restricted"] !== "true") {
    step(`project ${name} is not restricted`, set(name, [["restricted", "true"]]))
  }
  if (config["restricted.containers.privilege"] === "allow") {
    step(
      `project ${name} allows privileged containers`,
      set(name, [["restricted.containers.privilege", "isolated"]])
    )
  }
  if (hostPaths && (config["restricted.devices.disk"] ?? "managed") !== "allow") {
    step(
      `project ${name} does not allow disks from host paths (the repo is one)`,
      set(name, [["restricted.devices.disk", "allow"]])
    )
  }
  const blocked = (["restricted.snapshots", "restricted.backups"] as const).filter((k) =>
    (config[k] ?? "block") !== "allow"
  )
  if (!hostPaths && blocked.length > 0) {
    step(
      `project ${name} does not allow volume snapshots and backups (a repo volume's checkpoints and backups)`,
      set(name, blocked.map((k) => [k, "allow"]))
    )
  }
  if (!hostPaths) {
    // Nothing of this host is mounted or mapped.
  } else if (config[DISK_PATHS] === undefined || config[DISK_PATHS] === "") {
    step(
      `project ${name} does not restrict which host paths disks may come from`,
      set(name, [[DISK_PATHS, [...new Set(spec.allowedPaths)].join(",")]])
    )
  } else {
    const allowed = allowedPathsOf(config)
    const missing = spec.allowedPaths.filter((p) => !coveredBy(p, allowed))
    if (missing.length > 0) {
      step(
        `project ${name} does not allow disks from ${missing.join(", ")}`,
        set(name, [[DISK_PATHS, [...new Set([...allowed, ...missing])].join(",")]])
      )
    }
  }
  if (!hostPaths) {
    // No id of this host is mapped.
  } else if (spec.idMapping._tag === "Shift") {
    step(
      `uid mode shift needs shift=true mounts, which a project restricting host paths refuses: use --uid-mode idmap`
    )
  } else {
    const { gid, uid } = spec.idMapping
    if (!idListHas(config["restricted.idmap.uid"], uid) || !idListHas(config["restricted.idmap.gid"], gid)) {
      step(
        `project ${name} does not let your ids (uid ${uid}, gid ${gid}) be mapped into containers`,
        set(name, [["restricted.idmap.uid", String(uid)], ["restricted.idmap.gid", String(gid)]])
      )
    }
  }
  if (config["features.profiles"] !== "true") {
    step(
      `project ${name} has no profiles of its own (repoman installs its profiles there)`,
      `incus project set ${name} features.profiles=true   # only while the project is empty`
    )
  }
  return steps
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
  const [uid, gid] = ID_KEYS.map((k) => config[k]?.trim())
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
    managed: isManaged(p.config),
    owner: ownerOf(p.config)
  })
