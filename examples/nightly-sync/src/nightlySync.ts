/**
 * The nightly sync: mirror every project to the backup target, print one
 * line per project and a summary, and fail when any project failed (so cron
 * mails the report and the exit code is non-zero).
 *
 * It needs only service interfaces (`Registry`, `BackupTarget`,
 * `ConfigPaths`, `Path`): `main.ts` runs it on `RepomanLive`, the test on the
 * memory layers.
 */
import type { MirrorResult } from "@repoman/core/BackupTarget"
import { SyncCompleted, syncProjects } from "@repoman/programs/SyncProjects"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"

/** Options of {@link nightlySync}. */
export interface NightlySyncOptions {
  /** Report what would change; change nothing. */
  readonly dryRun: boolean
  /** Delete from the backup what is gone from the source. */
  readonly delete: boolean
}

/** Some projects failed to sync; the report says which and why. */
export class NightlySyncFailed
  extends Schema.TaggedError<NightlySyncFailed>("@repoman-examples/nightly-sync/nightlySync/NightlySyncFailed")(
    "NightlySyncFailed",
    {
      failed: Schema.Array(Schema.String)
    }
  )
{
  override get message(): string {
    return `nightly sync: ${this.failed.length} project(s) failed: ${this.failed.join(", ")}`
  }
}

/** One report line for a project. */
export const reportLine = (result: MirrorResult): string =>
  result.outcome._tag === "Success"
    ? `ok      ${result.project}: ${result.filesTransferred} file(s), ${result.bytesTransferred} byte(s), ${result.filesDeleted} deleted in ${
      Duration.format(result.duration)
    }`
    : `FAILED  ${result.project}: ${result.outcome.reason.message}`

/** Syncs every project, prints the report, and returns the completed run. */
export const nightlySync = Effect.fn("nightlySync")(function*(options: NightlySyncOptions) {
  const last = yield* syncProjects({ delete: options.delete, dryRun: options.dryRun }).pipe(
    Stream.filter(Schema.is(SyncCompleted)),
    Stream.runLast
  )
  const completed = Option.getOrElse(
    last,
    () => new SyncCompleted({ results: [], skipped: [], recorded: [], dryRun: options.dryRun })
  )
  yield* Console.log(`repoman nightly sync${completed.dryRun ? " (dry run)" : ""}`)
  for (const result of completed.results) yield* Console.log(reportLine(result))
  for (const project of completed.skipped) yield* Console.log(`skipped ${project}: backup = false`)
  const failed = completed.failed.map((r) => r.project)
  yield* Console.log(
    `${completed.results.length - failed.length} synced, ${failed.length} failed, ${completed.skipped.length} skipped`
  )
  if (failed.length > 0) return yield* new NightlySyncFailed({ failed })
  return completed
})
