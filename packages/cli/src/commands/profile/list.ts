/**
 * `repoman profile list [--json]`: the library, with origin, shadowing,
 * whether each profile is installed in Incus and in sync with the library.
 *
 * @since 0.1.0
 * @module
 */
import { type ProfileStatus, profileStatuses } from "@repoman/programs/ProfileStatuses"
import * as Command from "effect/cli/Command"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { table } from "../../render/table.ts"
import { json, originText } from "./args.ts"

const syncText = (s: ProfileStatus): string =>
  s.replacedBy !== null
    ? `outdated: use ${s.replacedBy}`
    : s.problem !== null
    ? `error: ${s.problem}`
    : s.inSync === null
    ? "-"
    : s.inSync
    ? "yes"
    : "no (drifted)"

/**
 * The `repoman profile list` command.
 *
 * @since 0.1.0
 */
export const list = Command.make("list", { json }).pipe(
  Command.withDescription("List the profile library: origin, shadowing, installed, in sync"),
  Command.withHandler(Effect.fnUntraced(function*({ json: asJson }) {
    const rows = yield* profileStatuses()
    if (asJson) {
      const data = rows.map((r) => ({ ...r, origin: originText(r.origin) }))
      return yield* Console.log(JSON.stringify(data, null, 2))
    }
    if (rows.length === 0) return yield* Console.log("The profile library is empty.")
    yield* Console.log(table(
      ["NAME", "ORIGIN", "SHADOWS", "INSTALLED", "IN SYNC"],
      rows.map((r) => [r.name, originText(r.origin), r.shadows ? "yes" : "no", r.installed ? "yes" : "no", syncText(r)])
    ))
  }))
)
