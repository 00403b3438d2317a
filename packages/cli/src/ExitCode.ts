/**
 * The process exit code of a finished run.
 *
 * @since 0.1.0
 * @module
 */
import * as Runtime from "effect/Runtime"
import * as Schema from "effect/Schema"

/**
 * Ends the process with `code`; whatever needed saying has been printed.
 *
 * @since 0.1.0
 * @category errors
 */
export class ExitCode extends Schema.TaggedError<ExitCode>("@repoman/cli/ExitCode/ExitCode")("ExitCode", {
  code: Schema.Int
}) {
  override get [Runtime.errorExitCode](): number {
    return this.code
  }
  // Already printed: tell runMain not to log it again.
  override readonly [Runtime.errorReported] = false
}
