/**
 * `repoman checkpoints NAME [--json]`: the checkpoints of a project's repo,
 * oldest first, each with what changed since the one before it.
 *
 * @since 0.1.0
 */
import type { ProjectName } from "@repoman/core/Ids"
import { escape } from "@repoman/core/TerminalText"
import { listCheckpoints, repoStorage } from "@repoman/programs/ProjectCheckpoints"
import { kindOf, listVolumeCheckpoints } from "@repoman/programs/VolumeCheckpoints"
import * as Command from "effect/cli/Command"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import { checkpointJson } from "../render/changes.ts"
import { age } from "../render/duration.ts"
import { bytes } from "../render/progress.ts"
import { table } from "../render/table.ts"
import { jsonFlag, projectName } from "./args.ts"

/** A volume repo's checkpoints: the engine's snapshots of the volume. */
const volumeCheckpoints = Effect.fnUntraced(function*(name: ProjectName, json: boolean) {
  const all = yield* listVolumeCheckpoints(name)
  if (json) {
    return yield* Console.log(JSON.stringify({
      project: name,
      storage: "volume",
      snapshots: all.map((s) => ({ name: s.name, kind: kindOf(s.name), created: DateTime.formatIso(s.createdAt) }))
    }))
  }
  if (all.length === 0) {
    return yield* Console.log(`${name} has no snapshots yet (one is taken before each shell, exec and run)`)
  }
  const now = yield* Clock.currentTimeMillis
  const rows = all.map((s) => [
    s.name,
    `${age((now - DateTime.toEpochMillis(s.createdAt)) / 1000)} ago`,
    kindOf(s.name)
  ])
  yield* Console.log(table(["SNAPSHOT", "TAKEN", "KIND"], rows))
  yield* Console.log(`the repo is a volume of the remote Incus: 'repoman undo ${name}' goes back to the last session's`)
})

/**
 * The `repoman checkpoints` command.
 *
 * @since 0.1.0
 */
export const checkpoints = Command.make("checkpoints", { name: projectName, json: jsonFlag }).pipe(
  Command.withDescription("List the checkpoints of a project's repo and what changed between them"),
  Command.withHandler(Effect.fnUntraced(function*({ json, name }) {
    if ((yield* repoStorage(name)) === "volume") return yield* volumeCheckpoints(name, json)
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
