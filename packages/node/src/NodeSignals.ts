/**
 * The process's signals in Node: the live {@link ProcessSignals} and the
 * runner that honours it.
 *
 * `NodeRuntime.runMain` interrupts the program on SIGINT and SIGTERM and
 * exits 130. For a command running in a container on the user's behalf
 * that is wrong twice: the interruption ends the session, so the command is
 * killed without seeing the signal, and the caller learns 130 where the
 * command would have told it something else. With {@link runMain}:
 *
 * - while a `route` is open (a `shell` session), SIGHUP, SIGINT, SIGQUIT,
 *   SIGTERM, SIGUSR1 and SIGUSR2 go to its handler, which passes them on to
 *   the command, and nothing else happens;
 * - otherwise SIGINT, SIGTERM and SIGHUP interrupt the program (finalizers
 *   run: locks are released, half-made containers deleted);
 * - at the end the process exits with the program's exit code, and dies of
 *   a signal it received when that is how things ended: the program was
 *   interrupted by it, or the command it was passed to died of it (exit
 *   code 128 + N). A shell then sees what it would have seen without
 *   repoman in between (bash stops a loop on a Ctrl-C'd command).
 *
 * @since 0.1.0
 * @module
 */
import {
  type ForwardedSignal,
  ProcessSignals,
  type ProcessSignalsShape,
  signalNumber
} from "@repoman/core/ProcessSignals"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Runtime from "effect/Runtime"

const forwarded: ReadonlyArray<ForwardedSignal> = ["SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2"]

/** Whether a route was ever opened: a session ran, and stdin may hold the process open. */
let usedRoute = false
/** The open routes, innermost last (one process, one set). */
const routes: Array<(signal: ForwardedSignal) => void> = []
/** The signals received while a route was open: they went to a command. */
const passedOn = new Set<ForwardedSignal>()
/** The signals received while no route was open: they interrupted the program. */
const interruptedBy = new Set<ForwardedSignal>()

const listeners = new Map<ForwardedSignal, () => void>()

/** While a route is open, every forwarded signal has a listener (so none takes its default action). */
const listen = () => {
  for (const signal of forwarded) {
    if (listeners.has(signal)) continue
    const listener = () => {
      const handler = routes.at(-1)
      if (handler === undefined) return
      passedOn.add(signal)
      handler(signal)
    }
    listeners.set(signal, listener)
    process.on(signal, listener)
  }
}

const unlisten = () => {
  for (const [signal, listener] of listeners) process.removeListener(signal, listener)
  listeners.clear()
}

/**
 * The live {@link ProcessSignals}: a route holds the process's forwarded
 * signals until its scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const live: ProcessSignalsShape = {
  route: (handler) =>
    Effect.acquireRelease(
      Effect.sync(() => {
        usedRoute = true
        routes.push(handler)
        listen()
      }),
      () =>
        Effect.sync(() => {
          const at = routes.lastIndexOf(handler)
          if (at >= 0) routes.splice(at, 1)
          if (routes.length === 0) unlisten()
        })
    )
}

/**
 * Provides the live {@link ProcessSignals}.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<never> = Layer.succeed(ProcessSignals, live)

/**
 * The signal to die of after a run that ended with `code`, if any: one that
 * interrupted the program, or one passed on to a command that then died of
 * it (128 + its number). Never SIGQUIT, whose default action dumps core.
 *
 * @since 0.1.0
 * @category utils
 */
export const signalToDieOf = (code: number, interrupted: boolean): ForwardedSignal | undefined =>
  forwarded.find((signal) =>
    signal !== "SIGQUIT" && (
      interrupted ? interruptedBy.has(signal) : passedOn.has(signal) && code === 128 + signalNumber[signal]
    )
  )

/**
 * Runs the main program of a process: `NodeRuntime.runMain` with the
 * signal handling described above. The program's failures end it as
 * `Runtime.defaultTeardown` says (an error's `Runtime.errorExitCode`, else 1).
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import * as NodeSignals from "@repoman/node/NodeSignals"
 *
 * Effect.log("hello").pipe(Effect.provide(NodeSignals.layer), NodeSignals.runMain)
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const runMain = Runtime.makeRunMain(({ fiber, teardown }) => {
  const interrupt = (signal: ForwardedSignal) => () => {
    if (routes.length > 0) return
    interruptedBy.add(signal)
    fiber.interruptUnsafe(fiber.id)
  }
  const own = (["SIGINT", "SIGTERM", "SIGHUP"] as const).map((signal) => [signal, interrupt(signal)] as const)
  for (const [signal, listener] of own) process.on(signal, listener)
  fiber.addObserver((exit) => {
    for (const [signal, listener] of own) process.removeListener(signal, listener)
    teardown(exit, (code) => {
      const interrupted = Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)
      const signal = signalToDieOf(code, interrupted)
      if (signal !== undefined) {
        // No listener is left, so the signal takes its default action: the
        // process ends of it before kill(2) returns.
        unlisten()
        process.kill(process.pid, signal)
      }
      // A session leaves stdin open, which would keep the process alive.
      if (code !== 0 || usedRoute || interruptedBy.size > 0) process.exit(code)
    })
  })
})
