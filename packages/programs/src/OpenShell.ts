/**
 * `shell`: an interactive shell (or a given command) in a project's
 * container, as the uid-1000 user with HOME set, in the repo directory (the
 * same absolute path as on the host) or the one asked for. A stopped
 * container is started first. A container that is not the user's (see
 * `Owners`) is refused.
 *
 * @since 0.1.0
 * @module
 */
import { toolOfStateMount } from "@repoman/core/Agents"
import { ConfigPaths, expandHome } from "@repoman/core/ConfigPaths"
import { ContainerRuntime } from "@repoman/core/ContainerRuntime"
import { HostInfo } from "@repoman/core/HostInfo"
import type { ProjectName } from "@repoman/core/Ids"
import { Registry } from "@repoman/core/Registry"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { clearMountTargets, clearStores, refreshCopies } from "./AgentState.ts"
import { containerUser } from "./ContainerUser.ts"
import { ownInstance } from "./Owners.ts"

/**
 * Options of {@link openShell}.
 *
 * @since 0.1.0
 * @category models
 */
export interface ShellInput {
  readonly cwd?: string
  /** Run this instead of a login shell (still attached to the terminal). */
  readonly argv?: ReadonlyArray<string>
  readonly env?: Readonly<Record<string, string>>
}

/**
 * Opens the shell and returns its exit code.
 *
 * @since 0.1.0
 * @category programs
 */
export const openShell = Effect.fn("openShell")(function*(name: ProjectName, input: ShellInput = {}) {
  const registry = yield* Registry
  const runtime = yield* ContainerRuntime
  const { home } = yield* ConfigPaths
  const document = yield* registry.load
  const project = yield* registry.getProject(name)
  const repoPath = `${expandHome(document.defaults.reposRoot, home)}/${project.repo}`
  // Never into a container another user's repoman (or no repoman) made.
  const instance = yield* ownInstance(name)
  if (instance.status !== "Running") {
    // Names where mounts nest inside an agent's state dir must not be symlinks (planted while it ran).
    if (instance.mounts.some((m) => toolOfStateMount(m.name) !== undefined)) {
      const profileMounts = yield* Effect.forEach(instance.profiles, (p) =>
        runtime.getProfile(p).pipe(
          Effect.map((profile) =>
            runtime.inspectProfile(profile, Option.getOrElse(instance.idMapping, () => ({ _tag: "Shift" } as const)))
              .mounts
          ),
          Effect.orElseSucceed(() => [])
        ))
      yield* clearMountTargets(instance, profileMounts.flat())
    }
    yield* runtime.start(name)
  }
  yield* refreshCopies(instance, yield* HostInfo)
  yield* clearStores(instance)
  const user = yield* containerUser(name, repoPath)
  return yield* runtime.shell(name, {
    user: user.uid,
    group: user.gid,
    cwd: input.cwd ?? repoPath,
    // The home is the host user's home path (see NewProject): ~ means the same on both sides.
    env: { HOME: home, USER: user.name, ...input.env },
    ...(input.argv === undefined ? {} : { argv: input.argv })
  })
})
