/**
 * `repoman sync [NAME] [--no-delete] [--dry-run] [--allow-deletions] [--json]`:
 * mirror the repos to the backup target, each into a new generation when it
 * changed (the summary and the JSON events name the generation).
 *
 * Output: a progress bar on a terminal (stderr), then a summary table;
 * `--json` prints one JSON object per event, one per line, instead. Exit 1
 * when any project failed (or the target refused as a whole).
 *
 * @since 0.1.0
 * @module
 */
import type { MirrorResult } from "@repoman/core/BackupTarget"
import { escape } from "@repoman/core/TerminalText"
import { type SyncCompleted, type SyncEvent, syncProjects } from "@repoman/programs/SyncProjects"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stdio from "effect/Stdio"
import * as Stream from "effect/Stream"
import { availableParallelism } from "node:os"
import { ExitCode } from "../ExitCode.ts"
import { bytes, progressLine, type ProgressState } from "../render/progress.ts"
import { table } from "../render/table.ts"
import { optionalProjectName } from "./args.ts"

const flags = {
  name: optionalProjectName("One project (default: all with backup enabled)"),
  delete: Flag.Boolean("delete").pipe(
    Flag.withDescription("Delete from the backup what is gone from the repo (--no-delete keeps it)"),
    Flag.withDefault(true)
  ),
  allowDeletions: Flag.Boolean("allow-deletions").pipe(
    Flag.withDescription("Mirror even when that deletes more of a backup than [backup] delete_guard_percent allows"),
    Flag.withDefault(false)
  ),
  dryRun: Flag.Boolean("dry-run").pipe(
    Flag.withDescription("Show what would change; change and record nothing"),
    Flag.withDefault(false)
  ),
  json: Flag.Boolean("json").pipe(
    Flag.withDescription("Print one JSON object per event, one per line"),
    Flag.withDefault(false)
  )
}

/**
 * The JSON form of an event: flat, with an `event` field, durations in ms
 * and failure reasons as `{ reason, message }`.
 *
 * @since 0.1.0
 */
export const eventJson = (event: SyncEvent): Record<string, unknown> => {
  const result = (r: MirrorResult) => ({
    project: r.project,
    outcome: r.succeeded ? "success" : "failure",
    filesTransferred: r.filesTransferred,
    bytesTransferred: r.bytesTransferred,
    filesDeleted: r.filesDeleted,
    durationMs: Duration.toMillis(r.duration),
    ...(r.generation === undefined ? {} : { generation: r.generation, newGeneration: r.newGeneration === true }),
    ...(r.outcome._tag === "Failure" ? { reason: r.outcome.reason._tag, message: r.outcome.reason.message } : {}),
    ...(r.outcome._tag === "Failure" && "previous" in r.outcome.reason && r.outcome.reason.previous !== undefined
      ? { generation: r.outcome.reason.previous, newGeneration: false }
      : {})
  })
  switch (event._tag) {
    case "SyncPlanned":
      return {
        event: event._tag,
        projects: event.projects,
        backupRoot: event.backupRoot,
        dryRun: event.dryRun,
        delete: event.delete
      }
    case "ProjectSkipped":
      return { event: event._tag, project: event.project, reason: event.reason }
    case "MirrorStarted":
      return { event: event._tag, project: event.project, path: event.path }
    case "MirrorProgressed":
      return {
        event: event._tag,
        project: event.project,
        filesTransferred: event.filesTransferred,
        bytesTransferred: event.bytesTransferred
      }
    case "MirrorFinished":
      return { event: event._tag, ...result(event.result) }
    case "SyncCompleted":
      return {
        event: event._tag,
        dryRun: event.dryRun,
        succeeded: event.results.filter((r) => r.succeeded).length,
        failed: event.failed.map((r) => r.project),
        skipped: event.skipped,
        recorded: event.recorded
      }
  }
}

/**
 * The summary table printed at the end of a run.
 *
 * @since 0.1.0
 */
export const summary = (done: SyncCompleted): string => {
  const rows = [
    ...done.results.map((r) => [
      r.project,
      r.succeeded ? (done.dryRun ? "would sync" : r.newGeneration === false ? "unchanged" : "ok") : "FAILED",
      String(r.filesTransferred),
      bytes(r.bytesTransferred),
      String(r.filesDeleted),
      `${(Duration.toMillis(r.duration) / 1000).toFixed(1)} s`,
      r.generation ?? "-",
      // rsync's words and repoman's refusals quote file names from the repo.
      r.outcome._tag === "Failure" ? escape(r.outcome.reason.message) : ""
    ]),
    ...done.skipped.map((p) => [p, "skipped", "-", "-", "-", "-", "-", "backup = false"])
  ]
  const ok = done.results.length - done.failed.length
  const totals = `${ok} ${
    done.dryRun ? "would sync" : "synced"
  }, ${done.failed.length} failed, ${done.skipped.length} skipped`
  const header = done.dryRun ? "dry run: nothing was changed and nothing recorded\n" : ""
  return `${header}${
    table(["PROJECT", "RESULT", "FILES", "BYTES", "DELETED", "TIME", "GENERATION", "DETAIL"], rows)
  }\n${totals}`
}

/** Renders the events: JSON lines, or a throttled progress bar on stderr when it is a terminal. */
const renderer = (json: boolean) =>
  Effect.gen(function*() {
    const stdio = yield* Stdio.Stdio
    const bar = !json && (yield* stdio.stderrIsTerminal)
    const write = (text: string) =>
      Stream.run(Stream.make(text), stdio.stderr({ endOnDone: false })).pipe(Effect.ignore)
    const perProject = new Map<string, { files: number; bytes: number }>()
    let state: ProgressState = { projectsDone: 0, projectsTotal: 0, files: 0, bytes: 0, failed: 0 }
    let drawnAt = 0
    const draw = (force: boolean) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        if (!bar || (!force && now - drawnAt < 100)) return
        drawnAt = now
        yield* write(`\r${progressLine(state)}\x1b[K`)
      })
    const onEvent = (event: SyncEvent) =>
      Effect.gen(function*() {
        if (json) return yield* Console.log(JSON.stringify(eventJson(event)))
        if (event._tag === "SyncPlanned") state = { ...state, projectsTotal: event.projects.length }
        if (event._tag === "MirrorProgressed") {
          const before = perProject.get(event.project) ?? { files: 0, bytes: 0 }
          perProject.set(event.project, { files: event.filesTransferred, bytes: event.bytesTransferred })
          state = {
            ...state,
            files: state.files + event.filesTransferred - before.files,
            bytes: state.bytes + event.bytesTransferred - before.bytes
          }
        }
        if (event._tag === "MirrorFinished") {
          state = {
            ...state,
            projectsDone: state.projectsDone + 1,
            failed: state.failed + (event.result.succeeded ? 0 : 1)
          }
        }
        yield* draw(event._tag === "MirrorFinished" || event._tag === "SyncPlanned")
      })
    const clear = bar ? write("\r\x1b[K") : Effect.void
    return { onEvent, clear }
  })

/**
 * The `repoman sync` command.
 *
 * @since 0.1.0
 */
export const sync = Command.make("sync", flags).pipe(
  Command.withDescription("Mirror the repos to the backup target (rsync to the backup root by default)"),
  Command.withHandler(Effect.fnUntraced(function*({ allowDeletions, name, delete: del, dryRun, json }) {
    const { clear, onEvent } = yield* renderer(json)
    const options = {
      name: Option.getOrUndefined(name),
      delete: del,
      dryRun,
      allowDeletions,
      concurrency: availableParallelism()
    }
    const last = yield* syncProjects(options).pipe(
      Stream.tap(onEvent),
      Stream.runLast,
      Effect.ensuring(clear),
      Effect.tapError((e) =>
        json ? Console.log(JSON.stringify({ event: "SyncFailed", message: e.message })) : Effect.void
      )
    )
    const done = Option.filter(last, (e): e is SyncCompleted => e._tag === "SyncCompleted")
    if (Option.isNone(done)) return yield* new ExitCode({ code: 1 })
    if (!json) yield* Console.log(summary(done.value))
    if (done.value.failed.length > 0) return yield* new ExitCode({ code: 1 })
  }))
)
