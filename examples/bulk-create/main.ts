/**
 * `node main.ts [--dry-run]`: bulk create on the same live stack as the
 * `repoman` command (the user's registry and Incus).
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { RepomanLive } from "@repoman/live/RepomanLive"
import * as Effect from "effect/Effect"
import { bulkCreate } from "./src/bulkCreate.ts"

bulkCreate({ dryRun: process.argv.includes("--dry-run") }).pipe(
  Effect.provide(RepomanLive),
  NodeRuntime.runMain
)
