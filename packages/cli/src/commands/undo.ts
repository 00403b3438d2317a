/**
 * `repoman undo NAME [CHECKPOINT] [--json]`: puts the repo back as a
 * checkpoint holds it (default: the newest taken before a session), with the
 * container frozen meanwhile. A checkpoint of the state before is taken
 * first; the output names it, so the undo can be undone.
 *
 * @since 0.1.0
 */
import { CheckpointId } from "@repoman/core/Checkpoints"
import { displayBytes, escape } from "@repoman/core/TerminalText"
import { repoStorage, undoProject } from "@repoman/programs/ProjectCheckpoints"
import { undoVolume } from "@repoman/programs/VolumeCheckpoints"
import * as Argument from "effect/cli/Argument"
import * as Command from "effect/cli/Command"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { ExitCode } from "../ExitCode.ts"
import { jsonFlag, projectName } from "./args.ts"

const flags = {
  name: projectName,
  checkpoint: Argument.String("checkpoint").pipe(
    Argument.withDescription(
      "The checkpoint to go back to (default: the newest taken before a session); a snapshot name for a volume repo"
    ),
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
    if ((yield* repoStorage(name)) === "volume") {
      const { before, target } = yield* undoVolume(name, Option.getOrUndefined(checkpoint))
      if (json) return yield* Console.log(JSON.stringify({ project: name, target, before, storage: "volume" }))
      yield* Console.log(`put ${name}'s repo volume back as snapshot ${target}`)
      return yield* Console.log(
        `the state before is snapshot ${before}: 'repoman undo ${name} ${before}' undoes this`
      )
    }
    const id = Option.isNone(checkpoint) ? undefined : Schema.decodeUnknownOption(CheckpointId)(checkpoint.value)
    if (id !== undefined && Option.isNone(id)) {
      yield* Console.error(
        `repoman: ${escape(String(Option.getOrUndefined(checkpoint)))} is not a checkpoint id ` +
          `(they look like 20260501T101502.123Z-k3v9: see 'repoman checkpoints ${name}')`
      )
      return yield* new ExitCode({ code: 2 })
    }
    const { quiesced, result } = yield* undoProject(name, id === undefined ? undefined : id.value)
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
