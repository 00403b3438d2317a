/**
 * An in-memory {@link ContainerRuntime} for unit tests and plugin authors.
 *
 * It keeps namespaces, instances and profiles in maps and follows the rules
 * repoman relies on: names are unique, a missing profile fails the create,
 * start/stop/exec check the state, a profile in use cannot be deleted, an
 * instance reads back exactly as it was specified, a namespace's allowed
 * paths widen and narrow. It does not run anything: `exec` and `shell` are
 * recorded and answered by a handler you pass to {@link make}. Files have
 * content only when a test puts it there (`writeFile`), and the live mount
 * table is `None` unless a test sets one (`setMountTable`). It does not
 * enforce a namespace's restrictions on instances either, so `create` never
 * fails with `Forbidden` (`inspectProfile` still reports what they would
 * refuse); `update` does refuse a mount source outside a namespace's
 * allowed paths, as Incus would. `update` needs a restart of a running
 * instance for the inotify limit, for an environment variable taken away
 * (Incus keeps it in sessions until a restart) and for a profile (added or removed) that
 * sets `linux.sysctl.*`, `security.*` or `raw.*` keys, as Incus does.
 *
 * Profile documents are read the way Incus reads them, for the keys the
 * profile library uses: disk devices with a host `source` are mounts
 * (`readonly`, `shift`), `environment.*` keys are the environment,
 * `user.repoman.*` keys are labels. Only an allow list passes: config
 * `environment.*`, `user.*` (not repoman's reserved labels) and `limits.*`;
 * devices `disk` (host path or pool, not the root disk), `nic` on a managed
 * network and `none`; shifted disks only where ids are shifted.
 *
 * Every object it makes records the runtime's `owner` (default 1000); each
 * instance gets a host id range of its own. With `access` restricted it
 * behaves as Incus does for an `incus-user` client: it cannot make, change
 * or delete namespaces, list storage pools or widen allowed paths.
 *
 * @since 0.1.0
 * @module
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import { Base64 } from "effect/encoding"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import {
  AdminStep,
  AlreadyExists,
  type ClusterMember,
  Conflict,
  ContainerRuntime,
  ContainerRuntimeError,
  type ContainerRuntimeErrorReason,
  coveredBy,
  EngineAccess,
  type ExecOptions,
  ExecResult,
  FileInfo,
  Forbidden,
  hostPathProblem,
  IdRange,
  type Instance,
  type InstanceChange,
  instanceFromSpec,
  InstanceSpec,
  type InstanceStatus,
  isEntryName,
  LabelKey,
  Mount,
  Namespace,
  NamespaceCheck,
  NamespaceSpec,
  NotFound,
  type ObjectKind,
  OperationFailed,
  placement,
  Profile,
  ProfileInfo,
  ProfileSpec,
  RepoVolume,
  SnapshotName,
  type SnapshotPolicy,
  StoragePool,
  UpdateResult,
  VolumeSnapshot,
  type WriteFileOptions
} from "./ContainerRuntime.ts"
import type { IdMapping } from "./IdMapping.ts"
import { type MemberName, ProfileName, type ProjectName } from "./Ids.ts"
import type { MountEntry } from "./Mountinfo.ts"
import { mapsUser } from "./Ownership.ts"

/**
 * One call of `exec` (`interactive: false`) or `shell` (`interactive: true`).
 * For `shell` without `argv`, `argv` is {@link defaultShell}.
 *
 * @since 0.1.0
 * @category models
 */
export interface ExecRequest {
  readonly name: ProjectName
  readonly argv: ReadonlyArray<string>
  readonly options: ExecOptions
  readonly interactive: boolean
}

/**
 * Answers an {@link ExecRequest}. For `shell`, only the exit code is used.
 *
 * @since 0.1.0
 * @category models
 */
export type ExecHandler = (request: ExecRequest) => Effect.Effect<ExecResult, ContainerRuntimeError>

/**
 * The command a memory `shell` reports when called without `argv`.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultShell: ReadonlyArray<string> = ["/bin/sh", "-l"]

/**
 * Options of {@link make} and {@link layer}.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryOptions {
  /** The namespace the runtime acts in. Default `"default"`. */
  readonly namespace?: string
  /**
   * Whether that namespace exists from the start, with an empty `default`
   * profile (as Incus's `default` project does). Default `true`; set `false`
   * to exercise `ensureNamespace`.
   */
  readonly namespaceExists?: boolean
  /**
   * Who made the namespace that exists from the start. Default: repoman, for
   * the runtime's `owner` (as `setup` leaves it).
   */
  readonly namespaceOrigin?: Origin
  /**
   * How the namespace that exists from the start restricts paths and ids, as
   * if `ensureNamespace` had made it. Default: it restricts nothing, like
   * Incus's `default` project.
   */
  readonly restrictions?: { readonly allowedPaths: ReadonlyArray<string>; readonly idMapping: IdMapping }
  /**
   * Why the memory engine cannot let instances mount a host path
   * (`allowPaths` reports it as refused), or `undefined`. Default: it can
   * allow any path. (Incus, for one, allows only directories.)
   */
  readonly refusePath?: (path: string) => string | undefined
  /** Answers `exec` and `shell`. Default: exit code 0, no output. */
  readonly exec?: ExecHandler
  /** The engine's storage pools. Default: one `dir` pool named `default`. */
  readonly storagePools?: ReadonlyArray<StoragePool>
  /** The host uid the runtime acts for (recorded on what it makes). Default 1000. */
  readonly owner?: number
  /**
   * What the runtime may do. Default: full access. Restricted: only the
   * `namespaces` listed, which it cannot make, change or delete.
   */
  readonly access?: EngineAccess
  /**
   * Why the engine refuses an `update` of an instance part way (after its
   * checks), or `undefined`; the update then fails with `OperationFailed`
   * and changes nothing. Default: it refuses none.
   */
  readonly refuseUpdate?: (name: ProjectName, change: InstanceChange) => string | undefined
  /** The local images instances can be made from (`checkNamespace` notes the others). Default: any. */
  readonly images?: ReadonlyArray<string>
  /**
   * Whether instances can mount the host's paths (`hostPaths`). Default
   * `true`; `false` behaves as a remote engine: repos live in volumes.
   */
  readonly hostPaths?: boolean
  /**
   * The members of the engine's cluster. Default: none, the engine is not a
   * cluster. An instance made without a target goes to the first `Online`
   * one.
   */
  readonly cluster?: ReadonlyArray<ClusterMember>
}

/**
 * Who made an object that the memory runtime did not: `managed` (a repoman
 * made it) and `owner` (for whom, if recorded).
 *
 * @since 0.1.0
 * @category models
 */
export interface Origin {
  readonly managed: boolean
  readonly owner: Option.Option<number>
}

/** Made by neither this runtime nor any repoman. */
const foreign: Origin = { managed: false, owner: Option.none() }

/**
 * The memory runtime: the service plus the log of `exec` and `shell` calls.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryContainerRuntime extends ContainerRuntimeShape {
  /** Every `exec` and `shell` request so far, oldest first. */
  readonly calls: Effect.Effect<ReadonlyArray<ExecRequest>>
  /**
   * Adds a running instance made by other means than this runtime: by
   * default not managed; `origin` makes it another user's repoman's (or an
   * older repoman's, with no owner).
   */
  readonly createForeign: (spec: InstanceSpec, origin?: Origin) => Effect.Effect<Instance, ContainerRuntimeError>
  /** Adds (or replaces) a profile made by other means than this runtime: by default not managed. */
  readonly putForeignProfile: (
    name: ProfileName,
    spec: ProfileSpec,
    origin?: Origin
  ) => Effect.Effect<void, ContainerRuntimeError>
  /** Makes (or replaces) a namespace made by other means: `origin` says by whom, `spec` how it restricts. */
  readonly putForeignNamespace: (spec: NamespaceSpec, origin: Origin) => Effect.Effect<void>
  /**
   * `writeFile` of the service, which also takes text, and without
   * `options` makes the file root's with mode 0644, as an image or a
   * command inside would: what `readFile` and `readTextFile` then read.
   */
  readonly writeFile: <E = never>(
    name: ProjectName,
    path: string,
    content: Uint8Array | string | Stream.Stream<Uint8Array, E>,
    options?: WriteFileOptions
  ) => Effect.Effect<void, ContainerRuntimeError | E>
  /** Makes a repo volume for `name` by other means than this runtime: by default not managed. */
  readonly putForeignVolume: (name: ProjectName, origin?: Origin) => Effect.Effect<void, ContainerRuntimeError>
  /** Sets what `mountTable` reports for an instance (`undefined`: `None` again). */
  readonly setMountTable: (
    name: ProjectName,
    entries: ReadonlyArray<MountEntry> | undefined
  ) => Effect.Effect<void, ContainerRuntimeError>
}

type ContainerRuntimeShape = ContainerRuntime["Service"]

interface InstanceState {
  spec: InstanceSpec
  readonly createdAt: DateTime.Utc
  /** Made by a repoman (`create`, or `createForeign` with such an origin). */
  readonly managed: boolean
  owner: Option.Option<number>
  readonly idRange: Option.Option<IdRange>
  /** The cluster member it is on (`None`: the engine is not a cluster). */
  readonly location: Option.Option<MemberName>
  status: InstanceStatus
  /** What `fileInfo` and `makeDirectory` see, by absolute path (the repo volume's under its mount point). */
  readonly files: Tree<FileInfo>
  /** The content of the regular files `writeFile` made, by absolute path. */
  readonly contents: Tree<Uint8Array>
  /** What `mountTable` reports (set by `setMountTable`). */
  mountTable: ReadonlyArray<MountEntry> | undefined
}

/** A repo volume: its entries by path relative to its root (`""` is the root, `/src` an entry). */
interface VolumeState {
  readonly files: Map<string, FileInfo>
  readonly contents: Map<string, Uint8Array>
  readonly createdAt: DateTime.Utc
  managed: boolean
  owner: Option.Option<number>
  policy: SnapshotPolicy | undefined
  readonly snapshots: Map<string, {
    readonly createdAt: DateTime.Utc
    readonly files: Map<string, FileInfo>
    readonly contents: Map<string, Uint8Array>
  }>
}

/**
 * A map by absolute path of an instance, where the paths at and under a
 * volume's mount point are the volume's own (by path relative to it).
 */
class Tree<V> {
  readonly own: Map<string, V>
  readonly mount: () => { readonly path: string; readonly map: Map<string, V> } | undefined
  constructor(own: Map<string, V>, mount: () => { readonly path: string; readonly map: Map<string, V> } | undefined) {
    this.own = own
    this.mount = mount
  }
  private route(path: string): readonly [Map<string, V>, string] {
    const m = this.mount()
    return m !== undefined && (path === m.path || path.startsWith(`${m.path}/`))
      ? [m.map, path.slice(m.path.length)]
      : [this.own, path]
  }
  get(path: string): V | undefined {
    const [map, key] = this.route(path)
    return map.get(key)
  }
  has(path: string): boolean {
    const [map, key] = this.route(path)
    return map.has(key)
  }
  set(path: string, value: V): void {
    const [map, key] = this.route(path)
    map.set(key, value)
  }
  delete(path: string): void {
    const [map, key] = this.route(path)
    map.delete(key)
  }
  keys(): ReadonlyArray<string> {
    const m = this.mount()
    const own = Array.from(this.own.keys()).filter((k) => m === undefined || !coveredBy(k, [m.path]))
    return m === undefined ? own : [...own, ...Array.from(m.map.keys(), (k) => `${m.path}${k}`)]
  }
}

/** The bytes of `chunks`, one after the other. */
const concatBytes = (chunks: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0))
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.length
  }
  return out
}

/** The wire form of a memory volume archive (file content in base64). */
const MemoryArchive = Schema.fromJsonString(Schema.Struct({
  format: Schema.Literal("repoman-memory-volume/1"),
  entries: Schema.Array(Schema.Struct({
    path: Schema.String,
    type: Schema.Literals(["file", "directory", "symlink"]),
    uid: Schema.Int,
    gid: Schema.Int,
    mode: Schema.Int,
    target: Schema.optionalKey(Schema.String),
    content: Schema.optionalKey(Schema.String)
  }))
}))

const rootDirectory = (mode: number) => new FileInfo({ type: "directory", uid: 0, gid: 0, mode })

/** The `/etc/passwd` of a new memory instance: root, and the container user 1000. */
export const initialPasswd = "root:x:0:0:root:/root:/bin/sh\nubuntu:x:1000:1000::/home/ubuntu:/bin/sh\n"

/** The directories every new memory instance has. */
const initialFiles = (): Map<string, FileInfo> =>
  new Map([
    ["/", rootDirectory(0o755)],
    ["/home", rootDirectory(0o755)],
    ["/root", rootDirectory(0o700)],
    ["/tmp", rootDirectory(0o1777)],
    ["/etc", rootDirectory(0o755)],
    ["/etc/passwd", new FileInfo({ type: "file", uid: 0, gid: 0, mode: 0o644 })]
  ])

/** The absolute paths from the first component down to `path` (`/a/b` gives `/a`, `/a/b`); `None` if relative. */
const prefixes = (path: string): Option.Option<ReadonlyArray<string>> => {
  if (!path.startsWith("/")) return Option.none()
  const parts = path.split("/").filter((p) => p !== "" && p !== ".")
  if (parts.includes("..")) return Option.none()
  return Option.some(parts.map((_, i) => `/${parts.slice(0, i + 1).join("/")}`))
}

interface ProfileState {
  readonly spec: ProfileSpec
  readonly managed: boolean
  owner: Option.Option<number>
}

/**
 * Whether `path` is a directory of the instance: one of its own, or at or
 * under a host directory mounted into it (the host's files are not
 * modelled, so a path there counts as present).
 */
const isDirectory = (state: InstanceState, path: string): boolean => {
  if (state.files.get(Option.getOrUndefined(prefixes(path))?.at(-1) ?? "/")?.type === "directory") return true
  const mounted = [
    ...(state.spec.repo === undefined ? [] : [state.spec.repo.path]),
    ...state.spec.mounts.map((m) => m.path)
  ]
  return coveredBy(path, mounted)
}

interface NamespaceState {
  readonly volumes: Map<ProjectName, VolumeState>
  description: string
  allowedPaths: ReadonlyArray<string>
  idMapping: Option.Option<IdMapping>
  managed: boolean
  owner: Option.Option<number>
  readonly instances: Map<ProjectName, InstanceState>
  readonly profiles: Map<ProfileName, ProfileState>
}

const defaultProfile = ProfileName.make("default")

const fail = (reason: ContainerRuntimeErrorReason) => Effect.fail(new ContainerRuntimeError({ reason }))

const emptyResult = new ExecResult({ exitCode: 0, stdout: "", stderr: "" })

const newNamespace = (root: ProfileSpec): NamespaceState => ({
  volumes: new Map(),
  description: "",
  allowedPaths: [],
  idMapping: Option.none(),
  managed: false,
  owner: Option.none(),
  instances: new Map(),
  profiles: new Map([[defaultProfile, { spec: root, ...foreign }]])
})

/** Applies a spec's restrictions: host paths are restricted only when the host user's ids are mapped. */
const restrict = (ns: NamespaceState, allowedPaths: ReadonlyArray<string>, idMapping: IdMapping) => {
  ns.allowedPaths = idMapping._tag === "HostUser" ? [...new Set(allowedPaths)] : []
  ns.idMapping = Option.some(idMapping)
}

// --- Profile documents, read as Incus reads them -----------------------------

const LABEL_PREFIX = "user.repoman."
const ENGINE_LABELS = new Set(["managed", "version", "owner", "image"])

const isHostDisk = (device: Readonly<Record<string, string>>) =>
  device["type"] === "disk" && device["pool"] === undefined && (device["source"] ?? "").startsWith("/")

const allowedConfig = (key: string): boolean =>
  key.startsWith("environment.") || key.startsWith("limits.") ||
  (key.startsWith("user.") && !(key.startsWith(LABEL_PREFIX) && ENGINE_LABELS.has(key.slice(LABEL_PREFIX.length))))

const DEVICE_KEYS: Readonly<Record<string, ReadonlyArray<string>>> = {
  disk: ["type", "source", "path", "readonly", "pool", "shift", "required"],
  nic: ["type", "network", "name", "hwaddr"],
  none: ["type"]
}

const refusalOf = (spec: ProfileSpec, idMapping: IdMapping): Option.Option<string> => {
  const config = Object.keys(spec.config).find((key) => !allowedConfig(key))
  if (config !== undefined) return Option.some(`config key ${config} is not on the allow list`)
  for (const [name, device] of Object.entries(spec.devices)) {
    const type = device["type"] ?? ""
    const keys = DEVICE_KEYS[type]
    if (keys === undefined) return Option.some(`device "${name}" has type "${type}"`)
    const key = Object.keys(device).find((k) => !keys.includes(k))
    if (key !== undefined) return Option.some(`device "${name}" option ${key} is not on the allow list`)
    if (type === "nic" && device["network"] === undefined) return Option.some(`device "${name}" is an unmanaged nic`)
    if (type === "disk" && device["path"] === "/") return Option.some(`device "${name}" would replace the root disk`)
    if (type === "disk" && device["shift"] === "true" && idMapping._tag === "HostUser") {
      return Option.some(`disk device "${name}" is shifted, which restricted host paths forbid`)
    }
  }
  return Option.none()
}

const inspectProfile = (spec: ProfileSpec, idMapping: IdMapping): ProfileInfo =>
  new ProfileInfo({
    mounts: Object.entries(spec.devices).filter(([, d]) => isHostDisk(d)).map(([name, d]) =>
      new Mount({ name, source: d["source"] ?? "", path: d["path"] ?? "", readOnly: d["readonly"] === "true" })
    ),
    env: Object.fromEntries(
      Object.entries(spec.config).flatMap(([k, v]) =>
        k.startsWith("environment.") ? [[k.slice("environment.".length), v]] : []
      )
    ),
    labels: Object.fromEntries(
      Object.entries(spec.config).flatMap(([k, v]) => {
        const label = k.startsWith(LABEL_PREFIX) ? k.slice(LABEL_PREFIX.length) : ""
        return label !== "" && !ENGINE_LABELS.has(label) ? [[label, v]] : []
      })
    ),
    refusal: refusalOf(spec, idMapping)
  })

const resolveProfile: ContainerRuntimeShape["resolveProfile"] = (spec, { idMapping, realPaths }) =>
  new ProfileSpec({
    description: spec.description,
    config: spec.config,
    devices: Object.fromEntries(
      Object.entries(spec.devices).map(([name, d]) => {
        if (!isHostDisk(d)) return [name, d]
        const source = d["source"] ?? ""
        const shifted = idMapping._tag === "Shift" && d["shift"] === undefined ? { shift: "true" } : {}
        return [name, { ...d, source: realPaths.get(source) ?? source, ...shifted }]
      })
    )
  })

/**
 * Builds a fresh, empty memory runtime.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { ExecResult } from "@repoman/core/ContainerRuntime"
 * import * as ContainerRuntimeMemory from "@repoman/core/ContainerRuntimeMemory"
 *
 * const runtime = ContainerRuntimeMemory.make({
 *   exec: ({ argv }) => Effect.succeed(new ExecResult({ exitCode: 0, stdout: argv.join(" ") + "\n", stderr: "" }))
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: MemoryOptions = {}): Effect.Effect<MemoryContainerRuntime> =>
  Effect.sync(() => {
    const current = options.namespace ?? "default"
    const owner = options.owner ?? 1000
    const hostPaths = options.hostPaths ?? true
    const handler: ExecHandler = options.exec ?? (() => Effect.succeed(emptyResult))
    const access = options.access ?? new EngineAccess({
      identity: "memory",
      via: "memory",
      restricted: false,
      namespaces: [],
      defaultNamespace: Option.none()
    })
    const namespaces = new Map<string, NamespaceState>()
    const calls: Array<ExecRequest> = []
    let ranges = 0
    if (options.namespaceExists ?? true) {
      const ns = newNamespace(new ProfileSpec({ description: "", config: {}, devices: {} }))
      if (options.restrictions !== undefined) {
        restrict(ns, options.restrictions.allowedPaths, options.restrictions.idMapping)
      }
      const origin = options.namespaceOrigin ?? { managed: true, owner: Option.some(owner) }
      ns.managed = origin.managed
      ns.owner = origin.owner
      namespaces.set(current, ns)
    }

    const toNamespace = (name: string, state: NamespaceState) =>
      new Namespace({
        name,
        description: state.description,
        allowedPaths: state.allowedPaths,
        idMapping: state.idMapping,
        managed: state.managed,
        owner: state.owner
      })

    const toInstance = (state: InstanceState) =>
      instanceFromSpec(state.spec, {
        status: state.status,
        createdAt: state.createdAt,
        managed: state.managed,
        owner: state.owner,
        idRange: state.idRange,
        location: state.location
      })

    const usersOf = (ns: NamespaceState, profile: ProfileName): ReadonlyArray<ProjectName> =>
      Array.from(ns.instances.values()).filter((i) => i.spec.profiles.includes(profile)).map((i) => i.spec.name)

    const toProfile = (ns: NamespaceState, name: ProfileName, state: ProfileState) =>
      new Profile({
        name,
        description: state.spec.description,
        config: state.spec.config,
        devices: state.spec.devices,
        usedBy: usersOf(ns, name),
        managed: state.managed,
        owner: state.owner
      })

    const notFound = (kind: ObjectKind, name: string) => fail(new NotFound({ kind, name }))

    const conflict = (kind: ObjectKind, name: string, detail: string) => fail(new Conflict({ kind, name, detail }))

    const forbidden = (kind: ObjectKind, name: string, detail: string) =>
      fail(new Forbidden({ kind, name, namespace: current, detail }))

    /** Refuses what the access does not allow: a restricted client sees only its namespaces. */
    const granted = (name: string) => !access.restricted || access.namespaces.includes(name)

    // Every operation runs synchronously inside one `suspend`, so it sees and
    // changes the maps atomically.
    const inNamespace = <A>(f: (ns: NamespaceState) => Effect.Effect<A, ContainerRuntimeError>) =>
      Effect.suspend(() => {
        const ns = namespaces.get(current)
        if (!granted(current)) return forbidden("namespace", current, "the namespace is not granted to this client")
        return ns === undefined ? notFound("namespace", current) : f(ns)
      })

    const withInstance = <A>(
      name: ProjectName,
      f: (state: InstanceState, ns: NamespaceState) => Effect.Effect<A, ContainerRuntimeError>
    ) =>
      inNamespace((ns) => {
        const state = ns.instances.get(name)
        return state === undefined ? notFound("instance", name) : f(state, ns)
      })

    const requireStatus = (
      state: InstanceState,
      status: InstanceStatus,
      detail: string
    ): Effect.Effect<void, ContainerRuntimeError> =>
      state.status === status ? Effect.void : conflict("instance", state.spec.name, detail)

    const setStatus = (name: ProjectName, from: InstanceStatus, to: InstanceStatus, detail: string) =>
      withInstance(name, (state) =>
        requireStatus(state, from, detail).pipe(Effect.map(() => {
          state.status = to
        })))

    const run = (request: ExecRequest) =>
      withInstance(request.name, (state) => requireStatus(state, "Running", "is not running")).pipe(
        Effect.andThen(Effect.sync(() => calls.push(request))),
        Effect.andThen(handler(request))
      )

    const ours: Origin = { managed: true, owner: Option.some(owner) }

    const create = (spec: InstanceSpec, origin: Origin) =>
      DateTime.now.pipe(Effect.flatMap((createdAt) =>
        inNamespace((ns) => {
          if (ns.instances.has(spec.name)) return fail(new AlreadyExists({ kind: "instance", name: spec.name }))
          const missing = spec.profiles.find((p) => !ns.profiles.has(p))
          if (missing !== undefined) return notFound("profile", missing)
          const problem = hostPathProblem(spec, hostPaths)
          if (problem !== undefined) return failed("create", spec.name, problem)
          const members = options.cluster
          if (spec.target !== undefined && members === undefined) {
            const detail = `the engine is not a cluster: there is no member ${spec.target} to target`
            return fail(new OperationFailed({ kind: "instance", name: spec.name, operation: "create", detail }))
          }
          const placed = members === undefined ? { target: undefined } : placement(spec, members)
          if ("refused" in placed) {
            return placed.refused === "unknown"
              ? notFound("cluster member", spec.target ?? "")
              : fail(
                new OperationFailed({ kind: "instance", name: spec.name, operation: "create", detail: placed.detail })
              )
          }
          const location = members === undefined
            ? Option.none<MemberName>()
            : Option.fromUndefinedOr(placed.target ?? members.find((m) => m.status === "Online")?.name)
          const repo = spec.repo
          let volume = ns.volumes.get(spec.name)
          if (repo?._tag === "Volume" && volume !== undefined) {
            const refused = volumeRefusal(volume)
            if (refused !== undefined) return conflict("volume", spec.name, refused)
          }
          if (repo?._tag === "Volume" && volume === undefined) {
            volume = newVolume(createdAt, ours)
            ns.volumes.set(spec.name, volume)
          }
          // What this runtime makes gets a host id range of its own.
          const idRange = origin === ours
            ? Option.some(new IdRange({ base: 1_000_000 + 65_536 * ++ranges, size: 65_536 }))
            : Option.none()
          const state: InstanceState = {
            spec,
            createdAt,
            managed: origin.managed,
            owner: origin.owner,
            idRange,
            location,
            status: "Running",
            files: new Tree(initialFiles(), () => mounted(repo, volume?.files)),
            contents: new Tree(
              new Map([["/etc/passwd", new TextEncoder().encode(initialPasswd)]]),
              () => mounted(repo, volume?.contents)
            ),
            mountTable: undefined
          }
          // The volume's mount point is made by the engine, its parents root's.
          if (repo?._tag === "Volume") {
            for (const p of (Option.getOrUndefined(prefixes(repo.path)) ?? []).slice(0, -1)) {
              if (!state.files.has(p)) state.files.set(p, rootDirectory(0o755))
            }
          }
          ns.instances.set(spec.name, state)
          return Effect.succeed(toInstance(state))
        })
      ))

    const failed = (operation: string, name: string, detail: string) =>
      fail(new OperationFailed({ kind: "instance", name, operation, detail }))

    /** Why a volume may not be taken up for this runtime's owner, if it may not. */
    const volumeRefusal = (volume: VolumeState): string | undefined =>
      !volume.managed
        ? "was not made by repoman"
        : Option.isSome(volume.owner) && volume.owner.value !== owner
        ? `belongs to host uid ${volume.owner.value}`
        : Option.isNone(volume.owner)
        ? "records no owner"
        : undefined

    const newVolume = (createdAt: DateTime.Utc, origin: Origin): VolumeState => ({
      files: new Map([["", new FileInfo({ type: "directory", uid: 1000, gid: 1000, mode: 0o755 })]]),
      contents: new Map(),
      createdAt,
      managed: origin.managed,
      owner: origin.owner,
      policy: undefined,
      snapshots: new Map()
    })

    /** Whether `path` lies on the instance's repo volume. */
    const onVolume = (state: InstanceState, path: string) =>
      state.spec.repo?._tag === "Volume" && coveredBy(path, [state.spec.repo.path])

    const mounted = <V>(repo: InstanceSpec["repo"], map: Map<string, V> | undefined) =>
      repo?._tag === "Volume" && map !== undefined ? { path: repo.path, map } : undefined

    const usersOfVolume = (ns: NamespaceState, name: ProjectName): ReadonlyArray<ProjectName> => {
      const user = ns.instances.get(name)
      return user?.spec.repo?._tag === "Volume" ? [name] : []
    }

    const toRepoVolume = (ns: NamespaceState, name: ProjectName, volume: VolumeState) =>
      new RepoVolume({
        name,
        usedBy: usersOfVolume(ns, name),
        managed: volume.managed,
        owner: volume.owner,
        createdAt: volume.createdAt,
        snapshotSchedule: Option.fromUndefinedOr(volume.policy?.schedule),
        snapshotExpiry: Option.fromUndefinedOr(volume.policy?.expiry)
      })

    const withVolume = <A>(
      name: ProjectName,
      f: (volume: VolumeState, ns: NamespaceState) => Effect.Effect<A, ContainerRuntimeError>
    ) =>
      inNamespace((ns) => {
        const volume = ns.volumes.get(name)
        return volume === undefined ? notFound("volume", name) : f(volume, ns)
      })

    const ownVolume = <A>(
      name: ProjectName,
      f: (volume: VolumeState, ns: NamespaceState) => Effect.Effect<A, ContainerRuntimeError>
    ) =>
      withVolume(name, (volume, ns) => {
        const refused = volumeRefusal(volume)
        return refused === undefined ? f(volume, ns) : conflict("volume", name, refused)
      })

    const replaceAll = <V>(target: Map<string, V>, from: Map<string, V>) => {
      target.clear()
      for (const [k, v] of from) target.set(k, v)
    }

    /** The bytes of `content`, read whole (memory keeps files whole anyway). */
    const bytesOf = <E>(content: Uint8Array | string | Stream.Stream<Uint8Array, E>) =>
      typeof content === "string"
        ? Effect.succeed(new TextEncoder().encode(content))
        : content instanceof Uint8Array
        ? Effect.succeed(content)
        : Stream.runFold(content, () => new Uint8Array(), (acc, chunk) => {
          const next = new Uint8Array(acc.length + chunk.length)
          next.set(acc)
          next.set(chunk, acc.length)
          return next
        })

    /** Config keys of a profile that only take effect when the instance starts. */
    const startOnly = (key: string) => /^(?:linux\.sysctl\.|security\.|raw\.)/.test(key)

    const restartReasons = (state: InstanceState, ns: NamespaceState, change: InstanceChange) => {
      if (state.status !== "Running") return []
      const reasons: Array<string> = []
      const before = state.spec.limits.inotifyInstances
      if (change.limits !== undefined && change.limits.inotifyInstances !== before) {
        reasons.push("the inotify limit is a kernel setting made when the container starts")
      }
      const unset = change.env === undefined
        ? []
        : Object.keys(state.spec.env).filter((k) => !(k in (change.env ?? {})))
      if (unset.length > 0) reasons.push(`${unset.join(", ")} would stay set in sessions until a restart`)
      if (change.profiles !== undefined) {
        const next = change.profiles
        const changed = [
          ...next.filter((p) => !state.spec.profiles.includes(p)),
          ...state.spec.profiles.filter((p) => !next.includes(p))
        ]
        for (const p of changed) {
          const keys = Object.keys(ns.profiles.get(p)?.spec.config ?? {}).filter(startOnly)
          if (keys.length > 0) reasons.push(`profile ${p} sets ${keys.join(", ")}, applied when the container starts`)
        }
      }
      return reasons
    }

    /** Why the engine refuses `change` before applying anything, if it does. */
    const updateRefusal = (state: InstanceState, ns: NamespaceState, change: InstanceChange) => {
      const name = state.spec.name
      const missing = change.profiles?.find((p) => !ns.profiles.has(p))
      if (missing !== undefined) return notFound("profile", missing)
      const names = (change.mounts ?? []).map((m) => m.name)
      const reserved = names.find((n) => ["repo", "git", "gitfile", "root"].includes(n))
      if (reserved !== undefined) {
        return failed("update", name, `a mount may not be named "${reserved}" (the runtime's own device)`)
      }
      const twice = names.find((n, i) => names.indexOf(n) !== i)
      if (twice !== undefined) return failed("update", name, `two mounts are named "${twice}"`)
      if (Option.isSome(ns.idMapping) && ns.idMapping.value._tag === "HostUser") {
        const outside = (change.mounts ?? []).find((m) => !coveredBy(m.source, ns.allowedPaths))
        if (outside !== undefined) {
          return forbidden("instance", name, `the host path ${outside.source} is not an allowed path`)
        }
      }
      const refused = options.refuseUpdate?.(name, change)
      return refused === undefined ? undefined : failed("update", name, refused)
    }

    /** Why `existing` may not be taken over for this runtime's owner, if it may not. */
    const takeover = (name: string, existing: NamespaceState): string | undefined => {
      if (!existing.managed) return "was not made by repoman"
      if (Option.isSome(existing.owner)) {
        return existing.owner.value === owner ? undefined : `belongs to host uid ${existing.owner.value}`
      }
      return mapsUser(existing.idMapping, owner) ? undefined : `${name} records no owner and does not map your uid`
    }

    const checkNamespace = (spec: NamespaceSpec, image?: string) =>
      Effect.sync(() => {
        const ns = namespaces.get(spec.name)
        const adminSteps: Array<AdminStep> = []
        const notes: Array<string> = []
        if (access.restricted) {
          if (ns === undefined || !granted(spec.name)) {
            adminSteps.push(
              new AdminStep({
                problem: `namespace ${spec.name} does not exist or is not granted to ${access.identity}`,
                commands: [`memory: grant ${spec.name}`]
              })
            )
          } else {
            const missing = spec.allowedPaths.filter((p) => !coveredBy(p, ns.allowedPaths))
            if (missing.length > 0) {
              adminSteps.push(
                new AdminStep({
                  problem: `namespace ${spec.name} does not allow ${missing.join(", ")}`,
                  commands: [`memory: allow ${missing.join(",")} in ${spec.name}`]
                })
              )
            }
            if (spec.idMapping._tag === "HostUser" && !mapsUser(ns.idMapping, spec.idMapping.uid)) {
              adminSteps.push(
                new AdminStep({
                  problem: `namespace ${spec.name} does not let uid ${spec.idMapping.uid} map`,
                  commands: [`memory: map ${spec.idMapping.uid} in ${spec.name}`]
                })
              )
            }
          }
        }
        if (image !== undefined && options.images !== undefined && !options.images.includes(image)) {
          notes.push(`image ${image} is not available in namespace ${spec.name}`)
        }
        return new NamespaceCheck({
          name: spec.name,
          adminSteps,
          unchecked: access.restricted ? ["storage pools (a restricted client cannot list them)"] : [],
          notes
        })
      })

    /** The normalized `path` of a new entry, when it is absolute and its parent is a directory. */
    const entryUnder = (state: InstanceState, name: string, operation: string, path: string) =>
      Effect.suspend(() => {
        const paths = Option.getOrUndefined(prefixes(path))
        const target = paths?.at(-1)
        if (paths === undefined || target === undefined) return failed(operation, name, `${path} is not absolute`)
        const parent = paths.at(-2) ?? "/"
        if (state.files.get(parent)?.type !== "directory") {
          return failed(operation, name, `${parent} is not a directory`)
        }
        return Effect.succeed(target)
      })

    const runtime: MemoryContainerRuntime = {
      namespace: current,

      owner,

      hostPaths,

      access: () => Effect.succeed(access),

      checkNamespace,

      adopt: (kind, name) =>
        Effect.suspend(() => {
          const claim = (o: { owner: Option.Option<number>; readonly managed: boolean }, objectKind: ObjectKind) => {
            if (!o.managed) return conflict(objectKind, name, "was not made by repoman")
            if (Option.isSome(o.owner) && o.owner.value !== owner) {
              return conflict(objectKind, name, `belongs to host uid ${o.owner.value}`)
            }
            o.owner = Option.some(owner)
            return Effect.void
          }
          if (kind === "namespace") {
            const ns = namespaces.get(name)
            if (ns === undefined) return notFound("namespace", name)
            if (access.restricted) return forbidden("namespace", name, "only an admin can change a namespace")
            return claim(ns, "namespace")
          }
          return inNamespace((ns) => {
            const o = kind === "instance" ? ns.instances.get(name as ProjectName) : ns.profiles.get(name as ProfileName)
            return o === undefined ? notFound(kind, name) : claim(o, kind)
          })
        }),

      ensureNamespace: (spec: NamespaceSpec) =>
        Effect.suspend(() => {
          const existing = namespaces.get(spec.name)
          if (access.restricted) {
            return checkNamespace(spec).pipe(Effect.flatMap((check) => {
              const [step] = check.adminSteps
              if (step !== undefined || existing === undefined) {
                return forbidden("namespace", spec.name, step?.problem ?? "an admin must make it")
              }
              return Effect.succeed(toNamespace(spec.name, existing))
            }))
          }
          if (existing !== undefined) {
            const refused = takeover(spec.name, existing)
            if (refused !== undefined) return conflict("namespace", spec.name, refused)
          }
          const ns = existing ?? newNamespace(
            new ProfileSpec({
              description: `Default profile of ${spec.name}`,
              config: {},
              devices: { root: { type: "disk", path: "/", pool: spec.rootDiskPool } }
            })
          )
          namespaces.set(spec.name, ns)
          ns.description = spec.description
          ns.managed = true
          ns.owner = Option.some(owner)
          restrict(ns, spec.allowedPaths, spec.idMapping)
          // As Incus: a root disk is added when the default profile has none; one already there stays.
          const base = ns.profiles.get(defaultProfile)
          const root = Object.values(base?.spec.devices ?? {}).find((d) => d["type"] === "disk" && d["path"] === "/")
          if (base !== undefined && root === undefined) {
            ns.profiles.set(defaultProfile, {
              ...base,
              spec: new ProfileSpec({
                ...base.spec,
                devices: { ...base.spec.devices, root: { type: "disk", path: "/", pool: spec.rootDiskPool } }
              })
            })
          }
          const pool = root?.["pool"] ?? spec.rootDiskPool
          return Effect.succeed(new Namespace({ ...toNamespace(spec.name, ns), rootDiskPool: pool }))
        }),

      getNamespace: (name) =>
        Effect.suspend(() => {
          const ns = namespaces.get(name)
          if (!granted(name)) return forbidden("namespace", name, "the namespace is not granted to this client")
          return ns === undefined ? notFound("namespace", name) : Effect.succeed(toNamespace(name, ns))
        }),

      deleteNamespace: (name) =>
        Effect.suspend(() => {
          const ns = namespaces.get(name)
          if (ns === undefined) return notFound("namespace", name)
          if (access.restricted) return forbidden("namespace", name, "only an admin can delete a namespace")
          const held = [
            ...Array.from(ns.instances.keys(), (i) => `instance ${i}`),
            ...Array.from(ns.profiles.keys()).filter((p) => p !== defaultProfile).map((p) => `profile ${p}`)
          ]
          if (held.length > 0) return conflict("namespace", name, `is not empty: ${held.join(", ")}`)
          namespaces.delete(name)
          return Effect.void
        }),

      allowPaths: (paths) =>
        inNamespace((ns) =>
          Effect.sync(() => {
            if (Option.isNone(ns.idMapping) || ns.idMapping.value._tag !== "HostUser") return { added: [], refused: [] }
            const added = [...new Set(paths)].filter((p) => !coveredBy(p, ns.allowedPaths))
            const refused = added.flatMap((path) => {
              const reason = access.restricted
                ? `only an admin can let namespace ${current} allow it`
                : options.refusePath?.(path)
              return reason === undefined ? [] : [{ path, reason }]
            })
            if (refused.length > 0) return { added: [], refused }
            ns.allowedPaths = [...ns.allowedPaths, ...added]
            return { added, refused }
          })
        ),

      disallowPaths: (paths) =>
        inNamespace((ns) =>
          Effect.sync(() => {
            if (!access.restricted) ns.allowedPaths = ns.allowedPaths.filter((p) => !paths.includes(p))
          })
        ),

      listManaged: () =>
        inNamespace((ns) =>
          Effect.succeed({
            instances: Array.from(ns.instances.values()).filter((i) => i.managed).map((i) => i.spec.name),
            profiles: Array.from(ns.profiles).filter(([name, p]) => p.managed && name !== defaultProfile).map((
              [name]
            ) => name)
          })
        ),

      listStoragePools: () =>
        access.restricted
          ? forbidden("storage pool", "*", "a restricted client cannot list storage pools")
          : Effect.succeed(options.storagePools ?? [new StoragePool({ name: "default", driver: "dir" })]),

      clusterMembers: () => Effect.succeed(Option.fromUndefinedOr(options.cluster)),

      list: () => inNamespace((ns) => Effect.succeed(Array.from(ns.instances.values(), toInstance))),

      get: (name) => withInstance(name, (state) => Effect.succeed(toInstance(state))),

      create: (spec) => create(spec, ours),

      createForeign: (spec, origin = foreign) => create(spec, origin),

      start: (name) => setStatus(name, "Stopped", "Running", "is already running"),

      stop: (name) => setStatus(name, "Running", "Stopped", "is already stopped"),

      restart: (name) => withInstance(name, (state) => requireStatus(state, "Running", "is not running")),

      freeze: (name) => setStatus(name, "Running", "Frozen", "is not running"),

      unfreeze: (name) => setStatus(name, "Frozen", "Running", "is not frozen"),

      remove: (name) =>
        withInstance(name, (_, ns) =>
          Effect.sync(() => {
            ns.instances.delete(name)
          })),

      fileInfo: (name, path) =>
        withInstance(name, (state) =>
          Effect.succeed(
            Option.flatMap(prefixes(path), (ps) => {
              const at = ps.at(-1) ?? "/"
              const known = state.files.get(at)
              // A mount point of the running instance is a directory there (what is mounted).
              const mountPoints = [
                ...(state.spec.repo === undefined ? [] : [state.spec.repo.path]),
                ...state.spec.mounts.map((m) => m.path)
              ]
              return known === undefined && state.status === "Running" && mountPoints.includes(at)
                ? Option.some(new FileInfo({ type: "directory", uid: 0, gid: 0, mode: 0o755 }))
                : Option.fromUndefinedOr(known)
            })
          )),

      makeDirectory: (name, path, { gid, mode = 0o755, uid }) =>
        withInstance(name, (state) =>
          Effect.suspend(() => {
            const paths = prefixes(path)
            if (Option.isNone(paths)) return failed("make directory", name, `${path} is not absolute`)
            const notDirectory = paths.value.find((p) => {
              const info = state.files.get(p)
              return info !== undefined && info.type !== "directory"
            })
            if (notDirectory !== undefined) return conflict("instance", name, `${notDirectory} is not a directory`)
            const target = paths.value.at(-1) ?? "/"
            const existing = state.files.get(target)
            const chown = existing !== undefined && (existing.uid !== uid || existing.gid !== gid)
            // Changing an owner runs a command, which needs a running instance.
            if (chown && state.status !== "Running") return conflict("instance", name, "is not running")
            for (const p of paths.value) {
              if (p !== target && !state.files.has(p)) state.files.set(p, rootDirectory(0o755))
            }
            state.files.set(target, new FileInfo({ type: "directory", uid, gid, mode: existing?.mode ?? mode }))
            return Effect.void
          })),

      readFile: (name, path, { maxBytes }) =>
        Stream.unwrap(withInstance(name, (state) => {
          const normal = Option.getOrUndefined(Option.map(prefixes(path), (ps) => ps.at(-1) ?? "/"))
          if (normal !== undefined && state.status !== "Running" && onVolume(state, normal)) {
            return conflict("instance", name, `is not running: ${path} is on a volume, mounted only while it runs`)
          }
          const content = normal === undefined ? undefined : state.contents.get(normal)
          if (content === undefined || state.files.get(normal ?? "")?.type !== "file") {
            return failed("read file", name, `no regular file at ${path}`)
          }
          if (content.length > maxBytes) return failed("read file", name, `${path} is larger than ${maxBytes} bytes`)
          return Effect.succeed(Stream.make(content))
        })),

      writeFile: <E = never>(
        name: ProjectName,
        path: string,
        content: Uint8Array | string | Stream.Stream<Uint8Array, E>,
        writeOptions?: WriteFileOptions
      ) =>
        Effect.flatMap(bytesOf(content), (bytes) =>
          withInstance(name, (state) =>
            Effect.flatMap(entryUnder(state, name, "write file", path), (target) => {
              if (state.files.get(target)?.type === "directory") {
                return conflict("instance", name, `${path} is a directory`)
              }
              // A symlink at `path` is replaced, never followed.
              const { gid = 0, mode = 0o644, uid = 0 } = writeOptions ?? {}
              if ((mode & ~0o777) !== 0) {
                return failed(
                  "write file",
                  name,
                  `mode ${mode.toString(8)}: only the permission bits (0777) can be set`
                )
              }
              if (state.status !== "Running" && onVolume(state, target)) {
                return conflict("instance", name, `is not running: ${path} is on a volume, mounted only while it runs`)
              }
              state.files.set(target, new FileInfo({ type: "file", uid, gid, mode }))
              state.contents.set(target, bytes)
              return Effect.void
            }))),

      listDirectory: (name, path) =>
        withInstance(name, (state) => {
          const target = Option.getOrUndefined(prefixes(path))?.at(-1) ?? (path === "/" ? "/" : undefined)
          if (target === undefined) {
            return failed("list directory", name, `${path} is not absolute`)
          }
          if (state.status !== "Running" && onVolume(state, target)) {
            return conflict("instance", name, `is not running: ${path} is on a volume, mounted only while it runs`)
          }
          const info = state.files.get(target)
          if (info === undefined) {
            return failed("list directory", name, `nothing at ${path}`)
          }
          if (info.type !== "directory") {
            return conflict("instance", name, `${path} is not a directory`)
          }
          const under = target === "/" ? "/" : `${target}/`
          const names = state.files.keys().filter((k) =>
            k.startsWith(under) && k !== under
          ).map((k) =>
            k.slice(under.length)
          ).filter((k) => !k.includes("/"))
          const bad = names.find((n) => !isEntryName(n))
          if (bad !== undefined) {
            return failed("list directory", name, `${path} holds an entry named ${JSON.stringify(bad)}`)
          }
          return Effect.succeed(names.sort())
        }),

      getRepoVolume: (name) => withVolume(name, (volume, ns) => Effect.succeed(toRepoVolume(ns, name, volume))),

      listRepoVolumes: () =>
        inNamespace((ns) => Effect.succeed(Array.from(ns.volumes, ([name, v]) => toRepoVolume(ns, name, v)))),

      deleteRepoVolume: (name) =>
        ownVolume(name, (_, ns) => {
          if (usersOfVolume(ns, name).length > 0) return conflict("volume", name, `is used by instance ${name}`)
          ns.volumes.delete(name)
          return Effect.void
        }),

      putForeignVolume: (name, origin = foreign) =>
        DateTime.now.pipe(Effect.flatMap((createdAt) =>
          inNamespace((ns) =>
            Effect.sync(() => {
              ns.volumes.set(name, newVolume(createdAt, origin))
            })
          )
        )),

      setRepoVolumeSnapshots: (name, policy) =>
        ownVolume(name, (volume) =>
          Effect.sync(() => {
            volume.policy = policy
          })),

      snapshotRepoVolume: (name, snapshot) =>
        DateTime.now.pipe(Effect.flatMap((createdAt) =>
          ownVolume(name, (volume) => {
            if (!Schema.is(SnapshotName)(snapshot)) {
              return failed("snapshot", name, `${JSON.stringify(snapshot)} is not a snapshot name`)
            }
            if (volume.snapshots.has(snapshot)) {
              return fail(new AlreadyExists({ kind: "snapshot", name: `${name}/${snapshot}` }))
            }
            volume.snapshots.set(snapshot, {
              createdAt,
              files: new Map(volume.files),
              contents: new Map(volume.contents)
            })
            return Effect.succeed(new VolumeSnapshot({ name: snapshot, createdAt }))
          })
        )),

      listRepoVolumeSnapshots: (name) =>
        withVolume(name, (volume) =>
          Effect.succeed(
            Array.from(volume.snapshots, ([snapshot, s]) =>
              new VolumeSnapshot({ name: snapshot, createdAt: s.createdAt }))
          )),

      restoreRepoVolume: (name, snapshot) =>
        ownVolume(name, (volume) => {
          const taken = volume.snapshots.get(snapshot)
          if (taken === undefined) {
            return notFound("snapshot", `${name}/${snapshot}`)
          }
          replaceAll(volume.files, taken.files)
          replaceAll(volume.contents, taken.contents)
          return Effect.void
        }),

      deleteRepoVolumeSnapshot: (name, snapshot) =>
        ownVolume(name, (volume) => {
          if (!volume.snapshots.delete(snapshot)) {
            return notFound("snapshot", `${name}/${snapshot}`)
          }
          return Effect.void
        }),

      exportRepoVolume: (name, { maxBytes }) =>
        Stream.unwrap(withVolume(name, (volume) => {
          const entries = Array.from(volume.files, ([path, info]) => {
            const content = volume.contents.get(path)
            return {
              path,
              type: info.type,
              uid: info.uid,
              gid: info.gid,
              mode: info.mode,
              ...(info.target === undefined ? {} : { target: info.target }),
              ...(content === undefined ? {} : { content: Base64.encode(content) })
            }
          })
          const bytes = new TextEncoder().encode(JSON.stringify({ format: "repoman-memory-volume/1", entries }))
          if (bytes.length > maxBytes) {
            return failed("export", name, `the archive is larger than ${maxBytes} bytes`)
          }
          const chunks = Array.from({ length: Math.ceil(bytes.length / 65536) }, (_, i) =>
            bytes.subarray(i * 65536, (i + 1) * 65536))
          return Effect.succeed(Stream.fromIterable(chunks))
        })),

      importRepoVolume: <E>(
        name: ProjectName,
        archive: Stream.Stream<Uint8Array, E>,
        { maxBytes }: { readonly maxBytes: number }
      ) =>
        inNamespace((ns) =>
          ns.volumes.has(name) ? fail(new AlreadyExists({ kind: "volume", name })) : Effect.void
        )
          .pipe(
            Effect.andThen(
              Stream.runFold(archive, () => ({ size: 0, chunks: [] as Array<Uint8Array> }), (acc, chunk) => {
                acc.size += chunk.length
                if (acc.size <= maxBytes) acc.chunks.push(chunk)
                return acc
              })
            ),
            Effect.flatMap(({ chunks, size }) =>
              size > maxBytes
                ? failed("import", name, `the archive is larger than ${maxBytes} bytes`)
                : Schema.decodeUnknownEffect(MemoryArchive)(new TextDecoder().decode(concatBytes(chunks))).pipe(
                  Effect.mapError(() =>
                    new ContainerRuntimeError({
                      reason: new OperationFailed({
                        kind: "volume",
                        name,
                        operation: "import",
                        detail: "not a volume archive"
                      })
                    })
                  )
                )
            ),
            Effect.flatMap((decoded) =>
              DateTime.now.pipe(Effect.flatMap((createdAt) =>
                inNamespace((ns) => {
                  if (ns.volumes.has(name)) return fail(new AlreadyExists({ kind: "volume", name }))
                  const broken = decoded.entries.find((e) =>
                    e.content !== undefined && Base64.decode(e.content)._tag !== "Success"
                  )
                  if (broken !== undefined) return failed("import", name, `${broken.path}: content is not base64`)
                  const volume = newVolume(createdAt, ours)
                  volume.files.clear()
                  for (const e of decoded.entries) {
                    volume.files.set(
                      e.path,
                      new FileInfo({
                        type: e.type,
                        uid: e.uid,
                        gid: e.gid,
                        mode: e.mode,
                        ...(e.target === undefined ? {} : { target: e.target })
                      })
                    )
                    if (e.content !== undefined) {
                      const bytes = Base64.decode(e.content)
                      if (bytes._tag === "Success") volume.contents.set(e.path, bytes.success)
                    }
                  }
                  ns.volumes.set(name, volume)
                  return Effect.succeed(toRepoVolume(ns, name, volume))
                })
              ))
            )
          ),

      mountTable: (name) =>
        withInstance(
          name,
          (state) =>
            Effect.succeed(state.status === "Running" ? Option.fromUndefinedOr(state.mountTable) : Option.none())
        ),

      setMountTable: (name, entries) =>
        withInstance(name, (state) =>
          Effect.sync(() => {
            state.mountTable = entries
          })),

      makeSymlink: (name, path, linkTarget) =>
        withInstance(name, (state) =>
          Effect.flatMap(entryUnder(state, name, "make symlink", path), (target) => {
            if (state.files.has(target)) {
              return conflict("instance", name, `${path} exists already`)
            }
            state.files.set(target, new FileInfo({ type: "symlink", uid: 0, gid: 0, mode: 0o777, target: linkTarget }))
            return Effect.void
          })),

      exec: (name, argv, execOptions = {}) => run({ name, argv, options: execOptions, interactive: false }),

      shell: (name, shellOptions = {}) => {
        const { argv = defaultShell, ...execOptions } = shellOptions
        return withInstance(name, (state) =>
          execOptions.cwd === undefined || isDirectory(state, execOptions.cwd)
            ? Effect.void
            : notFound("directory", execOptions.cwd)).pipe(
            Effect.andThen(run({ name, argv, options: execOptions, interactive: true })),
            Effect.map((result) => result.exitCode)
          )
      },

      readTextFile: (name, path, { maxBytes = 1024 * 1024 } = {}) =>
        withInstance(name, (state) => {
          const target = Option.getOrUndefined(prefixes(path))?.at(-1) ?? "/"
          if (state.files.get(target)?.type !== "file") return Effect.succeed(Option.none())
          const content = state.contents.get(target) ?? new Uint8Array()
          return content.length > maxBytes
            ? failed("read file", name, `${path} is larger than ${maxBytes} bytes`)
            : Effect.succeed(Option.some(new TextDecoder().decode(content)))
        }),

      planUpdate: (name, change) =>
        withInstance(name, (state, ns) => Effect.succeed(restartReasons(state, ns, change))),

      update: (name, change, updateOptions) =>
        withInstance(name, (state, ns) => {
          const refused = updateRefusal(state, ns, change)
          if (refused !== undefined) return refused
          const reasons = restartReasons(state, ns, change)
          if (reasons.length > 0 && updateOptions?.restart !== true) {
            return conflict("instance", name, `needs a restart to apply: ${reasons.join("; ")}`)
          }
          state.spec = new InstanceSpec({
            ...state.spec,
            ...(change.profiles === undefined ? {} : { profiles: change.profiles }),
            ...(change.mounts === undefined ? {} : { mounts: change.mounts }),
            ...(change.env === undefined ? {} : { env: change.env }),
            ...(change.limits === undefined ? {} : { limits: change.limits })
          })
          return Effect.succeed(new UpdateResult({ restartReasons: reasons, restarted: reasons.length > 0 }))
        }),

      setLabels: (name, labels) =>
        withInstance(name, (state) => {
          const bad = Object.keys(labels).find((key) => !Schema.is(LabelKey)(key))
          if (bad !== undefined) return failed("set labels", name, `"${bad}" is not a label key`)
          // As in Incus, an empty value unsets the key.
          const merged = Object.entries({ ...state.spec.labels, ...labels }).filter(([, value]) => value !== "")
          state.spec = new InstanceSpec({ ...state.spec, labels: Object.fromEntries(merged) })
          return Effect.void
        }),

      // Nothing runs in memory: a command line that says so when run.
      attachCommand: (name) => Effect.succeed(["false", `repoman-memory:${name}`, "--"]),

      inspectProfile,

      resolveProfile,

      putProfile: (name, spec) =>
        inNamespace((ns) => {
          const existing = ns.profiles.get(name)
          if (existing !== undefined && Option.isSome(existing.owner) && existing.owner.value !== owner) {
            return conflict("profile", name, `belongs to host uid ${existing.owner.value}`)
          }
          // A profile repoman made stays marked as such; a foreign one is not claimed.
          const origin = existing === undefined ? ours : { managed: existing.managed, owner: existing.owner }
          ns.profiles.set(name, { spec, ...origin })
          return Effect.void
        }),

      putForeignProfile: (name, spec, origin = foreign) =>
        inNamespace((ns) =>
          Effect.sync(() => {
            ns.profiles.set(name, { spec, ...origin })
          })
        ),

      putForeignNamespace: (spec, origin) =>
        Effect.sync(() => {
          const ns = namespaces.get(spec.name) ?? newNamespace(
            new ProfileSpec({
              description: "",
              config: {},
              devices: { root: { type: "disk", path: "/", pool: spec.rootDiskPool } }
            })
          )
          namespaces.set(spec.name, ns)
          ns.description = spec.description
          ns.managed = origin.managed
          ns.owner = origin.owner
          restrict(ns, spec.allowedPaths, spec.idMapping)
        }),

      getProfile: (name) =>
        inNamespace((ns) => {
          const state = ns.profiles.get(name)
          return state === undefined ? notFound("profile", name) : Effect.succeed(toProfile(ns, name, state))
        }),

      listProfiles: () =>
        inNamespace((ns) => Effect.succeed(Array.from(ns.profiles, ([name, state]) => toProfile(ns, name, state)))),

      deleteProfile: (name) =>
        inNamespace((ns) => {
          if (!ns.profiles.has(name)) return notFound("profile", name)
          if (name === defaultProfile) return conflict("profile", name, "the default profile cannot be deleted")
          const users = usersOf(ns, name)
          if (users.length > 0) return conflict("profile", name, `is used by ${users.join(", ")}`)
          ns.profiles.delete(name)
          return Effect.void
        }),

      calls: Effect.sync(() => calls.slice())
    }
    return runtime
  })

/**
 * A layer providing a fresh memory {@link ContainerRuntime}.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { ContainerRuntime } from "@repoman/core/ContainerRuntime"
 * import * as ContainerRuntimeMemory from "@repoman/core/ContainerRuntimeMemory"
 *
 * const program = Effect.gen(function*() {
 *   const runtime = yield* ContainerRuntime
 *   return yield* runtime.list()
 * }).pipe(Effect.provide(ContainerRuntimeMemory.layer()))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: MemoryOptions = {}): Layer.Layer<ContainerRuntime> =>
  Layer.effect(ContainerRuntime, make(options))
