/**
 * A command attached to the caller's terminal and stdio, run over the Incus
 * REST API and its websockets (what `shell` runs; no `incus` binary).
 *
 * The protocol, as Incus 6.0.4 speaks it (each point verified for issue 17):
 *
 * 1. `POST /1.0/instances/NAME/exec` with `wait-for-websocket` answers at
 *    once with an operation holding one secret per channel: `0`, `1`, `2`
 *    and `control` (pipes) or `0` and `control` (terminal). The command
 *    starts only when the channels it needs are connected (pipes: 0, 1, 2;
 *    terminal: 0 and control); after 5 s without them the operation fails
 *    and nothing ran.
 * 2. Output arrives as binary messages; an empty *text* message (the
 *    barrier) ends a stream. incusd then drops the connection without a
 *    close frame. It pings every channel as it connects (and every 10 s)
 *    and never waits for the pong: the output channels answer none, since
 *    a pong that races the drop fails with EPIPE and Node's socket goes
 *    with the output still unread.
 * 3. Input goes as binary messages; an empty text message is its end (with
 *    a terminal it only ends the input: Ctrl-D is the in-band end).
 * 4. The exit status is the operation's `return` (128 + N when signal N
 *    killed the command). Incus fails the operation for 127 and 126; see
 *    `execSessionStatus`.
 * 5. The barriers and the status travel on different connections, so the
 *    status can come first: the session ends when it has the status *and*
 *    every output stream ended and was written.
 * 6. With a terminal the operation ends only once the client closes the
 *    data channel: it is closed when its barrier arrives.
 * 7. A `cwd` that does not exist does not fail the exec (the command runs
 *    in `/`): it is checked with the file API beside the POST, and on a
 *    miss no channel is connected, so nothing runs.
 * 8. Control messages: `window-resize` (width and height as strings) and
 *    `signal` (kill(2) of the command's process). When the control channel
 *    goes while the command runs, incusd SIGKILLs the command: an
 *    interrupted session (its scope closes) leaves nothing running.
 */
import { ContainerRuntimeError, NotFound, OperationFailed, Unavailable } from "@repoman/core/ContainerRuntime"
import type { ProjectName } from "@repoman/core/Ids"
import { type ForwardedSignal, signalNumber } from "@repoman/core/ProcessSignals"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import { isatty } from "node:tty"
import { errnoCode, unavailable } from "../../IncusError.ts"
import { execWebsocketPath } from "../../IncusInstanceFiles.ts"
import type { Dial } from "../../IncusTransport.ts"
import { connect, type WebSocket } from "../wire/webSocket.ts"
import { loadCrypto } from "../wire/wsFrame.ts"
import { mapErrors, type RuntimeContext } from "./context.ts"

/** A readable the session takes input from (`process.stdin`). */
export interface Input {
  on(event: "data", listener: (chunk: Buffer | string) => void): unknown
  on(event: "end", listener: () => void): unknown
  removeListener(event: "data", listener: (chunk: Buffer | string) => void): unknown
  removeListener(event: "end", listener: () => void): unknown
  pause(): unknown
  resume(): unknown
}

/** A writable the session writes output to (`process.stdout`, `process.stderr`). */
export interface Output {
  write(data: Uint8Array, callback: (error?: Error | null) => void): boolean
  on(event: "error", listener: (error: NodeJS.ErrnoException) => void): unknown
  once(event: "drain", listener: () => void): unknown
  removeListener(event: "error", listener: (error: NodeJS.ErrnoException) => void): unknown
}

/** The caller's terminal, when stdin and stdout are one. */
export interface Terminal {
  readonly size: () => { readonly width: number; readonly height: number }
  readonly setRaw: (raw: boolean) => void
  /** Calls `f` on every resize until the returned function is called. */
  readonly onResize: (f: () => void) => () => void
}

/** What a session is attached to. */
export interface SessionIo {
  /** The input, asked for once the request is on its way (creating `process.stdin` costs ~3 ms). */
  readonly stdin: () => Input
  readonly stdout: Output
  readonly stderr: Output
  readonly terminal: Terminal | undefined
}

/** The process's own stdio and terminal. */
export const processIo = (): SessionIo => {
  const stdout = process.stdout
  // isatty(0) rather than process.stdin.isTTY: process.stdin is made later.
  const terminal: Terminal | undefined = isatty(0) && stdout.isTTY === true
    ? {
      size: () => ({ width: stdout.columns, height: stdout.rows }),
      setRaw: (raw) => void process.stdin.setRawMode(raw),
      onResize: (f) => {
        stdout.on("resize", f)
        return () => void stdout.removeListener("resize", f)
      }
    }
    : undefined
  return { stdin: () => process.stdin, stdout, stderr: process.stderr, terminal }
}

/** What to run. */
export interface SessionRequest {
  readonly argv: ReadonlyArray<string>
  readonly user?: number | undefined
  readonly group?: number | undefined
  readonly cwd?: string | undefined
  readonly env?: Readonly<Record<string, string>> | undefined
}

const SIGPIPE = 13

/**
 * Writes one output channel to `out` with backpressure: when `out` is full
 * the websocket is paused (incusd's write blocks, the command's pipe fills,
 * the command blocks). `done` is completed when the stream ended (barrier
 * or end of the connection) and everything handed to `out` was written.
 */
const pumpOutput = (
  channel: WebSocket,
  out: Output,
  handlers: {
    readonly brokenPipe: () => void
    readonly data?: () => void
    readonly barrier?: () => void
  },
  done: Deferred.Deferred<void>
): () => void => {
  let broken = false
  let ended = false
  let unwritten = 0
  let waitingForDrain = false
  const settle = () => {
    if (ended && (unwritten === 0 || broken)) Deferred.doneUnsafe(done, Effect.void)
  }
  const end = () => {
    ended = true
    settle()
  }
  const onError = (error: NodeJS.ErrnoException) => {
    // The reader went away (`| head -1`) or the disk is full: stop writing
    // and keep draining the channel, so the command does not block; tell it
    // with SIGPIPE as a local pipeline would.
    if (!broken && error.code === "EPIPE") handlers.brokenPipe()
    broken = true
    channel.resume()
    settle()
  }
  out.on("error", onError)
  channel.onMessage = (data, isText) => {
    if (isText) {
      handlers.barrier?.()
      return end()
    }
    if (data.length === 0) return
    handlers.data?.()
    if (broken) return
    unwritten++
    const room = out.write(data, () => {
      unwritten--
      settle()
    })
    if (!room && !waitingForDrain) {
      waitingForDrain = true
      channel.pause()
      out.once("drain", () => {
        waitingForDrain = false
        channel.resume()
      })
    }
  }
  channel.onEnd = end
  return () => out.removeListener("error", onError)
}

/**
 * Streams `input` into the stdin channel with backpressure both ways, and
 * sends the end of input when `input` ends. Returns the function that stops
 * it (the command ended, or the session is over).
 */
const pumpInput = (channel: WebSocket, input: Input): () => void => {
  let stopped = false
  const onData = (chunk: Buffer | string) => {
    if (stopped) return
    if (!channel.sendBinary(typeof chunk === "string" ? Buffer.from(chunk) : chunk)) input.pause()
  }
  const onEnd = () => {
    if (!stopped) channel.sendText("")
  }
  channel.onDrain = () => {
    if (!stopped) input.resume()
  }
  input.on("data", onData)
  input.on("end", onEnd)
  input.resume()
  return () => {
    if (stopped) return
    stopped = true
    input.removeListener("data", onData)
    input.removeListener("end", onEnd)
    input.pause()
  }
}

/** Opens one websocket of the session; it is dropped when the session's scope closes. */
const openChannel = (dial: Dial, socketPath: string, name: ProjectName, operation: string, secret: string) =>
  Effect.acquireRelease(
    Effect.callback<WebSocket, ContainerRuntimeError>((resume) => {
      const cancel = connect({ dial, path: execWebsocketPath(operation, secret) }, (result) => {
        if (!(result instanceof Error)) return resume(Effect.succeed(result))
        const reason = errnoCode(result) === ""
          ? new OperationFailed({ kind: "instance", name, operation: "exec", detail: result.message })
          : (() => {
            const u = unavailable(socketPath, result)
            return new Unavailable({ kind: "instance", name, detail: `${socketPath}: ${u.code}`, hint: u.hint })
          })()
        resume(Effect.fail(new ContainerRuntimeError({ reason, cause: result })))
      })
      return Effect.sync(cancel)
    }),
    (channel) => Effect.sync(() => channel.destroy())
  )

/** A C0/C1 control character or DEL, shown as an escape so it cannot drive the terminal. */
const printable = (text: string): string =>
  // eslint-disable-next-line no-control-regex
  text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`)

/**
 * Runs `request` in instance `name` attached to `io`, and returns the
 * command's exit status once it ended and its output was written.
 */
export const runSession = (ctx: RuntimeContext, name: ProjectName, request: SessionRequest, io: SessionIo) =>
  Effect.scoped(Effect.gen(function*() {
    const { client, project } = ctx
    const terminal = io.terminal
    const interactive = terminal !== undefined

    // Signals are taken from the start: until the control channel is up they wait.
    let control: WebSocket | undefined
    const waiting: Array<number> = []
    const sendControl = (message: object) => control?.sendText(JSON.stringify(message))
    yield* ctx.signals.route((signal: ForwardedSignal) => {
      const number = signalNumber[signal]
      if (control === undefined) waiting.push(number)
      else sendControl({ command: "signal", signal: number })
    })
    if (terminal !== undefined) {
      // Every byte (Ctrl-C, Ctrl-Z, Ctrl-D...) goes to the terminal inside,
      // whose line discipline makes it a signal for the foreground job.
      yield* Effect.acquireRelease(
        Effect.sync(() => terminal.setRaw(true)),
        () => Effect.sync(() => terminal.setRaw(false))
      )
    }

    const size = terminal?.size()
    const exec = { kind: "instance", name, operation: "exec", stateful: true } as const
    let stdin: Input | undefined
    const input = () => (stdin ??= io.stdin())
    const [session, cwdIsDirectory] = yield* Effect.all([
      client.startExecSession(project, name, {
        command: request.argv,
        interactive,
        ...(request.env === undefined ? {} : { environment: request.env }),
        ...(request.user === undefined ? {} : { user: request.user }),
        ...(request.group === undefined ? {} : { group: request.group }),
        ...(request.cwd === undefined ? {} : { cwd: request.cwd }),
        ...(size === undefined ? {} : { width: size.width, height: size.height })
      }),
      request.cwd === undefined ? Effect.succeed(true) : client.statInstanceFile(project, name, request.cwd).pipe(
        Effect.map(Option.exists((info) => info["x-incus-type"] === "directory"))
      ),
      // While incusd answers: what the channels need first (node:crypto for
      // the handshakes, ~7 ms to load; stdin, ~3 ms to make).
      Effect.sync(() => {
        loadCrypto()
        return input()
      })
    ], { concurrency: "unbounded" }).pipe(mapErrors(ctx, exec))
    if (!cwdIsDirectory) {
      // No channel is connected, so the command never starts.
      return yield* new ContainerRuntimeError({ reason: new NotFound({ kind: "directory", name: request.cwd ?? "" }) })
    }

    // The status is asked for at once: the answer comes when the command ended.
    const status = yield* Effect.forkScoped(client.execSessionStatus(session.operation).pipe(mapErrors(ctx, exec)))

    const secret = (fd: string) =>
      session.fds[fd] === undefined
        ? Effect.fail(
          new ContainerRuntimeError({
            reason: new OperationFailed({ kind: "instance", name, operation: "exec", detail: `no channel ${fd}` })
          })
        )
        : Effect.succeed(session.fds[fd])
    const open = (fd: string) =>
      Effect.flatMap(secret(fd), (s) => openChannel(client.dial, client.socketPath, name, session.operation, s))
    // The control channel must be up before the command starts, or an early
    // signal or a fast command's end races it. Pipes: 0, 1 and 2 start the
    // command, so 2 waits for control; a terminal: 0 and control start it.
    const [controlChannel, data] = interactive
      ? yield* Effect.all([open("control"), open("0").pipe(Effect.map((d0) => [d0] as const))], {
        concurrency: "unbounded"
      })
      : yield* Effect.all([
        Effect.flatMap(open("control"), (c) => Effect.map(open("2"), (d2) => [c, d2] as const)),
        open("0"),
        open("1")
      ], { concurrency: "unbounded" }).pipe(
        Effect.map(([[c, d2], d0, d1]) => [c, [d0, d1, d2] as const] as const)
      )

    // Handlers first, then the channels deliver.
    control = controlChannel
    controlChannel.onMessage = () => {} // incusd sends nothing but pings on it
    controlChannel.onEnd = () => {
      control = undefined
    }
    for (const number of waiting.splice(0)) sendControl({ command: "signal", signal: number })

    let wroteStderr = false
    const noteStderr = () => {
      wroteStderr = true
    }
    const brokenPipe = () => sendControl({ command: "signal", signal: SIGPIPE })
    const stdinChannel = data[0]
    const outputs: Array<Deferred.Deferred<void>> = []
    const detach: Array<() => void> = []
    if (interactive) {
      // One channel both ways (the terminal merges stdout and stderr); its
      // barrier ends the output, and closing it ends the operation.
      const done = Deferred.makeUnsafe<void>()
      outputs.push(done)
      detach.push(pumpOutput(stdinChannel, io.stdout, {
        brokenPipe,
        data: noteStderr,
        barrier: () => stdinChannel.close(1000)
      }, done))
      detach.push(pumpInput(stdinChannel, input()))
    } else {
      const [, stdoutChannel, stderrChannel] = data as readonly [WebSocket, WebSocket, WebSocket]
      // Read-only channels that incusd drops right after their barrier: a
      // pong racing the drop would cost the output still unread.
      stdoutChannel.answerPings = false
      stderrChannel.answerPings = false
      const out = Deferred.makeUnsafe<void>()
      const err = Deferred.makeUnsafe<void>()
      outputs.push(out, err)
      detach.push(pumpOutput(stdoutChannel, io.stdout, { brokenPipe }, out))
      detach.push(pumpOutput(stderrChannel, io.stderr, { brokenPipe: () => {}, data: noteStderr }, err))
      const stopInput = pumpInput(stdinChannel, input())
      detach.push(stopInput)
      // incusd closes the stdin channel when the command ended: stop reading then.
      stdinChannel.onEnd = stopInput
    }
    yield* Effect.addFinalizer(() => Effect.sync(() => detach.forEach((f) => f())))
    if (terminal !== undefined) {
      const stop = terminal.onResize(() => {
        const { height, width } = terminal.size()
        sendControl({ command: "window-resize", args: { width: String(width), height: String(height) } })
      })
      yield* Effect.addFinalizer(() => Effect.sync(stop))
    }
    controlChannel.start()
    for (const channel of data) channel.start()

    const [ended] = yield* Effect.all([Fiber.join(status), Effect.forEach(outputs, Deferred.await)], {
      concurrency: "unbounded"
    })
    if (ended.failure !== undefined && !wroteStderr) {
      // A missing program prints nothing inside: say what Incus said.
      const line = `repoman: ${printable(request.argv[0] ?? "")}: ${ended.failure.toLowerCase()}\n`
      yield* Effect.callback<void>((resume) => {
        io.stderr.write(Buffer.from(line), () => resume(Effect.void))
      })
    }
    return ended.code
  }))
