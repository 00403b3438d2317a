/**
 * Appends a line to a root-owned file through `sudo tee -a` (argv list, the
 * content on stdin: no shell sees it).
 * @module
 */
import * as Effect from "effect/Effect"
import * as ChildProcess from "effect/process/ChildProcess"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"

/**
 * `sudo tee -a` exited non-zero (refused, cancelled, or the file is not writable).
 *
 * @since 0.1.0
 */
export class SudoFailed extends Schema.TaggedError<SudoFailed>("@repoman/cli/host/sudo/SudoFailed")("SudoFailed", {
  file: Schema.String,
  code: Schema.Int
}) {
  override get message(): string {
    return `could not append to ${this.file} with sudo (exit code ${this.code})`
  }
}

/**
 * Appends `content` to the root-owned `file` through `sudo tee -a`.
 *
 * @since 0.1.0
 */
export const appendAsRoot = (file: string, content: string) =>
  Effect.scoped(Effect.gen(function*() {
    const handle = yield* ChildProcess.make("sudo", ["tee", "-a", file], {
      stdin: Stream.make(new TextEncoder().encode(content)),
      stdout: "ignore",
      stderr: "inherit",
      detached: false
    })
    const code = yield* handle.exitCode
    if (Number(code) !== 0) return yield* new SudoFailed({ file, code: Number(code) })
  }))
