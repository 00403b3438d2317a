/**
 * `repoman patches NAME [--apply]`: list the patches a hermetic project's
 * container left in its patches dir, or apply them to the host repo with
 * `git am` (refused when the host tree is dirty).
 *
 * @since 0.1.0
 * @module
 */
import { applyPatches, listPatches } from "@repoman/programs/Hermetic"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { projectName } from "./args.ts"

const flags = {
  name: projectName,
  apply: Flag.Boolean("apply").pipe(
    Flag.withDescription("Apply them to the host repo with git am (the tree must be clean)"),
    Flag.withDefault(false)
  )
}

/**
 * The `repoman patches` command.
 *
 * @since 0.1.0
 */
export const patches = Command.make("patches", flags).pipe(
  Command.withDescription("List (or --apply) the patches a hermetic project's container exported"),
  Command.withHandler(Effect.fnUntraced(function*({ name, apply }) {
    if (apply) {
      const applied = yield* applyPatches(name)
      return yield* Console.log(applied.length === 0 ? "no patches to apply" : `applied ${applied.join(", ")}`)
    }
    const { dir, patches: waiting } = yield* listPatches(name)
    yield* Console.log(waiting.length === 0 ? `no patches in ${dir}` : waiting.map((p) => `${dir}/${p}`).join("\n"))
  }))
)
