/**
 * `shell`: an interactive shell (or a given command) in a project's
 * container, as the uid-1000 user, in the repo directory (the same absolute
 * path as on the host) or the one asked for. A stopped container is started
 * first. `exec` and `run` are this with a command. A container that is not
 * the user's (see `Owners`) is refused.
 *
 * The registry is read once and the instance asked for once: its state
 * (start it?) and its labels (the login shell and the locales `new`
 * recorded) are all a session needs; nothing is read from inside the
 * container. Before a start, names where mounts nest in an agent's state
 * are cleared of planted symlinks; before every session, copied agent logins
 * are refreshed (see `AgentState`).
 *
 * Before the session a checkpoint of the repo is taken (design invariant 9:
 * a session can be undone), unless `[checkpoints] enabled = false` or the
 * caller says `checkpoint: false`. If it cannot be taken, the session does
 * not start: the error says why and how to start without one.
 *
 * @since 0.1.0
 * @module
 */
import { toolOfStateMount } from "@repoman/core/Agents"
import { CheckpointError, Checkpoints } from "@repoman/core/Checkpoints"
import { ConfigPaths, expandHome } from "@repoman/core/ConfigPaths"
import { ContainerRuntime, type Instance } from "@repoman/core/ContainerRuntime"
import { HostInfo } from "@repoman/core/HostInfo"
import { CONTAINER_ID } from "@repoman/core/IdMapping"
import type { ProjectName } from "@repoman/core/Ids"
import { type Project, storageOf } from "@repoman/core/Project"
import { ProjectNotFound, Registry, RegistryError } from "@repoman/core/Registry"
import type { RegistryDocument } from "@repoman/core/RegistryDocument"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { clearMountTargets, clearStores, refreshCopies } from "./AgentState.ts"
import { localesOf, loginShellOf } from "./ContainerUser.ts"
import { requireOwnInstance } from "./Owners.ts"
import { sessionEnv } from "./SessionEnvironment.ts"
import { takeVolumeCheckpoint } from "./VolumeCheckpoints.ts"

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
  /** Take a checkpoint before the session. Default: `[checkpoints] enabled` (on). */
  readonly checkpoint?: boolean
}

/**
 * The checkpoint before a session could not be taken, so the session did not
 * start.
 *
 * @since 0.1.0
 * @category errors
 */
export class NoCheckpoint extends Schema.TaggedError<NoCheckpoint>("@repoman/programs/OpenShell/NoCheckpoint")(
  "NoCheckpoint",
  { project: Schema.String, cause: CheckpointError }
) {
  /** One line for the user. */
  override get message(): string {
    return `no session was started: ${this.cause.message}; use --no-checkpoint to start one without a checkpoint`
  }
}

/**
 * Everything before a session in `project` (read from `document` by the
 * caller, with its instance if the caller has read it already): the owner
 * check, the checkpoint (labelled `label`), the start of a stopped container
 * (clearing planted symlinks first), the refresh of copied logins. Returns
 * the instance (as read before a start) and the repo path inside.
 *
 * @since 0.1.0
 * @category programs
 */
export const readySession = Effect.fn("readySession")(
  function*(
    document: RegistryDocument,
    project: Project,
    options: { readonly checkpoint?: boolean | undefined; readonly label: string },
    known?: Instance
  ) {
    const runtime = yield* ContainerRuntime
    const host = yield* HostInfo
    const { home } = yield* ConfigPaths
    const repoPath = `${expandHome(document.defaults.reposRoot, home)}/${project.repo}`
    // Never into a container another user's repoman (or no repoman) made.
    const instance = yield* requireOwnInstance(known ?? (yield* runtime.get(project.name)))
    if (options.checkpoint ?? document.checkpoints.enabled) {
      if (storageOf(project) === "volume") {
        // The repo is a volume of the remote engine: its snapshot is the checkpoint.
        yield* takeVolumeCheckpoint(project.name, "session").pipe(
          Effect.mapError((cause) => new NoCheckpoint({ project: project.name, cause }))
        )
      } else {
        const checkpoints = yield* Checkpoints
        yield* checkpoints.take({ project: project.name, path: repoPath }, "session", options.label).pipe(
          Effect.mapError((cause) => new NoCheckpoint({ project: project.name, cause }))
        )
      }
    }
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
      yield* runtime.start(project.name)
    }
    yield* refreshCopies(instance, host)
    yield* clearStores(instance)
    return { instance, repoPath }
  }
)

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
    const label = input.argv === undefined ? "shell" : input.argv.join(" ")
    const { instance, repoPath } = yield* readySession(
      document,
      project,
      { checkpoint: input.checkpoint, label },
      known
    )
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
