/**
 * The signals a process receives while a command runs in a container on
 * its behalf. `repoman run -- claude` stands for `claude`: when the terminal
 * closes (SIGHUP), a supervisor stops it (SIGTERM) or the user presses
 * Ctrl-C outside a terminal session (SIGINT), the command inside must get
 * the signal and repoman must end as the command does, instead of ending
 * itself and leaving the command to be killed (or running on).
 *
 * {@link ProcessSignals} is how a runtime's `shell` asks for them: while the
 * scope of a `route` is open, the signals of {@link ForwardedSignal} go to
 * its handler and have no other effect. The default (no route available)
 * keeps their usual effect: the program is interrupted, and a runtime then
 * ends the command with its session. `@repoman/node/NodeSignals` provides
 * the real one together with the runner that honours it.
 *
 * @since 0.1.0
 * @module
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"

/**
 * The signals a route receives: the ones that ask a process to end or to
 * act (terminal closed, interrupt, quit, terminate, user-defined).
 *
 * @since 0.1.0
 * @category models
 */
export const ForwardedSignal = Schema.Literals(["SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2"])

/**
 * The decoded type of the `ForwardedSignal` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type ForwardedSignal = typeof ForwardedSignal.Type

/**
 * The signal numbers of {@link ForwardedSignal} (Linux), as they travel to
 * a command in a container.
 *
 * @since 0.1.0
 * @category models
 */
export const signalNumber: Readonly<Record<ForwardedSignal, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGUSR1: 10,
  SIGUSR2: 12,
  SIGTERM: 15
}

/**
 * What {@link ProcessSignals} offers.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProcessSignalsShape {
  /**
   * While the scope is open, every {@link ForwardedSignal} the process
   * receives goes to `handler` and does nothing else. Routes nest: the one
   * opened last gets them.
   */
  readonly route: (handler: (signal: ForwardedSignal) => void) => Effect.Effect<void, never, Scope.Scope>
}

/**
 * The process's signals. The default routes nothing: signals keep their
 * usual effect.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { ProcessSignals } from "@repoman/core/ProcessSignals"
 *
 * const session = Effect.scoped(Effect.gen(function*() {
 *   const signals = yield* ProcessSignals
 *   yield* signals.route((signal) => console.error(`got ${signal}`))
 *   // ... while this scope is open, SIGTERM does not interrupt the program
 * }))
 * ```
 *
 * @since 0.1.0
 * @category services
 */
export const ProcessSignals: Context.Reference<ProcessSignalsShape> = Context.Reference<ProcessSignalsShape>(
  "@repoman/core/ProcessSignals",
  { defaultValue: () => ({ route: () => Effect.void }) }
)
