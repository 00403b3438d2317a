/**
 * `repoman uninstall [--yes] [--purge-registry]`: remove every Incus object
 * repoman made, and its Incus project once empty, with the registry entries
 * of the containers it deletes. Never a repo; the registry file only with
 * --purge-registry. Prints exactly what goes first; with nothing to remove
 * it says so and succeeds.
 *
 * @since 0.1.0
 * @module
 */
import { isEmptyPlan, planUninstall, uninstall as runUninstall, type UninstallPlan } from "@repoman/programs/Uninstall"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Prompt from "effect/cli/Prompt"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stdio from "effect/Stdio"
import { ExitCode } from "../ExitCode.ts"
import { sshLines } from "./sshConfig.ts"

const flags = {
  yes: Flag.Boolean("yes").pipe(Flag.withAlias("y"), Flag.withDescription("Do not ask"), Flag.withDefault(false)),
  purgeRegistry: Flag.Boolean("purge-registry").pipe(
    Flag.withDescription("Also delete the registry file (repoman.toml)"),
    Flag.withDefault(false)
  )
}

const describe = (plan: UninstallPlan): string =>
  [
    `This removes from Incus project ${plan.namespace}:`,
    ...(plan.namespaceExists ? [] : [`  - nothing: the project does not exist`]),
    ...plan.managed.instances.map((i) => `  - container ${i}, stopped and deleted`),
    ...plan.registryEntries.map((p) => `  - the registry entry of ${p}`),
    ...plan.sealedGitDirs.map((d) =>
      `  - the sealed gitdir ${d} (commits not brought over with 'repoman fetch' are lost)`
    ),
    ...plan.managed.profiles.map((p) => `  - profile ${p}`),
    ...(plan.deleteNamespace ? [`  - the Incus project ${plan.namespace} itself`] : []),
    ...plan.ssh.flatMap(({ access, name }) => sshLines(name, access)),
    ...(plan.foreign.length === 0 ? [] : [
      `These stay, and so does the Incus project: ${plan.foreign.join(", ")}.`
    ]),
    ...Option.match(plan.namespaceKept, {
      onNone: () => [],
      onSome: (why) => [`The Incus project ${plan.namespace} stays: ${why}.`]
    }),
    Option.match(plan.registryFile, {
      onNone: () => "The registry is kept. No repo is touched.",
      onSome: (file) => `  - the registry file ${file}\nNo repo is touched.`
    })
  ].join("\n")

/**
 * The `repoman uninstall` command.
 *
 * @since 0.1.0
 */
export const uninstall = Command.make("uninstall", flags).pipe(
  Command.withDescription("Remove every Incus object repoman made; never a repo, the registry only if asked"),
  Command.withHandler(Effect.fnUntraced(function*({ yes, purgeRegistry }) {
    const plan = yield* planUninstall({ purgeRegistry })
    if (isEmptyPlan(plan)) {
      yield* Console.log(
        plan.namespaceExists
          ? `Nothing to remove: repoman has nothing of yours in Incus project ${plan.namespace}.`
          : `Nothing to remove: Incus project ${plan.namespace} does not exist.`
      )
      return
    }
    yield* Console.log(describe(plan))
    if (!yes) {
      if (!(yield* (yield* Stdio.Stdio).stdinIsTerminal)) {
        yield* Console.error("repoman: not uninstalling without confirmation: pass --yes")
        return yield* new ExitCode({ code: 1 })
      }
      if (!(yield* Prompt.Confirm({ message: "Uninstall?", initial: false }))) return
    }
    const namespaceDeleted = yield* runUninstall(plan)
    yield* Console.log(namespaceDeleted ? "uninstalled" : `uninstalled; Incus project ${plan.namespace} kept`)
  }))
)
