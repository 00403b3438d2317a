/**
 * `repoman remove NAME [--yes] [--keep-incus]`: destroy the container (or
 * only unmanage it), never the repo. Prints exactly what goes first.
 *
 * @since 0.1.0
 * @module
 */
import { planRemoval, type RemovalPlan, removeProject } from "@repoman/programs/RemoveProject"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Prompt from "effect/cli/Prompt"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stdio from "effect/Stdio"
import { ExitCode } from "../ExitCode.ts"
import { projectName } from "./args.ts"
import { sshLines } from "./sshConfig.ts"

const flags = {
  name: projectName,
  yes: Flag.Boolean("yes").pipe(Flag.withAlias("y"), Flag.withDescription("Do not ask"), Flag.withDefault(false)),
  keepIncus: Flag.Boolean("keep-incus").pipe(
    Flag.withDescription("Keep the container; only drop the project from the registry"),
    Flag.withDefault(false)
  )
}

const describe = (plan: RemovalPlan): string =>
  [
    Option.isSome(plan.project)
      ? `This removes project ${plan.name}:`
      : `${plan.name} is not in the registry, but repoman made its container (a 'new' that did not finish). This removes:`,
    ...Option.match(plan.container, {
      onNone: () => [
        plan.keepIncus
          ? `  - the registry entry only; container ${plan.name} stays in Incus project ${plan.namespace}`
          : `  - the registry entry (its container is already gone)`
      ],
      onSome: (c) => [
        `  - container ${plan.name} (${c.status}) in Incus project ${plan.namespace}, stopped and deleted`,
        ...Option.toArray(c.repo).map((r) =>
          r._tag === "HostPath"
            ? `    with the repo ${r.source} mounted${r.readOnly ? " read-only" : ""}`
            : `    with the repo volume at ${r.path} (kept)`
        ),
        ...c.mounts.map((m) => `    with mount ${m.name}: ${m.source}${m.readOnly ? " (read-only)" : ""}`),
        ...(Option.isSome(plan.project) ? [`  - the registry entry`] : [])
      ]
    }),
    ...Option.match(plan.gitDir, {
      onNone: () => [],
      onSome: (dir) => [`  - its sealed gitdir ${dir} (commits not brought over with 'repoman fetch' are lost)`]
    }),
    ...sshLines(plan.name, plan.ssh),
    `The repo at ${plan.repoPath} is not touched.`
  ].join("\n")

/**
 * The `repoman remove` command.
 *
 * @since 0.1.0
 */
export const remove = Command.make("remove", flags).pipe(
  Command.withDescription("Delete a project's container; never its repo"),
  Command.withHandler(Effect.fnUntraced(function*({ name, yes, keepIncus }) {
    const plan = yield* planRemoval(name, { keepIncus })
    yield* Console.log(describe(plan))
    if (!yes) {
      if (!(yield* (yield* Stdio.Stdio).stdinIsTerminal)) {
        yield* Console.error("repoman: not removing without confirmation: pass --yes")
        return yield* new ExitCode({ code: 1 })
      }
      if (!(yield* Prompt.Confirm({ message: `Remove ${name}?`, initial: false }))) return
    }
    yield* removeProject(plan)
    yield* Console.log(`removed ${name}`)
  }))
)
