/**
 * A fake ChildProcessSpawner for unit tests: records every argv and answers
 * from a function (stdout, stderr, exit code, or a child that never exits).
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ChildProcessSpawner from "effect/process/ChildProcessSpawner"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"

export interface FakeReply {
  readonly stdout?: string
  readonly stderr?: string
  readonly exitCode?: number
  /** The child never exits (a stat stuck on a hung NFS server). */
  readonly hang?: boolean
}

export interface Call {
  readonly command: string
  readonly args: ReadonlyArray<string>
}

const encoder = new TextEncoder()
// Above any pid_max, so the SIGKILL sent on timeout reaches nobody.
const NO_PID = ChildProcessSpawner.ProcessId(2_000_000_000)

export const fakeSpawner = (reply: (call: Call) => FakeReply) => {
  const calls: Array<Call> = []
  const spawner = ChildProcessSpawner.make((command) =>
    Effect.sync(() => {
      const call = command._tag === "StandardCommand"
        ? { command: command.command, args: command.args.map(String) }
        : { command: "<pipe>", args: [] }
      calls.push(call)
      const r = reply(call)
      const text = (s: string | undefined) =>
        s === undefined || s === "" ? Stream.empty : Stream.make(encoder.encode(s))
      return ChildProcessSpawner.makeHandle({
        pid: NO_PID,
        exitCode: r.hang === true ? Effect.never : Effect.succeed(ChildProcessSpawner.ExitCode(r.exitCode ?? 0)),
        isRunning: Effect.succeed(r.hang === true),
        kill: () => Effect.void,
        stdin: Sink.drain,
        stdout: r.hang === true ? Stream.never : text(r.stdout),
        stderr: r.hang === true ? Stream.never : text(r.stderr),
        all: Stream.empty,
        getInputFd: () => Sink.drain,
        getOutputFd: () => Stream.empty,
        unref: Effect.succeed(Effect.void)
      })
    })
  )
  return { calls, layer: Layer.succeed(ChildProcessSpawner.ChildProcessSpawner, spawner) }
}
