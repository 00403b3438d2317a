/**
 * An in-memory {@link ContainerRuntime} for unit tests and plugin authors.
 *
 * It keeps namespaces, instances and profiles in maps and follows the rules
 * repoman relies on: names are unique, a missing profile fails the create,
 * start/stop/exec check the state, a profile in use cannot be deleted, an
 * instance reads back exactly as it was specified, a namespace's allowed
 * paths widen and narrow. It does not run anything: `exec` and `shell` are
 * recorded and answered by a handler you pass to {@link make}. It does not
 * enforce a namespace's restrictions on instances either, so `create` never
 * fails with `Forbidden` (`inspectProfile` still reports what they would
 * refuse).
 *
 * Profile documents are read the way Incus reads them, for the keys the
 * profile library uses: disk devices with a host `source` are mounts
 * (`readonly`, `shift`), `environment.*` keys are the environment,
 * `user.repoman.*` keys are labels; raw config, privileged or nested
 * containers, devices other than disks and managed NICs, and shifted disks in
 * a namespace that maps the host user are refused.
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import {
  AlreadyExists,
  Conflict,
  ContainerRuntime,
  ContainerRuntimeError,
  type ContainerRuntimeErrorReason,
  coveredBy,
  type ExecOptions,
  ExecResult,
  FileInfo,
  type Instance,
  instanceFromSpec,
  type InstanceSpec,
  type InstanceStatus,
  Mount,
  Namespace,
  NamespaceSpec,
  NotFound,
  type ObjectKind,
  OperationFailed,
  Profile,
  ProfileInfo,
  ProfileSpec,
  StoragePool
} from "./ContainerRuntime.ts"
import type { IdMapping } from "./IdMapping.ts"
import { ProfileName, type ProjectName } from "./Ids.ts"

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
}

/**
 * The memory runtime: the service plus the log of `exec` and `shell` calls.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryContainerRuntime extends ContainerRuntimeShape {
  /** Every `exec` and `shell` request so far, oldest first. */
  readonly calls: Effect.Effect<ReadonlyArray<ExecRequest>>
  /** Adds a running instance made by other means than repoman: listed and usable, not managed. */
  readonly createForeign: (spec: InstanceSpec) => Effect.Effect<Instance, ContainerRuntimeError>
  /** Adds (or replaces) a profile made by other means than repoman: it is not among the managed ones. */
  readonly putForeignProfile: (name: ProfileName, spec: ProfileSpec) => Effect.Effect<void, ContainerRuntimeError>
}

type ContainerRuntimeShape = ContainerRuntime["Service"]

interface InstanceState {
  readonly spec: InstanceSpec
  readonly createdAt: DateTime.Utc
  /** Made by `create` (repoman), not `createForeign`. */
  readonly managed: boolean
  status: InstanceStatus
  /** What `fileInfo` and `makeDirectory` see, by absolute path. */
  readonly files: Map<string, FileInfo>
}

const rootDirectory = (mode: number) => new FileInfo({ type: "directory", uid: 0, gid: 0, mode })

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

interface NamespaceState {
  description: string
  allowedPaths: ReadonlyArray<string>
  idMapping: Option.Option<IdMapping>
  managed: boolean
  readonly instances: Map<ProjectName, InstanceState>
  readonly profiles: Map<ProfileName, ProfileSpec>
  /** Profiles made by `putProfile` (the ones repoman made). */
  readonly managedProfiles: Set<ProfileName>
}

const defaultProfile = ProfileName.make("default")

const fail = (reason: ContainerRuntimeErrorReason) => Effect.fail(new ContainerRuntimeError({ reason }))

const emptyResult = new ExecResult({ exitCode: 0, stdout: "", stderr: "" })

const newNamespace = (root: ProfileSpec): NamespaceState => ({
  description: "",
  allowedPaths: [],
  idMapping: Option.none(),
  managed: false,
  instances: new Map(),
  profiles: new Map([[defaultProfile, root]]),
  managedProfiles: new Set()
})

/** Applies a spec's restrictions: host paths are restricted only when the host user's ids are mapped. */
const restrict = (ns: NamespaceState, allowedPaths: ReadonlyArray<string>, idMapping: IdMapping) => {
  ns.allowedPaths = idMapping._tag === "HostUser" ? [...new Set(allowedPaths)] : []
  ns.idMapping = Option.some(idMapping)
}

// --- Profile documents, read as Incus reads them -----------------------------

const LABEL_PREFIX = "user.repoman."
const ENGINE_LABELS = new Set(["managed", "version"])

const isHostDisk = (device: Readonly<Record<string, string>>) =>
  device["type"] === "disk" && device["pool"] === undefined && (device["source"] ?? "").startsWith("/")

const refusalOf = (spec: ProfileSpec, idMapping: IdMapping): Option.Option<string> => {
  const config = Object.entries(spec.config).find(([key, value]) =>
    key.startsWith("raw.") || (["security.privileged", "security.nesting"].includes(key) && value !== "false")
  )
  if (config !== undefined) return Option.some(`config ${config[0]} is not allowed in a restricted namespace`)
  for (const [name, device] of Object.entries(spec.devices)) {
    const type = device["type"] ?? ""
    if (!["disk", "nic", "none"].includes(type)) return Option.some(`device "${name}" has type "${type}"`)
    if (type === "nic" && device["network"] === undefined) return Option.some(`device "${name}" is an unmanaged nic`)
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
    const handler: ExecHandler = options.exec ?? (() => Effect.succeed(emptyResult))
    const namespaces = new Map<string, NamespaceState>()
    const calls: Array<ExecRequest> = []
    if (options.namespaceExists ?? true) {
      const ns = newNamespace(new ProfileSpec({ description: "", config: {}, devices: {} }))
      if (options.restrictions !== undefined) {
        restrict(ns, options.restrictions.allowedPaths, options.restrictions.idMapping)
        ns.managed = true
      }
      namespaces.set(current, ns)
    }

    const toNamespace = (name: string, state: NamespaceState) =>
      new Namespace({
        name,
        description: state.description,
        allowedPaths: state.allowedPaths,
        idMapping: state.idMapping,
        managed: state.managed
      })

    const toInstance = ({ createdAt, managed, spec, status }: InstanceState) =>
      instanceFromSpec(spec, { status, createdAt, managed })

    const usersOf = (ns: NamespaceState, profile: ProfileName): ReadonlyArray<ProjectName> =>
      Array.from(ns.instances.values()).filter((i) => i.spec.profiles.includes(profile)).map((i) => i.spec.name)

    const toProfile = (ns: NamespaceState, name: ProfileName, spec: ProfileSpec) =>
      new Profile({
        name,
        description: spec.description,
        config: spec.config,
        devices: spec.devices,
        usedBy: usersOf(ns, name)
      })

    const notFound = (kind: ObjectKind, name: string) => fail(new NotFound({ kind, name }))

    const conflict = (kind: ObjectKind, name: string, detail: string) => fail(new Conflict({ kind, name, detail }))

    // Every operation runs synchronously inside one `suspend`, so it sees and
    // changes the maps atomically.
    const inNamespace = <A>(f: (ns: NamespaceState) => Effect.Effect<A, ContainerRuntimeError>) =>
      Effect.suspend(() => {
        const ns = namespaces.get(current)
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

    const create = (spec: InstanceSpec, managed: boolean) =>
      DateTime.now.pipe(Effect.flatMap((createdAt) =>
        inNamespace((ns) => {
          if (ns.instances.has(spec.name)) return fail(new AlreadyExists({ kind: "instance", name: spec.name }))
          const missing = spec.profiles.find((p) => !ns.profiles.has(p))
          if (missing !== undefined) return notFound("profile", missing)
          const state: InstanceState = { spec, createdAt, managed, status: "Running", files: initialFiles() }
          ns.instances.set(spec.name, state)
          return Effect.succeed(toInstance(state))
        })
      ))

    const failed = (operation: string, name: string, detail: string) =>
      fail(new OperationFailed({ kind: "instance", name, operation, detail }))

    const runtime: MemoryContainerRuntime = {
      namespace: current,

      ensureNamespace: (spec: NamespaceSpec) =>
        Effect.sync(() => {
          const existing = namespaces.get(spec.name) ?? newNamespace(
            new ProfileSpec({
              description: `Default profile of ${spec.name}`,
              config: {},
              devices: { root: { type: "disk", path: "/", pool: spec.rootDiskPool } }
            })
          )
          namespaces.set(spec.name, existing)
          existing.description = spec.description
          existing.managed = true
          restrict(existing, spec.allowedPaths, spec.idMapping)
          return toNamespace(spec.name, existing)
        }),

      getNamespace: (name) =>
        Effect.suspend(() => {
          const ns = namespaces.get(name)
          return ns === undefined ? notFound("namespace", name) : Effect.succeed(toNamespace(name, ns))
        }),

      deleteNamespace: (name) =>
        Effect.suspend(() => {
          const ns = namespaces.get(name)
          if (ns === undefined) return notFound("namespace", name)
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
              const reason = options.refusePath?.(path)
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
            ns.allowedPaths = ns.allowedPaths.filter((p) => !paths.includes(p))
          })
        ),

      listManaged: () =>
        inNamespace((ns) =>
          Effect.succeed({
            instances: Array.from(ns.instances.values()).filter((i) => i.managed).map((i) => i.spec.name),
            profiles: Array.from(ns.managedProfiles).filter((p) => ns.profiles.has(p))
          })
        ),

      listStoragePools: () =>
        Effect.succeed(options.storagePools ?? [new StoragePool({ name: "default", driver: "dir" })]),

      list: () => inNamespace((ns) => Effect.succeed(Array.from(ns.instances.values(), toInstance))),

      get: (name) => withInstance(name, (state) => Effect.succeed(toInstance(state))),

      create: (spec) => create(spec, true),

      createForeign: (spec) => create(spec, false),

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
            Option.flatMap(prefixes(path), (ps) => Option.fromUndefinedOr(state.files.get(ps.at(-1) ?? "/")))
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

      makeSymlink: (name, path, linkTarget) =>
        withInstance(name, (state) =>
          Effect.suspend(() => {
            const paths = Option.getOrUndefined(prefixes(path))
            const target = paths?.at(-1)
            if (paths === undefined || target === undefined) {
              return failed("make symlink", name, `${path} is not absolute`)
            }
            const parent = paths.at(-2) ?? "/"
            if (state.files.get(parent)?.type !== "directory") {
              return failed("make symlink", name, `${parent} is not a directory`)
            }
            if (state.files.has(target)) return conflict("instance", name, `${path} exists already`)
            state.files.set(target, new FileInfo({ type: "symlink", uid: 0, gid: 0, mode: 0o777, target: linkTarget }))
            return Effect.void
          })),

      exec: (name, argv, execOptions = {}) => run({ name, argv, options: execOptions, interactive: false }),

      shell: (name, shellOptions = {}) => {
        const { argv = defaultShell, ...execOptions } = shellOptions
        return run({ name, argv, options: execOptions, interactive: true }).pipe(
          Effect.map((result) => result.exitCode)
        )
      },

      // Nothing runs in memory: a command line that says so when run.
      attachCommand: (name) => ["false", `repoman-memory:${name}`, "--"],

      inspectProfile,

      resolveProfile,

      putProfile: (name, spec) =>
        inNamespace((ns) =>
          Effect.sync(() => {
            if (!ns.profiles.has(name)) ns.managedProfiles.add(name)
            ns.profiles.set(name, spec)
          })
        ),

      putForeignProfile: (name, spec) =>
        inNamespace((ns) =>
          Effect.sync(() => {
            ns.managedProfiles.delete(name)
            ns.profiles.set(name, spec)
          })
        ),

      getProfile: (name) =>
        inNamespace((ns) => {
          const spec = ns.profiles.get(name)
          return spec === undefined ? notFound("profile", name) : Effect.succeed(toProfile(ns, name, spec))
        }),

      listProfiles: () =>
        inNamespace((ns) => Effect.succeed(Array.from(ns.profiles, ([name, spec]) => toProfile(ns, name, spec)))),

      deleteProfile: (name) =>
        inNamespace((ns) => {
          if (!ns.profiles.has(name)) return notFound("profile", name)
          if (name === defaultProfile) return conflict("profile", name, "the default profile cannot be deleted")
          const users = usersOf(ns, name)
          if (users.length > 0) return conflict("profile", name, `is used by ${users.join(", ")}`)
          ns.profiles.delete(name)
          ns.managedProfiles.delete(name)
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
