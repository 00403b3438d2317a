/**
 * Runs a tool (rsync, stat, du, restic) as a child process with an argv list
 * (never a shell) and an optional deadline, for backup targets and plugins.
 *
 * The deadline is the point: a process stuck on a hung NFS server sits in
 * the kernel, and waiting for it to exit would hang repoman too. On timeout
 * the child is sent SIGKILL and then let go (unreferenced, not awaited), and
 * the caller gets a `Timeout` reason at once.
 *
 * @since 0.1.0
 */
import { BackupError, Failed, Timeout } from "@repoman/core/BackupTarget"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as PlatformError from "effect/PlatformError"
import * as ChildProcess from "effect/process/ChildProcess"
import { ChildProcessSpawner } from "effect/process/ChildProcessSpawner"
import * as Stream from "effect/Stream"

/**
 * Options of {@link run}.
 *
 * @since 0.1.0
 */
export interface RunOptions {
  /** What the user is told timed out or failed, e.g. `"touching /nfs/repos"`. */
  readonly operation: string
  /** Kill the child and fail with `Timeout` after this long. Default: no limit. */
  readonly timeout?: Duration.Duration | undefined
  /** Receives stdout line by line as it arrives (then `stdout` is empty). */
  readonly onLine?: ((line: string) => Effect.Effect<void>) | undefined
  /** Extra environment variables (the rest is inherited). */
  readonly env?: Record<string, string> | undefined
  /**
   * Discard the child's output instead of piping it (then `stdout` and
   * `stderr` are empty). With no pipes, a child stuck in the kernel holds
   * nothing of repoman's once it is let go: use it for probes.
   */
  readonly discardOutput?: boolean | undefined
  /**
   * Run the child in repoman's process group (default), so that a Ctrl-C or
   * a kill of the group reaches it too.
   */
  readonly detached?: boolean | undefined
}

/**
 * How a child process ended.
 *
 * @since 0.1.0
 */
export interface RunResult {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
}

const failed = (detail: string, cause?: unknown) =>
  new BackupError({ reason: new Failed({ detail }), ...(cause === undefined ? {} : { cause }) })

/**
 * Runs `command` with `args`; fails only when it cannot be started
 * (`Failed`) or times out (`Timeout`). A non-zero exit code is a result.
 *
 * @example
 * ```ts
 * import * as Duration from "effect/Duration"
 * import { run } from "@repoman/backup/exec"
 * const probe = run("stat", ["--", "/nfs/repos"], { operation: "touching /nfs/repos", timeout: Duration.seconds(10) })
 * ```
 *
 * @since 0.1.0
 */
export const run = (
  command: string,
  args: ReadonlyArray<string>,
  options: RunOptions
): Effect.Effect<RunResult, BackupError, ChildProcessSpawner> =>
  Effect.scoped(Effect.gen(function*() {
    const handle = yield* ChildProcess.make(command, args, {
      stdin: "ignore",
      ...(options.discardOutput === true ? { stdout: "ignore", stderr: "ignore" } : {}),
      detached: options.detached ?? false,
      ...(options.env === undefined ? {} : { env: options.env, extendEnv: true })
    }).pipe(Effect.mapError((e) => failed(`cannot run ${command}: ${e.message}`, e)))
    const text = (stream: Stream.Stream<Uint8Array, PlatformError.PlatformError>) =>
      Stream.mkString(Stream.decodeText(stream))
    const { onLine } = options
    const stdout = onLine === undefined
      ? text(handle.stdout)
      : handle.stdout.pipe(Stream.decodeText, Stream.splitLines, Stream.runForEach(onLine), Effect.as(""))
    const all = Effect.all([stdout, text(handle.stderr), handle.exitCode], { concurrency: "unbounded" }).pipe(
      Effect.map(([out, err, code]): RunResult => ({ exitCode: Number(code), stdout: out, stderr: err })),
      Effect.mapError((e) => failed(`${options.operation}: ${e.message}`, e))
    )
    const { timeout } = options
    if (timeout === undefined) return yield* all
    return yield* Effect.timeoutOrElse(all, {
      duration: timeout,
      orElse: () =>
        Effect.gen(function*() {
          // Let go of the child first, so closing the scope does not wait for it.
          yield* Effect.ignore(handle.unref)
          yield* Effect.ignore(Effect.try(() => process.kill(handle.pid, "SIGKILL")))
          return yield* new BackupError({ reason: new Timeout({ operation: options.operation, after: timeout }) })
        })
    })
  }))
