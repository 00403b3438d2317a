/**
 * `repoman undo NAME [CHECKPOINT] [--json]`: puts the repo back as a
 * checkpoint holds it (default: the newest taken before a session), with the
 * container frozen meanwhile. A checkpoint of the state before is taken
 * first; the output names it, so the undo can be undone.
 *
 * @since 0.1.0
 */
import { CheckpointId } from "@repoman/core/Checkpoints"
import { displayBytes } from "@repoman/core/TerminalText"
import { undoProject } from "@repoman/programs/ProjectCheckpoints"
import * as Argument from "effect/cli/Argument"
import * as Command from "effect/cli/Command"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { jsonFlag, projectName } from "./args.ts"

const flags = {
  name: projectName,
  checkpoint: Argument.String("checkpoint").pipe(
    Argument.withDescription("The checkpoint to go back to (default: the newest taken before a session)"),
    Argument.withSchema(CheckpointId),
    Argument.optional
  ),
  json: jsonFlag
}

const containerLine = (container: string, name: string): string => {
  switch (container) {
    case "frozen":
      return `${name} was frozen while the repo was written, and thawed after`
    case "frozen-already":
      return `${name} was frozen already, and stays so`
    case "stopped":
      return `${name} is stopped: nothing could write meanwhile`
    default:
      return `${name} has no container`
  }
}

/**
 * The `repoman undo` command.
 *
 * @since 0.1.0
 */
export const undo = Command.make("undo", flags).pipe(
  Command.withDescription("Put a project's repo back as a checkpoint holds it (the last session's, by default)"),
  Command.withHandler(Effect.fnUntraced(function*({ checkpoint, json, name }) {
    const { quiesced, result } = yield* undoProject(name, Option.getOrUndefined(checkpoint))
    const { applied } = result
    if (json) {
      return yield* Console.log(JSON.stringify({
        project: name,
        target: result.target ?? null,
        before: result.before.id,
        container: quiesced.container,
        removed: applied.removed,
        written: applied.written,
        dirsFixed: applied.dirsFixed,
        leftAloneCount: applied.leftAloneCount,
        ...(quiesced.thawFailed === undefined ? {} : { warning: quiesced.thawFailed })
      }))
    }
    yield* Console.log(
      `put ${name} back as checkpoint ${result.target}: ${applied.removed} removed, ${applied.written} written, ${applied.dirsFixed} directories set`
    )
    yield* Console.log(containerLine(quiesced.container, name))
    if (applied.leftAloneCount > 0) {
      yield* Console.log(
        `left alone (content not kept, or not repoman's to change): ${applied.leftAloneCount}, e.g. ${
          applied.leftAlone.slice(0, 3).map(displayBytes).join(", ")
        }`
      )
    }
    if (quiesced.thawFailed !== undefined) yield* Console.error(`warning: ${quiesced.thawFailed}`)
    yield* Console.log(
      `the state before is checkpoint ${result.before.id}: 'repoman undo ${name} ${result.before.id}' undoes this`
    )
  }))
)
