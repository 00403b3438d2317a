/**
 * `repoman profile show NAME`: the profile rendered for this host, as YAML.
 *
 * @since 0.1.0
 * @module
 */
import { formatProfile } from "@repoman/profiles/ProfileYaml"
import { renderProfile } from "@repoman/programs/ProfileStatuses"
import * as Command from "effect/cli/Command"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { json, profileName } from "./args.ts"

/**
 * The `repoman profile show` command.
 *
 * @since 0.1.0
 */
export const show = Command.make("show", { name: profileName, json }).pipe(
  Command.withDescription("Print a library profile rendered for this host"),
  Command.withHandler(Effect.fnUntraced(function*({ name, json: asJson }) {
    const spec = yield* renderProfile(name)
    yield* Console.log(asJson ? JSON.stringify(spec, null, 2) : formatProfile(spec).trimEnd())
  }))
)
