/**
 * `repoman patches NAME [--apply]`: list the patches a hermetic project's
 * container left in its patches dir, or apply them to the host repo with
 * `git am` (refused when the host tree is dirty). The names are the
 * container's: they are printed escaped, and entries that are not regular
 * files (a symlink, a FIFO) are listed as refused, never followed.
 *
 * @since 0.1.0
 * @module
 */
import { escape } from "@repoman/core/TerminalText"
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
      return yield* Console.log(
        applied.length === 0 ? "no patches to apply" : `applied ${applied.map(escape).join(", ")}`
      )
    }
    const { dir, patches: waiting, refused } = yield* listPatches(name)
    for (const r of refused) yield* Console.log(`refused ${dir}/${escape(r.name)}: ${r.reason}`)
    yield* Console.log(
      waiting.length === 0 ? `no patches in ${dir}` : waiting.map((p) => `${dir}/${escape(p)}`).join("\n")
    )
  }))
)
