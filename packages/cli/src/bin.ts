/**
 * The `repoman` executable: wires the live layers and runs the CLI.
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Stdio from "effect/Stdio"
import { run } from "./Cli.ts"
import { whileStdoutOpen } from "./host/stdout.ts"
import { MainLayer } from "./MainLayer.ts"

Effect.gen(function*() {
  const stdio = yield* Stdio.Stdio
  return yield* stdio.args
}).pipe(
  Effect.flatMap(run),
  whileStdoutOpen,
  Effect.provide(MainLayer),
  NodeRuntime.runMain
)
