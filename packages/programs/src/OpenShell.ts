/**
 * `shell`: an interactive shell (or a given command) in a project's
 * container, as the uid-1000 user, in the repo directory (the same absolute
 * path as on the host) or the one asked for. A stopped container is started
 * first. `exec` and `run` are this with a command.
 *
 * The registry is read once and the instance asked for once: its state
 * (start it?) and its labels (the login shell and the locales `new`
 * recorded) are all a session needs; nothing is read from inside the
 * container.
 *
 * @since 0.1.0
 * @module
 */
import { ConfigPaths, expandHome } from "@repoman/core/ConfigPaths"
import { ContainerRuntime, type Instance } from "@repoman/core/ContainerRuntime"
import { HostInfo } from "@repoman/core/HostInfo"
import { CONTAINER_ID } from "@repoman/core/IdMapping"
import type { ProjectName } from "@repoman/core/Ids"
import type { Project } from "@repoman/core/Project"
import { ProjectNotFound, Registry, RegistryError } from "@repoman/core/Registry"
import type { RegistryDocument } from "@repoman/core/RegistryDocument"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { localesOf, loginShellOf } from "./ContainerUser.ts"
import { sessionEnv } from "./SessionEnvironment.ts"

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
 * The shell in `project`, read from `document` by the caller (and its
 * instance, if the caller has read it already); returns its exit code.
 *
 * @since 0.1.0
 * @category programs
 */
export const shellIn = Effect.fn("shellIn")(
  function*(document: RegistryDocument, project: Project, input: ShellInput = {}, known?: Instance) {
    const runtime = yield* ContainerRuntime
    const host = yield* HostInfo
    const { home } = yield* ConfigPaths
    const repoPath = `${expandHome(document.defaults.reposRoot, home)}/${project.repo}`
    const instance = known ?? (yield* runtime.get(project.name))
    if (instance.status !== "Running") yield* runtime.start(project.name)
    const argv = input.argv ?? Option.getOrUndefined(Option.map(loginShellOf(instance.labels), (s) => [s, "-l"]))
    return yield* runtime.shell(project.name, {
      user: CONTAINER_ID,
      group: CONTAINER_ID,
      cwd: input.cwd ?? repoPath,
      // The home is the host user's home path (see NewProject): ~ means the same on both sides.
      env: sessionEnv({
        host: host.environment,
        locales: localesOf(instance.labels),
        user: host.user,
        home,
        extra: input.env
      }),
      ...(argv === undefined ? {} : { argv })
    })
  }
)

/**
 * Opens the shell and returns its exit code.
 *
 * @since 0.1.0
 * @category programs
 */
export const openShell = Effect.fn("openShell")(function*(name: ProjectName, input: ShellInput = {}) {
  const registry = yield* Registry
  const runtime = yield* ContainerRuntime
  // The instance is asked for while the registry is read: both are needed.
  const [document, instance] = yield* Effect.all([
    registry.load,
    Effect.result(runtime.get(name))
  ], { concurrency: "unbounded" })
  const project = document.projects.find((p) => p.name === name)
  if (project === undefined) return yield* new RegistryError({ reason: new ProjectNotFound({ name }) })
  return yield* shellIn(document, project, input, yield* Effect.fromResult(instance))
})
