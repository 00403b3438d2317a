/**
 * `repoman exec NAME [--cwd PATH] [--env K=V]... -- CMD ARGS...`: run one
 * command in the project's container as the uid-1000 user, with stdio (and
 * the terminal, when there is one) passed through. CMD's exit code becomes
 * repoman's.
 *
 * @since 0.1.0
 * @module
 */
import { ContainerPath, EnvAssignment, envFromAssignments, execInProject } from "@repoman/programs/ExecInProject"
import * as Argument from "effect/cli/Argument"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { ExitCode } from "../ExitCode.ts"
import { checkpointFlag, projectName } from "./args.ts"

/** `--env K=V`, repeatable. */
export const envFlag = Flag.String("env").pipe(
  Flag.withAlias("e"),
  Flag.withDescription("Set an environment variable inside (NAME=VALUE; repeatable)"),
  Flag.withSchema(EnvAssignment),
  Flag.atLeast(0)
)

/** `CMD ARGS...` after `--`, at least the command. */
export const commandArgs = Argument.String("command").pipe(
  Argument.withDescription("The command and its arguments (after --)"),
  Argument.variadic({ min: 1 })
)

const flags = {
  name: projectName,
  cwd: Flag.String("cwd").pipe(
    Flag.withDescription("Run in this directory inside (default: the repo)"),
    Flag.withSchema(ContainerPath),
    Flag.optional
  ),
  env: envFlag,
  checkpoint: checkpointFlag,
  command: commandArgs
}

/**
 * The `repoman exec` command.
 *
 * @since 0.1.0
 */
export const exec = Command.make("exec", flags).pipe(
  Command.withDescription("Run a command in the project's container; its exit code becomes repoman's"),
  Command.withHandler(Effect.fnUntraced(function*({ name, cwd, env, checkpoint, command }) {
    const [head, ...rest] = command
    if (head === undefined) return yield* new ExitCode({ code: 2 })
    const code = yield* execInProject(name, {
      argv: [head, ...rest],
      env: envFromAssignments(env),
      ...Option.match(checkpoint, { onNone: () => ({}), onSome: (take) => ({ checkpoint: take }) }),
      ...Option.match(cwd, { onNone: () => ({}), onSome: (dir) => ({ cwd: dir }) })
    })
    if (code !== 0) return yield* new ExitCode({ code })
  }))
)
