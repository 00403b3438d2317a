/**
 * `uninstall`: removes every object repoman made in its Incus project (the
 * instances and profiles carrying `user.repoman.managed`), then the project
 * itself once nothing else is left in it. Repos are never touched (containers
 * only mount them), and the registry file stays unless `purgeRegistry` asks
 * for it. {@link planUninstall} says exactly what will go, before anything
 * does.
 *
 * @since 0.1.0
 * @module
 */
import { ConfigPaths } from "@repoman/core/ConfigPaths"
import { ContainerRuntime, type ManagedObjects } from "@repoman/core/ContainerRuntime"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import { removeProjectState } from "./AgentState.ts"

/**
 * What {@link uninstall} will remove.
 *
 * @since 0.1.0
 * @category models
 */
export interface UninstallPlan {
  /** The Incus project (namespace) repoman uses. */
  readonly namespace: string
  readonly namespaceExists: boolean
  readonly managed: ManagedObjects
  /** Instances and profiles in the namespace that repoman did not make: they stay, and so does the namespace. */
  readonly foreign: ReadonlyArray<string>
  /** Whether the namespace itself goes: it exists, repoman made it, and nothing foreign is in it. */
  readonly deleteNamespace: boolean
  /** The registry file, when it is to be deleted (and exists). */
  readonly registryFile: Option.Option<string>
}

/**
 * Works out what goes, changing nothing.
 *
 * @since 0.1.0
 * @category programs
 */
export const planUninstall = Effect.fn("planUninstall")(function*(options: { readonly purgeRegistry?: boolean } = {}) {
  const runtime = yield* ContainerRuntime
  const fs = yield* FileSystem.FileSystem
  const { registryFile } = yield* ConfigPaths
  const namespace = runtime.namespace
  const found = yield* runtime.getNamespace(namespace).pipe(
    Effect.map(Option.some),
    Effect.catchReason("ContainerRuntimeError", "NotFound", () => Effect.succeedNone)
  )
  const exists = Option.isSome(found)
  const managed: ManagedObjects = exists ? yield* runtime.listManaged() : { instances: [], profiles: [] }
  const foreign = exists
    ? [
      ...(yield* runtime.list()).filter((i) => !managed.instances.includes(i.name)).map((i) => `instance ${i.name}`),
      ...(yield* runtime.listProfiles()).filter((p) => p.name !== "default" && !managed.profiles.includes(p.name))
        .map((p) => `profile ${p.name}`)
    ]
    : []
  const purge = options.purgeRegistry === true &&
    (yield* fs.exists(registryFile).pipe(Effect.orElseSucceed(() => false)))
  return {
    namespace,
    namespaceExists: exists,
    managed,
    foreign,
    deleteNamespace: exists && foreign.length === 0 &&
      Option.exists(found, (ns) => ns.managed),
    registryFile: purge ? Option.some(registryFile) : Option.none()
  } satisfies UninstallPlan
})

/**
 * Carries out a plan: instances first (profiles in use cannot go), then
 * profiles, then the namespace if it is empty, then the registry file if
 * asked. Returns whether the namespace was deleted.
 *
 * @since 0.1.0
 * @category programs
 */
export const uninstall = Effect.fn("uninstall")(function*(plan: UninstallPlan) {
  const runtime = yield* ContainerRuntime
  const fs = yield* FileSystem.FileSystem
  for (const instance of plan.managed.instances) {
    const mounts = yield* runtime.get(instance).pipe(Effect.map((i) => i.mounts), Effect.orElseSucceed(() => []))
    yield* runtime.remove(instance).pipe(Effect.catchReason("ContainerRuntimeError", "NotFound", () => Effect.void))
    // The agents' per-project state goes with its container (the shared login stays: it is the user's).
    yield* removeProjectState(mounts)
  }
  for (const profile of plan.managed.profiles) {
    yield* runtime.deleteProfile(profile).pipe(
      Effect.catchReason("ContainerRuntimeError", "NotFound", () => Effect.void)
    )
  }
  if (plan.deleteNamespace) yield* runtime.deleteNamespace(plan.namespace)
  if (Option.isSome(plan.registryFile)) yield* fs.remove(plan.registryFile.value)
  return plan.deleteNamespace
})
