/**
 * A fake of incusd's exec sessions for unit tests of the websocket session:
 * `POST /1.0/instances/web/exec` (wait-for-websocket) answers with one secret
 * per channel; the channels are websockets on the fake's socket, spoken
 * server side by hand (unmasked frames out, masked frames in); the
 * "command" is a script that starts once the channels Incus requires are
 * connected, as incusd does; `/wait` answers when the script ended.
 *
 * It behaves as Incus 6.0.4 does where the session depends on it (see
 * src/internal/runtime/session.ts): the end of a stream is an empty text
 * message, the connection then drops without a close frame, the command
 * starts only with its channels connected, and with a terminal the
 * operation ends only once the client closed the data channel.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { createHash } from "node:crypto"
import type * as http from "node:http"
import type * as net from "node:net"
import { failedOp, type FakeIncus, fakeIncus, operation, type Route, started, succeeded, sync } from "./fakeIncus.ts"
import { serverFrame } from "./wire/frames.ts"

/** What the command script can do. */
export interface Command {
  readonly interactive: boolean
  /** Writes to stdout (with a terminal: to the terminal). */
  readonly stdout: (data: string | Buffer) => void
  readonly stderr: (data: string | Buffer) => void
  /** Everything the client sent on stdin until its end. */
  readonly stdinToEnd: () => Promise<string>
  /** Resolves once the client sent input (so its handlers are attached). */
  readonly firstInput: () => Promise<string>
  /** The next control message the client sends. */
  readonly nextControl: () => Promise<Record<string, unknown>>
}

/** How the script ended: an exit status, or a failed operation with Incus's words (127, 126). */
export type Ending = { readonly exit: number } | { readonly failure: string; readonly exit: number }

/** Options of {@link fakeExec}. */
export interface FakeExecOptions {
  readonly script: (command: Command) => Promise<Ending>
  /** Answer /wait this many ms before the output ends (the status may come first). */
  readonly statusFirstMs?: number
  /** Other routes (the instance, the file API). */
  readonly route?: Route
  /** Ping each channel as it connects, as incusd's keepalive does. */
  readonly pingAtConnect?: boolean
}

/** A running fake, with what the client sent. */
export interface FakeExec extends FakeIncus {
  /** The body of the exec POST. */
  readonly posted: () => Record<string, unknown> | undefined
  /** The control messages the client sent, in order. */
  readonly control: () => ReadonlyArray<Record<string, unknown>>
  /** Whether the script ran (its channels were all connected). */
  readonly ran: () => boolean
}

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/** One accepted websocket, server side. */
class ServerChannel {
  readonly messages: Array<{ readonly text: boolean; readonly data: Buffer }> = []
  private waiters: Array<() => void> = []
  private pending = Buffer.alloc(0)
  closedByClient = false
  private readonly socket: net.Socket

  constructor(socket: net.Socket) {
    this.socket = socket
    socket.on("data", (chunk: Buffer) => this.receive(chunk))
    socket.on("error", () => {})
  }

  send(opcode: number, data: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(serverFrame(opcode, data))
  }

  /** Drops the connection without a close frame, as incusd does. */
  drop(): void {
    this.socket.destroy()
  }

  /** Resolves at the next message (or close) from the client. */
  next(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve))
  }

  private receive(chunk: Buffer): void {
    this.pending = Buffer.concat([this.pending, chunk])
    for (;;) {
      if (this.pending.length < 2) return
      const opcode = this.pending[0]! & 0x0f
      let length = this.pending[1]! & 0x7f
      let at = 2
      if (length === 126) {
        if (this.pending.length < 4) return
        length = this.pending.readUInt16BE(2)
        at = 4
      } else if (length === 127) {
        if (this.pending.length < 10) return
        length = Number(this.pending.readBigUInt64BE(2))
        at = 10
      }
      if ((this.pending[1]! & 0x80) === 0) throw new Error("the client sent an unmasked frame")
      if (this.pending.length < at + 4 + length) return
      const mask = this.pending.subarray(at, at + 4)
      const data = Buffer.from(this.pending.subarray(at + 4, at + 4 + length))
      for (let i = 0; i < data.length; i++) data[i] = data[i]! ^ mask[i & 3]!
      this.pending = this.pending.subarray(at + 4 + length)
      if (opcode === 0x8) this.closedByClient = true
      else if (opcode === 0x9) this.send(0xa, data)
      else if (opcode === 0x1 || opcode === 0x2) this.messages.push({ text: opcode === 0x1, data })
      for (const waiter of this.waiters.splice(0)) waiter()
    }
  }
}

/** Starts the fake for the scope. */
export const fakeExec = (options: FakeExecOptions): Effect.Effect<FakeExec, never, Scope.Scope> =>
  Effect.gen(function*() {
    const secrets: Record<string, string> = { "0": "s0", "1": "s1", "2": "s2", control: "sc" }
    const channels = new Map<string, ServerChannel>()
    const sockets = new Set<net.Socket>()
    let posted: Record<string, unknown> | undefined
    let ran = false
    let controlRead = 0
    let finish: (reply: ReturnType<typeof succeeded>) => void = () => {}
    const finished = new Promise<ReturnType<typeof succeeded>>((resolve) => (finish = resolve))
    let ending: Ending | undefined

    const interactive = () => posted?.["interactive"] === true
    const required = () => interactive() ? ["0", "control"] : ["0", "1", "2"]

    const stdinToEnd = async (): Promise<string> => {
      const channel = channels.get("0")!
      for (;;) {
        const end = channel.messages.findIndex((m) => m.text && m.data.length === 0)
        if (end >= 0 || channel.closedByClient) {
          const upTo = end >= 0 ? end : channel.messages.length
          return Buffer.concat(channel.messages.slice(0, upTo).filter((m) => !m.text).map((m) => m.data)).toString()
        }
        await channel.next()
      }
    }

    const firstInput = async (): Promise<string> => {
      const channel = channels.get("0")!
      for (;;) {
        const first = channel.messages.find((m) => !m.text)
        if (first !== undefined) return first.data.toString()
        await channel.next()
      }
    }

    const nextControl = async (): Promise<Record<string, unknown>> => {
      const channel = channels.get("control")!
      for (;;) {
        const messages = channel.messages.filter((m) => m.text)
        const message = messages[controlRead]
        if (message !== undefined) {
          controlRead++
          return JSON.parse(message.data.toString()) as Record<string, unknown>
        }
        await channel.next()
      }
    }

    const run = async () => {
      ran = true
      const out = channels.get(interactive() ? "0" : "1")!
      const err = channels.get(interactive() ? "0" : "2")!
      const result = await options.script({
        interactive: interactive(),
        stdout: (data) => out.send(0x2, Buffer.from(data)),
        stderr: (data) => err.send(0x2, Buffer.from(data)),
        stdinToEnd,
        firstInput,
        nextControl
      })
      ending = result
      const status = "failure" in result ? failedOp(result.failure) : succeeded("op-x", { return: result.exit })
      if (options.statusFirstMs !== undefined) {
        finish(status)
        await new Promise((resolve) => setTimeout(resolve, options.statusFirstMs))
      }
      // The barriers, then the connections drop (no close frame).
      for (const fd of interactive() ? ["0"] : ["1", "2"]) channels.get(fd)?.send(0x1, Buffer.alloc(0))
      if (interactive()) {
        // The operation ends only once the client closed the data channel.
        const data = channels.get("0")!
        while (!data.closedByClient) await data.next()
      }
      finish(status)
      for (const channel of channels.values()) channel.drop()
    }

    const upgrade = (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      sockets.add(socket)
      const url = new URL(req.url ?? "/", "http://incus")
      const fd = Object.entries(secrets).find(([, s]) => s === url.searchParams.get("secret"))?.[0]
      if (url.pathname !== "/1.0/operations/op-x/websocket" || fd === undefined) {
        socket.end("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
        return
      }
      const accept = createHash("sha1").update(`${req.headers["sec-websocket-key"]}${GUID}`).digest("base64")
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`
      )
      const channel = new ServerChannel(socket)
      if (options.pingAtConnect === true) channel.send(0x9, Buffer.from("keepalive"))
      if (head.length > 0) socket.emit("data", head)
      channels.set(fd, channel)
      if (!ran && required().every((f) => channels.has(f))) void run()
    }

    const fake = yield* fakeIncus(async (request) => {
      if (request.method === "POST" && request.path === "/1.0/instances/web/exec") {
        posted = request.body as Record<string, unknown>
        const op = started("op-x")
        const fds = interactive()
          ? { "0": secrets["0"], control: secrets["control"] }
          : secrets
        return { ...op, body: { ...(op.body as object), metadata: operation("op-x", "Running", 103, { fds }) } }
      }
      if (request.method === "GET" && request.path === "/1.0/operations/op-x/wait") return finished
      if (request.method === "GET" && request.path === "/1.0/operations/op-x") {
        return sync(operation("op-x", "Failure", 400, { return: ending?.exit ?? 0 }, "Command not found"))
      }
      return options.route?.(request)
    }, upgrade)
    yield* Effect.addFinalizer(() => Effect.sync(() => sockets.forEach((s) => s.destroy())))
    const control = () =>
      (channels.get("control")?.messages ?? []).filter((m) => m.text).map((m) =>
        JSON.parse(m.data.toString()) as Record<string, unknown>
      )
    return { ...fake, posted: () => posted, control, ran: () => ran }
  })
