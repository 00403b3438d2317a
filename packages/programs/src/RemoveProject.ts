/**
 * `remove`: destroy a project's container (or, with `keepIncus`, only forget
 * it). Never touches the repo: the plan says so, and only the container, its
 * sealed gitdir (the agent's commits not fetched yet go with it: the plan
 * says so) and the registry entry go. A container repoman made that never got its
 * registry entry (a `new` cut short by the daemon going away) can be removed
 * the same way; a container repoman did not make, or made for another
 * user, cannot (see `Owners`), whatever the registry says.
 *
 * @since 0.1.0
 * @module
 */
import { ConfigPaths, expandHome } from "@repoman/core/ConfigPaths"
import {
  ContainerRuntime,
  type Instance,
  type InstanceStatus,
  type Mount,
  type RepoStorage
} from "@repoman/core/ContainerRuntime"
import { HostFiles } from "@repoman/core/HostFiles"
import type { ProjectName } from "@repoman/core/Ids"
import type { Project } from "@repoman/core/Project"
import { Registry } from "@repoman/core/Registry"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import { removeProjectState } from "./AgentState.ts"
import { discardSeal, gitDirOf } from "./GitSeal.ts"
import { requireOwnInstance } from "./Owners.ts"
import { removeSshAccess, sshAccessOf, type SshAccessState } from "./SshAccess.ts"

/**
 * Exactly what a removal does, for the user to confirm.
 *
 * @since 0.1.0
 * @category models
 */
export interface RemovalPlan {
  readonly name: ProjectName
  /** The registry entry that goes; `None` for a container repoman made but never registered. */
  readonly project: Option.Option<Project>
  readonly namespace: string
  readonly repoPath: string
  readonly keepIncus: boolean
  /** The container that goes (none when it is already gone or kept), with what it mounts from the host. */
  readonly container: Option.Option<RemovedContainer>
  /** The sealed gitdir that goes with the container (`None` without one, or when the container is kept). */
  readonly gitDir: Option.Option<string>
  /** The ssh access that goes: the marked block in `~/.ssh/config` and the key directory, where there are. */
  readonly ssh: SshAccessState
}

/**
 * The container a removal deletes, and what it mounts from the host (which
 * stays where it is).
 *
 * @since 0.1.0
 * @category models
 */
export interface RemovedContainer {
  readonly status: InstanceStatus
  readonly repo: Option.Option<RepoStorage>
  readonly mounts: ReadonlyArray<Mount>
}

const removed = (i: Instance): RemovedContainer => ({ status: i.status, repo: i.repo, mounts: i.mounts })

/**
 * Works out what removing `name` means.
 *
 * @since 0.1.0
 * @category programs
 */
export const planRemoval = Effect.fn("planRemoval")(
  function*(name: ProjectName, options: { readonly keepIncus: boolean }) {
    const registry = yield* Registry
    const runtime = yield* ContainerRuntime
    const files = yield* HostFiles
    const { home, stateDir } = yield* ConfigPaths
    const document = yield* registry.load
    const sealedGitDir = options.keepIncus ? Option.none<string>() : yield* files.lstat(gitDirOf(stateDir, name)).pipe(
      Effect.map((s) => Option.as(s, gitDirOf(stateDir, name))),
      Effect.orElseSucceed(() => Option.none<string>())
    )
    const reposRoot = expandHome(document.defaults.reposRoot, home)
    const ssh = yield* sshAccessOf(name)
    const registered = yield* registry.getProject(name).pipe(Effect.result)
    if (Result.isFailure(registered)) {
      // Not registered: only a container repoman made (and not --keep-incus, which would do nothing).
      const reason = registered.failure.reason
      if (reason._tag !== "ProjectNotFound" || options.keepIncus) return yield* registered.failure
      const instance = yield* runtime.get(name).pipe(
        Effect.catchReason("ContainerRuntimeError", "NotFound", () => registered.failure)
      )
      if (!instance.managed) return yield* registered.failure
      yield* requireOwnInstance(instance)
      return {
        name,
        project: Option.none(),
        namespace: runtime.namespace,
        repoPath: instance.labels["repo"] ?? `${reposRoot}/${name}`,
        keepIncus: false,
        container: Option.some(removed(instance)),
        gitDir: sealedGitDir,
        ssh
      } satisfies RemovalPlan
    }
    const project = registered.success
    const container = options.keepIncus
      ? Option.none()
      : yield* runtime.get(name).pipe(
        Effect.flatMap(requireOwnInstance),
        Effect.map((i) => Option.some(removed(i))),
        Effect.catchReason("ContainerRuntimeError", "NotFound", () => Effect.succeedNone)
      )
    return {
      name,
      project: Option.some(project),
      namespace: runtime.namespace,
      repoPath: `${reposRoot}/${project.repo}`,
      keepIncus: options.keepIncus,
      container,
      gitDir: sealedGitDir,
      ssh
    } satisfies RemovalPlan
  }
)

/**
 * Carries out a plan: stops and deletes the container, then drops the
 * registry entry (if there is one), then the ssh access.
 *
 * @since 0.1.0
 * @category programs
 */
export const removeProject = Effect.fn("removeProject")(function*(plan: RemovalPlan) {
  const registry = yield* Registry
  const runtime = yield* ContainerRuntime
  if (Option.isSome(plan.container)) {
    yield* runtime.remove(plan.name).pipe(
      Effect.catchReason("ContainerRuntimeError", "NotFound", () => Effect.void)
    )
    // The agents' per-project state (transcripts, settings) goes with the container.
    yield* removeProjectState(plan.container.value.mounts)
  }
  if (!plan.keepIncus) yield* discardSeal(plan.name)
  if (Option.isSome(plan.project)) yield* registry.removeProject(plan.name)
  yield* removeSshAccess(plan.name, plan.ssh)
})
