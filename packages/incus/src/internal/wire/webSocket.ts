/**
 * A websocket client on the minimal HTTP/1.1 client ({@link request}) and
 * the frame codec ({@link FrameDecoder}), limited to what the Incus exec
 * channels need.
 *
 * - Opening handshake: `Upgrade: websocket`; the 101 answer's
 *   `Sec-WebSocket-Accept` must match the key. Any other answer is reported
 *   with its body (Incus answers 403 for a bad secret).
 * - Binary and text messages, fragmented or not; pings are answered (incusd
 *   pings every exec channel every 10 s).
 * - Close handshake both ways. incusd usually ends a channel by dropping the
 *   connection without a close frame, so `onEnd` reports `clean: false` for
 *   that; it is not an error here.
 * - Backpressure both ways: `send*` return `false` once the socket's write
 *   buffer is full (wait for `onDrain`), and `pause`/`resume` stop and start
 *   reading, which blocks incusd's write, which blocks the command's pipe.
 * - Nothing is delivered before `start()`: the 101 answer and the first
 *   frames can come in one read, before the caller attached its handlers.
 */
import type { Socket } from "node:net"
import { type Dial, type Failure, ProtocolError, request } from "./http1.ts"
import { closePayload, encodeFrame, FrameDecoder, type FrameError, loadCrypto, Opcode } from "./wsFrame.ts"

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/** How a channel ended. */
export interface EndInfo {
  /** The peer sent a close frame before the connection ended. */
  readonly clean: boolean
  /** The peer's close code, if it sent one. */
  readonly code: number | undefined
  /** A local or protocol error that ended the channel, if any. */
  readonly error: Error | undefined
}

/** The upgrade was answered with something other than 101. */
export class UpgradeRefused extends Error {
  readonly status: number
  readonly body: string
  constructor(status: number, body: string) {
    super(`websocket upgrade refused: HTTP ${status} ${body.trim()}`)
    this.status = status
    this.body = body
  }
}

/** One open websocket, client side. */
export class WebSocket {
  /** A data message: `isText` for a text message (Incus: JSON, or `""` at the end of a stream). */
  onMessage: (data: Buffer, isText: boolean) => void = () => {}
  /** The write buffer has room again after a `send*` returned `false`. */
  onDrain: () => void = () => {}
  /** The channel ended (once). */
  onEnd: (info: EndInfo) => void = () => {}
  /**
   * Whether a ping gets its pong (default: yes). A channel the client only
   * reads, and whose server drops the connection as soon as its stream
   * ended, turns this off: a pong written after the drop fails with EPIPE,
   * and Node then destroys the socket with the stream's last messages still
   * unread. incusd's exec keepalive only checks that its own ping was
   * written; it never waits for the pong.
   */
  answerPings = true

  private readonly socket: Socket
  /** Bytes that came with the 101 answer, decoded at `start()`. */
  private readonly head: Buffer
  private readonly decoder: FrameDecoder
  private started = false
  /** Paused by the consumer (backpressure), as opposed to not started yet. */
  private paused = false
  private closeSent = false
  private closeReceived: { readonly code: number | undefined } | undefined
  private error: Error | undefined
  private ended = false
  private closeTimer: NodeJS.Timeout | undefined

  constructor(socket: Socket, head: Buffer) {
    this.socket = socket
    this.head = head
    socket.pause()
    socket.setNoDelay(true)
    this.decoder = new FrameDecoder({
      message: (opcode, payload) => this.onMessage(payload, opcode === Opcode.Text),
      ping: (payload) => {
        if (this.answerPings) this.write(Opcode.Pong, payload)
      },
      pong: () => {},
      close: (code) => {
        this.closeReceived = { code }
        // Echo the close (§5.5.1), then let the server end the connection.
        if (!this.closeSent) {
          this.closeSent = true
          this.write(Opcode.Close, code === undefined ? undefined : closePayload(code))
        }
        socket.end()
      }
    })
    socket.on("data", (chunk: Buffer) => {
      // Nothing is valid after a close frame.
      if (this.closeReceived === undefined) this.decode(chunk)
    })
    socket.on("drain", () => this.onDrain())
    socket.on("error", (e) => {
      this.error ??= e
    })
    socket.on("close", () => this.finish())
  }

  /** Starts delivering messages (the handlers are attached). */
  start(): void {
    if (this.started) return
    this.started = true
    if (this.head.length > 0) this.decode(this.head)
    if (!this.paused) this.socket.resume()
  }

  /** Sends a binary message; `false` when the caller should wait for `onDrain`. */
  sendBinary(data: Uint8Array): boolean {
    return this.write(Opcode.Binary, data)
  }

  /** Sends a text message; `false` when the caller should wait for `onDrain`. */
  sendText(text: string): boolean {
    return this.write(Opcode.Text, Buffer.from(text, "utf8"))
  }

  /** Stops reading from the socket (backpressure towards the server). */
  pause(): void {
    this.paused = true
    this.socket.pause()
  }

  /** Reads from the socket again. */
  resume(): void {
    this.paused = false
    if (this.started) this.socket.resume()
  }

  /** Starts the close handshake; the connection is dropped if the server has not ended it after `timeoutMs`. */
  close(code = 1000, timeoutMs = 1000): void {
    if (this.ended) return
    if (!this.closeSent) {
      this.closeSent = true
      this.write(Opcode.Close, closePayload(code))
    }
    this.closeTimer ??= setTimeout(() => this.socket.destroy(), timeoutMs)
    this.closeTimer.unref()
    // The answer must be read to arrive.
    this.started = true
    this.paused = false
    this.socket.resume()
  }

  /** Drops the connection at once. */
  destroy(): void {
    this.socket.destroy()
  }

  private decode(chunk: Buffer): void {
    const violation = this.decoder.push(chunk)
    if (violation !== undefined) this.fail(violation)
  }

  private write(opcode: Opcode, payload?: Uint8Array): boolean {
    if (this.socket.destroyed || !this.socket.writable) return true
    return this.socket.write(encodeFrame(opcode, payload))
  }

  private fail(error: FrameError): void {
    this.error ??= error
    if (!this.closeSent) {
      this.closeSent = true
      this.write(Opcode.Close, closePayload(error.code))
    }
    this.socket.destroy()
  }

  private finish(): void {
    if (this.ended) return
    this.ended = true
    if (this.closeTimer !== undefined) clearTimeout(this.closeTimer)
    this.onEnd({ clean: this.closeReceived !== undefined, code: this.closeReceived?.code, error: this.error })
  }
}

/**
 * Opens a websocket at `path` (path and query) and gives it to `done` once
 * the 101 answer checked out, or the failure: the socket's error, a
 * {@link ProtocolError}, or {@link UpgradeRefused}. Returns a function that
 * cancels the attempt.
 */
export const connect = (
  options: { readonly dial: Dial; readonly path: string; readonly timeoutMs?: number },
  done: (result: WebSocket | Failure | UpgradeRefused) => void
): () => void => {
  const { createHash, randomBytes } = loadCrypto()
  const key = randomBytes(16).toString("base64")
  return request({
    dial: options.dial,
    method: "GET",
    path: options.path,
    headers: {
      Connection: "Upgrade",
      Upgrade: "websocket",
      "Sec-WebSocket-Version": "13",
      "Sec-WebSocket-Key": key
    },
    maxBody: 64 * 1024,
    timeoutMs: options.timeoutMs ?? 10_000
  }, (result) => {
    if (result instanceof Error) return done(result)
    if (result._tag === "Response") return done(new UpgradeRefused(result.status, result.body.toString("utf8")))
    const expected = createHash("sha1").update(key + GUID).digest("base64")
    if (result.headers.get("sec-websocket-accept") !== expected) {
      result.socket.destroy()
      return done(new ProtocolError("the server's Sec-WebSocket-Accept does not match the key"))
    }
    done(new WebSocket(result.socket, result.head))
  })
}
