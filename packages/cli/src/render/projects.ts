/**
 * What `repoman list` prints: the projects as a table (or a JSON array with
 * `--json`), and the warnings about them on stderr. Shared by the command
 * and the fast path of `bin.ts` (no CLI framework here).
 */
import { formatLimits } from "@repoman/core/ResourceLimits"
import { escape } from "@repoman/core/TerminalText"
import { listProjects, type ProjectRow } from "@repoman/programs/ListProjects"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { table } from "./table.ts"

/**
 * The table. On a cluster (some container has a member) a MEMBER column
 * says where each runs; on one machine the table is as it always was.
 */
const render = (rows: ReadonlyArray<ProjectRow>) => {
  const clustered = rows.some((r) => r.location !== null)
  const member = (r: ProjectRow) => clustered ? [r.location === null ? "-" : escape(r.location)] : []
  return table(
    ["NAME", "STATE", ...(clustered ? ["MEMBER"] : []), "REPO", "IMAGE", "CREATED", "LAST SYNC", "BACKUP", "LIMITS"],
    rows.map((r) => [
      r.name,
      r.kind === "managed" || r.kind === "missing" ? r.state : `${r.state} (${r.kind})`,
      ...member(r),
      r.repoPath ?? "-",
      r.image ?? "-",
      r.created ?? "-",
      r.kind === "managed" || r.kind === "missing" ? r.lastSync ?? "never" : "-",
      r.backup === null ? "-" : r.backup ? "yes" : "no",
      r.limits === null ? "-" : formatLimits(r.limits)
    ])
  )
}

/** Lists the projects: a table, or JSON when `asJson`. */
export const printProjects = Effect.fnUntraced(function*(asJson: boolean) {
  const result = yield* listProjects.pipe(
    Effect.catchReason("RegistryError", "NotInitialized", (r) => Effect.succeed(r.path))
  )
  if (typeof result === "string") {
    if (asJson) return yield* Console.log("[]")
    return yield* Console.error(`No projects yet: there is no registry at ${result}. Run 'repoman setup'.`)
  }
  if (result.warning !== null) yield* Console.error(`warning: ${result.warning}`)
  const listed = result.rows
  for (const o of result.orphans) {
    yield* Console.error(`warning: ${o.path} overrides project ${o.name}, which is not registered`)
  }
  if (asJson) return yield* Console.log(JSON.stringify(listed, null, 2))
  if (listed.length === 0) return yield* Console.log("No projects. Create one with 'repoman new NAME'.")
  yield* Console.log(render(listed))
  for (const r of listed.filter((row) => row.kind === "unregistered")) {
    yield* Console.error(
      `note: repoman made ${r.name} but it is not registered (a 'new' that did not finish); ` +
        `'repoman remove ${r.name}' deletes the container`
    )
  }
})
