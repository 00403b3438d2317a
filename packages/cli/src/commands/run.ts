/**
 * `repoman run [--env K=V]... -- CMD ARGS...`: run CMD in the container of
 * the project whose repo holds the current directory, at the same path
 * inside. The wrapper to launch coding agents through, e.g.
 * `alias claude='repoman run -- claude --dangerously-skip-permissions'`.
 *
 * @since 0.1.0
 * @module
 */
import { envFromAssignments } from "@repoman/programs/ExecInProject"
import { runFromCwd } from "@repoman/programs/RunFromCwd"
import * as Command from "effect/cli/Command"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Path from "effect/Path"
import { ExitCode } from "../ExitCode.ts"
import { checkpointFlag } from "./args.ts"
import { commandArgs, envFlag } from "./exec.ts"

/**
 * The `repoman run` command.
 *
 * @since 0.1.0
 */
export const run = Command.make("run", { env: envFlag, checkpoint: checkpointFlag, command: commandArgs }).pipe(
  Command.withDescription("Run a command in the container of the project you are in, at the same path"),
  Command.withHandler(Effect.fnUntraced(function*({ env, checkpoint, command }) {
    const [head, ...rest] = command
    if (head === undefined) return yield* new ExitCode({ code: 2 })
    const cwd = (yield* Path.Path).resolve(".")
    const code = yield* runFromCwd(
      cwd,
      [head, ...rest],
      envFromAssignments(env),
      Option.match(checkpoint, { onNone: () => ({}), onSome: (take) => ({ checkpoint: take }) })
    )
    if (code !== 0) return yield* new ExitCode({ code })
  }))
)
