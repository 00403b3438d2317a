/**
 * `repoman list [--json]`: the managed projects with their live state.
 *
 * @since 0.1.0
 * @module
 */
import { formatLimits } from "@repoman/core/ResourceLimits"
import { listProjects, type ProjectRow } from "@repoman/programs/ListProjects"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { table } from "../render/table.ts"

const json = Flag.Boolean("json").pipe(
  Flag.withDescription("Print the projects as a JSON array"),
  Flag.withDefault(false)
)

const render = (rows: ReadonlyArray<ProjectRow>) =>
  table(
    ["NAME", "STATE", "REPO", "IMAGE", "CREATED", "LAST SYNC", "BACKUP", "LIMITS"],
    rows.map((r) => [
      r.name,
      r.kind === "managed" || r.kind === "missing" ? r.state : `${r.state} (${r.kind})`,
      r.repoPath ?? "-",
      r.image ?? "-",
      r.created ?? "-",
      r.kind === "managed" || r.kind === "missing" ? r.lastSync ?? "never" : "-",
      r.backup === null ? "-" : r.backup ? "yes" : "no",
      r.limits === null ? "-" : formatLimits(r.limits)
    ])
  )

/**
 * The `repoman list` command.
 *
 * @since 0.1.0
 */
export const list = Command.make("list", { json }).pipe(
  Command.withDescription("List the managed projects with their container state"),
  Command.withHandler(Effect.fnUntraced(function*({ json: asJson }) {
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
  }))
)
