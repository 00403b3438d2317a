/**
 * An in-memory {@link ContainerRuntime} for unit tests and plugin authors.
 *
 * It keeps namespaces, instances and profiles in maps and follows Incus's
 * rules where repoman relies on them: names are unique, a missing profile
 * fails the create, start/stop/exec check the state, a profile in use cannot
 * be deleted. It does not run anything: `exec` and `shell` are recorded and
 * answered by a handler you pass to {@link make}. It does not enforce
 * namespace restrictions either, so it never fails with `Forbidden`.
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
  type ExecOptions,
  ExecResult,
  FileInfo,
  Instance,
  type InstanceSpec,
  type InstanceStatus,
  Namespace,
  type NamespaceSpec,
  NotFound,
  OperationFailed,
  Profile,
  ProfileSpec,
  StoragePool
} from "./ContainerRuntime.ts"
import { ProfileName, type ProjectName } from "./Ids.ts"

/**
 * One call of `exec` (`interactive: false`) or `shell` (`interactive: true`).
 * For `shell` without `argv`, `argv` is {@link defaultShell}.
 *
 * @since 0.1.0
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
 */
export type ExecHandler = (request: ExecRequest) => Effect.Effect<ExecResult, ContainerRuntimeError>

/**
 * The command a memory `shell` reports when called without `argv`.
 *
 * @since 0.1.0
 */
export const defaultShell: ReadonlyArray<string> = ["/bin/sh", "-l"]

/**
 * Options of {@link make} and {@link layerMemory}.
 *
 * @since 0.1.0
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
  /** Answers `exec` and `shell`. Default: exit code 0, no output. */
  readonly exec?: ExecHandler
  /** The engine's storage pools. Default: one `dir` pool named `default`. */
  readonly storagePools?: ReadonlyArray<StoragePool>
}

/**
 * The memory runtime: the service plus the log of `exec` and `shell` calls.
 *
 * @since 0.1.0
 */
export interface MemoryContainerRuntime extends ContainerRuntimeShape {
  /** Every `exec` and `shell` request so far, oldest first. */
  readonly calls: Effect.Effect<ReadonlyArray<ExecRequest>>
}

type ContainerRuntimeShape = ContainerRuntime["Service"]

interface InstanceState {
  readonly spec: InstanceSpec
  readonly createdAt: DateTime.Utc
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
  config: Readonly<Record<string, string>>
  readonly instances: Map<ProjectName, InstanceState>
  readonly profiles: Map<ProfileName, ProfileSpec>
  /** Profiles made by `putProfile` (the ones Incus would tag as repoman's). */
  readonly managedProfiles: Set<ProfileName>
}

const defaultProfile = ProfileName.make("default")

const fail = (reason: ContainerRuntimeErrorReason) => Effect.fail(new ContainerRuntimeError({ reason }))

const emptyResult = new ExecResult({ exitCode: 0, stdout: "", stderr: "" })

const newNamespace = (description: string, config: Readonly<Record<string, string>>, root: ProfileSpec) => ({
  description,
  config,
  instances: new Map<ProjectName, InstanceState>(),
  profiles: new Map([[defaultProfile, root]]),
  managedProfiles: new Set<ProfileName>()
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
 */
export const make = (options: MemoryOptions = {}): Effect.Effect<MemoryContainerRuntime> =>
  Effect.sync(() => {
    const current = options.namespace ?? "default"
    const handler: ExecHandler = options.exec ?? (() => Effect.succeed(emptyResult))
    const namespaces = new Map<string, NamespaceState>()
    const calls: Array<ExecRequest> = []
    if (options.namespaceExists ?? true) {
      namespaces.set(current, newNamespace("", {}, new ProfileSpec({ description: "", config: {}, devices: {} })))
    }

    const toNamespace = (name: string, state: NamespaceState) =>
      new Namespace({ name, description: state.description, config: state.config })

    const toInstance = (state: InstanceState) =>
      new Instance({
        name: state.spec.name,
        status: state.status,
        image: Option.some(state.spec.image),
        profiles: state.spec.profiles,
        config: state.spec.config,
        devices: state.spec.devices,
        createdAt: state.createdAt
      })

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

    // Every operation runs synchronously inside one `suspend`, so it sees and
    // changes the maps atomically.
    const inNamespace = <A>(f: (ns: NamespaceState) => Effect.Effect<A, ContainerRuntimeError>) =>
      Effect.suspend(() => {
        const ns = namespaces.get(current)
        return ns === undefined ? fail(new NotFound({ kind: "namespace", name: current })) : f(ns)
      })

    const withInstance = <A>(
      name: ProjectName,
      f: (state: InstanceState, ns: NamespaceState) => Effect.Effect<A, ContainerRuntimeError>
    ) =>
      inNamespace((ns) => {
        const state = ns.instances.get(name)
        return state === undefined ? fail(new NotFound({ kind: "instance", name })) : f(state, ns)
      })

    const requireStatus = (
      state: InstanceState,
      status: InstanceStatus,
      detail: string
    ): Effect.Effect<void, ContainerRuntimeError> =>
      state.status === status
        ? Effect.void
        : fail(new Conflict({ kind: "instance", name: state.spec.name, detail }))

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

    const runtime: MemoryContainerRuntime = {
      namespace: current,

      ensureNamespace: (spec: NamespaceSpec) =>
        Effect.sync(() => {
          const existing = namespaces.get(spec.name)
          if (existing === undefined) {
            const root = new ProfileSpec({
              description: `Default profile of ${spec.name}`,
              config: {},
              devices: { root: { type: "disk", path: "/", pool: spec.rootDiskPool } }
            })
            const created = newNamespace(spec.description, spec.config, root)
            namespaces.set(spec.name, created)
            return toNamespace(spec.name, created)
          }
          existing.description = spec.description
          existing.config = spec.config
          return toNamespace(spec.name, existing)
        }),

      getNamespace: (name) =>
        Effect.suspend(() => {
          const ns = namespaces.get(name)
          return ns === undefined
            ? fail(new NotFound({ kind: "namespace", name }))
            : Effect.succeed(toNamespace(name, ns))
        }),

      deleteNamespace: (name) =>
        Effect.suspend(() => {
          const ns = namespaces.get(name)
          if (ns === undefined) return fail(new NotFound({ kind: "namespace", name }))
          const held = [
            ...Array.from(ns.instances.keys(), (i) => `instance ${i}`),
            ...Array.from(ns.profiles.keys()).filter((p) => p !== defaultProfile).map((p) => `profile ${p}`)
          ]
          if (held.length > 0) {
            return fail(new Conflict({ kind: "namespace", name, detail: `is not empty: ${held.join(", ")}` }))
          }
          namespaces.delete(name)
          return Effect.void
        }),

      // Every instance is made by `create`, which Incus tags as repoman's.
      listManaged: () =>
        inNamespace((ns) =>
          Effect.succeed({
            instances: Array.from(ns.instances.keys()),
            profiles: Array.from(ns.managedProfiles).filter((p) => ns.profiles.has(p))
          })
        ),

      listStoragePools: () =>
        Effect.succeed(options.storagePools ?? [new StoragePool({ name: "default", driver: "dir" })]),

      list: () => inNamespace((ns) => Effect.succeed(Array.from(ns.instances.values(), toInstance))),

      get: (name) => withInstance(name, (state) => Effect.succeed(toInstance(state))),

      create: (spec) =>
        DateTime.now.pipe(Effect.flatMap((createdAt) =>
          inNamespace((ns) => {
            if (ns.instances.has(spec.name)) return fail(new AlreadyExists({ kind: "instance", name: spec.name }))
            const missing = spec.profiles.find((p) => !ns.profiles.has(p))
            if (missing !== undefined) return fail(new NotFound({ kind: "profile", name: missing }))
            const state: InstanceState = { spec, createdAt, status: "Running", files: initialFiles() }
            ns.instances.set(spec.name, state)
            return Effect.succeed(toInstance(state))
          })
        )),

      start: (name) => setStatus(name, "Stopped", "Running", "is already running"),

      stop: (name) => setStatus(name, "Running", "Stopped", "is already stopped"),

      restart: (name) => withInstance(name, (state) => requireStatus(state, "Running", "is not running")),

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
          requireStatus(state, "Running", "is not running").pipe(Effect.andThen(Effect.suspend(() => {
            const paths = prefixes(path)
            if (Option.isNone(paths)) {
              return fail(new OperationFailed({ operation: "make directory", name, detail: `${path} is not absolute` }))
            }
            const notDirectory = paths.value.find((p) => {
              const info = state.files.get(p)
              return info !== undefined && info.type !== "directory"
            })
            if (notDirectory !== undefined) {
              return fail(new Conflict({ kind: "instance", name, detail: `${notDirectory} is not a directory` }))
            }
            const target = paths.value.at(-1) ?? "/"
            for (const p of paths.value) {
              if (p !== target && !state.files.has(p)) {
                state.files.set(p, rootDirectory(0o755))
              }
            }
            const existing = state.files.get(target)
            state.files.set(target, new FileInfo({ type: "directory", uid, gid, mode: existing?.mode ?? mode }))
            return Effect.void
          })))),

      makeSymlink: (name, path, linkTarget) =>
        withInstance(name, (state) =>
          requireStatus(state, "Running", "is not running").pipe(Effect.andThen(Effect.suspend(() => {
            const paths = Option.getOrUndefined(prefixes(path))
            const target = paths?.at(-1)
            if (paths === undefined || target === undefined) {
              return fail(new OperationFailed({ operation: "make symlink", name, detail: `${path} is not absolute` }))
            }
            const parent = paths.at(-2) ?? "/"
            if (state.files.get(parent)?.type !== "directory") {
              return fail(
                new OperationFailed({ operation: "make symlink", name, detail: `${parent} is not a directory` })
              )
            }
            if (state.files.has(target)) {
              return fail(new Conflict({ kind: "instance", name, detail: `${path} exists already` }))
            }
            state.files.set(target, new FileInfo({ type: "symlink", uid: 0, gid: 0, mode: 0o777, target: linkTarget }))
            return Effect.void
          })))),

      exec: (name, argv, execOptions = {}) =>
        run({ name, argv, options: execOptions, interactive: false }),

      shell: (name, shellOptions = {}) => {
        const { argv = defaultShell, ...execOptions } = shellOptions
        return run({ name, argv, options: execOptions, interactive: true }).pipe(
          Effect.map((result) =>
            result.exitCode
          )
        )
      },

      putProfile: (name, spec) =>
        inNamespace((ns) =>
          Effect.sync(() => {
            if (!ns.profiles.has(name)) {
              ns.managedProfiles.add(name)
            }
            ns.profiles.set(name, spec)
          })
        ),

      getProfile: (name) =>
        inNamespace((ns) => {
          const spec = ns.profiles.get(name)
          return spec === undefined
            ? fail(new NotFound({ kind: "profile", name }))
            : Effect.succeed(toProfile(ns, name, spec))
        }),

      listProfiles: () =>
        inNamespace((ns) =>
          Effect.succeed(Array.from(ns.profiles, ([name, spec]) =>
            toProfile(ns, name, spec)))
        ),

      deleteProfile: (name) =>
        inNamespace((ns) => {
          if (!ns.profiles.has(name)) return fail(new NotFound({ kind: "profile", name }))
          if (name === defaultProfile) {
            return fail(new Conflict({ kind: "profile", name, detail: "the default profile cannot be deleted" }))
          }
          const users = usersOf(ns, name)
          if (users.length > 0) {
            return fail(new Conflict({ kind: "profile", name, detail: `is used by ${users.join(", ")}` }))
          }
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
 * }).pipe(Effect.provide(ContainerRuntimeMemory.layerMemory()))
 * ```
 *
 * @since 0.1.0
 */
export const layerMemory = (options: MemoryOptions = {}): Layer.Layer<ContainerRuntime> =>
  Layer.effect(ContainerRuntime, make(options))
