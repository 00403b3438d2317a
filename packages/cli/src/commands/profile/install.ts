/**
 * `repoman profile install NAME... [--allow-sensitive] [--json]`: render
 * profiles, check them, allow their host sources in the project, put them.
 *
 * @since 0.1.0
 */
import { ProfileName } from "@repoman/core/Ids"
import { installProfiles } from "@repoman/core/ProfileInstall"
import * as Argument from "effect/cli/Argument"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { json } from "./args.ts"

const flags = {
  json,
  allowSensitive: Flag.Boolean("allow-sensitive").pipe(
    Flag.withDescription("Install even when a source exposes credentials, a browser profile, a shell rc file or ~"),
    Flag.withDefault(false)
  ),
  names: Argument.String("name").pipe(
    Argument.withDescription("Profiles to install"),
    Argument.withSchema(ProfileName),
    Argument.atLeast(1)
  )
}

/**
 * The `repoman profile install` command.
 *
 * @since 0.1.0
 */
export const install = Command.make("install", flags).pipe(
  Command.withDescription("Render profiles from the library and install them into the repoman Incus project"),
  Command.withHandler(Effect.fnUntraced(function*({ names, allowSensitive, json: asJson }) {
    const result = yield* installProfiles(names, { allowSensitive })
    for (const p of result.profiles) {
      for (const e of p.exposures) yield* Console.error(`warning: ${p.name} exposes ${e.path}: ${e.exposes}`)
    }
    if (asJson) return yield* Console.log(JSON.stringify(result, null, 2))
    for (const p of result.profiles) {
      const sources = p.sources.length === 0 ? "no host sources" : `shares ${p.sources.join(", ")}`
      yield* Console.log(`installed ${p.name} (${sources})`)
    }
    if (result.addedPaths.length > 0) {
      yield* Console.log(`allowed in the project's disk paths: ${result.addedPaths.join(", ")}`)
    }
  }))
)
