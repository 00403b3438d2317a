/**
 * Runs a `repoman` command tree on arguments and reports its failures:
 * usage errors on one line each and exit code 2, failures on one line and
 * exit code 1 (or the code an `ExitCode` carries), help on stdout. Shared by
 * the whole tree (`Cli.run`) and the session commands' own entry.
 */
import { version } from "@repoman/core/Version"
import * as Cause from "effect/Cause"
import * as CliConfig from "effect/cli/CliConfig"
import * as CliError from "effect/cli/CliError"
import * as CliOutput from "effect/cli/CliOutput"
import * as Command from "effect/cli/Command"
import * as GlobalFlag from "effect/cli/GlobalFlag"
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
  // A schema's own description says what is valid; "Schema validation failed" says nothing.
  return error.message.replace(/\s*\n\s*/g, " ").replace(/\. Expected: Schema validation failed: /, ": ")
    .replace(/Schema validation failed: /, "")
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

/**
 * The flags whose value is never an option: a value that starts with `-`
 * (`--git -uhelp`) is one the parser would take for options (`-u -h ...`,
 * printing help and exiting 0), so it is refused before parsing.
 */
const NO_DASH_VALUES: Readonly<Record<string, string>> = {
  "--git": "a git URL",
  "--repo": "a repo directory",
  "--image": "an image"
}

/** The one-line refusal of an option-looking value, or `undefined`. */
export const optionLookingValue = (argv: ReadonlyArray<string>): string | undefined => {
  // Only the commands that have these flags: elsewhere (`exec NAME cmd --image -x`) they are not ours.
  const command = argv.find((a) => !a.startsWith("-"))
  if (command !== "new" && command !== "setup") return undefined
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? ""
    if (arg === "--") return undefined
    const eq = arg.indexOf("=")
    const flag = eq === -1 ? arg : arg.slice(0, eq)
    const what = NO_DASH_VALUES[flag]
    if (what === undefined) continue
    const value = eq === -1 ? argv[i + 1] : arg.slice(eq + 1)
    if (value !== undefined && value.startsWith("-")) {
      return `${flag} ${
        JSON.stringify(value)
      }: that looks like an option, not ${what} (it starts with '-'); nothing was done`
    }
  }
  return undefined
}

/**
 * The built-in global flags, without `--wizard`: Effect's generic wizard
 * walks every flag of a command and then runs it, bypassing the prompts
 * and confirmations repoman's own interactive paths make; it is not a
 * repoman feature.
 */
const builtIns = GlobalFlag.BuiltIns.filter((flag) => flag !== GlobalFlag.Wizard)

/** Runs `root` with `argv` (without the program name); fails only with {@link ExitCode}, after printing why. */
export const runCommand =
  <Name extends string, Input, ContextInput, E, R>(root: Command.Command<Name, Input, ContextInput, E, R>) =>
  (argv: ReadonlyArray<string>) => {
    const refused = optionLookingValue(argv)
    if (refused !== undefined) {
      return Console.error(`repoman: ${refused}`).pipe(Effect.andThen(Effect.fail(new ExitCode({ code: 2 }))))
    }
    return Command.runWith(root, { version })(argv).pipe(
      Effect.provide(CliOutput.layerPresenter(presenter)),
      Effect.provide(CliConfig.layer({ builtIns })),
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
  }
