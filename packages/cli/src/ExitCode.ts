/**
 * The process exit code of a finished run.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Runtime from "effect/Runtime"

/**
 * Ends the process with `code`; whatever needed saying has been printed.
 *
 * @since 0.1.0
 */
export class ExitCode extends Data.TaggedError("ExitCode")<{ readonly code: number }> {
  override get [Runtime.errorExitCode](): number {
    return this.code
  }
  // Already printed: tell runMain not to log it again.
  override readonly [Runtime.errorReported] = false
}
