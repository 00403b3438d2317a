/**
 * The cron entry point: `node main.ts [--dry-run] [--delete]`, on the same
 * live stack as the `repoman` command (the user's registry and the backup
 * target it names).
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { RepomanLive } from "@repoman/live/RepomanLive"
import * as Effect from "effect/Effect"
import { nightlySync } from "./src/nightlySync.ts"

const args = process.argv.slice(2)

nightlySync({ dryRun: args.includes("--dry-run"), delete: args.includes("--delete") }).pipe(
  Effect.provide(RepomanLive),
  NodeRuntime.runMain
)
