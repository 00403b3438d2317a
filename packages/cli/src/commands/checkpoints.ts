/**
 * `repoman checkpoints NAME [--json]`: the checkpoints of a project's repo,
 * oldest first, each with what changed since the one before it.
 *
 * @since 0.1.0
 */
import { escape } from "@repoman/core/TerminalText"
import { listCheckpoints } from "@repoman/programs/ProjectCheckpoints"
import * as Command from "effect/cli/Command"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { checkpointJson } from "../render/changes.ts"
import { age } from "../render/duration.ts"
import { bytes } from "../render/progress.ts"
import { table } from "../render/table.ts"
import { jsonFlag, projectName } from "./args.ts"

/**
 * The `repoman checkpoints` command.
 *
 * @since 0.1.0
 */
export const checkpoints = Command.make("checkpoints", { name: projectName, json: jsonFlag }).pipe(
  Command.withDescription("List the checkpoints of a project's repo and what changed between them"),
  Command.withHandler(Effect.fnUntraced(function*({ json, name }) {
    const { checkpoints: all, root } = yield* listCheckpoints(name)
    if (json) {
      return yield* Console.log(
        JSON.stringify({ project: name, repo: root.path, checkpoints: all.map(checkpointJson) })
      )
    }
    if (all.length === 0) {
      return yield* Console.log(`${name} has no checkpoints yet (one is taken before each shell, exec and run)`)
    }
    const now = yield* Clock.currentTimeMillis
    const rows = all.map((c) => [
      c.id,
      `${age((now - Date.parse(c.created)) / 1000)} ago`,
      c.kind,
      String(c.entries),
      c.layout === "btrfs-snapshot" ? "snapshot" : `${c.copiedFiles} (${bytes(c.copiedBytes)})`,
      c.changes === undefined ? "-" : `+${c.changes.added} -${c.changes.removed} ~${c.changes.changed}`,
      escape(c.label).slice(0, 60)
    ])
    yield* Console.log(table(["ID", "TAKEN", "KIND", "ENTRIES", "COPIED", "CHANGES", "LABEL"], rows))
    yield* Console.log(
      `'repoman diff ${name}' shows what changed since the last one; 'repoman undo ${name}' goes back to it`
    )
  }))
)
