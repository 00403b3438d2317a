/**
 * `repoman exec`, `run` and `shell`: the commands that run something in a
 * container, and what they load. A user runs them for every agent and many
 * short commands, so they start with only their own modules and the
 * session stack ({@link SessionLive}): no profile library, no backup
 * target. The standard output belongs to the command: when it closes, the
 * command gets SIGPIPE and repoman ends as it does.
 */
import * as NodeSignals from "@repoman/node/NodeSignals"
import * as Command from "effect/cli/Command"
import * as Effect from "effect/Effect"
import { exec } from "../../commands/exec.ts"
import { run } from "../../commands/run.ts"
import { shell } from "../../commands/shell.ts"
import * as SessionLive from "../../SessionLive.ts"
import { runCommand } from "../runner.ts"

/** The root with the session commands only; `--help` of each reads as in the whole tree. */
const root = Command.make("repoman").pipe(Command.withSubcommands([shell, exec, run]))

/** Runs `repoman ARGV` (a session command) and ends the process as the command ended. */
export const main = (argv: ReadonlyArray<string>): void => {
  // The session reports a closed stdout to the command; this only keeps a
  // failed write of help text from ending the process with a stack trace.
  process.stdout.on("error", () => {})
  runCommand(root)(argv).pipe(Effect.provide(SessionLive.layer()), NodeSignals.runMain)
}
