/**
 * `repoman profile diff NAME`: a unified diff from the installed profile to
 * the rendered library version. Exit 0 when equal, 1 when different (like
 * diff(1)); a profile that is not installed differs from everything.
 *
 * @since 0.1.0
 * @module
 */
import { formatProfile } from "@repoman/profiles/ProfileYaml"
import { unifiedDiff } from "@repoman/profiles/UnifiedDiff"
import { compareProfile } from "@repoman/programs/ProfileStatuses"
import * as Command from "effect/cli/Command"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { ExitCode } from "../../ExitCode.ts"
import { profileName } from "./args.ts"

/**
 * The `repoman profile diff` command.
 *
 * @since 0.1.0
 */
export const diff = Command.make("diff", { name: profileName }).pipe(
  Command.withDescription("Show how the installed profile differs from the library (exit 1 when it does)"),
  Command.withHandler(Effect.fnUntraced(function*({ name }) {
    const comparison = yield* compareProfile(name)
    if (comparison.equal) return
    const installed = Option.match(comparison.installed, { onNone: () => "", onSome: formatProfile })
    const text = unifiedDiff(
      { name: Option.isSome(comparison.installed) ? `incus/${name}` : "/dev/null (not installed)", text: installed },
      { name: `library/${name}`, text: formatProfile(comparison.library) }
    )
    yield* Console.log(text.trimEnd())
    return yield* new ExitCode({ code: 1 })
  }))
)
