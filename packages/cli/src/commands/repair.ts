/**
 * `repoman repair NAME [--accept-git]`: give a project's repo back to you
 * (files container root chowned or locked away, see `Ownership`); with
 * `--accept-git`, also take the host `.git` as it is now as the seal's
 * reference, after `status` listed changes you made yourself.
 *
 * @since 0.1.0
 */
import { escape } from "@repoman/core/TerminalText"
import { ownershipProblem, repairProject } from "@repoman/programs/Ownership"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { ExitCode } from "../ExitCode.ts"
import { projectName } from "./args.ts"

const flags = {
  name: projectName,
  acceptGit: Flag.Boolean("accept-git").pipe(
    Flag.withDescription("Also record the host .git as it is now (changes status reported that you made)"),
    Flag.withDefault(false)
  )
}

/**
 * The `repoman repair` command.
 *
 * @since 0.1.0
 */
export const repair = Command.make("repair", flags).pipe(
  Command.withDescription("Give every file of a project's repo back to you (chown through the container)"),
  Command.withHandler(Effect.fnUntraced(function*({ name, acceptGit }) {
    const { acceptedGitChanges, scan } = yield* repairProject(name, { acceptGit })
    for (const change of acceptedGitChanges) yield* Console.log(`recorded as yours: ${escape(change)}`)
    const left = ownershipProblem(name, scan)
    if (Option.isSome(left)) {
      yield* Console.error(`repoman: still not yours after the repair: ${escape(left.value)}`)
      return yield* new ExitCode({ code: 1 })
    }
    yield* Console.log(`every one of the ${scan.entries} entries under the repo is yours again`)
  }))
)
