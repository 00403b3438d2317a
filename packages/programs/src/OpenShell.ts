/**
 * `shell`: an interactive shell (or a given command) in a project's
 * container, as the uid-1000 user with HOME set, in the repo directory (the
 * same absolute path as on the host) or the one asked for. A stopped
 * container is started first.
 *
 * Before the session a checkpoint of the repo is taken (design invariant 9:
 * a session can be undone), unless `[checkpoints] enabled = false` or the
 * caller says `checkpoint: false`. If it cannot be taken, the session does
 * not start: the error says why and how to start without one.
 *
 * @since 0.1.0
 */
import { CheckpointError, Checkpoints } from "@repoman/core/Checkpoints"
import { ConfigPaths, expandHome } from "@repoman/core/ConfigPaths"
import { ContainerRuntime } from "@repoman/core/ContainerRuntime"
import type { ProjectName } from "@repoman/core/Ids"
import { Registry } from "@repoman/core/Registry"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { containerUser } from "./ContainerUser.ts"

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
  if (input.checkpoint ?? document.checkpoints.enabled) {
    const checkpoints = yield* Checkpoints
    const label = input.argv === undefined ? "shell" : input.argv.join(" ")
    yield* checkpoints.take({ project: name, path: repoPath }, "session", label).pipe(
      Effect.mapError((cause) => new NoCheckpoint({ project: name, cause }))
    )
  }
  const instance = yield* runtime.get(name)
  if (instance.status !== "Running") yield* runtime.start(name)
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
