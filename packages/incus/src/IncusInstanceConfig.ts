/**
 * How an {@link InstanceSpec} becomes an Incus instance, and how an Incus
 * instance reads back as an {@link Instance}: the Incus policy of repoman's
 * instances.
 *
 * | intent | Incus |
 * | --- | --- |
 * | repo ({@link HostPath}) | disk device `repo` (`readonly`; `shift` when ids are shifted) |
 * | repo ({@link Volume}) | disk device `repo` of custom volume `<instance>` in `pool` (see `IncusVolumeConfig`) |
 * | mounts | a disk device per mount, named as the mount |
 * | env | `environment.<NAME>` |
 * | limits | `limits.cpu`, `limits.memory`, `limits.processes`; `disk`: `size` on the root disk (a copy of the default profile's root disk device); `inotifyInstances`: `linux.sysctl.user.max_inotify_instances` |
 * | idMapping `HostUser` | `raw.idmap` mapping the host user's uid and gid to 1000 |
 * | idMapping `Shift` | `shift=true` on the repo and every mount |
 * | (always) | `security.idmap.isolated=true`: a host id range of its own |
 * | labels | `user.repoman.<label>`, plus the managed keys, the owner and `user.repoman.image` |
 * | gitCover | disk device `git` (the gitdir, at `<repo>/.git` or {@link GITFILE_TARGET}), and for a gitfile a read-only disk device `gitfile` at `<repo>/.git` |
 * | lockMounts | `security.syscalls.deny` = {@link SEAL_SYSCALL_DENY} with `deny_compat`, and a systemd drop-in ({@link SEAL_SYSTEMD_DROPIN}) |
 *
 * A change ({@link InstanceChange}) is one PUT of the instance's own
 * settings ({@link changedSettings}); what Incus applies only at start
 * ({@link restartReasons}) needs a restart.
 *
 * Reading back keeps only what repoman can express; an instance made by
 * other means loses what does not fit (a CPU range in `limits.cpu`, say).
 *
 * @since 0.1.0
 * @module
 */
import {
  GitCover,
  GITFILE_TARGET,
  HostPath,
  IdRange,
  Instance,
  type InstanceChange,
  type InstanceSpec,
  type InstanceStatus,
  Mount,
  type RepoStorage,
  Volume
} from "@repoman/core/ContainerRuntime"
import { CONTAINER_ID, type IdMapping } from "@repoman/core/IdMapping"
import { ImageRef, MemberName, ProfileName, type ProjectName } from "@repoman/core/Ids"
import { DiskSize, MemorySize, PositiveInt, type ResourceLimits } from "@repoman/core/ResourceLimits"
import * as DateTime from "effect/DateTime"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as IncusApi from "./IncusApi.ts"
import { imageKey, isManaged, labelConfig, labelsOf, markManaged, ownerOf } from "./IncusLabels.ts"

/**
 * The name of the repo's disk device.
 *
 * @since 0.1.0
 * @category devices
 */
export const REPO_DEVICE = "repo"

/**
 * The name of the disk device of a git seal's gitdir.
 *
 * @since 0.1.0
 * @category devices
 */
export const GIT_DEVICE = "git"

/**
 * The name of the read-only disk device of a git seal's gitfile (worktrees).
 *
 * @since 0.1.0
 * @category devices
 */
export const GITFILE_DEVICE = "gitfile"

/**
 * Device names a mount may not take: the repo's, the git seal's, and the
 * root disk's.
 *
 * @since 0.1.0
 * @category devices
 */
export const RESERVED_DEVICES: ReadonlyArray<string> = [REPO_DEVICE, GIT_DEVICE, GITFILE_DEVICE, "root"]

/**
 * The `security.syscalls.deny` list of an instance whose mounts are locked
 * (one rule per line, LXC's `[arg,value,op,mask]` form: `(arg & mask) ==
 * value`). It keeps container root from lifting or getting around a mount
 * of the git seal, and nothing more:
 *
 * - `unshare`/`clone` of a mount namespace without a user namespace: such a
 *   namespace's copies of the mounts could be made private and undone.
 *   With a new user namespace the copies are locked by the kernel, so that
 *   stays allowed. `clone3` (whose flags seccomp cannot read) answers
 *   ENOSYS, and C libraries fall back to `clone`.
 * - `umount2`/`umount`: unmounting the cover.
 * - `mount` with `MS_BIND` but without `MS_REC` (and not a remount): a
 *   bind of the repo without the cover on it.
 * - `mount` with `MS_PRIVATE`, `MS_SLAVE` or `MS_UNBINDABLE`: the repo's
 *   mount stays shared, and the kernel refuses to move (`MS_MOVE`,
 *   `move_mount`, `pivot_root`) a mount whose parent is shared, so the
 *   cover cannot be moved away either.
 * - `open_tree(OPEN_TREE_CLONE)` without `AT_RECURSIVE`, and
 *   `mount_setattr` (ENOSYS: callers fall back to `mount`): the same two
 *   through the new mount API.
 *
 * systemd runs sandboxed units unsandboxed when it cannot make a mount
 * namespace ("assuming containerized execution"); see
 * {@link SEAL_SYSTEMD_DROPIN} for the credentials it could not set up.
 *
 * @since 0.1.0
 * @category git seal
 */
export const SEAL_SYSCALL_DENY = [
  "unshare errno 1 [0,131072,SCMP_CMP_MASKED_EQ,268566528]",
  "clone errno 1 [0,131072,SCMP_CMP_MASKED_EQ,268566528]",
  "clone3 errno 38",
  "umount2 errno 1",
  "umount errno 1",
  "mount errno 1 [3,4096,SCMP_CMP_MASKED_EQ,20512]",
  "mount errno 1 [3,262144,SCMP_CMP_MASKED_EQ,262144]",
  "mount errno 1 [3,524288,SCMP_CMP_MASKED_EQ,524288]",
  "mount errno 1 [3,131072,SCMP_CMP_MASKED_EQ,131072]",
  "open_tree errno 1 [2,1,SCMP_CMP_MASKED_EQ,32769]",
  "mount_setattr errno 38"
].join("\n")

/**
 * A systemd drop-in for every service (`service.d/`, systemd 244 and
 * later) that an instance with locked mounts gets before its first start:
 * it empties the credentials units import. Setting up a unit's credentials
 * needs a mount namespace of its own (refused) or a move out of a shared
 * `/run` (refused by the kernel), so without it the units that merely
 * offer optional credentials (`systemd-tmpfiles-setup`, `systemd-sysusers`,
 * `systemd-sysctl`, ...) fail at boot; nobody passes credentials to a
 * repoman container. Keys an older systemd does not know are ignored.
 *
 * @since 0.1.0
 * @category git seal
 */
export const SEAL_SYSTEMD_DROPIN = {
  directory: "/etc/systemd/system/service.d",
  path: "/etc/systemd/system/service.d/10-repoman-seal.conf",
  content: [
    "# Written by repoman: this container's mounts are locked (the git seal), so systemd",
    "# cannot set up credentials; no unit of a repoman container gets any.",
    "[Service]",
    "LoadCredential=",
    "LoadCredentialEncrypted=",
    "SetCredential=",
    "SetCredentialEncrypted=",
    "ImportCredential=",
    ""
  ].join("\n")
}

/** The instance config keys of locked mounts. */
const lockConfig: IncusApi.StringMap = {
  "security.syscalls.deny": SEAL_SYSCALL_DENY,
  "security.syscalls.deny_compat": "true"
}

/**
 * The disk device of a host path mounted into an instance.
 *
 * @since 0.1.0
 * @category devices
 */
export const diskDevice = (
  mount: { readonly source: string; readonly path: string; readonly readOnly: boolean },
  shift: boolean
): IncusApi.StringMap => ({
  type: "disk",
  source: mount.source,
  path: mount.path,
  ...(mount.readOnly ? { readonly: "true" } : {}),
  ...(shift ? { shift: "true" } : {})
})

/**
 * Whether a device is a disk with a host source (not a pool volume).
 *
 * @since 0.1.0
 * @category devices
 */
export const isHostDisk = (device: IncusApi.StringMap): boolean =>
  device["type"] === "disk" && device["pool"] === undefined && (device["source"] ?? "").startsWith("/")

/**
 * The mount a host disk device stands for.
 *
 * @since 0.1.0
 * @category devices
 */
export const mountOf = (name: string, device: IncusApi.StringMap): Mount =>
  new Mount({ name, source: device["source"] ?? "", path: device["path"] ?? "", readOnly: isTrue(device["readonly"]) })

const isTrue = (value: string | undefined) => value === "true" || value === "1" || value === "yes"

/**
 * The `raw.idmap` value mapping the host user to 1000:1000.
 *
 * @since 0.1.0
 * @category id mapping
 */
export const rawIdmap = (uid: number, gid: number): string =>
  uid === gid ? `both ${uid} ${CONTAINER_ID}` : `uid ${uid} ${CONTAINER_ID}\ngid ${gid} ${CONTAINER_ID}`

/**
 * The host user a `raw.idmap` value maps to 1000:1000, when that is all it
 * maps.
 *
 * @since 0.1.0
 * @category id mapping
 */
export const hostUserOf = (value: string): Option.Option<IdMapping> => {
  const ids: Record<string, number> = {}
  for (const line of value.split("\n").map((l) => l.trim()).filter((l) => l.length > 0)) {
    const [kind, host, inside] = line.split(/\s+/)
    if (inside !== String(CONTAINER_ID) || !/^\d+$/.test(host ?? "")) return Option.none()
    if (kind === "both") ids["uid"] = ids["gid"] = Number(host)
    else if (kind === "uid" || kind === "gid") ids[kind] = Number(host)
    else return Option.none()
  }
  const { gid, uid } = ids
  return uid === undefined || gid === undefined ? Option.none() : Option.some({ _tag: "HostUser", uid, gid })
}

/**
 * The sysctl (inside the container's user namespace) capping the inotify
 * instances each uid in the container may hold.
 *
 * @since 0.1.0
 * @category limits
 */
export const INOTIFY_SYSCTL = "linux.sysctl.user.max_inotify_instances"

/**
 * The instance config keys of resource limits (the root disk's size is a
 * device option, see {@link rootDiskDevice}).
 *
 * @since 0.1.0
 * @category limits
 */
export const limitsConfig = (limits: ResourceLimits): IncusApi.StringMap => ({
  ...(limits.cpu === undefined ? {} : { "limits.cpu": String(limits.cpu) }),
  ...(limits.memory === undefined ? {} : { "limits.memory": limits.memory }),
  ...(limits.processes === undefined ? {} : { "limits.processes": String(limits.processes) }),
  ...(limits.inotifyInstances === undefined ? {} : { [INOTIFY_SYSCTL]: String(limits.inotifyInstances) })
})

/**
 * Whether a device is a root disk (a disk mounted at `/`).
 *
 * @since 0.1.0
 * @category limits
 */
export const isRootDisk = (device: IncusApi.StringMap): boolean => device["type"] === "disk" && device["path"] === "/"

/**
 * The instance's own root disk device for a size limit: the root disk its
 * profiles give it (name and options), with `size`.
 *
 * @since 0.1.0
 * @category limits
 */
export const rootDiskDevice = (
  fromProfiles: readonly [name: string, device: IncusApi.StringMap],
  size: string
): IncusApi.Devices => ({ [fromProfiles[0]]: { ...fromProfiles[1], size } })

const positiveInt = Schema.decodeUnknownOption(PositiveInt)
const memorySize = Schema.decodeUnknownOption(MemorySize)
const diskSize = Schema.decodeUnknownOption(DiskSize)
const integer = (value: string | undefined) => /^\d+$/.test(value ?? "") ? positiveInt(Number(value)) : Option.none()

/**
 * The resource limits an instance's config and own devices set (values
 * repoman cannot express are left out).
 *
 * @since 0.1.0
 * @category limits
 */
export const limitsOf = (config: IncusApi.StringMap, devices: IncusApi.Devices = {}): ResourceLimits => {
  const cpu = integer(config["limits.cpu"])
  const memory = memorySize(config["limits.memory"])
  const processes = integer(config["limits.processes"])
  const inotify = integer(config[INOTIFY_SYSCTL])
  const disk = Option.flatMap(
    Option.fromUndefinedOr(Object.values(devices).find(isRootDisk)?.["size"]),
    diskSize
  )
  return {
    ...(Option.isSome(cpu) ? { cpu: cpu.value } : {}),
    ...(Option.isSome(memory) ? { memory: memory.value } : {}),
    ...(Option.isSome(processes) ? { processes: processes.value } : {}),
    ...(Option.isSome(disk) ? { disk: disk.value } : {}),
    ...(Option.isSome(inotify) ? { inotifyInstances: inotify.value } : {})
  }
}

/**
 * The config key that gives an instance a host id range of its own.
 *
 * @since 0.1.0
 * @category id mapping
 */
export const ISOLATED = "security.idmap.isolated"

/**
 * The host id range of an instance of its own, from the key Incus records
 * when it allocates one (`volatile.idmap.base`): `None` when the instance
 * shares the default range (base 0) or has not been given one.
 *
 * @since 0.1.0
 * @category id mapping
 */
export const idRangeOf = (config: IncusApi.StringMap): Option.Option<IdRange> => {
  const base = config["volatile.idmap.base"]
  if (!isTrue(config[ISOLATED]) || base === undefined || !/^\d+$/.test(base) || Number(base) === 0) {
    return Option.none()
  }
  const size = config["security.idmap.size"]
  return Option.some(
    new IdRange({ base: Number(base), size: size !== undefined && /^\d+$/.test(size) ? Number(size) : 65536 })
  )
}

/**
 * The `environment.*` config keys of an environment.
 *
 * @since 0.1.0
 * @category environment
 */
export const envConfig = (env: Readonly<Record<string, string>>): IncusApi.StringMap =>
  Object.fromEntries(Object.entries(env).map(([k, v]) => [`environment.${k}`, v]))

/**
 * The environment a config map sets.
 *
 * @since 0.1.0
 * @category environment
 */
export const envOf = (config: IncusApi.StringMap): Readonly<Record<string, string>> =>
  Object.fromEntries(
    Object.entries(config).flatMap(([k, v]) =>
      k.startsWith("environment.") ? [[k.slice("environment.".length), v]] : []
    )
  )

/**
 * Where an {@link ImageRef} comes from: a local image (no remote or `local:`)
 * by alias or fingerprint, or one of the well-known simplestreams remotes.
 * `None` for a remote this runtime does not know.
 *
 * @example
 * ```ts
 * import { ImageRef } from "@repoman/core/Ids"
 * import { imageSource } from "@repoman/incus/IncusInstanceConfig"
 * imageSource(ImageRef.make("repoman-busybox"))   // Some({ type: "image", alias: "repoman-busybox" })
 * imageSource(ImageRef.make("images:debian/12"))   // Some({ type: "image", mode: "pull", server: ..., alias: "debian/12" })
 * ```
 *
 * @since 0.1.0
 * @category images
 */
export const imageSource = (image: ImageRef): Option.Option<IncusApi.InstanceSource> => {
  const colon = image.indexOf(":")
  const remote = colon < 0 ? "local" : image.slice(0, colon)
  const name = colon < 0 ? image : image.slice(colon + 1)
  if (remote === "local") {
    return Option.some(
      /^[0-9a-f]{12,64}$/.test(name) ? { type: "image", fingerprint: name } : { type: "image", alias: name }
    )
  }
  const server = remotes[remote]
  return server === undefined
    ? Option.none()
    : Option.some({ type: "image", mode: "pull", protocol: "simplestreams", server, alias: name })
}

const remotes: Readonly<Record<string, string>> = {
  "images": "https://images.linuxcontainers.org",
  "ubuntu": "https://cloud-images.ubuntu.com/releases",
  "ubuntu-daily": "https://cloud-images.ubuntu.com/daily"
}

/**
 * The problem with a spec that Incus could not take as asked (a mount named
 * like one of repoman's own devices), if any.
 *
 * @since 0.1.0
 * @category instances
 */
export const specProblem = (spec: InstanceSpec): string | undefined => {
  if (spec.gitCover !== undefined && spec.repo?._tag !== "HostPath") return "a git cover needs a host path repo"
  const names = spec.mounts.map((m) => m.name)
  const reserved = names.find((n) => RESERVED_DEVICES.includes(n))
  if (reserved !== undefined) return `a mount may not be named "${reserved}" (the runtime's own device)`
  const twice = names.find((n, i) => names.indexOf(n) !== i)
  return twice === undefined ? undefined : `two mounts are named "${twice}"`
}

/**
 * The `config` and `devices` of an instance made from `spec` for host uid
 * `owner`. `rootDisk` is the root disk device its profiles give it, which
 * the instance overrides to set a size limit (none: no size is set);
 * `volumePool` the pool of its repo volume (a {@link Volume} repo).
 *
 * @since 0.1.0
 * @category instances
 */
export const instanceSettings = (
  spec: InstanceSpec,
  owner: number,
  rootDisk?: readonly [name: string, device: IncusApi.StringMap],
  volumePool?: string
): { readonly config: IncusApi.StringMap; readonly devices: IncusApi.Devices } => {
  const shift = spec.idMapping?._tag === "Shift"
  const devices: Record<string, IncusApi.StringMap> = Object.fromEntries(
    spec.mounts.map((m) => [m.name, diskDevice(m, shift)])
  )
  if (spec.repo?._tag === "HostPath") devices[REPO_DEVICE] = diskDevice(spec.repo, shift)
  if (spec.repo?._tag === "Volume" && volumePool !== undefined) {
    devices[REPO_DEVICE] = volumeDevice(volumePool, spec.name, spec.repo.path)
  }
  if (spec.repo?._tag === "HostPath" && spec.gitCover !== undefined) {
    const dotGit = `${spec.repo.path}/.git`
    const { gitDir, gitFile } = spec.gitCover
    devices[GIT_DEVICE] = diskDevice(
      { source: gitDir, path: gitFile === undefined ? dotGit : GITFILE_TARGET, readOnly: false },
      shift
    )
    if (gitFile !== undefined) {
      devices[GITFILE_DEVICE] = diskDevice({ source: gitFile, path: dotGit, readOnly: true }, shift)
    }
  }
  if (rootDisk !== undefined && spec.limits.disk !== undefined) {
    Object.assign(devices, rootDiskDevice(rootDisk, spec.limits.disk))
  }
  const config = markManaged({
    ...labelConfig(spec.labels),
    [imageKey]: spec.image,
    ...envConfig(spec.env),
    ...limitsConfig(spec.limits),
    [ISOLATED]: "true",
    ...(spec.idMapping?._tag === "HostUser" ? { "raw.idmap": rawIdmap(spec.idMapping.uid, spec.idMapping.gid) } : {}),
    ...(spec.lockMounts ? lockConfig : {})
  }, owner)
  return { config, devices }
}

const statuses: ReadonlySet<string> = new Set(["Running", "Stopped", "Starting", "Stopping", "Frozen", "Error"])

const statusOf = (status: string): InstanceStatus => statuses.has(status) ? status as InstanceStatus : "Unknown"

const asProfileName = Schema.decodeUnknownOption(ProfileName)

/**
 * The cluster member an instance (or an operation) is on: Incus's
 * `location`, which a server that is not clustered reports as `none` (or
 * leaves empty).
 *
 * @since 0.1.0
 * @category instances
 */
export const locationOf = (location: string): Option.Option<MemberName> =>
  location === "none" ? Option.none() : Schema.decodeUnknownOption(MemberName)(location)
const asImageRef = Schema.decodeUnknownOption(ImageRef)

/**
 * The disk device of a custom volume of `pool` mounted at `path`.
 *
 * @since 0.1.0
 * @category devices
 */
export const volumeDevice = (pool: string, volume: string, path: string): IncusApi.StringMap => ({
  type: "disk",
  pool,
  source: volume,
  path
})

const repoOf = (devices: IncusApi.Devices, name: string): Option.Option<RepoStorage> => {
  const device = devices[REPO_DEVICE]
  if (device !== undefined && isHostDisk(device)) {
    return Option.some(
      new HostPath({ source: device["source"] ?? "", path: device["path"] ?? "", readOnly: isTrue(device["readonly"]) })
    )
  }
  // The instance's own volume (named after it): another volume is not its repo.
  return device !== undefined && device["type"] === "disk" && device["pool"] !== undefined &&
      device["source"] === name && (device["path"] ?? "").startsWith("/")
    ? Option.some(new Volume({ path: device["path"] ?? "" }))
    : Option.none()
}

/**
 * The git seal an instance's devices make, if they make one: a `git` disk
 * at `<repo>/.git` (a directory's cover), or a `git` disk at
 * {@link GITFILE_TARGET} with a read-only `gitfile` disk at `<repo>/.git`.
 *
 * @since 0.1.0
 * @category git seal
 */
export const gitCoverOf = (devices: IncusApi.Devices): Option.Option<GitCover> => {
  const repo = devices[REPO_DEVICE]
  const git = devices[GIT_DEVICE]
  if (repo === undefined || git === undefined || !isHostDisk(repo) || !isHostDisk(git)) return Option.none()
  const dotGit = `${repo["path"] ?? ""}/.git`
  const gitDir = git["source"] ?? ""
  if (git["path"] === dotGit) return Option.some(new GitCover({ gitDir }))
  const file = devices[GITFILE_DEVICE]
  if (git["path"] === GITFILE_TARGET && file !== undefined && isHostDisk(file) && file["path"] === dotGit) {
    if (!isTrue(file["readonly"])) return Option.none()
    return Option.some(new GitCover({ gitDir, gitFile: file["source"] ?? "" }))
  }
  return Option.none()
}

/**
 * Whether an instance config locks its mounts: exactly
 * {@link SEAL_SYSCALL_DENY}, for every architecture.
 *
 * @since 0.1.0
 * @category git seal
 */
export const locksMounts = (config: IncusApi.StringMap): boolean =>
  config["security.syscalls.deny"] === SEAL_SYSCALL_DENY && isTrue(config["security.syscalls.deny_compat"])

/**
 * An Incus instance in repoman's terms.
 *
 * @since 0.1.0
 * @category instances
 */
export const toInstance = (i: IncusApi.Instance, name: ProjectName): Instance => {
  const hostDisks = Object.entries(i.devices).filter(([, d]) => isHostDisk(d))
  const shifted = hostDisks.some(([, d]) => isTrue(d["shift"]))
  const idMapping = Option.orElse(
    Option.flatMap(Option.fromUndefinedOr(i.config["raw.idmap"]), hostUserOf),
    () => shifted ? Option.some<IdMapping>({ _tag: "Shift" }) : Option.none()
  )
  return new Instance({
    name,
    status: statusOf(i.status),
    image: Option.orElse(asImageRef(i.config[imageKey]), () => asImageRef(i.config["volatile.base_image"])),
    profiles: i.profiles.flatMap((p) => Option.toArray(asProfileName(p))),
    repo: repoOf(i.devices, i.name),
    mounts: hostDisks.filter(([n]) => !RESERVED_DEVICES.includes(n)).map(([n, d]) => mountOf(n, d)),
    env: envOf(i.config),
    limits: limitsOf(i.config, i.devices),
    idMapping,
    labels: labelsOf(i.config),
    gitCover: gitCoverOf(i.devices),
    lockMounts: locksMounts(i.config),
    managed: isManaged(i.config),
    owner: ownerOf(i.config),
    idRange: idRangeOf(i.config),
    location: locationOf(i.location),
    createdAt: Option.getOrElse(DateTime.make(i.created_at), () => DateTime.makeUnsafe(0))
  })
}

/** The instance config keys {@link limitsConfig} writes. */
const LIMIT_KEYS: ReadonlyArray<string> = ["limits.cpu", "limits.memory", "limits.processes", INOTIFY_SYSCTL]

/**
 * The instance's own settings with `change` applied, for a PUT: its
 * environment and limits keys replaced when given, its host mounts (every
 * host disk but the runtime's own devices) replaced when given, its
 * profiles replaced when given; everything else as it was. A root-disk size
 * goes on the instance's own root disk, made from the one its profiles give
 * it (`expanded_devices`) when it has none.
 *
 * @since 0.1.0
 * @category instances
 */
export const changedSettings = (current: IncusApi.Instance, change: InstanceChange): IncusApi.InstancePut => {
  const config: Record<string, string> = { ...current.config }
  if (change.env !== undefined) {
    for (const key of Object.keys(config)) if (key.startsWith("environment.")) delete config[key]
    Object.assign(config, envConfig(change.env))
  }
  const devices: Record<string, IncusApi.StringMap> = { ...current.devices }
  if (change.limits !== undefined) {
    for (const key of LIMIT_KEYS) delete config[key]
    Object.assign(config, limitsConfig(change.limits))
    const own = Object.entries(devices).find(([, d]) => isRootDisk(d))
    const size = change.limits.disk
    if (own !== undefined) {
      const { size: _, ...rest } = own[1]
      devices[own[0]] = size === undefined ? rest : { ...rest, size }
    } else if (size !== undefined) {
      const fromProfiles = Object.entries(current.expanded_devices).find(([, d]) => isRootDisk(d))
      if (fromProfiles !== undefined) Object.assign(devices, rootDiskDevice(fromProfiles, size))
    }
  }
  if (change.mounts !== undefined) {
    const shift = Object.values(current.devices).some((d) => isHostDisk(d) && isTrue(d["shift"]))
    for (const [name, device] of Object.entries(devices)) {
      if (isHostDisk(device) && !RESERVED_DEVICES.includes(name)) delete devices[name]
    }
    for (const m of change.mounts) devices[m.name] = diskDevice(m, shift)
  }
  return {
    description: current.description,
    profiles: change.profiles ?? current.profiles,
    config,
    devices,
    ...(current.ephemeral === undefined ? {} : { ephemeral: current.ephemeral }),
    ...(current.stateful === undefined ? {} : { stateful: current.stateful }),
    ...(current.architecture === "" ? {} : { architecture: current.architecture })
  }
}

/**
 * Whether Incus applies a config key only when an instance starts: kernel
 * settings (`linux.sysctl.*`), security settings and raw LXC settings. It
 * takes them on a running instance without complaint and without effect.
 *
 * @since 0.1.0
 * @category instances
 */
export const appliedAtStart = (key: string): boolean => /^(?:linux\.sysctl\.|security\.|raw\.)/.test(key)

/**
 * Why `next` needs the running instance `current` restarted: its own
 * start-time keys that change, environment variables it takes away, and
 * the start-time keys of the profiles added or removed
 * (`profileConfig`: their config, by name). Empty for an instance that is
 * not running.
 *
 * @since 0.1.0
 * @category instances
 */
export const restartReasons = (
  current: IncusApi.Instance,
  next: IncusApi.InstancePut,
  profileConfig: ReadonlyMap<string, IncusApi.StringMap>
): ReadonlyArray<string> => {
  if (current.status !== "Running") return []
  const keys = new Set([...Object.keys(current.config), ...Object.keys(next.config)])
  const own = [...keys].filter((k) =>
    appliedAtStart(k) && !k.startsWith("volatile.") && current.config[k] !== next.config[k]
  )
  const reasons = own.map((k) =>
    k === INOTIFY_SYSCTL
      ? "the inotify limit is a kernel setting made when the container starts"
      : `${k} is applied when the container starts`
  )
  // A variable the container started with stays in its sessions once taken
  // away, until it restarts (a changed value is live).
  const unset = Object.keys(current.config).filter((k) => k.startsWith("environment.") && !(k in next.config))
  if (unset.length > 0) {
    reasons.push(
      `${unset.map((k) => k.slice("environment.".length)).join(", ")} would stay set in sessions until a restart`
    )
  }
  const changed = [
    ...next.profiles.filter((p) => !current.profiles.includes(p)),
    ...current.profiles.filter((p) => !next.profiles.includes(p))
  ]
  for (const p of changed) {
    const atStart = Object.keys(profileConfig.get(p) ?? {}).filter(appliedAtStart)
    if (atStart.length > 0) reasons.push(`profile ${p} sets ${atStart.join(", ")}, applied when the container starts`)
  }
  return reasons
}
