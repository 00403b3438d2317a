/**
 * The instance part of the Incus runtime: list, read, create (one POST with
 * `start: true`, all or nothing; with locked mounts: create, place the
 * systemd drop-in, then start), change state, delete, and the live mount
 * table (the init process's mountinfo, read on the host). A root-disk size
 * limit needs the root disk the namespace's `default` profile gives it (its
 * pool), so `create` then reads that profile first.
 */
import {
  AlreadyExists,
  Conflict,
  type ContainerRuntime,
  hostPathProblem,
  type InstanceChange,
  instanceFromSpec,
  type InstanceSpec,
  LabelKey,
  type Labels,
  NotFound,
  OperationFailed,
  type StopOptions,
  type UpdateOptions,
  UpdateResult
} from "@repoman/core/ContainerRuntime"
import { ProjectName } from "@repoman/core/Ids"
import * as Mountinfo from "@repoman/core/Mountinfo"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as IncusApi from "../../IncusApi.ts"
import {
  changedSettings,
  imageSource,
  instanceSettings,
  isRootDisk,
  locationOf,
  RESERVED_DEVICES,
  restartReasons,
  SEAL_SYSTEMD_DROPIN,
  specProblem,
  toInstance
} from "../../IncusInstanceConfig.ts"
import { labelConfig } from "../../IncusLabels.ts"
import { placeInstance } from "./cluster.ts"
import { mapErrors, type RuntimeContext, runtimeError, type Subject } from "./context.ts"
import { dropRepoVolume, prepareRepoVolume } from "./volumes.ts"

type Shape = ContainerRuntime["Service"]

/** The namespace's own profile, which holds the root disk. */
const DEFAULT_PROFILE = "default"

const asProjectName = Schema.decodeUnknownOption(ProjectName)

/** Reads one instance (the Incus object), mapping errors for `operation`. */
export const getIncusInstance = (ctx: RuntimeContext, name: ProjectName, operation: string) =>
  ctx.client.getInstance(ctx.project, name).pipe(
    Effect.map((v) => v.value),
    mapErrors(ctx, { kind: "instance", name, operation })
  )

/** Fails with `Conflict` unless the instance is running; returns it. */
export const requireRunning = (ctx: RuntimeContext, name: ProjectName, operation: string) =>
  getIncusInstance(ctx, name, operation).pipe(
    Effect.flatMap((i) =>
      i.status === "Running"
        ? Effect.succeed(i)
        : Effect.fail(runtimeError(new Conflict({ kind: "instance", name, detail: "is not running" })))
    )
  )

export const make = (ctx: RuntimeContext): Pick<
  Shape,
  | "list"
  | "get"
  | "create"
  | "start"
  | "stop"
  | "restart"
  | "freeze"
  | "unfreeze"
  | "remove"
  | "mountTable"
  | "setLabels"
  | "planUpdate"
  | "update"
> => {
  const { client, project } = ctx
  const stateSubject = (name: string, operation: string): Subject => ({
    kind: "instance",
    name,
    operation,
    stateful: true
  })

  const changeState = (name: ProjectName, body: IncusApi.InstanceStatePut) =>
    client.updateInstanceState(project, name, body).pipe(
      Effect.asVoid,
      mapErrors(ctx, stateSubject(name, body.action))
    )

  /**
   * Writes {@link SEAL_SYSTEMD_DROPIN} into a stopped instance that has
   * systemd (an image without `/etc/systemd/system` gets nothing), then
   * starts it.
   */
  const placeDropinAndStart = (name: ProjectName) =>
    Effect.gen(function*() {
      const systemd = yield* client.statInstanceFile(project, name, "/etc/systemd/system")
      if (Option.isSome(systemd) && systemd.value["x-incus-type"] === "directory") {
        const dir = yield* client.statInstanceFile(project, name, SEAL_SYSTEMD_DROPIN.directory)
        if (Option.isNone(dir)) {
          yield* client.createInstanceDirectory(project, name, SEAL_SYSTEMD_DROPIN.directory, {
            uid: 0,
            gid: 0,
            mode: 0o755
          })
        }
        yield* client.pushInstanceFile(project, name, SEAL_SYSTEMD_DROPIN.path, SEAL_SYSTEMD_DROPIN.content, {
          uid: 0,
          gid: 0,
          mode: 0o644
        })
      }
      yield* client.updateInstanceState(project, name, { action: "start" })
    })

  /** Stops (killing it) and deletes an instance; a missing one is `NotFound`. */
  const forceRemove = (name: ProjectName) =>
    Effect.gen(function*() {
      const instance = yield* getIncusInstance(ctx, name, "remove")
      if (instance.status !== "Stopped") {
        yield* changeState(name, { action: "stop", force: true }).pipe(
          Effect.catchReason("ContainerRuntimeError", "Conflict", () => Effect.void)
        )
      }
      yield* client.deleteInstance(project, name).pipe(mapErrors(ctx, stateSubject(name, "remove")))
    })

  /**
   * The instance (with its ETag), the settings `change` makes of it, and
   * why they need a restart. A change that names a mount like one of the
   * runtime's own devices is refused here.
   */
  const planned = (name: ProjectName, change: InstanceChange, operation: string) =>
    Effect.gen(function*() {
      const names = (change.mounts ?? []).map((m) => m.name)
      const problem = names.find((n) => RESERVED_DEVICES.includes(n)) !== undefined
        ? "a mount may not be named like one of the runtime's own devices"
        : names.find((n, i) => names.indexOf(n) !== i) !== undefined
        ? "two mounts have the same name"
        : undefined
      if (problem !== undefined) {
        return yield* runtimeError(new OperationFailed({ kind: "instance", name, operation, detail: problem }))
      }
      const current = yield* client.getInstance(project, name).pipe(
        mapErrors(ctx, { kind: "instance", name, operation })
      )
      const next = changedSettings(current.value, change)
      const changed = [
        ...next.profiles.filter((p) => !current.value.profiles.includes(p)),
        ...current.value.profiles.filter((p) => !next.profiles.includes(p))
      ]
      const profileConfig = new Map(
        yield* Effect.forEach(changed, (p) =>
          client.getProfile(project, p).pipe(
            Effect.map((v) => [p, v.value.config] as const),
            mapErrors(ctx, { kind: "profile", name: p, operation })
          ))
      )
      return { current, next, reasons: restartReasons(current.value, next, profileConfig) }
    })

  return {
    list: Effect.fn("IncusContainerRuntime.list")(function*() {
      const mapped = mapErrors(ctx, { kind: "namespace", name: project, operation: "list" })
      const instances = yield* client.listInstances(project).pipe(mapped)
      // Incus lists a missing project as empty: tell the two apart.
      if (instances.length === 0) yield* client.getProject(project).pipe(mapped)
      // Instances whose names repoman cannot represent are left out.
      return instances.flatMap((i) => Option.toArray(Option.map(asProjectName(i.name), (n) => toInstance(i, n))))
    }),

    get: Effect.fn("IncusContainerRuntime.get")(function*(name: ProjectName) {
      return toInstance(yield* getIncusInstance(ctx, name, "get"), name)
    }),

    create: Effect.fn("IncusContainerRuntime.create")(function*(spec: InstanceSpec) {
      const subject: Subject = { kind: "instance", name: spec.name, operation: "create", image: spec.image }
      const mapped = mapErrors(ctx, subject)
      const source = imageSource(spec.image)
      if (Option.isNone(source)) return yield* runtimeError(new NotFound({ kind: "image", name: spec.image }))
      const problem = specProblem(spec) ?? hostPathProblem(spec, client.local)
      if (problem !== undefined) {
        return yield* runtimeError(
          new OperationFailed({ kind: "instance", name: spec.name, operation: "create", detail: problem })
        )
      }
      // Checked first, so that a failure below can only concern an instance
      // this call made, never one that existed before (Incus reports a taken
      // name only when the background operation fails).
      const before = yield* client.getInstance(project, spec.name).pipe(
        Effect.map(Option.some),
        Effect.catchReason("IncusError", "NotFound", () => Effect.succeedNone),
        mapped
      )
      if (Option.isSome(before)) return yield* runtimeError(new AlreadyExists({ kind: "instance", name: spec.name }))
      // On a cluster: the member asked for, or this host's when the instance mounts its paths;
      // checked before anything is made.
      const target = yield* placeInstance(ctx, spec)

      // The root disk is the default profile's (profiles may not carry one): copied, to set its size.
      let rootDisk: readonly [string, IncusApi.StringMap] | undefined
      if (spec.limits.disk !== undefined && spec.profiles.some((p) => p === DEFAULT_PROFILE)) {
        const { value } = yield* client.getProfile(project, DEFAULT_PROFILE).pipe(
          mapErrors(ctx, { kind: "profile", name: DEFAULT_PROFILE, operation: "create" })
        )
        rootDisk = Object.entries(value.devices).find(([, d]) => isRootDisk(d))
      }
      // The repo volume: taken up, or made (and deleted again if the instance cannot be made).
      const volume = spec.repo?._tag === "Volume" ? yield* prepareRepoVolume(ctx, spec.name, target) : undefined
      // The instance goes where its repo volume is (the target, or where the volume landed).
      const instanceTarget = target ?? Option.getOrUndefined(volume?.location ?? Option.none())
      const dropVolume = volume?.made === true ? dropRepoVolume(ctx, volume.pool, spec.name) : Effect.void
      const { config, devices } = instanceSettings(spec, ctx.owner, rootDisk, volume?.pool)
      // Locked mounts: the systemd drop-in must be in place before the first
      // boot, so the instance is made stopped, given it, then started.
      const operation = yield* client.createInstance(project, {
        name: spec.name,
        type: "container",
        source: source.value,
        profiles: spec.profiles,
        config,
        devices,
        start: !spec.lockMounts
      }, instanceTarget === undefined ? undefined : { target: instanceTarget }).pipe(
        // The instance exists from here on: a failure deletes it again.
        Effect.tap(() =>
          spec.lockMounts
            ? placeDropinAndStart(spec.name).pipe(Effect.tapError(() => Effect.ignore(forceRemove(spec.name))))
            : Effect.void
        ),
        // Accepted, then failed (start failure, bad config): the instance
        // may exist, stopped. Delete it before reporting the error; a name
        // taken meanwhile (by someone else) is left alone.
        Effect.tapError((error) =>
          error.reason._tag !== "AlreadyExists" && error.reason._tag !== "Unavailable" &&
            error.reason.operation !== undefined
            ? Effect.ignore(forceRemove(spec.name))
            : Effect.void
        ),
        mapped,
        Effect.tapError(() => dropVolume),
        Effect.uninterruptible
      )
      // The instance is what was asked for, and runs: no need to read it back
      // (the host id range Incus allotted reads back with `get`).
      const createdAt = Option.getOrElse(DateTime.make(operation.created_at), () => DateTime.makeUnsafe(0))
      return instanceFromSpec(spec, {
        status: "Running",
        createdAt,
        managed: true,
        owner: Option.some(ctx.owner),
        idRange: Option.none(),
        // Where the cluster placed it (the operation ran there).
        location: Option.orElse(locationOf(operation.location), () => Option.fromUndefinedOr(spec.target))
      })
    }),

    start: Effect.fn("IncusContainerRuntime.start")(function*(name: ProjectName) {
      yield* changeState(name, { action: "start" })
    }),

    stop: Effect.fn("IncusContainerRuntime.stop")(function*(name: ProjectName, stopOptions?: StopOptions) {
      const force = stopOptions?.force === true
      yield* changeState(name, force ? { action: "stop", force } : { action: "stop", timeout: ctx.stopTimeout })
    }),

    restart: Effect.fn("IncusContainerRuntime.restart")(function*(name: ProjectName) {
      // Incus would answer "already stopped", which is not what went wrong.
      yield* requireRunning(ctx, name, "restart")
      yield* changeState(name, { action: "restart", timeout: ctx.stopTimeout })
    }),

    setLabels: Effect.fn("IncusContainerRuntime.setLabels")(function*(name: ProjectName, labels: Labels) {
      const bad = Object.keys(labels).find((key) => !Schema.is(LabelKey)(key))
      if (bad !== undefined) {
        return yield* runtimeError(
          new OperationFailed({
            kind: "instance",
            name,
            operation: "set labels",
            detail: `"${bad}" is not a label key`
          })
        )
      }
      yield* client.patchInstance(project, name, { config: labelConfig(labels) }).pipe(
        mapErrors(ctx, { kind: "instance", name, operation: "set labels" })
      )
    }),

    planUpdate: Effect.fn("IncusContainerRuntime.planUpdate")(function*(name: ProjectName, change: InstanceChange) {
      return (yield* planned(name, change, "plan update")).reasons
    }),

    update: Effect.fn("IncusContainerRuntime.update")(
      function*(name: ProjectName, change: InstanceChange, updateOptions?: UpdateOptions) {
        const { current, next, reasons } = yield* planned(name, change, "update")
        if (reasons.length > 0 && updateOptions?.restart !== true) {
          return yield* runtimeError(
            new Conflict({ kind: "instance", name, detail: `needs a restart to apply: ${reasons.join("; ")}` })
          )
        }
        // One PUT with the ETag read above: Incus applies it whole or reverts
        // it, and refuses it (412) if the instance changed since.
        yield* client.updateInstance(project, name, next, current.etag).pipe(
          mapErrors(ctx, { kind: "instance", name, operation: "update" })
        )
        if (reasons.length > 0) yield* changeState(name, { action: "restart", timeout: ctx.stopTimeout })
        return new UpdateResult({ restartReasons: reasons, restarted: reasons.length > 0 })
      }
    ),

    freeze: Effect.fn("IncusContainerRuntime.freeze")(function*(name: ProjectName) {
      yield* requireRunning(ctx, name, "freeze")
      yield* changeState(name, { action: "freeze" })
    }),

    unfreeze: Effect.fn("IncusContainerRuntime.unfreeze")(function*(name: ProjectName) {
      const instance = yield* getIncusInstance(ctx, name, "unfreeze")
      if (instance.status !== "Frozen") {
        return yield* runtimeError(new Conflict({ kind: "instance", name, detail: "is not frozen" }))
      }
      yield* changeState(name, { action: "unfreeze" })
    }),

    remove: Effect.fn("IncusContainerRuntime.remove")(function*(name: ProjectName) {
      yield* forceRemove(name)
    }),

    mountTable: Effect.fn("IncusContainerRuntime.mountTable")(function*(name: ProjectName) {
      const state = yield* client.getInstanceState(project, name).pipe(
        mapErrors(ctx, { kind: "instance", name, operation: "read state" })
      )
      if (state.status !== "Running" || state.pid === undefined || state.pid <= 0) return Option.none()
      // Read on the host, through /proc: nothing in the instance can fake it.
      // A pid gone meanwhile (the instance stopped) reads as unknown.
      const text = yield* ctx.fs.readFileString(`/proc/${state.pid}/mountinfo`).pipe(Effect.option)
      return Option.map(text, Mountinfo.parse)
    })
  }
}
