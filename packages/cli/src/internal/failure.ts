/**
 * How a run of `repoman` reports a failure that is not a usage error: one
 * line on stderr (`repoman: <message>`, never a stack trace for a user
 * mistake) and exit code 1, or 2 for an error that says it is a usage
 * error, or the code an `ExitCode` carries (printed already). The line is
 * escaped (`TerminalText`: a message may quote what a container printed or
 * named). Loads no CLI framework: the session commands' fast path uses it too.
 */
import { escapeLines } from "@repoman/core/TerminalText"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { ExitCode } from "../ExitCode.ts"

const messageOf = (e: unknown): string =>
  typeof e === "object" && e !== null && "message" in e && typeof e.message === "string" && e.message.length > 0
    ? e.message
    : String(e)

/** The exit for a failed run: reports it and fails with the {@link ExitCode} to end with. */
export const reportCause = (cause: Cause.Cause<unknown>): Effect.Effect<never, ExitCode> => {
  if (Cause.hasInterruptsOnly(cause)) return Effect.interrupt
  const error = Cause.squash(cause)
  if (error instanceof ExitCode) return Effect.fail(error)
  const failure = Cause.findErrorOption(cause)
  const line = failure._tag === "Some"
    ? `repoman: ${escapeLines(messageOf(failure.value))}`
    : `repoman: internal error: ${Cause.pretty(cause)}`
  const usage = failure._tag === "Some" && typeof failure.value === "object" && failure.value !== null &&
    "usage" in failure.value && failure.value.usage === true
  return Console.error(line).pipe(Effect.andThen(Effect.fail(new ExitCode({ code: usage ? 2 : 1 }))))
}

/** `effect` with its failures reported (see {@link reportCause}). */
export const reportFailures = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, ExitCode, R> =>
  Effect.catchCause(effect, reportCause)
