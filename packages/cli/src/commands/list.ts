/**
 * `repoman list [--json]`: the managed projects with their live state.
 *
 * @since 0.1.0
 * @module
 */
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import { printProjects } from "../render/projects.ts"

const json = Flag.Boolean("json").pipe(
  Flag.withDescription("Print the projects as a JSON array"),
  Flag.withDefault(false)
)

/**
 * The `repoman list` command.
 *
 * @since 0.1.0
 */
export const list = Command.make("list", { json }).pipe(
  Command.withDescription("List the managed projects with their container state"),
  Command.withHandler(({ json: asJson }) => printProjects(asJson))
)
