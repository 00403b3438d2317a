/**
 * `remove`: destroy a project's container (or, with `keepIncus`, only forget
 * it). Never touches the repo: the plan says so, and only the container and
 * the registry entry go.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { ConfigPaths, expandHome } from "./ConfigPaths.ts"
import { ContainerRuntime, type DeviceMap, type InstanceStatus } from "./ContainerRuntime.ts"
import type { ProjectName } from "./Ids.ts"
import type { Project } from "./Project.ts"
import { Registry } from "./Registry.ts"

/**
 * Exactly what a removal does, for the user to confirm.
 *
 * @since 0.1.0
 */
export interface RemovalPlan {
  readonly project: Project
  readonly namespace: string
  readonly repoPath: string
  readonly keepIncus: boolean
  /** The container that goes (none when it is already gone or kept). */
  readonly container: Option.Option<{ readonly status: InstanceStatus; readonly devices: DeviceMap }>
}

/**
 * Works out what removing `name` means.
 *
 * @since 0.1.0
 */
export const planRemoval = Effect.fn("planRemoval")(
  function*(name: ProjectName, options: { readonly keepIncus: boolean }) {
    const registry = yield* Registry
    const runtime = yield* ContainerRuntime
    const { home } = yield* ConfigPaths
    const document = yield* registry.load
    const project = yield* registry.getProject(name)
    const container = options.keepIncus
      ? Option.none()
      : yield* runtime.get(name).pipe(
        Effect.map((i) => Option.some({ status: i.status, devices: i.devices })),
        Effect.catchReason("ContainerRuntimeError", "NotFound", () => Effect.succeedNone)
      )
    return {
      project,
      namespace: runtime.namespace,
      repoPath: `${expandHome(document.defaults.reposRoot, home)}/${project.repo}`,
      keepIncus: options.keepIncus,
      container
    } satisfies RemovalPlan
  }
)

/**
 * Carries out a plan: stops and deletes the container, then drops the
 * registry entry.
 *
 * @since 0.1.0
 */
export const removeProject = Effect.fn("removeProject")(function*(plan: RemovalPlan) {
  const registry = yield* Registry
  const runtime = yield* ContainerRuntime
  if (Option.isSome(plan.container)) {
    yield* runtime.remove(plan.project.name).pipe(
      Effect.catchReason("ContainerRuntimeError", "NotFound", () => Effect.void)
    )
  }
  return yield* registry.removeProject(plan.project.name)
})
