/**
 * `repoman pull NAME DIR` and `repoman push NAME DIR`: move a tree between
 * a host directory and the repo of a project whose repo lives in a storage
 * volume of a remote Incus (see `RepoTransfer`). Names from the container
 * are printed escaped.
 *
 * @since 0.1.0
 */
import { pullProject, pushProject, type TransferResult } from "@repoman/programs/RepoTransfer"
import * as Argument from "effect/cli/Argument"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Path from "effect/Path"
import { projectName } from "./args.ts"

const flags = {
  name: projectName,
  dir: Argument.String("dir").pipe(Argument.withDescription("The host directory")),
  json: Flag.Boolean("json").pipe(Flag.withDescription("Print what was copied as JSON"), Flag.withDefault(false))
}

const report = (verb: string, dir: string, result: TransferResult, json: boolean, extra: object = {}) =>
  Effect.gen(function*() {
    if (json) return yield* Console.log(JSON.stringify({ ...result, ...extra }, null, 2))
    yield* Console.log(
      `${verb} ${dir}: ${result.files} files, ${result.directories} directories, ${result.symlinks} symlinks, ` +
        `${result.bytes} bytes`
    )
    for (const s of result.skipped) yield* Console.log(`skipped ${s.path}: ${s.reason}`)
  })

/**
 * The `repoman pull` command.
 *
 * @since 0.1.0
 */
export const pull = Command.make("pull", flags).pipe(
  Command.withDescription("Copy a remote project's repo volume into a new host directory (never its .git)"),
  Command.withHandler(Effect.fnUntraced(function*({ dir, json, name }) {
    const target = (yield* Path.Path).resolve(dir)
    const result = yield* pullProject(name, target)
    yield* report("pulled into", target, result, json)
  }))
)

/**
 * The `repoman push` command.
 *
 * @since 0.1.0
 */
export const push = Command.make("push", flags).pipe(
  Command.withDescription("Copy a host directory into a remote project's repo volume (a snapshot is taken first)"),
  Command.withHandler(Effect.fnUntraced(function*({ dir, json, name }) {
    const source = (yield* Path.Path).resolve(dir)
    const { snapshot, ...result } = yield* pushProject(name, source)
    yield* report("pushed", source, result, json, { snapshot })
    if (!json) yield* Console.log(`the volume as it was before: snapshot ${snapshot}`)
  }))
)
