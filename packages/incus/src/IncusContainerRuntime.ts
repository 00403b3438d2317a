/**
 * The {@link ContainerRuntime} backed by Incus: the namespace is an Incus
 * project, instances are containers in it, runtime profiles are the
 * project's profiles.
 *
 * - `create` is one `POST /1.0/instances` with `start: true`; if the
 *   container was made but does not start, it is deleted again.
 * - `exec` runs without a terminal and records the output (REST only);
 *   `shell` hands the terminal to `incus exec` (argv list, inherited stdio,
 *   same session so the child has the terminal).
 * - Objects repoman makes carry `user.repoman.managed` and
 *   `user.repoman.version`; profile reads leave those two keys out, so a
 *   profile reads back exactly as it was put.
 *
 * @since 0.1.0
 */
import * as NodeChildProcessSpawner from "@effect/platform-node/NodeChildProcessSpawner"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import {
  AlreadyExists,
  Conflict,
  ContainerRuntime,
  ContainerRuntimeError,
  type ContainerRuntimeErrorReason,
  type DirectoryOptions,
  type ExecOptions,
  ExecResult,
  FileInfo,
  Forbidden,
  Instance,
  type InstanceSpec,
  type InstanceStatus,
  Namespace,
  type NamespaceSpec,
  NotFound,
  type ObjectKind,
  OperationFailed,
  Profile,
  type ProfileSpec,
  type ShellOptions,
  type StopOptions,
  StoragePool,
  Unavailable
} from "@repoman/core/ContainerRuntime"
import { ImageRef, ProfileName, ProjectName } from "@repoman/core/Ids"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as PlatformError from "effect/PlatformError"
import * as ChildProcess from "effect/process/ChildProcess"
import { ChildProcessSpawner } from "effect/process/ChildProcessSpawner"
import * as Schema from "effect/Schema"
import { posix } from "node:path"
import type * as IncusApi from "./IncusApi.ts"
import { nameFromUrl } from "./IncusApi.ts"
import * as IncusClient from "./IncusClient.ts"
import type { IncusError } from "./IncusError.ts"

/**
 * Options of {@link layer}.
 *
 * @since 0.1.0
 */
export interface Options {
  /** The Incus project the runtime acts in. */
  readonly project: string
  /** The `incus` command `shell` runs. Default `"incus"` (found on PATH). */
  readonly incusCommand?: string
  /** How long a graceful stop or restart may take before Incus gives up. Default 30 s. */
  readonly stopTimeout?: Duration.Input
}

/**
 * Where an {@link ImageRef} comes from: a local image (no remote or `local:`)
 * by alias or fingerprint, or one of the well-known simplestreams remotes.
 * `None` for a remote this runtime does not know.
 *
 * @example
 * ```ts
 * import { ImageRef } from "@repoman/core/Ids"
 * import { imageSource } from "@repoman/incus/IncusContainerRuntime"
 * imageSource(ImageRef.make("repoman-busybox"))   // Some({ type: "image", alias: "repoman-busybox" })
 * imageSource(ImageRef.make("images:debian/12"))   // Some({ type: "image", mode: "pull", server: ..., alias: "debian/12" })
 * ```
 *
 * @since 0.1.0
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

/** The instance config key recording the image an instance was created from. */
const imageKey = "user.repoman.image"

const statuses: ReadonlySet<string> = new Set(["Running", "Stopped", "Starting", "Stopping", "Frozen", "Error"])

const statusOf = (status: string): InstanceStatus => statuses.has(status) ? status as InstanceStatus : "Unknown"

const asProjectName = Schema.decodeUnknownOption(ProjectName)
const asProfileName = Schema.decodeUnknownOption(ProfileName)
const asImageRef = Schema.decodeUnknownOption(ImageRef)

const withoutManaged = (config: IncusApi.StringMap): IncusApi.StringMap =>
  Object.fromEntries(Object.entries(config).filter(([key]) => !(key in IncusClient.managedConfig)))

const isManaged = (config: IncusApi.StringMap) => config["user.repoman.managed"] === "true"

const toInstance = (i: IncusApi.Instance, name: ProjectName) =>
  new Instance({
    name,
    status: statusOf(i.status),
    image: Option.orElse(
      asImageRef(i.config[imageKey]),
      () => asImageRef(i.config["volatile.base_image"])
    ),
    profiles: i.profiles.flatMap((p) => Option.toArray(asProfileName(p))),
    config: i.config,
    devices: i.devices,
    createdAt: Option.getOrElse(DateTime.make(i.created_at), () => DateTime.makeUnsafe(0))
  })

const toNamespace = (p: IncusApi.Project) =>
  new Namespace({ name: p.name, description: p.description, config: p.config })

/** What a failed call was about, for the error. */
interface Subject {
  readonly kind: ObjectKind
  readonly name: string
  readonly operation: string
  readonly image?: string
}

const runtimeError = (reason: ContainerRuntimeErrorReason, cause?: unknown) =>
  new ContainerRuntimeError({ reason, ...(cause === undefined ? {} : { cause }) })

/**
 * Maps an {@link IncusError} to the runtime's error for `subject` in
 * `project`. A `NotFound` names the missing object: the profile or image Incus
 * complains about, the project, or else the subject itself.
 *
 * @since 0.1.0
 */
export const toRuntimeError = (project: string, subject: Subject) => (error: IncusError): ContainerRuntimeError => {
  const r = error.reason
  switch (r._tag) {
    case "Unavailable":
      return runtimeError(new Unavailable({ detail: `${r.socketPath}: ${r.code || r.detail}`, hint: r.hint }), error)
    case "NotFound": {
      const profile = /profile "([^"]+)"/i.exec(r.detail)
      if (profile !== null) return runtimeError(new NotFound({ kind: "profile", name: profile[1] ?? "" }), error)
      if (/\bimage (?:not provided|not found|"[^"]*" not found)/i.test(r.detail)) {
        return runtimeError(new NotFound({ kind: "image", name: subject.image ?? subject.name }), error)
      }
      if (/project not found/i.test(r.detail)) {
        return runtimeError(new NotFound({ kind: "namespace", name: project }), error)
      }
      return runtimeError(new NotFound({ kind: subject.kind, name: subject.name }), error)
    }
    case "AlreadyExists":
      return runtimeError(new AlreadyExists({ kind: subject.kind, name: subject.name }), error)
    case "Conflict":
      return runtimeError(new Conflict({ kind: subject.kind, name: subject.name, detail: r.detail }), error)
    case "Forbidden":
      return runtimeError(new Forbidden({ namespace: project, detail: r.detail }), error)
    case "OperationFailed":
      return runtimeError(
        new OperationFailed({ operation: subject.operation, name: subject.name, detail: r.detail }),
        error
      )
  }
}

const spawnError = (name: string) => (error: PlatformError.PlatformError): ContainerRuntimeError =>
  error.reason._tag === "NotFound"
    ? runtimeError(
      new Unavailable({
        detail: "the incus command was not found",
        hint: "install the Incus client ('incus') and make sure it is on PATH"
      }),
      error
    )
    : runtimeError(new OperationFailed({ operation: "shell", name, detail: error.message }), error)

/**
 * Builds the runtime for `options.project`.
 *
 * @since 0.1.0
 */
export const make = (
  options: Options
): Effect.Effect<
  ContainerRuntime["Service"],
  never,
  IncusClient.IncusClient | ChildProcessSpawner | FileSystem.FileSystem
> =>
  Effect.gen(function*() {
    const client = yield* IncusClient.IncusClient
    const spawner = yield* ChildProcessSpawner
    const fs = yield* FileSystem.FileSystem
    const project = options.project
    const incusCommand = options.incusCommand ?? "incus"
    const stopTimeout = Math.max(1, Math.ceil(Duration.toSeconds(options.stopTimeout ?? "30 seconds")))

    const mapErr = (subject: Subject) => Effect.mapError(toRuntimeError(project, subject))
    const instanceSubject = (name: string, operation: string): Subject => ({ kind: "instance", name, operation })
    const conflict = (name: string, detail: string) =>
      Effect.fail(runtimeError(new Conflict({ kind: "instance", name, detail })))

    const getInstance = (name: ProjectName, operation: string) =>
      client.getInstance(project, name).pipe(
        Effect.map((v) => v.value),
        mapErr(instanceSubject(name, operation))
      )

    const requireRunning = (name: ProjectName, operation: string) =>
      getInstance(name, operation).pipe(
        Effect.flatMap((i) => i.status === "Running" ? Effect.succeed(i) : conflict(name, "is not running"))
      )

    /** Paths inside an instance are absolute, without `..`. */
    const requireAbsolute = (name: ProjectName, operation: string, path: string) =>
      posix.isAbsolute(path) && !path.split("/").includes("..")
        ? Effect.void
        : Effect.fail(runtimeError(new OperationFailed({ operation, name, detail: `${path} is not absolute` })))

    const statFile = (name: ProjectName, path: string) =>
      client.statInstanceFile(project, name, path).pipe(
        Effect.map(Option.map((h) =>
          new FileInfo({
            type: h["x-incus-type"],
            uid: h["x-incus-uid"],
            gid: h["x-incus-gid"],
            mode: h["x-incus-mode"]
          })
        )),
        mapErr(instanceSubject(name, "stat"))
      )

    const createDirectory = (name: ProjectName, path: string, owner: Required<DirectoryOptions>) =>
      client.createInstanceDirectory(project, name, path, owner).pipe(
        mapErr(instanceSubject(name, "make directory"))
      )

    /**
     * `mkdir -p` then `chown` through the file API, which costs a request per
     * level instead of an exec: the path itself is looked at first (usually
     * all there is to do), then its parents from the root down, making the
     * missing ones. `chown` by exec only when the directory was there already
     * with another owner (or is a symlink, whose target the file API does not
     * show).
     */
    const makeDirectory = (name: ProjectName, path: string, owner: Required<DirectoryOptions>) =>
      Effect.gen(function*() {
        // Incus answers 500 without a reason when a parent is a file; the walk below finds it.
        const existing = yield* statFile(name, path).pipe(
          Effect.catchReason("ContainerRuntimeError", "OperationFailed", () => Effect.succeedNone)
        )
        if (Option.isSome(existing)) {
          const { gid, type, uid } = existing.value
          if (type === "file") return yield* conflict(name, `${path} is not a directory`)
          if (type === "directory" && uid === owner.uid && gid === owner.gid) return
          const out = yield* client.execInstance(project, name, {
            command: ["chown", `${owner.uid}:${owner.gid}`, path]
          })
            .pipe(mapErr(instanceSubject(name, "make directory")))
          if (out.exitCode === 0) return
          return yield* runtimeError(
            new OperationFailed({ operation: "make directory", name, detail: `chown ${path}: ${out.stderr.trim()}` })
          )
        }
        const parts = path.split("/").filter((p) => p.length > 0)
        const parents = parts.slice(0, -1).map((_, i) => `/${parts.slice(0, i + 1).join("/")}`)
        let missing = false
        for (const parent of parents) {
          if (!missing) {
            const info = yield* statFile(name, parent)
            if (Option.isSome(info)) {
              // A symlink is followed by Incus like by mkdir.
              if (info.value.type === "file") return yield* conflict(name, `${parent} is not a directory`)
              continue
            }
            missing = true
          }
          yield* createDirectory(name, parent, { uid: 0, gid: 0, mode: 0o755 })
        }
        yield* createDirectory(name, path, owner)
      })

    const changeState = (name: ProjectName, body: IncusApi.InstanceStatePut) =>
      client.updateInstanceState(project, name, body).pipe(Effect.asVoid, mapErr(instanceSubject(name, body.action)))

    /** Stops (killing it) and deletes an instance; a missing one is `NotFound`. */
    const forceRemove = (name: ProjectName) =>
      Effect.gen(function*() {
        const instance = yield* getInstance(name, "remove")
        if (instance.status !== "Stopped") {
          yield* changeState(name, { action: "stop", force: true }).pipe(
            Effect.catchReason("ContainerRuntimeError", "Conflict", () => Effect.void)
          )
        }
        yield* client.deleteInstance(project, name).pipe(mapErr(instanceSubject(name, "remove")))
      })

    const toProfile = (p: IncusApi.Profile) =>
      Option.map(asProfileName(p.name), (name) =>
        new Profile({
          name,
          description: p.description,
          config: withoutManaged(p.config),
          devices: p.devices,
          usedBy: p.used_by.flatMap((url) => {
            if (!url.startsWith("/1.0/instances/")) return []
            const query = new URLSearchParams(url.split("?")[1] ?? "")
            if ((query.get("project") ?? "default") !== project) return []
            return Option.toArray(asProjectName(nameFromUrl(url)))
          })
        }))

    /**
     * Adds a root disk on `pool` to the project's default profile unless it
     * has one. A project without `features.profiles` uses the `default`
     * project's profiles, which are left alone.
     */
    const ensureRootDisk = (name: string, pool: string) =>
      Effect.gen(function*() {
        const { etag, value } = yield* client.getProfile(name, "default")
        if (value.project !== "" && value.project !== name) return
        const hasRoot = Object.values(value.devices).some((d) => d["type"] === "disk" && d["path"] === "/")
        if (hasRoot) return
        const devices = { ...value.devices, root: { type: "disk", path: "/", pool } }
        yield* client.updateProfile(
          name,
          "default",
          { description: value.description, config: value.config, devices },
          etag
        )
      })

    /** The login shell of `uid` from the container's /etc/passwd, or `/bin/sh`. */
    const loginShell = (name: ProjectName, uid: number) =>
      client.execInstance(project, name, { command: ["cat", "/etc/passwd"] }).pipe(
        Effect.map((out) => {
          const entry = out.stdout.split("\n").map((l) => l.split(":")).find((f) => f[2] === String(uid))
          const shell = entry?.[6]
          return shell !== undefined && shell.startsWith("/") ? shell : "/bin/sh"
        }),
        Effect.orElseSucceed(() => "/bin/sh"),
        Effect.map((shell): ReadonlyArray<string> => [shell, "-l"])
      )

    const runtime: ContainerRuntime["Service"] = {
      namespace: project,

      ensureNamespace: Effect.fn("IncusContainerRuntime.ensureNamespace")(function*(spec: NamespaceSpec) {
        const subject: Subject = { kind: "namespace", name: spec.name, operation: "ensure namespace" }
        const existing = yield* client.getProject(spec.name).pipe(
          Effect.map(Option.some),
          Effect.catchReason("IncusError", "NotFound", () => Effect.succeedNone),
          mapErr(subject)
        )
        const replaceConfig = client.modifyProject(spec.name, (current) => ({
          description: spec.description,
          config: {
            ...Object.fromEntries(Object.entries(current.config).filter(([k]) => k.startsWith("features."))),
            ...spec.config,
            ...IncusClient.managedConfig
          }
        }))
        if (Option.isNone(existing)) {
          yield* client.createProject({ name: spec.name, description: spec.description, config: spec.config }).pipe(
            // Made by someone else since our GET: bring it in line instead.
            Effect.catchReason("IncusError", "AlreadyExists", () => replaceConfig),
            mapErr(subject)
          )
        } else {
          // The config becomes the spec's, except that `features.*` keys the
          // spec does not name keep their value (Incus fills them in at
          // creation and refuses to turn them off in a non-empty project).
          yield* replaceConfig.pipe(mapErr(subject))
        }
        yield* ensureRootDisk(spec.name, spec.rootDiskPool).pipe(mapErr(subject))
        return toNamespace((yield* client.getProject(spec.name).pipe(mapErr(subject))).value)
      }),

      getNamespace: Effect.fn("IncusContainerRuntime.getNamespace")(function*(name: string) {
        const subject: Subject = { kind: "namespace", name, operation: "get namespace" }
        return toNamespace((yield* client.getProject(name).pipe(mapErr(subject))).value)
      }),

      deleteNamespace: Effect.fn("IncusContainerRuntime.deleteNamespace")(function*(name: string) {
        const subject: Subject = { kind: "namespace", name, operation: "delete namespace" }
        yield* client.getProject(name).pipe(mapErr(subject))
        // Check emptiness structurally rather than reading Incus's message.
        const instances = yield* client.listInstances(name).pipe(mapErr(subject))
        const profiles = (yield* client.listProfiles(name).pipe(mapErr(subject))).filter((p) => p.name !== "default")
        const held = [...instances.map((i) => `instance ${i.name}`), ...profiles.map((p) => `profile ${p.name}`)]
        if (held.length > 0) {
          return yield* runtimeError(
            new Conflict({ kind: "namespace", name, detail: `is not empty: ${held.join(", ")}` })
          )
        }
        yield* client.deleteProject(name).pipe(mapErr(subject))
      }),

      listManaged: Effect.fn("IncusContainerRuntime.listManaged")(function*() {
        const subject: Subject = { kind: "namespace", name: project, operation: "list managed objects" }
        yield* client.getProject(project).pipe(mapErr(subject))
        const instances = yield* client.listInstances(project).pipe(mapErr(subject))
        const profiles = yield* client.listProfiles(project).pipe(mapErr(subject))
        return {
          instances: instances.filter((i) => isManaged(i.config)).flatMap((i) => Option.toArray(asProjectName(i.name))),
          profiles: profiles.filter((p) => p.name !== "default" && isManaged(p.config)).flatMap((p) =>
            Option.toArray(asProfileName(p.name))
          )
        }
      }),

      listStoragePools: Effect.fn("IncusContainerRuntime.listStoragePools")(function*() {
        const pools = yield* client.listStoragePools().pipe(
          mapErr({ kind: "namespace", name: project, operation: "list storage pools" })
        )
        return pools.map((p) => new StoragePool({ name: p.name, driver: p.driver }))
      }),

      list: Effect.fn("IncusContainerRuntime.list")(function*() {
        const subject: Subject = { kind: "namespace", name: project, operation: "list" }
        const instances = yield* client.listInstances(project).pipe(mapErr(subject))
        // Incus lists a missing project as empty: tell the two apart.
        if (instances.length === 0) yield* client.getProject(project).pipe(mapErr(subject))
        // Instances whose names repoman cannot represent are left out.
        return instances.flatMap((i) => Option.toArray(Option.map(asProjectName(i.name), (n) => toInstance(i, n))))
      }),

      get: Effect.fn("IncusContainerRuntime.get")(function*(name: ProjectName) {
        return toInstance(yield* getInstance(name, "get"), name)
      }),

      create: Effect.fn("IncusContainerRuntime.create")(function*(spec: InstanceSpec) {
        const subject: Subject = { kind: "instance", name: spec.name, operation: "create", image: spec.image }
        const source = imageSource(spec.image)
        if (Option.isNone(source)) {
          return yield* runtimeError(new NotFound({ kind: "image", name: spec.image }))
        }
        // Checked first, so that a failure below can only concern an instance
        // this call made, never one that existed before.
        const before = yield* client.getInstance(project, spec.name).pipe(
          Effect.map(Option.some),
          Effect.catchReason("IncusError", "NotFound", () => Effect.succeedNone),
          mapErr(subject)
        )
        if (Option.isSome(before)) return yield* runtimeError(new AlreadyExists({ kind: "instance", name: spec.name }))

        const body: IncusApi.InstancesPost = {
          name: spec.name,
          type: "container",
          source: source.value,
          profiles: spec.profiles,
          config: { ...spec.config, [imageKey]: spec.image },
          devices: spec.devices,
          start: true
        }
        yield* client.createInstance(project, body).pipe(
          // Accepted, then failed (start failure, bad config): the instance
          // may exist, stopped. Delete it before reporting the error.
          Effect.tapError((error) =>
            error.reason._tag !== "AlreadyExists" && error.reason._tag !== "Unavailable" &&
              error.reason.operation !== undefined
              ? Effect.ignore(forceRemove(spec.name))
              : Effect.void
          ),
          mapErr(subject),
          Effect.uninterruptible
        )
        return toInstance(yield* getInstance(spec.name, "create"), spec.name)
      }),

      start: Effect.fn("IncusContainerRuntime.start")(function*(name: ProjectName) {
        yield* changeState(name, { action: "start" })
      }),

      stop: Effect.fn("IncusContainerRuntime.stop")(function*(name: ProjectName, stopOptions?: StopOptions) {
        const force = stopOptions?.force === true
        yield* changeState(name, force ? { action: "stop", force } : { action: "stop", timeout: stopTimeout })
      }),

      restart: Effect.fn("IncusContainerRuntime.restart")(function*(name: ProjectName) {
        // Incus would answer "already stopped", which is not what went wrong.
        yield* requireRunning(name, "restart")
        yield* changeState(name, { action: "restart", timeout: stopTimeout })
      }),

      remove: Effect.fn("IncusContainerRuntime.remove")(function*(name: ProjectName) {
        yield* forceRemove(name)
      }),

      fileInfo: Effect.fn("IncusContainerRuntime.fileInfo")(function*(name: ProjectName, path: string) {
        const info = yield* statFile(name, path)
        // Incus answers 404 for a missing instance too: tell the two apart.
        if (Option.isNone(info)) yield* getInstance(name, "stat")
        if (Option.isNone(info) || info.value.type !== "symlink") return info
        const target = yield* client.readInstanceSymlink(project, name, path).pipe(
          mapErr(instanceSubject(name, "stat"))
        )
        return Option.some(new FileInfo({ ...info.value, target }))
      }),

      makeSymlink: Effect.fn("IncusContainerRuntime.makeSymlink")(
        function*(name: ProjectName, path: string, target: string) {
          yield* requireAbsolute(name, "make symlink", path)
          yield* requireRunning(name, "make symlink")
          if (Option.isSome(yield* statFile(name, path))) return yield* conflict(name, `${path} exists already`)
          yield* client.createInstanceSymlink(project, name, path, target).pipe(
            mapErr(instanceSubject(name, "make symlink"))
          )
        }
      ),

      makeDirectory: Effect.fn("IncusContainerRuntime.makeDirectory")(
        function*(name: ProjectName, path: string, directoryOptions: DirectoryOptions) {
          yield* requireAbsolute(name, "make directory", path)
          const { gid, mode = 0o755, uid } = directoryOptions
          yield* requireRunning(name, "make directory")
          const normal = posix.normalize(path)
          yield* makeDirectory(name, normal.length > 1 ? normal.replace(/\/$/, "") : normal, { uid, gid, mode })
        }
      ),

      exec: Effect.fn("IncusContainerRuntime.exec")(
        function*(name: ProjectName, argv: ReadonlyArray<string>, execOptions?: ExecOptions) {
          const { cwd, env, group, user } = execOptions ?? {}
          const out = yield* client.execInstance(project, name, {
            command: argv,
            ...(env === undefined ? {} : { environment: env }),
            ...(user === undefined ? {} : { user }),
            ...(group === undefined ? {} : { group }),
            ...(cwd === undefined ? {} : { cwd })
          }).pipe(
            // Incus fails the operation when it cannot start the command (no
            // such program, or no such working directory); a shell says 127.
            Effect.catchIf(
              (e) => e.reason._tag === "NotFound" && e.reason.operation !== undefined,
              (e) => Effect.succeed({ exitCode: 127, stdout: "", stderr: `${e.reason.message}\n` })
            ),
            mapErr(instanceSubject(name, "exec"))
          )
          return new ExecResult(out)
        }
      ),

      shell: Effect.fn("IncusContainerRuntime.shell")(function*(name: ProjectName, shellOptions?: ShellOptions) {
        const { argv, cwd, env = {}, group, user } = shellOptions ?? {}
        yield* requireRunning(name, "shell")
        const command = argv ?? (yield* loginShell(name, user ?? 0))
        const args: ReadonlyArray<string> = [
          "exec",
          // `local:` so that a default remote in the user's incus config
          // cannot send us elsewhere; INCUS_SOCKET below picks the socket.
          `local:${name}`,
          "--project",
          project,
          ...(user === undefined ? [] : ["--user", String(user)]),
          ...(group === undefined ? [] : ["--group", String(group)]),
          ...(cwd === undefined ? [] : ["--cwd", cwd]),
          ...Object.entries(env).flatMap(([k, v]) => ["--env", `${k}=${v}`]),
          "--",
          ...command
        ]
        const exitCode = yield* Effect.scoped(Effect.gen(function*() {
          // The client gets a config dir of its own for this call: the user's
          // remotes and aliases cannot change what runs, and with a config.yml
          // present the client does not print its first-run banner on stderr
          // (which would mix into the command's own stderr).
          const conf = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-incus-client-" }).pipe(
            Effect.tap((dir) => fs.writeFileString(`${dir}/config.yml`, "default-remote: local\n")),
            Effect.mapError((e) =>
              runtimeError(new OperationFailed({ operation: "shell", name, detail: e.message }), e)
            )
          )
          return yield* spawner.exitCode(
            ChildProcess.make(incusCommand, args, {
              stdin: "inherit",
              stdout: "inherit",
              stderr: "inherit",
              // Keep the child in our session: a detached child has no
              // controlling terminal, and `incus exec` could not open /dev/tty.
              detached: false,
              extendEnv: true,
              env: { INCUS_SOCKET: client.socketPath, INCUS_CONF: conf }
            })
          ).pipe(Effect.mapError(spawnError(name)))
        }))
        return Number(exitCode)
      }),

      putProfile: Effect.fn("IncusContainerRuntime.putProfile")(function*(name: ProfileName, spec: ProfileSpec) {
        const subject: Subject = { kind: "profile", name, operation: "put profile" }
        const existing = yield* client.getProfile(project, name).pipe(
          Effect.map(Option.some),
          Effect.catchReason("IncusError", "NotFound", () => Effect.succeedNone),
          mapErr(subject)
        )
        if (Option.isNone(existing)) {
          yield* client.createProfile(project, {
            name,
            description: spec.description,
            config: spec.config,
            devices: spec.devices
          }).pipe(mapErr(subject))
          return
        }
        // A profile repoman made stays marked as such; a foreign one is not claimed.
        const config = isManaged(existing.value.value.config)
          ? { ...spec.config, ...IncusClient.managedConfig }
          : spec.config
        yield* client.updateProfile(
          project,
          name,
          { description: spec.description, config, devices: spec.devices },
          existing.value.etag
        ).pipe(mapErr(subject))
      }),

      getProfile: Effect.fn("IncusContainerRuntime.getProfile")(function*(name: ProfileName) {
        const subject: Subject = { kind: "profile", name, operation: "get profile" }
        const { value } = yield* client.getProfile(project, name).pipe(mapErr(subject))
        return Option.getOrElse(
          toProfile(value),
          () => new Profile({ name, description: value.description, config: {}, devices: {}, usedBy: [] })
        )
      }),

      listProfiles: Effect.fn("IncusContainerRuntime.listProfiles")(function*() {
        const subject: Subject = { kind: "namespace", name: project, operation: "list profiles" }
        const profiles = yield* client.listProfiles(project).pipe(mapErr(subject))
        return profiles.flatMap((p) => Option.toArray(toProfile(p)))
      }),

      deleteProfile: Effect.fn("IncusContainerRuntime.deleteProfile")(function*(name: ProfileName) {
        const subject: Subject = { kind: "profile", name, operation: "delete profile" }
        if (name === "default") {
          // Incus answers 403; it is a conflict with what the default profile is.
          yield* client.getProfile(project, name).pipe(mapErr(subject))
          return yield* runtimeError(
            new Conflict({ kind: "profile", name, detail: "the default profile cannot be deleted" })
          )
        }
        yield* client.deleteProfile(project, name).pipe(mapErr(subject))
      })
    }
    return runtime
  })

/**
 * The runtime over an {@link IncusClient.IncusClient} and a
 * `ChildProcessSpawner` you provide (fakes in tests).
 *
 * @since 0.1.0
 */
export const layerNoDependencies = (
  options: Options
): Layer.Layer<ContainerRuntime, never, IncusClient.IncusClient | ChildProcessSpawner | FileSystem.FileSystem> =>
  Layer.effect(ContainerRuntime, make(options))

/**
 * The runtime over an {@link IncusClient.IncusClient}, spawning `incus` with
 * Node's child processes.
 *
 * @example
 * ```ts
 * import * as IncusClient from "@repoman/incus/IncusClient"
 * import * as IncusContainerRuntime from "@repoman/incus/IncusContainerRuntime"
 * import * as Layer from "effect/Layer"
 *
 * const runtime = IncusContainerRuntime.layer({ project: "repoman" }).pipe(Layer.provide(IncusClient.layer()))
 * ```
 *
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<ContainerRuntime, never, IncusClient.IncusClient> =>
  layerNoDependencies(options).pipe(
    Layer.provide(NodeChildProcessSpawner.layer),
    Layer.provide(Layer.mergeAll(NodeFileSystem.layer, NodePath.layer))
  )

/**
 * The runtime together with the live {@link IncusClient.layer} (socket from
 * `options.socketPath` or the environment).
 *
 * @since 0.1.0
 */
export const layerClient = (options: Options & IncusClient.Options): Layer.Layer<ContainerRuntime> => {
  const { operationTimeout, socketPath } = options
  return layer(options).pipe(
    Layer.provide(IncusClient.layer({
      ...(socketPath === undefined ? {} : { socketPath }),
      ...(operationTimeout === undefined ? {} : { operationTimeout })
    }))
  )
}
