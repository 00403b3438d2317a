/**
 * `repoman shell NAME [--cwd PATH] [-- CMD...]`: an interactive shell (or
 * CMD) in the container, as the uid-1000 user, in the repo directory.
 *
 * @since 0.1.0
 * @module
 */
import { ContainerPath } from "@repoman/programs/ExecInProject"
import { openShell } from "@repoman/programs/OpenShell"
import * as Argument from "effect/cli/Argument"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { ExitCode } from "../ExitCode.ts"
import { checkpointFlag, projectName } from "./args.ts"

const flags = {
  name: projectName,
  cwd: Flag.String("cwd").pipe(
    Flag.withDescription("Start in this directory (default: the repo)"),
    Flag.withSchema(ContainerPath),
    Flag.optional
  ),
  checkpoint: checkpointFlag,
  command: Argument.String("command").pipe(
    Argument.withDescription("Run this instead of a login shell (after --)"),
    Argument.variadic()
  )
}

/**
 * The `repoman shell` command.
 *
 * @since 0.1.0
 */
export const shell = Command.make("shell", flags).pipe(
  Command.withDescription("Open a shell in the project's container, in the repo directory"),
  Command.withHandler(Effect.fnUntraced(function*({ name, cwd, checkpoint, command }) {
    const code = yield* openShell(name, {
      ...Option.match(cwd, { onNone: () => ({}), onSome: (dir) => ({ cwd: dir }) }),
      ...Option.match(checkpoint, { onNone: () => ({}), onSome: (take) => ({ checkpoint: take }) }),
      ...(command.length === 0 ? {} : { argv: command })
    })
    if (code !== 0) return yield* new ExitCode({ code })
  }))
)
