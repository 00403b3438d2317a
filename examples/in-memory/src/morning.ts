/**
 * Your own automation, written against repoman's service interfaces: the
 * morning routine starts every stopped project container and backs up the
 * projects that were never synced.
 *
 * Nothing here names Incus, rsync or the registry file: `main.ts` runs it on
 * `RepomanLive`, the test on the memory layers of `MemoryStack.ts`.
 */
import { ContainerRuntime } from "@repoman/core/ContainerRuntime"
import { Registry } from "@repoman/core/Registry"
import { listProjects } from "@repoman/programs/ListProjects"
import { SyncCompleted, syncProjects } from "@repoman/programs/SyncProjects"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"

/** What the routine did. */
export interface MorningReport {
  /** The containers it started. */
  readonly started: ReadonlyArray<string>
  /** The projects it backed up for the first time. */
  readonly backedUp: ReadonlyArray<string>
}

/** Starts the stopped project containers, backs up the never-synced projects, and prints what it did. */
export const morning = Effect.gen(function*() {
  const runtime = yield* ContainerRuntime
  const registry = yield* Registry
  const { rows } = yield* listProjects
  const document = yield* registry.load
  const stopped = new Set(rows.filter((r) => r.kind === "managed" && r.state === "Stopped").map((r) => r.name))
  const toStart = document.projects.filter((p) => stopped.has(p.name))
  for (const project of toStart) {
    yield* runtime.start(project.name)
    yield* Console.log(`started ${project.name}`)
  }
  const neverSynced = document.projects.filter((p) => p.backup && p.lastSync === undefined)
  const backedUp: Array<string> = []
  for (const project of neverSynced) {
    const completed = yield* syncProjects({ name: project.name, delete: false, dryRun: false }).pipe(
      Stream.filter(Schema.is(SyncCompleted)),
      Stream.runLast
    )
    const ok = Option.exists(completed, (c) => c.failed.length === 0 && c.recorded.length > 0)
    if (ok) backedUp.push(project.name)
    yield* Console.log(ok ? `backed up ${project.name}` : `backup of ${project.name} FAILED`)
  }
  return { started: toStart.map((p) => p.name), backedUp } satisfies MorningReport
})
