/**
 * The `repoman` command tree and how it reports failures.
 *
 * Exit codes: 0 success, 1 the operation failed, 2 usage error. Every
 * failure prints one clear line to stderr (no stack trace for a user
 * mistake); `--help` prints help on stdout.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as CliError from "effect/cli/CliError"
import * as CliOutput from "effect/cli/CliOutput"
import * as Command from "effect/cli/Command"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { checkpoints } from "./commands/checkpoints.ts"
import { diff } from "./commands/diff.ts"
import { exec } from "./commands/exec.ts"
import { list } from "./commands/list.ts"
import { newCommand } from "./commands/new.ts"
import { patches } from "./commands/patches.ts"
import { profile } from "./commands/profile.ts"
import { remove } from "./commands/remove.ts"
import { restore } from "./commands/restore.ts"
import { run as runCommand } from "./commands/run.ts"
import { setup } from "./commands/setup.ts"
import { shell } from "./commands/shell.ts"
import { sshConfig } from "./commands/sshConfig.ts"
import { status } from "./commands/status.ts"
import { sync } from "./commands/sync.ts"
import { undo } from "./commands/undo.ts"
import { uninstall } from "./commands/uninstall.ts"
import { ExitCode } from "./ExitCode.ts"

export { ExitCode }
import { version } from "@repoman/core/Version"

/**
 * The root command.
 *
 * @since 0.1.0
 * @category cli
 */
export const command = Command.make("repoman").pipe(
  Command.withDescription("Run AI coding agents in per-project Incus containers, with backups"),
  Command.withSubcommands([
    setup,
    newCommand,
    list,
    shell,
    exec,
    runCommand,
    status,
    remove,
    profile,
    sync,
    checkpoints,
    diff,
    undo,
    restore,
    uninstall,
    patches,
    sshConfig
  ])
)

/**
 * A usage error on one line. The parser puts "Did you mean this?" suggestions
 * on extra lines; they go in parentheses instead.
 */
const usageLine = (error: CliError.NonShowHelpErrors): string => {
  if ("suggestions" in error && error.suggestions.length > 0) {
    const base = error.message.split("\n\n")[0] ?? error.message
    return `${base} (did you mean ${error.suggestions.join(" or ")}?)`
  }
  return error.message.replace(/\s*\n\s*/g, " ")
}

/** Usage errors: one line each on stderr and a pointer to --help, not the whole help page. */
const presenter: CliOutput.Presenter = {
  present: (event) =>
    event._tag === "InvalidInvocation"
      ? Effect.gen(function*() {
        for (const error of event.errors) yield* Console.error(`repoman: ${usageLine(error)}`)
        yield* Console.error(`Run '${event.commandPath.join(" ")} --help' for usage.`)
      })
      : CliOutput.defaultPresenter.present(event)
}

const messageOf = (e: unknown): string =>
  typeof e === "object" && e !== null && "message" in e && typeof e.message === "string" && e.message.length > 0
    ? e.message
    : String(e)

/**
 * Runs `repoman` with the given arguments (without the program name).
 * Fails only with {@link ExitCode}, after printing why.
 *
 * @example
 * ```ts
 * import { run } from "@repoman/cli/Cli"
 * const program = run(["list", "--json"])
 * ```
 *
 * @since 0.1.0
 * @category cli
 */
export const run = (argv: ReadonlyArray<string>) =>
  Command.runWith(command, { version })(argv).pipe(
    Effect.provide(CliOutput.layerPresenter(presenter)),
    Effect.catchCause((cause): Effect.Effect<void, ExitCode> => {
      if (Cause.hasInterruptsOnly(cause)) return Effect.interrupt
      const error = Cause.squash(cause)
      if (error instanceof ExitCode) return Effect.fail(error)
      if (CliError.isCliError(error)) {
        if (error._tag === "ShowHelp") {
          return error.errors.length === 0 ? Effect.void : Effect.fail(new ExitCode({ code: 2 }))
        }
        return Console.error(`repoman: ${error.message}`).pipe(Effect.andThen(Effect.fail(new ExitCode({ code: 2 }))))
      }
      const failure = Cause.findErrorOption(cause)
      const line = failure._tag === "Some"
        ? `repoman: ${messageOf(failure.value)}`
        : `repoman: internal error: ${Cause.pretty(cause)}`
      const usage = failure._tag === "Some" && typeof failure.value === "object" && failure.value !== null &&
        "usage" in failure.value && failure.value.usage === true
      return Console.error(line).pipe(Effect.andThen(Effect.fail(new ExitCode({ code: usage ? 2 : 1 }))))
    })
  )
