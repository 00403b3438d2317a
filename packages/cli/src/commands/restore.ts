/**
 * `repoman restore NAME [--from backup|checkpoint] [--at TIME|GENERATION]
 * [--to DIR] [--list] [--yes] [--json]`: brings a project's repo back as a
 * backup generation (default) or a checkpoint held it.
 *
 * Into a new directory by default (beside the repo, or `--to DIR`, which
 * must not exist). Into the repo itself (`--to` the repo) only after a yes
 * (asked on a terminal, `--yes` otherwise) and after a checkpoint of the
 * repo as it is, with the container frozen meanwhile. `--list` lists what
 * there is to restore (with a ZFS backup root, its snapshots too).
 *
 * @since 0.1.0
 */
import { escape } from "@repoman/core/TerminalText"
import { repoStorage } from "@repoman/programs/ProjectCheckpoints"
import { restorable, restoreProject, restoreVolumeProject } from "@repoman/programs/RestoreProject"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Prompt from "effect/cli/Prompt"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Path from "effect/Path"
import * as Stdio from "effect/Stdio"
import { ExitCode } from "../ExitCode.ts"
import { table } from "../render/table.ts"
import { jsonFlag, projectName } from "./args.ts"

const flags = {
  name: projectName,
  from: Flag.Literals("from", ["backup", "checkpoint"]).pipe(
    Flag.withDescription("Restore a backup generation (default) or a checkpoint"),
    Flag.withDefault("backup" as const)
  ),
  at: Flag.String("at").pipe(
    Flag.withDescription("The generation or checkpoint, by name or by time (the newest at or before it)"),
    Flag.optional
  ),
  to: Flag.String("to").pipe(
    Flag.withDescription(
      "Where to (a new directory; the repo itself needs a yes). Default: beside the repo. " +
        "A volume repo: the project name its volume is restored for (default NAME-restored)"
    ),
    Flag.optional
  ),
  list: Flag.Boolean("list").pipe(Flag.withDescription("List what there is to restore"), Flag.withDefault(false)),
  yes: Flag.Boolean("yes").pipe(
    Flag.withAlias("y"),
    Flag.withDescription("Restore into the repo without asking"),
    Flag.withDefault(false)
  ),
  json: jsonFlag
}

/**
 * The `repoman restore` command.
 *
 * @since 0.1.0
 */
export const restore = Command.make("restore", flags).pipe(
  Command.withDescription("Restore a project's repo from a backup generation or a checkpoint, into a new directory"),
  Command.withHandler(Effect.fnUntraced(function*({ at, from, json, list, name, to, yes }) {
    if (list) {
      const items = yield* restorable(name, from)
      if (json) {
        return yield* Console.log(
          JSON.stringify({ project: name, from, items: items.map((i) => ({ ...i, detail: escape(i.detail) })) })
        )
      }
      if (items.length === 0) {
        return yield* Console.log(
          `${name} has nothing to restore from ${from === "backup" ? "its backup" : "checkpoints"}`
        )
      }
      return yield* Console.log(
        table(["NAME", "CREATED", "DETAIL"], items.map((i) => [i.name, i.created, escape(i.detail)]))
      )
    }
    if ((yield* repoStorage(name)) === "volume") {
      if (from === "checkpoint") {
        yield* Console.error(
          `repoman: ${name}'s checkpoints are snapshots of its volume: 'repoman undo ${name} SNAPSHOT' goes back to one`
        )
        return yield* new ExitCode({ code: 2 })
      }
      const restored = yield* restoreVolumeProject(name, {
        at: Option.getOrUndefined(at),
        as: Option.getOrUndefined(to)
      })
      if (json) {
        return yield* Console.log(JSON.stringify({ project: name, from, source: restored.source, as: restored.as }))
      }
      yield* Console.log(
        `restored backup generation ${restored.source} of ${name} as the repo volume of ${restored.as}`
      )
      return yield* Console.log(
        `'repoman new ${restored.as}' makes a container with it (${name}'s own volume is untouched)`
      )
    }
    const path = yield* Path.Path
    const target = Option.map(to, (dir) => path.resolve(dir))
    const attempt = (confirmed: boolean) =>
      restoreProject(name, {
        from,
        at: Option.getOrUndefined(at),
        to: Option.getOrUndefined(target),
        confirmed
      })
    const outcome = yield* attempt(yes).pipe(
      Effect.catchTag("RestoreError", (e) =>
        Effect.gen(function*() {
          if (e.reason._tag !== "NotConfirmed" || !(yield* (yield* Stdio.Stdio).stdinIsTerminal)) return yield* e
          const ok = yield* Prompt.Confirm({
            message: `Overwrite the repo ${e.reason.repo} (a checkpoint of it is taken first)?`,
            initial: false
          })
          if (!ok) return yield* e
          return yield* attempt(true)
        }))
    )
    if (json) {
      return yield* Console.log(JSON.stringify({ project: name, ...outcome, before: outcome.before?.id ?? null }))
    }
    const what = from === "backup" ? `backup generation ${outcome.source}` : `checkpoint ${outcome.source}`
    yield* Console.log(
      outcome.intoRepo
        ? `put the repo of ${name} back as ${what}: ${outcome.removed} removed, ${outcome.written} written (the container was ${outcome.container})`
        : `restored ${what} of ${name} into ${outcome.to} (${outcome.written} entries)`
    )
    if (outcome.before !== undefined) {
      yield* Console.log(
        `the repo as it was is checkpoint ${outcome.before.id}: 'repoman undo ${name} ${outcome.before.id}' undoes this`
      )
    }
  }))
)
