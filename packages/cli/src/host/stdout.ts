/**
 * What happens when standard output goes away under the CLI: `repoman sync
 * --json | head -1` closes the pipe after one line, and the next write fails
 * with EPIPE (or a full disk with ENOSPC). Node reports that as an `error`
 * event on `process.stdout`, which, unhandled, ends the process with a stack
 * trace.
 *
 * {@link whileStdoutOpen} runs the CLI until it finishes or stdout fails,
 * whichever comes first; a failure interrupts the command (its finalizers
 * run: locks are released, child processes end) and sets the exit code.
 * @module
 */
import * as Effect from "effect/Effect"
import { ExitCode } from "../ExitCode.ts"

/**
 * The exit code for a closed pipe: what a process killed by SIGPIPE exits
 * with in a shell (128 + 13), as `yes | head` does. Nothing is printed.
 *
 * @since 0.1.0
 */
export const EXIT_BROKEN_PIPE = 141

const exitCodeFor = (error: NodeJS.ErrnoException): ExitCode =>
  new ExitCode({ code: error.code === "EPIPE" ? EXIT_BROKEN_PIPE : 1 })

/**
 * Runs `program` until it ends (and its output has been handed to the OS)
 * or standard output fails: quietly with {@link EXIT_BROKEN_PIPE} for EPIPE,
 * else with 1 after one line on stderr.
 *
 * @since 0.1.0
 */
export const whileStdoutOpen = <A, E, R>(program: Effect.Effect<A, E, R>): Effect.Effect<A, E | ExitCode, R> =>
  Effect.suspend(() => {
    let first: NodeJS.ErrnoException | undefined
    let notify: ((error: NodeJS.ErrnoException) => void) | undefined
    const failedWith = (error: NodeJS.ErrnoException) => {
      if (first !== undefined) return
      first = error
      if (error.code !== "EPIPE") {
        process.stderr.write(`repoman: cannot write to standard output: ${error.code ?? error.message}\n`)
      }
      process.exitCode = exitCodeFor(error).code
      notify?.(error)
    }
    // Stays for the life of the process: an error reported after the program
    // ended must not crash it either.
    process.stdout.on("error", failedWith)
    const failed = Effect.callback<never, ExitCode>((resume) => {
      notify = (error) => resume(Effect.fail(exitCodeFor(error)))
      if (first !== undefined) notify(first)
    })
    // Waits until earlier writes are done, so that a failed last write is
    // seen before the process exits.
    const flushed = Effect.callback<void, ExitCode>((resume) => {
      process.stdout.write("", (error) => {
        if (error !== null && error !== undefined) failedWith(error)
        resume(first === undefined ? Effect.void : Effect.fail(exitCodeFor(first)))
      })
    })
    return Effect.raceFirst(
      program.pipe(Effect.exit, Effect.flatMap((exit) => Effect.andThen(flushed, exit))),
      failed
    )
  })
