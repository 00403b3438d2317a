/**
 * `repoman profile list|install|diff|remove|show`: the profile library and
 * what of it is installed in the repoman Incus project.
 *
 * @since 0.1.0
 * @module
 */
import * as Command from "effect/cli/Command"
import { diff } from "./profile/diff.ts"
import { install } from "./profile/install.ts"
import { list } from "./profile/list.ts"
import { remove } from "./profile/remove.ts"
import { show } from "./profile/show.ts"

/**
 * The `repoman profile` command.
 *
 * @since 0.1.0
 */
export const profile = Command.make("profile").pipe(
  Command.withDescription("Manage the profile library and the profiles installed in Incus"),
  Command.withSubcommands([list, install, diff, remove, show])
)
