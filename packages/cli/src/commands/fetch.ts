/**
 * `repoman fetch NAME [--json]`: bring the agent's commits of a sealed
 * project to the host repo, as `refs/remotes/repoman/<branch>` (see
 * `FetchAgentCommits`). Branch names come from the container: they are
 * printed escaped.
 *
 * @since 0.1.0
 */
import { escape } from "@repoman/core/TerminalText"
import { fetchAgentCommits } from "@repoman/programs/FetchAgentCommits"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { projectName } from "./args.ts"

const flags = {
  name: projectName,
  json: Flag.Boolean("json").pipe(Flag.withDescription("Print what was fetched as JSON"), Flag.withDefault(false))
}

/**
 * The `repoman fetch` command.
 *
 * @since 0.1.0
 */
export const fetch = Command.make("fetch", flags).pipe(
  Command.withDescription("Bring a sealed project's commits to the host repo as refs/remotes/repoman/*"),
  Command.withHandler(Effect.fnUntraced(function*({ name, json }) {
    const result = yield* fetchAgentCommits(name)
    if (json) return yield* Console.log(JSON.stringify(result, null, 2))
    for (const r of result.rejected) yield* Console.log(`refused ${escape(r.name)}: ${r.reason}`)
    if (result.fetched.length === 0) return yield* Console.log(`nothing new from ${name}`)
    for (const f of result.fetched) {
      const from = f.previous === null ? "new" : `${f.previous.slice(0, 12)}..${f.oid.slice(0, 12)}`
      yield* Console.log(`repoman/${escape(f.branch)}  ${from}`)
    }
    yield* Console.log(`look with 'git log repoman/<branch>'; take it with 'git merge' (nothing was checked out)`)
  }))
)
