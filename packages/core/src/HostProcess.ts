/**
 * Runs a program on the host and collects what it printed: the one
 * spawn-and-collect helper of repoman (git for `new --git` and hermetic
 * patches, ssh-keygen, rsync and the probes of backup targets).
 *
 * - The program gets an argv list, never a shell, and no stdin (or the
 *   bytes of `input`, then end of file).
 * - stdout and stderr are drained at once (a full pipe never blocks the
 *   child); `onLine` streams stdout line by line instead of collecting it.
 * - A non-zero exit code is a result, not an error: the caller decides.
 * - With `timeout`, a child that has not finished in time is sent SIGKILL
 *   and let go (not waited on: a process stuck in the kernel on a hung NFS
 *   server would hang repoman too), and the call fails with `TimedOut`.
 *
 * @since 0.1.0
 * @module
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as PlatformError from "effect/PlatformError"
import * as ChildProcess from "effect/process/ChildProcess"
import type { ChildProcessSpawner } from "effect/process/ChildProcessSpawner"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"

/**
 * The program could not be started (not found, not executable, a bad
 * working directory).
 *
 * @since 0.1.0
 * @category errors
 */
export class CannotStart extends Schema.TaggedClass<CannotStart>("@repoman/core/HostProcess/CannotStart")(
  "CannotStart",
  { command: Schema.String, detail: Schema.String }
) {
  /** One line for the user. */
  get message(): string {
    return `cannot run ${this.command}: ${this.detail}`
  }
}

/**
 * The program started, but reading its output or its exit failed.
 *
 * @since 0.1.0
 * @category errors
 */
export class Interrupted extends Schema.TaggedClass<Interrupted>("@repoman/core/HostProcess/Interrupted")(
  "Interrupted",
  { command: Schema.String, detail: Schema.String }
) {
  /** One line for the user. */
  get message(): string {
    return `${this.command}: ${this.detail}`
  }
}

/**
 * The program did not finish within the time it was given; it was killed.
 *
 * @since 0.1.0
 * @category errors
 */
export class TimedOut extends Schema.TaggedClass<TimedOut>("@repoman/core/HostProcess/TimedOut")("TimedOut", {
  command: Schema.String,
  after: Schema.Duration
}) {
  /** One line for the user. */
  get message(): string {
    return `${this.command} did not finish within ${Duration.format(this.after)}`
  }
}

/**
 * Why a {@link HostProcessError} happened.
 *
 * @since 0.1.0
 * @category errors
 */
export const HostProcessErrorReason = Schema.Union([CannotStart, Interrupted, TimedOut])
/**
 * The decoded type of the `HostProcessErrorReason` schema.
 *
 * @since 0.1.0
 * @category errors
 */
export type HostProcessErrorReason = typeof HostProcessErrorReason.Type

/**
 * The one error of {@link run}. A non-zero exit code is not an error.
 *
 * @since 0.1.0
 * @category errors
 */
export class HostProcessError extends Schema.TaggedError<HostProcessError>(
  "@repoman/core/HostProcess/HostProcessError"
)("HostProcessError", { reason: HostProcessErrorReason, cause: Schema.optional(Schema.Defect()) }) {
  /** The reason's one-line message. */
  override get message(): string {
    return this.reason.message
  }
}

/**
 * Options of {@link run}.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunOptions {
  /** Bytes for the child's stdin (closed after them). Default: no stdin. */
  readonly input?: Uint8Array | string | undefined
  /** Extra environment variables; the rest of the environment is inherited. */
  readonly env?: Readonly<Record<string, string>> | undefined
  /** Kill the child and fail with `TimedOut` after this long. Default: no limit. */
  readonly timeout?: Duration.Duration | undefined
  /** Receives stdout line by line as it arrives (`stdout` is then empty). */
  readonly onLine?: ((line: string) => Effect.Effect<void>) | undefined
  /**
   * Discard the child's output instead of piping it (`stdout` and `stderr`
   * are then empty). With no pipes, a child stuck in the kernel holds
   * nothing of repoman's once it is let go: use it for probes.
   */
  readonly discardOutput?: boolean | undefined
  /**
   * Run the child in a session of its own. Default `false`: it stays in
   * repoman's process group, so a Ctrl-C or a kill of the group reaches it.
   */
  readonly detached?: boolean | undefined
  /**
   * Told the child's pid once it runs (a lock file records it, say, so that
   * a later run can find the child if repoman dies before it).
   */
  readonly onStart?: ((pid: number) => Effect.Effect<void>) | undefined
}

/**
 * How a program ended.
 *
 * @since 0.1.0
 * @category models
 */
export interface Outcome {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
}

const reasonError = (reason: HostProcessErrorReason, cause?: unknown) =>
  new HostProcessError({ reason, ...(cause === undefined ? {} : { cause }) })

const text = (stream: Stream.Stream<Uint8Array, PlatformError.PlatformError>) =>
  Stream.mkString(Stream.decodeText(stream))

/**
 * Runs `command` with `args` to completion and returns its exit code and
 * output.
 *
 * @example
 * ```ts
 * import * as Duration from "effect/Duration"
 * import * as HostProcess from "@repoman/core/HostProcess"
 * const status = HostProcess.run("git", ["-C", "/home/ada/repos/isurus", "status", "--porcelain"], {
 *   timeout: Duration.seconds(30)
 * })
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const run = (
  command: string,
  args: ReadonlyArray<string>,
  options: RunOptions = {}
): Effect.Effect<Outcome, HostProcessError, ChildProcessSpawner> =>
  Effect.scoped(Effect.gen(function*() {
    const { input } = options
    const handle = yield* ChildProcess.make(command, args, {
      stdin: input === undefined
        ? "ignore"
        : Stream.make(typeof input === "string" ? new TextEncoder().encode(input) : input),
      ...(options.discardOutput === true ? { stdout: "ignore", stderr: "ignore" } : {}),
      detached: options.detached ?? false,
      ...(options.env === undefined ? {} : { env: options.env, extendEnv: true })
    }).pipe(Effect.mapError((e) => reasonError(new CannotStart({ command, detail: e.message }), e)))
    if (options.onStart !== undefined) yield* options.onStart(Number(handle.pid))
    const { onLine } = options
    const stdout = onLine === undefined
      ? text(handle.stdout)
      : handle.stdout.pipe(Stream.decodeText, Stream.splitLines, Stream.runForEach(onLine), Effect.as(""))
    const all = Effect.all([stdout, text(handle.stderr), handle.exitCode], { concurrency: "unbounded" }).pipe(
      Effect.map(([out, err, code]): Outcome => ({ exitCode: Number(code), stdout: out, stderr: err })),
      Effect.mapError((e) => reasonError(new Interrupted({ command, detail: e.message }), e))
    )
    const { timeout } = options
    if (timeout === undefined) return yield* all
    return yield* Effect.timeoutOrElse(all, {
      duration: timeout,
      orElse: () =>
        Effect.gen(function*() {
          // Let go of the child first, then kill it without waiting for it to
          // exit: closing the scope must not wait for a child stuck in the kernel.
          yield* Effect.ignore(handle.unref)
          yield* Effect.forkDetach(Effect.ignore(handle.kill({ killSignal: "SIGKILL" })))
          yield* Effect.yieldNow
          return yield* reasonError(new TimedOut({ command, after: timeout }))
        })
    })
  }))
