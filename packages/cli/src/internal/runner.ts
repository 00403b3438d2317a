/**
 * Runs a `repoman` command tree on arguments and reports its failures:
 * usage errors on one line each and exit code 2, failures on one line and
 * exit code 1 (or the code an `ExitCode` carries), help on stdout. Shared by
 * the whole tree (`Cli.run`) and the session commands' own entry.
 */
import { version } from "@repoman/core/Version"
import * as Cause from "effect/Cause"
import * as CliError from "effect/cli/CliError"
import * as CliOutput from "effect/cli/CliOutput"
import * as Command from "effect/cli/Command"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { ExitCode } from "../ExitCode.ts"
import { reportCause } from "./failure.ts"

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

/** Runs `root` with `argv` (without the program name); fails only with {@link ExitCode}, after printing why. */
export const runCommand =
  <Name extends string, Input, ContextInput, E, R>(root: Command.Command<Name, Input, ContextInput, E, R>) =>
  (argv: ReadonlyArray<string>) =>
    Command.runWith(root, { version })(argv).pipe(
      Effect.provide(CliOutput.layerPresenter(presenter)),
      Effect.catchCause((cause): Effect.Effect<void, ExitCode> => {
        if (Cause.hasInterruptsOnly(cause)) return Effect.interrupt
        const error = Cause.squash(cause)
        if (error instanceof ExitCode) return Effect.fail(error)
        if (CliError.isCliError(error)) {
          if (error._tag === "ShowHelp") {
            return error.errors.length === 0 ? Effect.void : Effect.fail(new ExitCode({ code: 2 }))
          }
          return Console.error(`repoman: ${error.message}`).pipe(
            Effect.andThen(Effect.fail(new ExitCode({ code: 2 })))
          )
        }
        return reportCause(cause)
      })
    )
