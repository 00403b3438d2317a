/**
 * `repoman diff NAME [--since CHECKPOINT] [--until CHECKPOINT] [--json]`:
 * what changed in the repo since a checkpoint (default: the newest, taken
 * before the last session), one line per path, names escaped for the
 * terminal.
 *
 * @since 0.1.0
 */
import { diffProject, repoStorage } from "@repoman/programs/ProjectCheckpoints"
import * as Command from "effect/cli/Command"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { ExitCode } from "../ExitCode.ts"
import { changeJson, changeLine, changeSummary } from "../render/changes.ts"
import { checkpointFlagOf, jsonFlag, projectName } from "./args.ts"

const flags = {
  name: projectName,
  since: checkpointFlagOf("since", "Compare with this checkpoint (default: the newest)"),
  until: checkpointFlagOf("until", "Compare up to this checkpoint (default: the repo as it is now)"),
  json: jsonFlag
}

/**
 * The `repoman diff` command.
 *
 * @since 0.1.0
 */
export const diff = Command.make("diff", flags).pipe(
  Command.withDescription("Show what changed in a project's repo since a checkpoint (the last session, by default)"),
  Command.withHandler(Effect.fnUntraced(function*({ json, name, since, until }) {
    if ((yield* repoStorage(name)) === "volume") {
      yield* Console.error(
        `repoman: ${name}'s repo is a volume of the remote Incus: diff compares trees on this host ` +
          `('repoman pull ${name} DIR' brings it here; 'repoman checkpoints ${name}' lists its snapshots)`
      )
      return yield* new ExitCode({ code: 2 })
    }
    const result = yield* diffProject(name, {
      since: Option.getOrUndefined(since),
      until: Option.getOrUndefined(until)
    })
    if (json) {
      return yield* Console.log(JSON.stringify({
        project: name,
        since: result.since,
        until: result.until ?? null,
        changes: result.changes.map(changeJson)
      }))
    }
    for (const change of result.changes) yield* Console.log(changeLine(change))
    yield* Console.log(
      `${changeSummary(result.changes)} since checkpoint ${result.since}${
        result.until === undefined ? "" : ` up to ${result.until}`
      }`
    )
  }))
)
