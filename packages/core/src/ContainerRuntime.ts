/**
 * The container engine as repoman sees it, in repoman's terms: one namespace
 * holding one instance per repoman project, plus the runtime profiles those
 * instances are built from.
 *
 * The interface speaks intent, not an engine's keys:
 *
 * - An {@link InstanceSpec} says what an instance is: image, profiles, where
 *   the repo comes from ({@link RepoStorage}), host mounts, environment,
 *   resource limits, how ids map to the host ({@link IdMapping}),
 *   repoman's own labels, and the git seal: a host gitdir over the repo's
 *   `.git` ({@link GitCover}) and mounts the instance cannot undo
 *   (`lockMounts`). An {@link Instance} reads back in the same terms, so
 *   programs never parse engine config.
 * - A {@link NamespaceSpec} says which host paths instances may mount and how
 *   ids may map; {@link ContainerRuntime} widens and narrows the allowed
 *   paths (`allowPaths`, `disallowPaths`).
 * - Profiles are engine-native documents ({@link ProfileSpec}: the profile
 *   library's format is Incus profile YAML by design). Programs never read
 *   their keys: `inspectProfile` says what a profile mounts from the host,
 *   which environment and labels it sets and whether the namespace's
 *   restrictions would refuse it; `resolveProfile` turns a library profile
 *   into the one installed on this host.
 *
 * - Every object the runtime makes carries its owner, the host uid the
 *   runtime acts for ({@link ContainerRuntime} `owner`); objects read back
 *   with `managed` (repoman made it) and `owner`, so programs can refuse
 *   what another user (or no repoman at all) made. Every instance gets a
 *   host id range of its own ({@link IdRange}).
 * - {@link EngineAccess} says what the runtime may do with the engine: all
 *   of it, or only some namespaces an admin set up (Incus: `incus-user`);
 *   `checkNamespace` says what an admin must still do for a namespace.
 *
 * Every engine policy (Incus: `restricted.*`, `raw.idmap`, `limits.*`,
 * `environment.*`, `security.*`, disk devices, `user.repoman.*`) lives in
 * the implementation. `@repoman/incus` implements the service against the
 * Incus REST API; {@link ContainerRuntimeMemory} is an in-memory
 * implementation for unit tests and plugin authors. Every implementation
 * must pass the conformance suite, `@repoman/core/testing/ContainerRuntimeSuite`.
 *
 * @since 0.1.0
 * @module
 */
import * as Context from "effect/Context"
import type * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import { IdMapping } from "./IdMapping.ts"
import { ImageRef, MemberName, ProfileName, ProjectName } from "./Ids.ts"
import type { MountEntry } from "./Mountinfo.ts"
import { ResourceLimits } from "./ResourceLimits.ts"

// ---------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------

/**
 * An absolute path (on the host or inside an instance): starts with `/`,
 * holds no NUL byte.
 *
 * @since 0.1.0
 * @category models
 */
export const AbsolutePath = Schema.String.pipe(
  Schema.check(
    Schema.makeFilter((s: string) =>
      (s.startsWith("/") && !s.includes("\0")) || "an absolute path starts with '/' and holds no NUL byte"
    )
  )
)

/**
 * A host directory (or file) mounted into an instance: `source` on the host
 * at `path` inside, read-only or not. `name` tells the mounts of one
 * instance (or profile) apart.
 *
 * @example
 * ```ts
 * import { Mount } from "@repoman/core/ContainerRuntime"
 * const claude = new Mount({ name: "claude", source: "/home/me/.claude", path: "/home/me/.claude", readOnly: false })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export class Mount extends Schema.Class<Mount>("@repoman/core/ContainerRuntime/Mount")({
  name: Schema.NonEmptyString,
  source: AbsolutePath,
  path: AbsolutePath,
  readOnly: Schema.Boolean
}) {}

/**
 * The repo is a directory of the host, mounted at `path` inside (the same
 * path as on the host, or a read-only origin for hermetic projects).
 *
 * @since 0.1.0
 * @category models
 */
export class HostPath extends Schema.TaggedClass<HostPath>("@repoman/core/ContainerRuntime/HostPath")("HostPath", {
  source: AbsolutePath,
  path: AbsolutePath,
  readOnly: Schema.Boolean
}) {}

/**
 * The repo is a storage volume of the engine, one per project, mounted at
 * `path` inside (owned by the container user 1000:1000). The runtime names
 * the volume after the instance and keeps it when the instance is removed
 * (remove never deletes a repo): a new instance of the same name takes it
 * up again. It is how a repo lives where the engine cannot mount the host's
 * files (a remote engine, see `ContainerRuntime.hostPaths`).
 *
 * @since 0.1.0
 * @category models
 */
export class Volume extends Schema.TaggedClass<Volume>("@repoman/core/ContainerRuntime/Volume")("Volume", {
  path: AbsolutePath
}) {}

/**
 * Where an instance's repo lives: a host directory ({@link HostPath}), or,
 * when the engine cannot reach the host's files (a remote one), a storage
 * volume of the engine ({@link Volume}).
 *
 * @since 0.1.0
 * @category models
 */
export const RepoStorage = Schema.Union([HostPath, Volume])
/**
 * The decoded type of the `RepoStorage` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type RepoStorage = typeof RepoStorage.Type

/**
 * Environment variables by name.
 *
 * @since 0.1.0
 * @category models
 */
export const Env = Schema.Record(Schema.String, Schema.String)
/**
 * The decoded type of the `Env` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type Env = typeof Env.Type

/**
 * The label keys a runtime keeps for itself: whether repoman made an
 * object (`managed`), which repoman made it (`version`), whose it is
 * (`owner`, a host uid) and the image an instance was created from
 * (`image`). Specs and profiles may not set them.
 *
 * @since 0.1.0
 * @category models
 */
export const RESERVED_LABELS: ReadonlyArray<string> = ["managed", "version", "owner", "image"]

/**
 * A label key of repoman's own metadata: lower-case letters, digits and
 * hyphens, in dot-separated parts (`project`, `repo`, `link.claude-json`),
 * and not one of {@link RESERVED_LABELS}.
 *
 * @since 0.1.0
 * @category models
 */
export const LabelKey = Schema.String.pipe(
  Schema.check(
    Schema.makeFilter((s: string) =>
      (/^[a-z0-9][a-z0-9-]*(?:\.[a-z0-9][a-z0-9-]*)*$/.test(s) && !RESERVED_LABELS.includes(s))
      || `a label key is lower-case letters, digits and hyphens in dot-separated parts, and not one of ${
        RESERVED_LABELS.join(", ")
      }`
    )
  )
)

/**
 * repoman's own metadata on an object (`project`, `repo`, ...). The runtime
 * stores and returns them as given (Incus: `user.repoman.<key>` config).
 *
 * @since 0.1.0
 * @category models
 */
export const Labels = Schema.Record(Schema.String, Schema.String)
/**
 * The decoded type of the `Labels` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type Labels = typeof Labels.Type

/**
 * What is needed to create the namespace repoman's instances live in: its
 * name and description, the host paths instances (and profiles) may mount,
 * how ids may map, and the storage pool of the instances' root disks.
 *
 * With `idMapping` `HostUser`, the engine refuses any host path outside
 * `allowedPaths` and any id map but the host user's. With `Shift` it cannot
 * restrict host paths (Incus refuses `shift` on a restricted path):
 * `allowedPaths` is then not enforced, reads back empty, and repoman checks
 * paths itself.
 *
 * @since 0.1.0
 * @category models
 */
export class NamespaceSpec extends Schema.Class<NamespaceSpec>("@repoman/core/ContainerRuntime/NamespaceSpec")({
  name: Schema.NonEmptyString,
  description: Schema.String,
  allowedPaths: Schema.Array(AbsolutePath),
  idMapping: IdMapping,
  rootDiskPool: Schema.NonEmptyString
}) {}

/**
 * A namespace as the engine reports it: the host paths it allows, how it
 * lets ids map (`None` when it does not restrict them), whether repoman
 * made it, and its owner (the host uid repoman made it for; `None` when
 * none is recorded: not repoman's, or made by a repoman older than owners).
 *
 * @since 0.1.0
 * @category models
 */
export class Namespace extends Schema.Class<Namespace>("@repoman/core/ContainerRuntime/Namespace")({
  name: Schema.String,
  description: Schema.String,
  allowedPaths: Schema.Array(Schema.String),
  idMapping: Schema.Option(IdMapping),
  managed: Schema.Boolean,
  owner: Schema.Option(Schema.Int),
  /**
   * The storage pool new root disks come from (Incus: the pool of the
   * default profile's root disk), when known: set by `ensureNamespace`,
   * which keeps the pool a namespace already uses.
   */
  rootDiskPool: Schema.optionalKey(Schema.String)
}) {}

/**
 * What the runtime may do with the engine, as the engine says (Incus:
 * `GET /1.0` and the client certificate).
 *
 * - `restricted: false`: full control (Incus: the admin socket, group
 *   `incus-admin`, which is root on the host): namespaces can be made,
 *   restricted and deleted, storage pools listed.
 * - `restricted: true`: only the `namespaces` an admin set up (Incus:
 *   `incus-user` and group `incus`, each user confined to `user-<uid>`):
 *   the runtime works inside them, cannot make or change a namespace, and
 *   `checkNamespace` says what an admin must do once.
 *
 * `identity` is who the engine takes us for (a login, a certificate
 * fingerprint); `via` how it is reached, for messages;
 * `defaultNamespace` the one to use when none is named.
 *
 * @since 0.1.0
 * @category models
 */
export class EngineAccess extends Schema.Class<EngineAccess>("@repoman/core/ContainerRuntime/EngineAccess")({
  identity: Schema.String,
  via: Schema.String,
  restricted: Schema.Boolean,
  namespaces: Schema.Array(Schema.String),
  defaultNamespace: Schema.Option(Schema.String)
}) {}

/**
 * One thing an admin must do once before repoman can work in a namespace
 * with restricted access: what is missing, and the commands that fix it.
 *
 * @since 0.1.0
 * @category models
 */
export class AdminStep extends Schema.Class<AdminStep>("@repoman/core/ContainerRuntime/AdminStep")({
  problem: Schema.String,
  commands: Schema.Array(Schema.String)
}) {}

/**
 * How a namespace stands against a {@link NamespaceSpec}: what an admin
 * must do first (`adminSteps`, empty when repoman can work in it), what
 * the runtime could not check with its access (`unchecked`), and what the
 * user should know (`notes`: an image that is not there, say).
 *
 * @since 0.1.0
 * @category models
 */
export class NamespaceCheck extends Schema.Class<NamespaceCheck>("@repoman/core/ContainerRuntime/NamespaceCheck")({
  name: Schema.String,
  adminSteps: Schema.Array(AdminStep),
  unchecked: Schema.Array(Schema.String),
  notes: Schema.Array(Schema.String)
}) {}

/**
 * The kinds of objects that carry an owner.
 *
 * @since 0.1.0
 * @category models
 */
export const OwnedKind = Schema.Literals(["namespace", "instance", "profile"])
/**
 * The decoded type of the `OwnedKind` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type OwnedKind = typeof OwnedKind.Type

/**
 * The host ids an instance's ids map to, when the instance has a range of
 * its own (no other instance shares it): `size` ids from `base` (container
 * id 0 is host id `base`).
 *
 * @since 0.1.0
 * @category models
 */
export class IdRange extends Schema.Class<IdRange>("@repoman/core/ContainerRuntime/IdRange")({
  base: Schema.Int,
  size: Schema.Int
}) {}

/**
 * Whether `path` lies in one of the `allowed` host paths (a whole path
 * component match: `/srv/a` covers `/srv/a/b`, not `/srv/ab`), which is how
 * a namespace's {@link NamespaceSpec.allowedPaths} are enforced.
 *
 * @example
 * ```ts
 * import { coveredBy } from "@repoman/core/ContainerRuntime"
 * coveredBy("/home/ada/repos/isurus", ["/home/ada/repos"]) // true
 * coveredBy("/home/ada/repository", ["/home/ada/repos"])   // false
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const coveredBy = (path: string, allowed: ReadonlyArray<string>): boolean =>
  allowed.some((a) => path === a || path.startsWith(a.endsWith("/") ? a : `${a}/`))

/**
 * What `allowPaths` did: the paths it added (those not covered already) and
 * the ones the engine cannot allow, with the reason. Nothing is added when
 * any path is refused.
 *
 * @since 0.1.0
 * @category models
 */
export interface AllowedPaths {
  readonly added: ReadonlyArray<string>
  readonly refused: ReadonlyArray<{ readonly path: string; readonly reason: string }>
}

/**
 * Where the gitdir of a {@link GitCover} with a `gitFile` is mounted inside
 * the instance: the gitfile's content points there.
 *
 * @since 0.1.0
 * @category models
 */
export const GITFILE_TARGET = "/var/lib/repoman-git"

/**
 * The git seal of an instance: a host directory repoman owns (`gitDir`)
 * takes the place of the repo's `.git` inside, so the host's own `.git` is
 * never visible there.
 *
 * - Without `gitFile` (the host's `.git` is a directory), `gitDir` is
 *   mounted over `<repo path>/.git`.
 * - With `gitFile` (the host's `.git` is a gitfile: a linked worktree), the
 *   host file `gitFile` (its content `gitdir: ${GITFILE_TARGET}`) is mounted
 *   read-only over `<repo path>/.git`, and `gitDir` at {@link GITFILE_TARGET}.
 *
 * Pair it with `lockMounts`: without it, container root can unmount the
 * cover.
 *
 * @since 0.1.0
 * @category models
 */
export class GitCover extends Schema.Class<GitCover>("@repoman/core/ContainerRuntime/GitCover")({
  gitDir: AbsolutePath,
  gitFile: Schema.optionalKey(AbsolutePath)
}) {}

/**
 * Everything needed to create an instance: the image, the profiles applied
 * in order, where the repo lives, host mounts, environment (added to the
 * profiles'), resource limits, how ids map (absent: no host id is mapped in
 * and nothing is shifted), repoman's labels, and the git seal: `gitCover`
 * (see {@link GitCover}; needs a `repo`) and `lockMounts`, which keeps
 * everything in the instance, container root included, from unmounting,
 * moving or copying around the mounts it was made with (so a cover cannot be
 * lifted). `target` places it on one member of a clustered engine (absent:
 * the engine chooses; a target on an engine that is not a cluster is
 * refused, see `ContainerRuntime.clusterMembers`); whatever the runtime
 * makes for the instance (its repo volume) goes to the same member.
 * `mounts`, `env`, `limits` and `labels` default to empty, `lockMounts` to
 * `false`.
 *
 * @example
 * ```ts
 * import { HostPath, InstanceSpec } from "@repoman/core/ContainerRuntime"
 * import { ImageRef, ProfileName, ProjectName } from "@repoman/core/Ids"
 * const spec = new InstanceSpec({
 *   name: ProjectName.make("isurus"),
 *   image: ImageRef.make("images:ubuntu/26.04/cloud"),
 *   profiles: [ProfileName.make("default")],
 *   repo: new HostPath({ source: "/home/me/repos/isurus", path: "/home/me/repos/isurus", readOnly: false }),
 *   idMapping: { _tag: "HostUser", uid: 1000, gid: 1000 },
 *   labels: { project: "isurus" }
 * })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export class InstanceSpec extends Schema.Class<InstanceSpec>("@repoman/core/ContainerRuntime/InstanceSpec")({
  name: ProjectName,
  image: ImageRef,
  profiles: Schema.Array(ProfileName),
  repo: Schema.optionalKey(RepoStorage),
  mounts: Schema.Array(Mount).pipe(Schema.withConstructorDefault(Effect.succeed([]))),
  env: Env.pipe(Schema.withConstructorDefault(Effect.succeed({}))),
  limits: ResourceLimits.pipe(Schema.withConstructorDefault(Effect.succeed({}))),
  idMapping: Schema.optionalKey(IdMapping),
  labels: Schema.Record(LabelKey, Schema.String).pipe(Schema.withConstructorDefault(Effect.succeed({}))),
  gitCover: Schema.optionalKey(GitCover),
  lockMounts: Schema.Boolean.pipe(Schema.withConstructorDefault(Effect.succeed(false))),
  target: Schema.optionalKey(MemberName)
}) {}

/**
 * Why an engine that cannot mount this host's paths (`hostPaths: false`)
 * cannot make an instance from `spec`, or why no engine can (a git cover
 * needs a host path repo); `undefined` when it can.
 *
 * @since 0.1.0
 * @category models
 */
export const hostPathProblem = (spec: InstanceSpec, hostPaths: boolean): string | undefined => {
  if (spec.gitCover !== undefined && spec.repo?._tag !== "HostPath") return "a git cover needs a host path repo"
  if (hostPaths) return undefined
  if (spec.repo?._tag === "HostPath") return "the engine cannot mount this host's paths: the repo must be a volume"
  if (spec.mounts.length > 0) return "the engine cannot mount this host's paths"
  if (spec.idMapping?._tag === "HostUser") return "the engine cannot map this host's user"
  return undefined
}

/**
 * A change to an existing instance's own settings: each field given
 * replaces that setting whole (`profiles` in order, `mounts`, `env`,
 * `limits`); the ones left out are kept. The repo, the git seal, the id
 * mapping, the labels and the image never change: a mount may not take the
 * name of one of the runtime's own devices.
 *
 * @example
 * ```ts
 * import { InstanceChange } from "@repoman/core/ContainerRuntime"
 * const change = new InstanceChange({ env: { EDITOR: "vi" }, limits: { processes: 500 } })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export class InstanceChange extends Schema.Class<InstanceChange>("@repoman/core/ContainerRuntime/InstanceChange")({
  profiles: Schema.optionalKey(Schema.Array(ProfileName)),
  mounts: Schema.optionalKey(Schema.Array(Mount)),
  env: Schema.optionalKey(Env),
  limits: Schema.optionalKey(ResourceLimits)
}) {}

/**
 * Options of `ContainerRuntime.update`: `restart` lets it restart a running
 * instance when the change cannot be applied live (default `false`: it
 * then fails with `Conflict` and changes nothing).
 *
 * @since 0.1.0
 * @category models
 */
export interface UpdateOptions {
  readonly restart?: boolean
}

/**
 * What `ContainerRuntime.update` did: the reasons a restart was needed
 * (empty: the change was applied live, or the instance was not running and
 * takes it at its next start) and whether it restarted the instance.
 *
 * @since 0.1.0
 * @category models
 */
export class UpdateResult extends Schema.Class<UpdateResult>("@repoman/core/ContainerRuntime/UpdateResult")({
  restartReasons: Schema.Array(Schema.String),
  restarted: Schema.Boolean
}) {}

/**
 * The state of an instance, with Incus's status names. `Unknown` stands for
 * any status an implementation cannot map.
 *
 * @since 0.1.0
 * @category models
 */
export const InstanceStatus = Schema.Literals([
  "Running",
  "Stopped",
  "Starting",
  "Stopping",
  "Frozen",
  "Error",
  "Unknown"
])
/**
 * The decoded type of the `InstanceStatus` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type InstanceStatus = typeof InstanceStatus.Type

/**
 * An instance as the engine reports it, in the terms of its
 * {@link InstanceSpec}: its own settings (not merged with its profiles').
 * `image` is `None` when the engine cannot tell what the instance was
 * created from, `repo`, `idMapping` and `gitCover` when it has none;
 * `managed` says whether repoman made it and `owner` for which host uid;
 * `idRange` is its own host id range (`None` when it shares one with other
 * instances); `location` the cluster member it is on (`None` on an engine
 * that is not a cluster). Settings repoman cannot express (an instance made by other
 * means) are left out.
 *
 * @since 0.1.0
 * @category models
 */
export class Instance extends Schema.Class<Instance>("@repoman/core/ContainerRuntime/Instance")({
  name: ProjectName,
  status: InstanceStatus,
  image: Schema.Option(ImageRef),
  profiles: Schema.Array(ProfileName),
  repo: Schema.Option(RepoStorage),
  mounts: Schema.Array(Mount),
  env: Env,
  limits: ResourceLimits,
  idMapping: Schema.Option(IdMapping),
  labels: Labels,
  gitCover: Schema.Option(GitCover),
  lockMounts: Schema.Boolean,
  managed: Schema.Boolean,
  owner: Schema.Option(Schema.Int),
  idRange: Schema.Option(IdRange),
  location: Schema.Option(MemberName),
  createdAt: Schema.DateTimeUtc
}) {}

/**
 * The instance a spec describes, in a given state: what a runtime reports
 * for an instance it has just made from `spec`, without reading it back.
 *
 * @since 0.1.0
 * @category models
 */
export const instanceFromSpec = (
  spec: InstanceSpec,
  state: {
    readonly status: InstanceStatus
    readonly createdAt: DateTime.Utc
    readonly managed: boolean
    readonly owner: Option.Option<number>
    readonly idRange: Option.Option<IdRange>
    /** The member it was placed on; default: the spec's `target`. */
    readonly location?: Option.Option<MemberName>
  }
): Instance =>
  new Instance({
    name: spec.name,
    status: state.status,
    image: Option.some(spec.image),
    profiles: spec.profiles,
    repo: Option.fromUndefinedOr(spec.repo),
    mounts: spec.mounts,
    env: spec.env,
    limits: spec.limits,
    idMapping: Option.fromUndefinedOr(spec.idMapping),
    labels: spec.labels,
    gitCover: Option.fromUndefinedOr(spec.gitCover),
    lockMounts: spec.lockMounts,
    managed: state.managed,
    owner: state.owner,
    idRange: state.idRange,
    location: state.location ?? Option.fromUndefinedOr(spec.target),
    createdAt: state.createdAt
  })

/**
 * A string-to-string map: the `config` of a profile document, or the
 * options of one of its devices.
 *
 * @since 0.1.0
 * @category models
 */
export const ConfigMap = Schema.Record(Schema.String, Schema.String)
/**
 * The decoded type of the `ConfigMap` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type ConfigMap = typeof ConfigMap.Type

/**
 * The devices of a profile document, by device name.
 *
 * @since 0.1.0
 * @category models
 */
export const DeviceMap = Schema.Record(Schema.String, ConfigMap)
/**
 * The decoded type of the `DeviceMap` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type DeviceMap = typeof DeviceMap.Type

/**
 * The content of a runtime profile, an engine-native document (Incus: what
 * `incus profile show` prints minus the name and the list of users). This is
 * also what a rendered library profile is (see `ProfileStore.render`).
 * Programs compare and store these documents but never read their keys:
 * `ContainerRuntime.inspectProfile` does.
 *
 * @since 0.1.0
 * @category models
 */
export class ProfileSpec extends Schema.Class<ProfileSpec>("@repoman/core/ContainerRuntime/ProfileSpec")({
  description: Schema.String,
  config: ConfigMap,
  devices: DeviceMap
}) {}

/**
 * What a profile document means to repoman, as the runtime reads it: the
 * host directories (or files) it mounts, the environment and repoman labels
 * it sets (the shared-file declarations `link.<name>`, say), and why the
 * namespace's restrictions would refuse it (`None` when they would not).
 *
 * @since 0.1.0
 * @category models
 */
export class ProfileInfo extends Schema.Class<ProfileInfo>("@repoman/core/ContainerRuntime/ProfileInfo")({
  mounts: Schema.Array(Mount),
  env: Env,
  labels: Labels,
  refusal: Schema.Option(Schema.String)
}) {}

/**
 * How a library profile is installed on this host: the real paths (symlinks
 * resolved) of its host sources, by source as written, and the id mapping of
 * the namespace.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProfileResolution {
  readonly realPaths: ReadonlyMap<string, string>
  readonly idMapping: IdMapping
}

/**
 * A profile installed in the namespace, with the instances that use it,
 * whether repoman made it and for which host uid (`owner`). `config` leaves
 * the runtime's own keys out (a profile reads back as it was put).
 *
 * @since 0.1.0
 * @category models
 */
export class Profile extends Schema.Class<Profile>("@repoman/core/ContainerRuntime/Profile")({
  name: ProfileName,
  description: Schema.String,
  config: ConfigMap,
  devices: DeviceMap,
  usedBy: Schema.Array(ProjectName),
  managed: Schema.Boolean,
  owner: Schema.Option(Schema.Int)
}) {}

/**
 * A storage pool of the engine. `driver` tells how instances are stored:
 * `dir` copies the whole image for every instance, while copy-on-write
 * drivers (`btrfs`, `zfs`, `lvm` thin pools) clone it in an instant.
 *
 * @since 0.1.0
 * @category models
 */
export class StoragePool extends Schema.Class<StoragePool>("@repoman/core/ContainerRuntime/StoragePool")({
  name: Schema.String,
  driver: Schema.String
}) {}

/**
 * A member of a clustered engine: its name and its state as the engine
 * reports it (Incus: `Online`, `Offline`, `Evacuated`, `Blocked`; `message`
 * says more, e.g. `Fully operational`). `thisHost`: the member is the
 * machine the runtime runs on (reached through its local socket), the only
 * one where this host's paths can be mounted.
 *
 * @since 0.1.0
 * @category models
 */
export class ClusterMember extends Schema.Class<ClusterMember>("@repoman/core/ContainerRuntime/ClusterMember")({
  name: MemberName,
  status: Schema.String,
  message: Schema.String,
  thisHost: Schema.Boolean
}) {}

/**
 * Whether an instance made from `spec` mounts paths of this host (its repo
 * as a {@link HostPath}, or any mount): on a cluster it must then run on the
 * member that is this host.
 *
 * @since 0.1.0
 * @category models
 */
export const mountsHostPaths = (spec: InstanceSpec): boolean => spec.repo?._tag === "HostPath" || spec.mounts.length > 0

/**
 * Where an instance made from `spec` must go among `members` (a cluster's):
 * `spec.target`; without one, when it mounts this host's paths, the member
 * that is this host (else `undefined`: the engine chooses). A reason to
 * refuse instead: a target no member has, or one that is another machine
 * while the spec mounts this host's paths.
 *
 * @since 0.1.0
 * @category models
 */
export const placement = (
  spec: InstanceSpec,
  members: ReadonlyArray<ClusterMember>
): { readonly target: MemberName | undefined } | {
  readonly refused: "unknown" | "elsewhere"
  readonly detail: string
} => {
  const here = members.find((m) => m.thisHost)
  if (spec.target !== undefined) {
    const member = members.find((m) => m.name === spec.target)
    if (member === undefined) return { refused: "unknown", detail: `no cluster member is named ${spec.target}` }
    if (mountsHostPaths(spec) && !member.thisHost) {
      return {
        refused: "elsewhere",
        detail: `${spec.target} is another machine: this host's paths (the repo) can be mounted ${
          here === undefined ? "on no member" : `on ${here.name} only`
        }`
      }
    }
    return { target: spec.target }
  }
  return { target: mountsHostPaths(spec) ? here?.name : undefined }
}

/**
 * The outcome of a command run to completion inside an instance. A non-zero
 * exit code is a result, not an error.
 *
 * @since 0.1.0
 * @category models
 */
export class ExecResult extends Schema.Class<ExecResult>("@repoman/core/ContainerRuntime/ExecResult")({
  exitCode: Schema.Int,
  stdout: Schema.String,
  stderr: Schema.String
}) {}

/**
 * What is at a path inside an instance: its type, owner and permission bits
 * (`mode`, e.g. `0o755`), and for a symlink where it points.
 *
 * @since 0.1.0
 * @category models
 */
export class FileInfo extends Schema.Class<FileInfo>("@repoman/core/ContainerRuntime/FileInfo")({
  type: Schema.Literals(["file", "directory", "symlink"]),
  uid: Schema.Int,
  gid: Schema.Int,
  mode: Schema.Int,
  target: Schema.optionalKey(Schema.String)
}) {}

/**
 * A repo volume (see {@link Volume}) as the engine reports it: the
 * instance it was made for (its name), the instances that use it now,
 * whether repoman made it and for which host uid, when it was made, and its
 * automatic snapshots (`snapshotSchedule`: a cron expression or `@hourly`,
 * `@daily`, ...; `snapshotExpiry`: how long one is kept, `1d`, `2w`, ...;
 * `None` when not set).
 *
 * @since 0.1.0
 * @category models
 */
export class RepoVolume extends Schema.Class<RepoVolume>("@repoman/core/ContainerRuntime/RepoVolume")({
  name: ProjectName,
  usedBy: Schema.Array(ProjectName),
  managed: Schema.Boolean,
  owner: Schema.Option(Schema.Int),
  createdAt: Schema.DateTimeUtc,
  snapshotSchedule: Schema.Option(Schema.String),
  snapshotExpiry: Schema.Option(Schema.String)
}) {}

/**
 * The automatic snapshots of a repo volume: `schedule` (a cron expression,
 * or `@hourly`, `@daily`, `@weekly`, `@monthly`, `@startup`) and `expiry`
 * (how long each is kept: a number and a unit, `30M`, `1H`, `1d`, `2w`,
 * `1m`, `1y`; absent: kept until deleted).
 *
 * @since 0.1.0
 * @category models
 */
export class SnapshotPolicy extends Schema.Class<SnapshotPolicy>("@repoman/core/ContainerRuntime/SnapshotPolicy")({
  schedule: Schema.NonEmptyString.pipe(
    Schema.check(Schema.makeFilter((s: string) => !/[\0\n\r]/.test(s) || "a schedule holds no line break or NUL"))
  ),
  expiry: Schema.optionalKey(
    Schema.String.pipe(
      Schema.check(
        Schema.makeFilter((s: string) =>
          /^(?:\d+[MHdwmy])(?: \d+[MHdwmy])*$/.test(s) || "an expiry is a number and a unit (M, H, d, w, m, y), e.g. 2w"
        )
      )
    )
  )
}) {}

/**
 * The name of a snapshot of a repo volume: letters, digits, `.`, `_` and
 * `-`, starting with a letter or digit, at most 63 characters (no `/`:
 * Incus separates volume and snapshot with it).
 *
 * @since 0.1.0
 * @category models
 */
export const SnapshotName = Schema.String.pipe(
  Schema.check(
    Schema.makeFilter((s: string) =>
      /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(s)
      || "a snapshot name is letters, digits, '.', '_' and '-' (at most 63, starting with a letter or digit)"
    )
  )
)

/**
 * A snapshot of a repo volume: its name and when it was taken.
 *
 * @since 0.1.0
 * @category models
 */
export class VolumeSnapshot extends Schema.Class<VolumeSnapshot>("@repoman/core/ContainerRuntime/VolumeSnapshot")({
  name: Schema.String,
  createdAt: Schema.DateTimeUtc
}) {}

/**
 * The owner and permission bits of a file written by
 * `ContainerRuntime.writeFile`.
 *
 * @since 0.1.0
 * @category models
 */
export interface WriteFileOptions {
  readonly uid: number
  readonly gid: number
  /**
   * Permission bits, e.g. `0o644`: at most `0o777` (setuid, setgid and the
   * sticky bit cannot be set this way: Incus's file server drops them).
   */
  readonly mode: number
}

/**
 * How a repo volume is exported or imported as an archive: at most
 * `maxBytes` bytes go through (a larger archive fails the transfer; what a
 * container wrote is attacker input).
 *
 * @since 0.1.0
 * @category models
 */
export interface ArchiveOptions {
  readonly maxBytes: number
}

/**
 * Whether `name` is one entry of a directory, safe to join to its
 * directory's path: not empty, not `.` or `..`, no `/` and no NUL byte.
 * Names read from an instance are attacker input; `listDirectory` keeps only
 * these.
 *
 * @example
 * ```ts
 * import { isEntryName } from "@repoman/core/ContainerRuntime"
 * isEntryName("src")   // true
 * isEntryName("..")    // false
 * isEntryName("a/b")   // false
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const isEntryName = (name: string): boolean =>
  name.length > 0 && name !== "." && name !== ".." && !name.includes("/") && !name.includes("\0")

/**
 * The owner and permission bits of a directory made by
 * `ContainerRuntime.makeDirectory`. `mode` defaults to `0o755`.
 *
 * @since 0.1.0
 * @category models
 */
export interface DirectoryOptions {
  readonly uid: number
  readonly gid: number
  readonly mode?: number
}

/**
 * How to run a command inside an instance. Omitted fields take the engine's
 * defaults (Incus: root, `/root`, the instance's environment).
 *
 * @since 0.1.0
 * @category models
 */
export interface ExecOptions {
  /** Numeric uid inside the container, e.g. `1000`. */
  readonly user?: number
  /** Numeric gid inside the container, e.g. `1000`. */
  readonly group?: number
  /** Absolute working directory inside the container. */
  readonly cwd?: string
  /** Extra environment variables, added to the instance's environment. */
  readonly env?: Readonly<Record<string, string>>
}

/**
 * How to open an interactive shell: {@link ExecOptions} plus the command,
 * which defaults to the user's login shell as the implementation finds it.
 *
 * @since 0.1.0
 * @category models
 */
export interface ShellOptions extends ExecOptions {
  /** The command to run attached to the terminal instead of a login shell. */
  readonly argv?: ReadonlyArray<string>
}

/**
 * How to read a file out of an instance: at most `maxBytes` bytes (a larger
 * file fails the read once the limit is passed; nothing is buffered beyond
 * one chunk).
 *
 * @since 0.1.0
 * @category models
 */
export interface ReadFileOptions {
  readonly maxBytes: number
}

/**
 * How to stop an instance. `force` kills it instead of asking it to shut down.
 *
 * @since 0.1.0
 * @category models
 */
export interface StopOptions {
  readonly force?: boolean
}

/**
 * The objects of a namespace that carry repoman's managed key
 * (`user.repoman.managed=true`): the ones repoman made. The namespace's
 * `default` profile is never listed (it cannot be deleted on its own).
 *
 * @since 0.1.0
 * @category models
 */
export interface ManagedObjects {
  readonly instances: ReadonlyArray<ProjectName>
  readonly profiles: ReadonlyArray<ProfileName>
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/**
 * The kinds of objects a {@link ContainerRuntimeError} can be about.
 *
 * @since 0.1.0
 * @category errors
 */
export const ObjectKind = Schema.Literals([
  "namespace",
  "instance",
  "profile",
  "image",
  "storage pool",
  "directory",
  "volume",
  "snapshot",
  "cluster member"
])
/**
 * The decoded type of the `ObjectKind` schema.
 *
 * @since 0.1.0
 * @category errors
 */
export type ObjectKind = typeof ObjectKind.Type

/** What every reason says: the kind and name of the object the call was about. */
const subject = { kind: ObjectKind, name: Schema.String }

/**
 * The object does not exist.
 *
 * @since 0.1.0
 * @category errors
 */
export class NotFound extends Schema.TaggedClass<NotFound>("@repoman/core/ContainerRuntime/NotFound")(
  "NotFound",
  subject
) {
  /** One line for the user; a missing namespace says how one comes to be. */
  get message(): string {
    return this.kind === "namespace"
      ? `namespace "${this.name}" does not exist: run 'repoman setup' first (it makes the Incus project, ` +
        `or says what an admin must do)`
      : `${this.kind} "${this.name}" does not exist`
  }
}

/**
 * An object with that name exists already.
 *
 * @since 0.1.0
 * @category errors
 */
export class AlreadyExists extends Schema.TaggedClass<AlreadyExists>("@repoman/core/ContainerRuntime/AlreadyExists")(
  "AlreadyExists",
  subject
) {
  /** One line for the user. */
  get message(): string {
    return `${this.kind} "${this.name}" already exists`
  }
}

/**
 * The object is in a state that does not allow the operation: starting a
 * running instance, running a command in a stopped one, deleting a profile
 * that instances still use.
 *
 * @since 0.1.0
 * @category errors
 */
export class Conflict extends Schema.TaggedClass<Conflict>("@repoman/core/ContainerRuntime/Conflict")("Conflict", {
  ...subject,
  detail: Schema.String
}) {
  /** One line for the user. */
  get message(): string {
    return `${this.kind} "${this.name}": ${this.detail}`
  }
}

/**
 * The restrictions of the namespace refuse the request (a host path outside
 * the allowed ones, a privileged container, a foreign id map).
 *
 * @since 0.1.0
 * @category errors
 */
export class Forbidden extends Schema.TaggedClass<Forbidden>("@repoman/core/ContainerRuntime/Forbidden")("Forbidden", {
  ...subject,
  namespace: Schema.String,
  detail: Schema.String
}) {
  /** One line for the user. */
  get message(): string {
    return `refused by the restrictions of namespace "${this.namespace}": ${this.detail}`
  }
}

/**
 * The engine cannot be reached (daemon down, socket missing, no permission on
 * the socket). `hint` tells the user what to do about it.
 *
 * @since 0.1.0
 * @category errors
 */
export class Unavailable extends Schema.TaggedClass<Unavailable>("@repoman/core/ContainerRuntime/Unavailable")(
  "Unavailable",
  { ...subject, detail: Schema.String, hint: Schema.String }
) {
  /** One line for the user. */
  get message(): string {
    return `the container engine is not reachable: ${this.detail} (${this.hint})`
  }
}

/**
 * The engine took the request and failed it for another reason (`detail`
 * says what it answered).
 *
 * @since 0.1.0
 * @category errors
 */
export class OperationFailed extends Schema.TaggedClass<OperationFailed>(
  "@repoman/core/ContainerRuntime/OperationFailed"
)("OperationFailed", {
  ...subject,
  operation: Schema.String,
  detail: Schema.String
}) {
  /** One line for the user. */
  get message(): string {
    return `${this.operation} "${this.name}" failed: ${this.detail}`
  }
}

/**
 * Why a {@link ContainerRuntimeError} happened.
 *
 * @since 0.1.0
 * @category errors
 */
export const ContainerRuntimeErrorReason = Schema.Union([
  NotFound,
  AlreadyExists,
  Conflict,
  Forbidden,
  Unavailable,
  OperationFailed
])
/**
 * The decoded type of the `ContainerRuntimeErrorReason` schema.
 *
 * @since 0.1.0
 * @category errors
 */
export type ContainerRuntimeErrorReason = typeof ContainerRuntimeErrorReason.Type

/**
 * The one error of the {@link ContainerRuntime} boundary. Match on `reason`
 * with `Effect.catchReason`.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import * as Option from "effect/Option"
 * import { ContainerRuntime } from "@repoman/core/ContainerRuntime"
 * import { ProjectName } from "@repoman/core/Ids"
 *
 * const find = Effect.gen(function*() {
 *   const runtime = yield* ContainerRuntime
 *   return yield* runtime.get(ProjectName.make("isurus")).pipe(
 *     Effect.map(Option.some),
 *     Effect.catchReason("ContainerRuntimeError", "NotFound", () => Effect.succeed(Option.none()))
 *   )
 * })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class ContainerRuntimeError extends Schema.TaggedError<ContainerRuntimeError>(
  "@repoman/core/ContainerRuntime/ContainerRuntimeError"
)("ContainerRuntimeError", {
  reason: ContainerRuntimeErrorReason,
  cause: Schema.optional(Schema.Defect())
}) {
  /** The reason's one-line message. */
  override get message(): string {
    return this.reason.message
  }
}

// ---------------------------------------------------------------------------
// Service
// ---------------------------------------------------------------------------

/**
 * Everything repoman asks of the container engine. An implementation is bound
 * to one namespace (`namespace`) when its layer is built; instance and profile
 * operations act in that namespace. No operation has requirements.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { ContainerRuntime } from "@repoman/core/ContainerRuntime"
 * import { ProjectName } from "@repoman/core/Ids"
 *
 * const gitStatus = Effect.gen(function*() {
 *   const runtime = yield* ContainerRuntime
 *   const result = yield* runtime.exec(ProjectName.make("isurus"), ["git", "status", "--short"], {
 *     user: 1000,
 *     group: 1000,
 *     cwd: "/home/me/repos/isurus"
 *   })
 *   return result.stdout
 * })
 * ```
 *
 * @since 0.1.0
 * @category services
 */
export class ContainerRuntime extends Context.Service<ContainerRuntime, {
  /** The namespace (Incus project) the instance and profile operations act in. */
  readonly namespace: string

  /** The host uid the runtime acts for: the owner recorded on everything it makes. */
  readonly owner: number

  /**
   * Whether instances can mount this host's paths (Incus: the daemon is
   * local, reached on its unix socket). When not, `create` refuses a
   * {@link HostPath} repo, host mounts, a git cover and a host id mapping:
   * the repo lives in a {@link Volume}.
   */
  readonly hostPaths: boolean

  /** What the runtime may do with the engine (see {@link EngineAccess}). */
  access(): Effect.Effect<EngineAccess, ContainerRuntimeError>

  /**
   * Says how namespace `spec.name` stands against `spec` with the runtime's
   * access, changing nothing: what an admin must do first, what could not
   * be checked, and notes (`image`: whether instances can be made from it
   * there). With full access there are no admin steps (`ensureNamespace`
   * does it all); `NotFound` never: a missing namespace is an admin step.
   */
  checkNamespace(spec: NamespaceSpec, image?: ImageRef): Effect.Effect<NamespaceCheck, ContainerRuntimeError>

  /**
   * Records the runtime's owner on an object that has no owner yet (made
   * by a repoman older than owners): `Conflict` if another owner is
   * recorded, `NotFound` if it does not exist. A namespace needs full
   * access.
   */
  adopt(kind: OwnedKind, name: string): Effect.Effect<void, ContainerRuntimeError>

  /**
   * Creates the namespace if it is missing, else brings its description,
   * allowed paths and id mapping in line with `spec` (settings of the
   * namespace that repoman does not govern are kept). Idempotent. It never
   * takes over a namespace repoman did not make or that another owner's
   * repoman made (`Conflict`). With restricted access it changes only what
   * that access allows (the root disk of its default profile) and fails
   * with `Forbidden` when {@link checkNamespace} lists admin steps.
   */
  ensureNamespace(spec: NamespaceSpec): Effect.Effect<Namespace, ContainerRuntimeError>

  /** Reads a namespace; fails with `NotFound` if it does not exist. */
  getNamespace(name: string): Effect.Effect<Namespace, ContainerRuntimeError>

  /**
   * Deletes an empty namespace: `NotFound` if it does not exist, `Conflict`
   * while it holds instances or profiles other than `default`, `Forbidden`
   * with restricted access.
   */
  deleteNamespace(name: string): Effect.Effect<void, ContainerRuntimeError>

  /**
   * Lets instances and profiles of the runtime's namespace mount `paths`
   * (host paths) too; paths the namespace allows already are skipped. All or
   * nothing: when the engine cannot allow one of them (Incus allows only
   * directories; with restricted access only an admin can widen them),
   * nothing changes and `refused` says why. A namespace that does not
   * restrict host paths (`Shift`) needs nothing: all come back skipped.
   */
  allowPaths(paths: ReadonlyArray<string>): Effect.Effect<AllowedPaths, ContainerRuntimeError>

  /**
   * Takes `paths` back from the runtime namespace's allowed paths (those not
   * there are ignored; with restricted access nothing changes, since
   * `allowPaths` never added any).
   */
  disallowPaths(paths: ReadonlyArray<string>): Effect.Effect<void, ContainerRuntimeError>

  /** Lists the instances and profiles of the namespace that repoman made (see {@link ManagedObjects}). */
  listManaged(): Effect.Effect<ManagedObjects, ContainerRuntimeError>

  /** Lists the storage pools of the engine (they are shared by every namespace); `Forbidden` with restricted access. */
  listStoragePools(): Effect.Effect<ReadonlyArray<StoragePool>, ContainerRuntimeError>

  /**
   * The members of the engine's cluster, by name (`None` when the engine is
   * not a cluster: one machine, nothing to target). Members whose names
   * repoman cannot represent are left out.
   */
  clusterMembers(): Effect.Effect<Option.Option<ReadonlyArray<ClusterMember>>, ContainerRuntimeError>

  /** Lists the instances of the namespace with their current state. */
  list(): Effect.Effect<ReadonlyArray<Instance>, ContainerRuntimeError>

  /** Reads one instance; fails with `NotFound` if it does not exist. */
  get(name: ProjectName): Effect.Effect<Instance, ContainerRuntimeError>

  /**
   * Creates an instance from `spec` and starts it, in one step, and returns
   * it as created, owned by the runtime's `owner`, with a host id range of
   * its own (the range itself reads back with `get`; the instance returned
   * here may leave it `None`). Fails with `AlreadyExists` if the name is taken,
   * `NotFound` for a missing profile or image, `Forbidden` when the
   * namespace's restrictions refuse it; a `target` that is not a member is
   * `NotFound` (kind `cluster member`), a target on an engine that is not a
   * cluster, or on another machine than this host while the spec mounts
   * this host's paths, `OperationFailed`, all before anything is made (see
   * {@link placement}: such a spec without a target goes to the member that
   * is this host); if the instance was made but does not
   * start, it is deleted again before the error is returned.
   */
  create(spec: InstanceSpec): Effect.Effect<Instance, ContainerRuntimeError>

  /**
   * Why `change` would need a running instance restarted (what cannot be
   * applied live: Incus applies mounts, environment and most limits live,
   * not the inotify sysctl, a profile's kernel settings, or taking away an
   * environment variable the instance started with), changing
   * nothing. Empty when it applies live, or when the instance is not
   * running (it takes the change at its next start). `NotFound` for a
   * missing instance.
   */
  planUpdate(name: ProjectName, change: InstanceChange): Effect.Effect<ReadonlyArray<string>, ContainerRuntimeError>

  /**
   * Changes the instance's own settings as `change` says, in one request,
   * all or nothing: when the engine refuses any part (a missing profile is
   * `NotFound`, a path the namespace does not allow `Forbidden`, a mount it
   * cannot make `OperationFailed`), or the instance changed since it was
   * read (`Conflict`: a concurrent change is refused, never overwritten),
   * the instance is left as it was. A change {@link planUpdate} says needs
   * a restart fails with `Conflict` (nothing changed) unless
   * `options.restart`; with it, the instance is restarted once the change
   * is in.
   */
  update(
    name: ProjectName,
    change: InstanceChange,
    options?: UpdateOptions
  ): Effect.Effect<UpdateResult, ContainerRuntimeError>

  /** Starts a stopped instance; `Conflict` if it is running. */
  start(name: ProjectName): Effect.Effect<void, ContainerRuntimeError>

  /** Stops a running instance; `Conflict` if it is stopped already. */
  stop(name: ProjectName, options?: StopOptions): Effect.Effect<void, ContainerRuntimeError>

  /** Restarts a running instance; `Conflict` if it is stopped. */
  restart(name: ProjectName): Effect.Effect<void, ContainerRuntimeError>

  /**
   * Freezes a running instance: its processes are no longer scheduled (and
   * so cannot write) until {@link unfreeze}; nothing of theirs is lost.
   * `Conflict` if it is not running.
   */
  freeze(name: ProjectName): Effect.Effect<void, ContainerRuntimeError>

  /** Lets a frozen instance run again; `Conflict` if it is not frozen. */
  unfreeze(name: ProjectName): Effect.Effect<void, ContainerRuntimeError>

  /**
   * Deletes an instance, stopping it first if it runs. Its repo volume, if
   * it has one, is kept (a repo is never deleted with its instance): see
   * {@link deleteRepoVolume}.
   */
  remove(name: ProjectName): Effect.Effect<void, ContainerRuntimeError>

  /**
   * Reads the repo volume made for instance `name` (see {@link Volume});
   * `NotFound` (kind `volume`) when there is none.
   */
  getRepoVolume(name: ProjectName): Effect.Effect<RepoVolume, ContainerRuntimeError>

  /** Lists the repo volumes of the namespace (those named like an instance can be). */
  listRepoVolumes(): Effect.Effect<ReadonlyArray<RepoVolume>, ContainerRuntimeError>

  /**
   * Deletes the repo volume of `name`, with its snapshots: the explicit way
   * to lose a repo. `NotFound` when there is none; `Conflict` while an
   * instance uses it, or when repoman did not make it or made it for
   * another owner.
   */
  deleteRepoVolume(name: ProjectName): Effect.Effect<void, ContainerRuntimeError>

  /**
   * Sets (or, with `undefined`, takes away) the automatic snapshots of the
   * repo volume of `name`. `NotFound` when there is none, `Conflict` when it
   * is not the runtime owner's.
   */
  setRepoVolumeSnapshots(
    name: ProjectName,
    policy: SnapshotPolicy | undefined
  ): Effect.Effect<void, ContainerRuntimeError>

  /**
   * Takes a snapshot named `snapshot` (a {@link SnapshotName}) of the repo
   * volume of `name`, while its instance runs or not. `AlreadyExists` when
   * the name is taken, `NotFound` when there is no volume, `OperationFailed`
   * for a malformed name.
   */
  snapshotRepoVolume(name: ProjectName, snapshot: string): Effect.Effect<VolumeSnapshot, ContainerRuntimeError>

  /** The snapshots of the repo volume of `name`, oldest first; `NotFound` when there is no volume. */
  listRepoVolumeSnapshots(name: ProjectName): Effect.Effect<ReadonlyArray<VolumeSnapshot>, ContainerRuntimeError>

  /**
   * Puts the repo volume of `name` back as it was in `snapshot` (what was
   * written since is lost; the snapshot and later ones are kept). An
   * instance using the volume that runs is stopped for it and started
   * again. `NotFound` (kind `snapshot`) for a missing snapshot.
   */
  restoreRepoVolume(name: ProjectName, snapshot: string): Effect.Effect<void, ContainerRuntimeError>

  /** Deletes one snapshot of the repo volume of `name`; `NotFound` (kind `snapshot`) when missing. */
  deleteRepoVolumeSnapshot(name: ProjectName, snapshot: string): Effect.Effect<void, ContainerRuntimeError>

  /**
   * The repo volume of `name` as an archive (Incus: a backup tarball of the
   * volume, without its snapshots), streamed as it is made: nothing is held
   * whole. It fails with `OperationFailed` once more than
   * `options.maxBytes` bytes came. The engine's temporary backup is deleted
   * when the stream ends, fails or is interrupted.
   */
  exportRepoVolume(name: ProjectName, options: ArchiveOptions): Stream.Stream<Uint8Array, ContainerRuntimeError>

  /**
   * Makes the repo volume of `name` from an archive made by
   * {@link exportRepoVolume} (of any name), streamed to the engine as it is
   * read, and records the runtime's owner on it. `AlreadyExists` when `name`
   * has a volume; `OperationFailed` when the archive is not one, or passes
   * `options.maxBytes` bytes (no volume is left then).
   */
  importRepoVolume<E>(
    name: ProjectName,
    archive: Stream.Stream<Uint8Array, E>,
    options: ArchiveOptions
  ): Effect.Effect<RepoVolume, ContainerRuntimeError | E>

  /**
   * Runs `argv` (no shell involved) in a running instance and captures its
   * output; `Conflict` if the instance is not running.
   */
  exec(
    name: ProjectName,
    argv: ReadonlyArray<string>,
    options?: ExecOptions
  ): Effect.Effect<ExecResult, ContainerRuntimeError>

  /**
   * Reads what is at `path` (absolute) in the instance; `None` when nothing
   * is there.
   */
  fileInfo(name: ProjectName, path: string): Effect.Effect<Option.Option<FileInfo>, ContainerRuntimeError>

  /**
   * The bytes of the regular file at `path` (absolute) in the instance, as a
   * stream, failing with `OperationFailed` when nothing (or not a regular
   * file) is there or once more than `options.maxBytes` bytes came. What a
   * container wrote is attacker input: the cap is what keeps it from
   * filling the host. A path on a repo volume needs the instance running
   * (`Conflict`: the volume is mounted only then).
   */
  readFile(
    name: ProjectName,
    path: string,
    options: ReadFileOptions
  ): Stream.Stream<Uint8Array, ContainerRuntimeError>

  /**
   * The mount table of the instance's init process as the host sees it
   * (Incus: `/proc/<init pid>/mountinfo` read on the host, which nothing in
   * the instance can fake), or `None` when the engine cannot tell (the
   * instance is not running, the engine is remote).
   */
  mountTable(name: ProjectName): Effect.Effect<Option.Option<ReadonlyArray<MountEntry>>, ContainerRuntimeError>

  /**
   * Makes `path` (absolute) a directory of the instance owned by
   * `options.uid`/`options.gid`, as `mkdir -p` and then `chown` would:
   * missing parents are made owned by root with mode 0755; an existing
   * directory keeps its mode and gets the owner. `Conflict` if `path` or a
   * parent is there and is not a directory, or when an existing directory
   * must change owner and the instance is not running.
   */
  makeDirectory(name: ProjectName, path: string, options: DirectoryOptions): Effect.Effect<void, ContainerRuntimeError>

  /**
   * Writes the regular file at `path` (absolute; its parent must be a
   * directory) in the instance, running or stopped, with `content` (bytes,
   * or a stream sent as it is read) and the owner and mode of `options`.
   * What is at `path` is replaced: a file, or a symlink, which is never
   * followed (the link goes, the file takes its place); a directory there is
   * `Conflict`. A path on a repo volume needs the instance running (the
   * volume is mounted only then: `Conflict`); a mode beyond `0o777` is
   * `OperationFailed`.
   */
  writeFile<E = never>(
    name: ProjectName,
    path: string,
    content: Uint8Array | Stream.Stream<Uint8Array, E>,
    options: WriteFileOptions
  ): Effect.Effect<void, ContainerRuntimeError | E>

  /**
   * The names in the directory at `path` (absolute) of the instance, sorted;
   * `Conflict` when it is not a directory, `OperationFailed` when nothing is
   * there, `Conflict` too for a path on a repo volume while the instance
   * is not running. A name from the container is attacker input: one that is not a
   * plain entry name ({@link isEntryName}: `/`, `.`, `..`, NUL) fails the
   * listing with `OperationFailed`.
   */
  listDirectory(name: ProjectName, path: string): Effect.Effect<ReadonlyArray<string>, ContainerRuntimeError>

  /**
   * Makes `path` (absolute; its parent must exist) a symbolic link to
   * `target` in the instance, as `ln -s target path` would. `Conflict` if
   * something is at `path` already.
   */
  makeSymlink(name: ProjectName, path: string, target: string): Effect.Effect<void, ContainerRuntimeError>

  /**
   * Reads the regular file at `path` (absolute) in the instance, running or
   * stopped, as UTF-8 text: `None` when nothing is there or it is not a
   * regular file; `OperationFailed` when it is larger than
   * `options.maxBytes` (default 1 MiB: what is in an instance is untrusted).
   */
  readTextFile(
    name: ProjectName,
    path: string,
    options?: { readonly maxBytes?: number }
  ): Effect.Effect<Option.Option<string>, ContainerRuntimeError>

  /**
   * Adds `labels` to the instance's labels, replacing those with the same
   * key and removing those given an empty value (keys as in
   * {@link InstanceSpec.labels}; `OperationFailed` for a reserved or
   * malformed key); the others are kept.
   */
  setLabels(name: ProjectName, labels: Labels): Effect.Effect<void, ContainerRuntimeError>

  /**
   * Runs a command attached to the caller's terminal and stdio (by default
   * a login shell) and returns its exit code once it ended and its output
   * was written.
   *
   * With a terminal on stdin and stdout, the command gets a terminal of its
   * own of the same size (resizes follow), and the caller's terminal is in
   * raw mode until it ends; otherwise stdin, stdout and stderr are streamed
   * apart, stdin to its end. While it runs, the signals the process receives
   * (`ProcessSignals`) go to the command. Fails with `Conflict` when
   * the instance is not running and `NotFound` when `cwd` is not a
   * directory in it (nothing runs then); a command that cannot be started
   * is exit code 127 (126: not executable).
   */
  shell(name: ProjectName, options?: ShellOptions): Effect.Effect<number, ContainerRuntimeError>

  /**
   * The host command that runs a command in the instance with its stdio
   * attached, for handing to another program (an ssh `ProxyCommand`): the
   * command's argv follows it. Plain words only (no quoting needed). Makes
   * what the command needs on the host, if anything (Incus: the client's
   * own configuration), and calls the engine for nothing else.
   */
  attachCommand(name: ProjectName): Effect.Effect<ReadonlyArray<string>, ContainerRuntimeError>

  /**
   * Reads a profile document as repoman needs to know it: host mounts,
   * environment, labels, and whether a namespace mapping ids as `idMapping`
   * would refuse it (and why). Pure: no engine call.
   */
  inspectProfile(spec: ProfileSpec, idMapping: IdMapping): ProfileInfo

  /**
   * The document to install for a library profile on this host: its host
   * sources replaced by their real paths, its mounts mapped as the
   * namespace's `idMapping` requires. Pure: no engine call.
   */
  resolveProfile(spec: ProfileSpec, resolution: ProfileResolution): ProfileSpec

  /**
   * Creates the profile (owned by the runtime's `owner`), or replaces its
   * content if it exists; `Conflict` when the existing one is another
   * owner's.
   */
  putProfile(name: ProfileName, spec: ProfileSpec): Effect.Effect<void, ContainerRuntimeError>

  /** Reads one profile; fails with `NotFound` if it does not exist. */
  getProfile(name: ProfileName): Effect.Effect<Profile, ContainerRuntimeError>

  /** Lists the profiles of the namespace. */
  listProfiles(): Effect.Effect<ReadonlyArray<Profile>, ContainerRuntimeError>

  /**
   * Deletes a profile; `NotFound` if missing, `Conflict` while instances use
   * it or when it is the namespace's `default` profile.
   */
  deleteProfile(name: ProfileName): Effect.Effect<void, ContainerRuntimeError>
}>()("@repoman/core/ContainerRuntime") {}
