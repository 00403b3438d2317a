/**
 * The whole `repoman` command tree on the whole live stack: every command,
 * and every form of one the fast path (`fast.ts`) leaves to it.
 */
import * as NodeSignals from "@repoman/node/NodeSignals"
import * as Effect from "effect/Effect"
import { run } from "../../Cli.ts"
import * as CliLogger from "../../host/logger.ts"
import { whileStdoutOpen } from "../../host/stdout.ts"
import { mainLayer } from "../../MainLayer.ts"
import { reportFailures } from "../failure.ts"
import { checkRemote, envRemote, splitRemote } from "../remoteFlag.ts"

/** Runs `repoman ARGV` and ends the process. */
export const main = (argv: ReadonlyArray<string>, remote?: string): void => {
  const split = splitRemote(argv)
  const words = split._tag === "Split" ? split.argv : argv
  const session = words[0] === "exec" || words[0] === "run" || words[0] === "shell"
  // A session's command owns stdout and hears of its closing itself (SIGPIPE).
  if (session) process.stdout.on("error", () => {})
  checkRemote(remote ?? envRemote()).pipe(
    reportFailures,
    Effect.andThen(run(argv)),
    session ? (effect) => effect : whileStdoutOpen,
    Effect.provide(mainLayer(remote)),
    Effect.provide(CliLogger.layer),
    NodeSignals.runMain
  )
}
