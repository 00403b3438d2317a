/**
 * The container engine as repoman sees it: one namespace (an Incus project)
 * holding one instance per repoman project, plus the runtime profiles those
 * instances are built from.
 *
 * The service is an interface only. `@repoman/incus` implements it against
 * the Incus REST API; {@link ContainerRuntimeMemory} is an in-memory
 * implementation for unit tests and plugin authors. Every implementation must
 * pass the conformance suite in `test/ContainerRuntimeSuite.ts`.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { ImageRef, ProfileName, ProjectName } from "./Ids.ts"

// ---------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------

/**
 * A string-to-string map, the shape of Incus `config` objects and of the
 * options of one device.
 *
 * @since 0.1.0
 */
export const ConfigMap = Schema.Record(Schema.String, Schema.String)
/**
 * The decoded type of the `ConfigMap` schema.
 *
 * @since 0.1.0
 */
export type ConfigMap = typeof ConfigMap.Type

/**
 * Devices by device name, each a map of options (`type`, `source`, `path`,
 * ...), exactly as Incus takes them.
 *
 * @example
 * ```ts
 * import type { DeviceMap } from "@repoman/core/ContainerRuntime"
 * const devices: DeviceMap = {
 *   repo: { type: "disk", source: "/home/me/repos/isurus", path: "/home/me/repos/isurus" }
 * }
 * ```
 *
 * @since 0.1.0
 */
export const DeviceMap = Schema.Record(Schema.String, ConfigMap)
/**
 * The decoded type of the `DeviceMap` schema.
 *
 * @since 0.1.0
 */
export type DeviceMap = typeof DeviceMap.Type

/**
 * What is needed to create the namespace repoman's instances live in (an
 * Incus project): its name, a description, the project config (`features.*`
 * and `restricted.*` keys) and the storage pool of the root disk of its
 * default profile.
 *
 * @since 0.1.0
 */
export class NamespaceSpec extends Schema.Class<NamespaceSpec>("@repoman/core/ContainerRuntime/NamespaceSpec")({
  name: Schema.NonEmptyString,
  description: Schema.String,
  config: ConfigMap,
  rootDiskPool: Schema.NonEmptyString
}) {}

/**
 * A namespace as the engine reports it.
 *
 * @since 0.1.0
 */
export class Namespace extends Schema.Class<Namespace>("@repoman/core/ContainerRuntime/Namespace")({
  name: Schema.String,
  description: Schema.String,
  config: ConfigMap
}) {}

/**
 * Everything needed to create an instance: the image, the profiles applied in
 * order, and the instance's own devices and config (which override the
 * profiles').
 *
 * @example
 * ```ts
 * import { InstanceSpec } from "@repoman/core/ContainerRuntime"
 * import { ImageRef, ProfileName, ProjectName } from "@repoman/core/Ids"
 * const spec = new InstanceSpec({
 *   name: ProjectName.make("isurus"),
 *   image: ImageRef.make("images:ubuntu/26.04/cloud"),
 *   profiles: [ProfileName.make("default")],
 *   devices: {},
 *   config: { "user.repoman.managed": "true" }
 * })
 * ```
 *
 * @since 0.1.0
 */
export class InstanceSpec extends Schema.Class<InstanceSpec>("@repoman/core/ContainerRuntime/InstanceSpec")({
  name: ProjectName,
  image: ImageRef,
  profiles: Schema.Array(ProfileName),
  devices: DeviceMap,
  config: ConfigMap
}) {}

/**
 * The state of an instance, with Incus's status names. `Unknown` stands for
 * any status an implementation cannot map.
 *
 * @since 0.1.0
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
 */
export type InstanceStatus = typeof InstanceStatus.Type

/**
 * An instance as the engine reports it. `config` and `devices` are the
 * instance's own (not merged with its profiles); `config` may hold keys the
 * engine added itself (Incus's `volatile.*`). `image` is `None` when the engine
 * cannot tell what the instance was created from.
 *
 * @since 0.1.0
 */
export class Instance extends Schema.Class<Instance>("@repoman/core/ContainerRuntime/Instance")({
  name: ProjectName,
  status: InstanceStatus,
  image: Schema.Option(ImageRef),
  profiles: Schema.Array(ProfileName),
  config: ConfigMap,
  devices: DeviceMap,
  createdAt: Schema.DateTimeUtc
}) {}

/**
 * The content of a runtime profile: what `incus profile show` prints minus the
 * name and the list of users. This is also what a rendered library profile is
 * (see `ProfileStore.render`).
 *
 * @since 0.1.0
 */
export class ProfileSpec extends Schema.Class<ProfileSpec>("@repoman/core/ContainerRuntime/ProfileSpec")({
  description: Schema.String,
  config: ConfigMap,
  devices: DeviceMap
}) {}

/**
 * A profile installed in the namespace, with the instances that use it.
 *
 * @since 0.1.0
 */
export class Profile extends Schema.Class<Profile>("@repoman/core/ContainerRuntime/Profile")({
  name: ProfileName,
  description: Schema.String,
  config: ConfigMap,
  devices: DeviceMap,
  usedBy: Schema.Array(ProjectName)
}) {}

/**
 * A storage pool of the engine. `driver` tells how instances are stored:
 * `dir` copies the whole image for every instance, while copy-on-write
 * drivers (`btrfs`, `zfs`, `lvm` thin pools) clone it in an instant.
 *
 * @since 0.1.0
 */
export class StoragePool extends Schema.Class<StoragePool>("@repoman/core/ContainerRuntime/StoragePool")({
  name: Schema.String,
  driver: Schema.String
}) {}

/**
 * The outcome of a command run to completion inside an instance. A non-zero
 * exit code is a result, not an error.
 *
 * @since 0.1.0
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
 */
export class FileInfo extends Schema.Class<FileInfo>("@repoman/core/ContainerRuntime/FileInfo")({
  type: Schema.Literals(["file", "directory", "symlink"]),
  uid: Schema.Int,
  gid: Schema.Int,
  mode: Schema.Int,
  target: Schema.optionalKey(Schema.String)
}) {}

/**
 * The owner and permission bits of a directory made by
 * `ContainerRuntime.makeDirectory`. `mode` defaults to `0o755`.
 *
 * @since 0.1.0
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
 */
export interface ShellOptions extends ExecOptions {
  /** The command to run attached to the terminal instead of a login shell. */
  readonly argv?: ReadonlyArray<string>
}

/**
 * How to stop an instance. `force` kills it instead of asking it to shut down.
 *
 * @since 0.1.0
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
 */
export const ObjectKind = Schema.Literals(["namespace", "instance", "profile", "image"])
/**
 * The decoded type of the `ObjectKind` schema.
 *
 * @since 0.1.0
 */
export type ObjectKind = typeof ObjectKind.Type

/**
 * The object does not exist.
 *
 * @since 0.1.0
 */
export class NotFound extends Schema.TaggedClass<NotFound>("@repoman/core/ContainerRuntime/NotFound")("NotFound", {
  kind: ObjectKind,
  name: Schema.String
}) {
  /** One line for the user. */
  get message(): string {
    return `${this.kind} "${this.name}" does not exist`
  }
}

/**
 * An object with that name exists already.
 *
 * @since 0.1.0
 */
export class AlreadyExists extends Schema.TaggedClass<AlreadyExists>("@repoman/core/ContainerRuntime/AlreadyExists")(
  "AlreadyExists",
  { kind: ObjectKind, name: Schema.String }
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
 */
export class Conflict extends Schema.TaggedClass<Conflict>("@repoman/core/ContainerRuntime/Conflict")("Conflict", {
  kind: ObjectKind,
  name: Schema.String,
  detail: Schema.String
}) {
  /** One line for the user. */
  get message(): string {
    return `${this.kind} "${this.name}": ${this.detail}`
  }
}

/**
 * The restrictions of the namespace refuse the request (a disk path outside
 * the allowed ones, a privileged container, a foreign idmap).
 *
 * @since 0.1.0
 */
export class Forbidden extends Schema.TaggedClass<Forbidden>("@repoman/core/ContainerRuntime/Forbidden")("Forbidden", {
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
 */
export class Unavailable extends Schema.TaggedClass<Unavailable>("@repoman/core/ContainerRuntime/Unavailable")(
  "Unavailable",
  { detail: Schema.String, hint: Schema.String }
) {
  /** One line for the user. */
  get message(): string {
    return `the container engine is not reachable: ${this.detail} (${this.hint})`
  }
}

/**
 * The engine took the request and failed it for another reason.
 *
 * @since 0.1.0
 */
export class OperationFailed extends Schema.TaggedClass<OperationFailed>(
  "@repoman/core/ContainerRuntime/OperationFailed"
)("OperationFailed", {
  operation: Schema.String,
  name: Schema.String,
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
 */
export class ContainerRuntime extends Context.Service<ContainerRuntime, {
  /** The namespace (Incus project) the instance and profile operations act in. */
  readonly namespace: string

  /**
   * Creates the namespace if it is missing, else brings its description and
   * config in line with `spec`. Idempotent.
   */
  ensureNamespace(spec: NamespaceSpec): Effect.Effect<Namespace, ContainerRuntimeError>

  /** Reads a namespace; fails with `NotFound` if it does not exist. */
  getNamespace(name: string): Effect.Effect<Namespace, ContainerRuntimeError>

  /**
   * Deletes an empty namespace: `NotFound` if it does not exist, `Conflict`
   * while it holds instances or profiles other than `default`.
   */
  deleteNamespace(name: string): Effect.Effect<void, ContainerRuntimeError>

  /** Lists the instances and profiles of the namespace that repoman made (see {@link ManagedObjects}). */
  listManaged(): Effect.Effect<ManagedObjects, ContainerRuntimeError>

  /** Lists the storage pools of the engine (they are shared by every namespace). */
  listStoragePools(): Effect.Effect<ReadonlyArray<StoragePool>, ContainerRuntimeError>

  /** Lists the instances of the namespace with their current state. */
  list(): Effect.Effect<ReadonlyArray<Instance>, ContainerRuntimeError>

  /** Reads one instance; fails with `NotFound` if it does not exist. */
  get(name: ProjectName): Effect.Effect<Instance, ContainerRuntimeError>

  /**
   * Creates an instance from `spec` and starts it, in one step. Fails with
   * `AlreadyExists` if the name is taken and `NotFound` for a missing profile
   * or image; if the instance was made but does not start, it is deleted
   * again before the error is returned.
   */
  create(spec: InstanceSpec): Effect.Effect<Instance, ContainerRuntimeError>

  /** Starts a stopped instance; `Conflict` if it is running. */
  start(name: ProjectName): Effect.Effect<void, ContainerRuntimeError>

  /** Stops a running instance; `Conflict` if it is stopped already. */
  stop(name: ProjectName, options?: StopOptions): Effect.Effect<void, ContainerRuntimeError>

  /** Restarts a running instance; `Conflict` if it is stopped. */
  restart(name: ProjectName): Effect.Effect<void, ContainerRuntimeError>

  /** Deletes an instance, stopping it first if it runs. */
  remove(name: ProjectName): Effect.Effect<void, ContainerRuntimeError>

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
   * Makes `path` (absolute) a directory of the running instance owned by
   * `options.uid`/`options.gid`, as `mkdir -p` and then `chown` would:
   * missing parents are made owned by root with mode 0755; an existing
   * directory keeps its mode and gets the owner. `Conflict` if `path` or a
   * parent is there and is not a directory.
   */
  makeDirectory(name: ProjectName, path: string, options: DirectoryOptions): Effect.Effect<void, ContainerRuntimeError>

  /**
   * Makes `path` (absolute; its parent must exist) a symbolic link to
   * `target` in the running instance, as `ln -s target path` would.
   * `Conflict` if something is at `path` already.
   */
  makeSymlink(name: ProjectName, path: string, target: string): Effect.Effect<void, ContainerRuntimeError>

  /**
   * Runs an interactive command attached to the caller's terminal (by default
   * a login shell) and returns its exit code.
   */
  shell(name: ProjectName, options?: ShellOptions): Effect.Effect<number, ContainerRuntimeError>

  /** Creates the profile, or replaces its content if it exists. */
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
