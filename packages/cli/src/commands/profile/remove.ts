/**
 * `repoman profile remove NAME`: delete an installed profile, refused while
 * containers use it or when it is not the user's; the host paths the project
 * allowed only for it are taken back. Never touches host files.
 *
 * @since 0.1.0
 * @module
 */
import { removeProfile } from "@repoman/programs/ProfileRemove"
import * as Command from "effect/cli/Command"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { profileName } from "./args.ts"

/**
 * The `repoman profile remove` command.
 *
 * @since 0.1.0
 */
export const remove = Command.make("remove", { name: profileName }).pipe(
  Command.withDescription("Delete a profile from the repoman Incus project (host files stay)"),
  Command.withHandler(Effect.fnUntraced(function*({ name }) {
    const { disallowed } = yield* removeProfile(name)
    yield* Console.log(`removed profile ${name} from Incus; no host file was touched`)
    if (disallowed.length > 0) {
      yield* Console.log(`no longer allowed in the project's disk paths: ${disallowed.join(", ")}`)
    }
  }))
)
