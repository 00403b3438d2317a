/**
 * `uninstall`: removes every object repoman made for this user in its Incus
 * project (the instances and profiles carrying `user.repoman.managed` and
 * this user's owner; see `Owners`), then the project itself once nothing
 * else is left in it and repoman made it (never a project an admin made for
 * a restricted client, which repoman may not delete). A project another
 * user's repoman made is refused as a whole. Repos are never touched (containers only
 * mount them). The registry entries of the containers it deletes go with
 * them (so `setup` then `new NAME` works again); the registry file itself
 * stays unless `purgeRegistry` asks for it. The ssh access of each
 * container that goes (its marked block in `~/.ssh/config`, its key pair)
 * goes with it. {@link planUninstall} says exactly what will go, before
 * anything does.
 *
 * @since 0.1.0
 * @module
 */
import { ConfigPaths } from "@repoman/core/ConfigPaths"
import { ContainerRuntime, type ManagedObjects } from "@repoman/core/ContainerRuntime"
import { HostFiles } from "@repoman/core/HostFiles"
import type { ProjectName } from "@repoman/core/Ids"
import { isUsable, mapsUser, ownership, refusalOf } from "@repoman/core/Ownership"
import { Registry } from "@repoman/core/Registry"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import { removeProjectState } from "./AgentState.ts"
import { discardSeal, gitDirOf } from "./GitSeal.ts"
import { LifecycleError, NotYours } from "./LifecycleError.ts"
import { namespaceOwnership } from "./Owners.ts"
import { removeSshAccess, sshAccessOf, type SshAccessState } from "./SshAccess.ts"

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
  /** The instances and profiles repoman made for this user: they go. */
  readonly managed: ManagedObjects
  /**
   * Instances and profiles in the namespace that repoman did not make for
   * this user (with why): they stay, and so does the namespace.
   */
  readonly foreign: ReadonlyArray<string>
  /** Whether the namespace itself goes: it exists, repoman made it for this user, and nothing foreign is in it. */
  readonly deleteNamespace: boolean
  /** Why the namespace stays although nothing foreign is in it (an admin made it for a restricted client), if so. */
  readonly namespaceKept: Option.Option<string>
  /** The registry file, when it is to be deleted (and exists). */
  readonly registryFile: Option.Option<string>
  /** The registry entries of the containers that go (they would name containers that are no more). */
  readonly registryEntries: ReadonlyArray<ProjectName>
  /**
   * The sealed gitdirs of the containers that go (as `remove` drops them:
   * a later `new` of the same name needs the place free).
   */
  readonly sealedGitDirs: ReadonlyArray<string>
  /** The ssh access of the containers that go, where they have some (see `SshAccess`). */
  readonly ssh: ReadonlyArray<{ readonly name: ProjectName; readonly access: SshAccessState }>
}

/**
 * Whether the plan removes nothing at all (the command then says so and
 * succeeds without asking).
 *
 * @since 0.1.0
 * @category models
 */
export const isEmptyPlan = (plan: UninstallPlan): boolean =>
  plan.managed.instances.length === 0 && plan.managed.profiles.length === 0 && !plan.deleteNamespace &&
  Option.isNone(plan.registryFile) && plan.registryEntries.length === 0 && plan.sealedGitDirs.length === 0 &&
  plan.ssh.length === 0

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
  const uid = runtime.owner
  let managed: ManagedObjects = { instances: [], profiles: [] }
  const foreign: Array<string> = []
  let namespaceKept: Option.Option<string> = Option.none()
  if (Option.isSome(found)) {
    // Another user's project is refused as a whole; one no repoman made (an
    // older registry naming, say, `default`) only loses this user's objects.
    const nsOwnership = yield* namespaceOwnership(found.value)
    const why = refusalOf(nsOwnership)
    if (why !== undefined && nsOwnership._tag !== "NotRepoman") {
      return yield* new LifecycleError({
        reason: new NotYours({ kind: "Incus project", name: namespace, namespace, why })
      })
    }
    const instances = yield* runtime.list()
    const profiles = (yield* runtime.listProfiles()).filter((p) => p.name !== "default")
    const ownInstances = instances.filter((i) => isUsable(ownership(i, uid, mapsUser(i.idMapping, uid))))
    const ownProfiles = profiles.filter((p) => isUsable(ownership(p, uid, true)))
    managed = { instances: ownInstances.map((i) => i.name), profiles: ownProfiles.map((p) => p.name) }
    for (const i of instances) {
      if (!managed.instances.includes(i.name)) {
        foreign.push(`instance ${i.name} (${refusalOf(ownership(i, uid, false)) ?? "not yours"})`)
      }
    }
    for (const p of profiles) {
      if (!managed.profiles.includes(p.name)) {
        foreign.push(`profile ${p.name} (${refusalOf(ownership(p, uid, false)) ?? "not yours"})`)
      }
    }
    if ((yield* runtime.access()).restricted) {
      namespaceKept = Option.some("an admin set it up for you, and only an admin may delete it")
    } else if (!found.value.managed) {
      namespaceKept = Option.some("repoman did not make it")
    }
  }
  const ssh = (yield* Effect.forEach(managed.instances, (name) =>
    Effect.map(sshAccessOf(name), (access) => ({ name, access })))).filter(({ access }) =>
      Option.isSome(access.block) || Option.isSome(access.keyDir)
    )
  const purge = options.purgeRegistry === true &&
    (yield* fs.exists(registryFile).pipe(Effect.orElseSucceed(() => false)))
  // No registry yet (or one that cannot be read): no entries to drop; a
  // broken file is never rewritten here.
  const registered = yield* (yield* Registry).load.pipe(
    Effect.map((d) => d.projects.map((p) => p.name)),
    Effect.orElseSucceed((): ReadonlyArray<ProjectName> => [])
  )
  const registryEntries = purge ? [] : registered.filter((name) => managed.instances.includes(name))
  const files = yield* HostFiles
  const { stateDir } = yield* ConfigPaths
  const sealedGitDirs: Array<string> = []
  for (const name of managed.instances) {
    const dir = gitDirOf(stateDir, name)
    if (Option.isSome(yield* files.lstat(dir).pipe(Effect.orElseSucceed(() => Option.none())))) sealedGitDirs.push(dir)
  }
  return {
    namespace,
    namespaceExists: exists,
    managed,
    foreign,
    deleteNamespace: exists && foreign.length === 0 && Option.isNone(namespaceKept),
    namespaceKept,
    registryFile: purge ? Option.some(registryFile) : Option.none(),
    registryEntries,
    sealedGitDirs,
    ssh
  } satisfies UninstallPlan
})

/**
 * Carries out a plan: instances first (profiles in use cannot go), each
 * with its registry entry, then profiles, then the namespace if it is
 * empty, then the registry file if asked. The ssh access of the removed
 * containers goes before the namespace. Returns whether the namespace was
 * deleted.
 *
 * @since 0.1.0
 * @category programs
 */
export const uninstall = Effect.fn("uninstall")(function*(plan: UninstallPlan) {
  const runtime = yield* ContainerRuntime
  const fs = yield* FileSystem.FileSystem
  const registry = yield* Registry
  for (const instance of plan.managed.instances) {
    const mounts = yield* runtime.get(instance).pipe(Effect.map((i) => i.mounts), Effect.orElseSucceed(() => []))
    yield* runtime.remove(instance).pipe(Effect.catchReason("ContainerRuntimeError", "NotFound", () => Effect.void))
    // The agents' per-project state goes with its container (the shared login stays: it is the user's).
    yield* removeProjectState(mounts)
    yield* discardSeal(instance)
    if (plan.registryEntries.includes(instance)) {
      yield* registry.removeProject(instance).pipe(
        Effect.catchReason("RegistryError", "ProjectNotFound", () => Effect.void)
      )
    }
  }
  for (const profile of plan.managed.profiles) {
    yield* runtime.deleteProfile(profile).pipe(
      Effect.catchReason("ContainerRuntimeError", "NotFound", () => Effect.void)
    )
  }
  // While the registry and the namespace still say what containers can write (see `SshAccess`).
  for (const { access, name } of plan.ssh) yield* removeSshAccess(name, access)
  if (plan.deleteNamespace) yield* runtime.deleteNamespace(plan.namespace)
  if (Option.isSome(plan.registryFile)) yield* fs.remove(plan.registryFile.value)
  return plan.deleteNamespace
})
