/**
 * Runs a tool (rsync, stat, du, restic) as a child process with an argv list
 * (never a shell) and an optional deadline, for backup targets and plugins.
 *
 * The deadline is the point: a process stuck on a hung NFS server sits in
 * the kernel, and waiting for it to exit would hang repoman too. The work is
 * `HostProcess.run` (SIGKILL and let go on timeout); this module names the
 * operation and turns its failures into the `BackupError` of the backup
 * boundary.
 *
 * @since 0.1.0
 * @module
 */
import { BackupError, Failed, Timeout } from "@repoman/core/BackupTarget"
import * as HostProcess from "@repoman/core/HostProcess"
import * as Effect from "effect/Effect"
import type { ChildProcessSpawner } from "effect/process/ChildProcessSpawner"

/**
 * Options of {@link run}: those of `HostProcess.run` plus what the user is
 * told timed out or failed.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunOptions extends HostProcess.RunOptions {
  /** What the user is told timed out or failed, e.g. `"touching /nfs/repos"`. */
  readonly operation: string
}

/**
 * How a child process ended.
 *
 * @since 0.1.0
 * @category models
 */
export type RunResult = HostProcess.Outcome

const toBackupError = (operation: string) => (error: HostProcess.HostProcessError): BackupError => {
  const reason = error.reason
  switch (reason._tag) {
    case "TimedOut":
      return new BackupError({ reason: new Timeout({ operation, after: reason.after }), cause: error })
    case "CannotStart":
      return new BackupError({ reason: new Failed({ detail: reason.message }), cause: error })
    case "Interrupted":
      return new BackupError({ reason: new Failed({ detail: `${operation}: ${reason.detail}` }), cause: error })
  }
}

/**
 * Runs `command` with `args` through `HostProcess.run`; fails only when it
 * cannot be started (`Failed`) or times out (`Timeout`). A non-zero exit
 * code is a result.
 *
 * @example
 * ```ts
 * import * as Duration from "effect/Duration"
 * import { run } from "@repoman/backup/exec"
 * const probe = run("stat", ["--", "/nfs/repos"], { operation: "touching /nfs/repos", timeout: Duration.seconds(10) })
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const run = (
  command: string,
  args: ReadonlyArray<string>,
  options: RunOptions
): Effect.Effect<RunResult, BackupError, ChildProcessSpawner> => {
  const { operation, ...rest } = options
  return HostProcess.run(command, args, rest).pipe(Effect.mapError(toBackupError(operation)))
}
