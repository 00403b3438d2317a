/**
 * The whole `repoman` command tree on the whole live stack: every command,
 * and every form of one the fast path (`fast.ts`) leaves to it.
 */
import * as NodeSignals from "@repoman/node/NodeSignals"
import * as Effect from "effect/Effect"
import { run } from "../../Cli.ts"
import * as CliLogger from "../../host/logger.ts"
import { whileStdoutOpen } from "../../host/stdout.ts"
import { MainLayer } from "../../MainLayer.ts"

/** Runs `repoman ARGV` and ends the process. */
export const main = (argv: ReadonlyArray<string>): void => {
  const session = argv[0] === "exec" || argv[0] === "run" || argv[0] === "shell"
  // A session's command owns stdout and hears of its closing itself (SIGPIPE).
  if (session) process.stdout.on("error", () => {})
  run(argv).pipe(
    session ? (effect) => effect : whileStdoutOpen,
    Effect.provide(MainLayer),
    Effect.provide(CliLogger.layer),
    NodeSignals.runMain
  )
}
