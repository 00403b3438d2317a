/**
 * `checkpoints`, `diff` and `undo`: what the checkpoints taken before each
 * session hold, what a session changed, and putting the repo back.
 *
 * While `undo` writes, the project's container is *frozen* (its processes
 * are not scheduled, so an agent cannot race the undo), and thawed after,
 * whatever happened; a stopped container needs nothing, and a container
 * that is frozen already stays so.
 *
 * @since 0.1.0
 * @module
 */
import {
  type CheckpointDiff,
  CheckpointError,
  type CheckpointId,
  type CheckpointInfo,
  type CheckpointRoot,
  Checkpoints,
  lastSessionCheckpoint,
  NotFound,
  type UndoResult
} from "@repoman/core/Checkpoints"
import { ConfigPaths, expandHome } from "@repoman/core/ConfigPaths"
import { ContainerRuntime } from "@repoman/core/ContainerRuntime"
import type { ProjectName } from "@repoman/core/Ids"
import { storageOf } from "@repoman/core/Project"
import { Registry } from "@repoman/core/Registry"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"

/**
 * The repo of a project, as checkpoints name it.
 *
 * @since 0.1.0
 * @category programs
 */
export const projectRoot = Effect.fn("projectRoot")(function*(name: ProjectName) {
  const registry = yield* Registry
  const { home } = yield* ConfigPaths
  const document = yield* registry.load
  const project = yield* registry.getProject(name)
  return {
    project: name,
    path: `${expandHome(document.defaults.reposRoot, home)}/${project.repo}`
  } satisfies CheckpointRoot
})

/**
 * Where the project's repo lives (see `Project.storageOf`): checkpoints of
 * a `volume` repo are the engine's snapshots (`VolumeCheckpoints`).
 *
 * @since 0.1.0
 * @category programs
 */
export const repoStorage = Effect.fn("repoStorage")(function*(name: ProjectName) {
  const registry = yield* Registry
  return storageOf(yield* registry.getProject(name))
})

/**
 * What was done to the container while the repo was written: `frozen` (and
 * thawed after), `stopped` or `missing` (nothing to do), `frozen-already`
 * (left frozen). `thawFailed` says why it could not be thawed, if so.
 *
 * @since 0.1.0
 * @category models
 */
export interface Quiesced {
  readonly container: "frozen" | "stopped" | "missing" | "frozen-already"
  readonly thawFailed?: string
}

/**
 * Runs `effect` with the project's container frozen (see the module doc).
 *
 * @since 0.1.0
 * @category programs
 */
export const whileFrozen = <A, E, R>(name: ProjectName, effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const runtime = yield* ContainerRuntime
    const instance = yield* runtime.get(name).pipe(
      Effect.map(Option.some),
      Effect.catchReason("ContainerRuntimeError", "NotFound", () => Effect.succeedNone)
    )
    if (Option.isNone(instance)) return { value: yield* effect, quiesced: { container: "missing" } as Quiesced }
    const status = instance.value.status
    if (status === "Stopped") return { value: yield* effect, quiesced: { container: "stopped" } as Quiesced }
    if (status === "Frozen") return { value: yield* effect, quiesced: { container: "frozen-already" } as Quiesced }
    yield* runtime.freeze(name)
    const exit = yield* Effect.exit(effect)
    const thawed = yield* Effect.exit(runtime.unfreeze(name))
    const quiesced: Quiesced = Exit.isSuccess(thawed)
      ? { container: "frozen" }
      : {
        container: "frozen",
        thawFailed: `${name} stays frozen (${
          String(Cause.squash(thawed.cause))
        }); 'incus start ${name} --project ${runtime.namespace}' resumes it`
      }
    return { value: yield* exit, quiesced }
  })

/**
 * The project's checkpoints, oldest first.
 *
 * @since 0.1.0
 * @category programs
 */
export const listCheckpoints = Effect.fn("listCheckpoints")(function*(name: ProjectName) {
  const root = yield* projectRoot(name)
  const checkpoints = yield* Checkpoints
  return { root, checkpoints: yield* checkpoints.list(name) }
})

/**
 * What changed since checkpoint `since` (default: the newest, taken before
 * the last session) in the repo, or up to checkpoint `until`.
 *
 * @since 0.1.0
 * @category programs
 */
export const diffProject = Effect.fn("diffProject")(function*(
  name: ProjectName,
  options: { readonly since?: CheckpointId | undefined; readonly until?: CheckpointId | undefined } = {}
) {
  const root = yield* projectRoot(name)
  const checkpoints = yield* Checkpoints
  return yield* checkpoints.diff(root, options) satisfies Effect.Effect<CheckpointDiff, CheckpointError>
})

/**
 * Puts the repo back as checkpoint `id` was (default: the newest one taken
 * before a session), with the container frozen meanwhile. The checkpoint
 * taken of the state before (`result.before`) undoes the undo.
 *
 * @since 0.1.0
 * @category programs
 */
export const undoProject = Effect.fn("undoProject")(function*(name: ProjectName, id?: CheckpointId) {
  const root = yield* projectRoot(name)
  const checkpoints = yield* Checkpoints
  const target: CheckpointInfo | undefined = id === undefined
    ? lastSessionCheckpoint(yield* checkpoints.list(name))
    : undefined
  const targetId = id ?? target?.id
  if (targetId === undefined) return yield* new CheckpointError({ reason: new NotFound({ project: name }) })
  const { quiesced, value } = yield* whileFrozen(name, checkpoints.undo(root, targetId))
  return { result: value satisfies UndoResult, quiesced }
})
