/**
 * Arguments the `repoman profile` subcommands share.
 * @module
 */
import { ProfileName } from "@repoman/core/Ids"
import type { ProfileOrigin } from "@repoman/core/ProfileStore"
import * as Argument from "effect/cli/Argument"
import * as Flag from "effect/cli/Flag"

/** `NAME`: one profile name. */
export const profileName = Argument.String("name").pipe(
  Argument.withDescription("Profile name"),
  Argument.withSchema(ProfileName)
)

/** `--json`: print data as JSON instead of text. */
export const json = Flag.Boolean("json").pipe(
  Flag.withDescription("Print the result as JSON"),
  Flag.withDefault(false)
)

/** `vendor`, `user` or `plugin:<id>`. */
export const originText = (origin: ProfileOrigin): string =>
  origin._tag === "Plugin" ? `plugin:${origin.id}` : origin._tag.toLowerCase()
