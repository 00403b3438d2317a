/**
 * The whole `repoman` command tree on the whole live stack: every command
 * but the session ones (`bin.ts` picks).
 */
import * as NodeSignals from "@repoman/node/NodeSignals"
import * as Effect from "effect/Effect"
import { run } from "../../Cli.ts"
import { whileStdoutOpen } from "../../host/stdout.ts"
import { MainLayer } from "../../MainLayer.ts"

/** Runs `repoman ARGV` and ends the process. */
export const main = (argv: ReadonlyArray<string>): void =>
  run(argv).pipe(whileStdoutOpen, Effect.provide(MainLayer), NodeSignals.runMain)
