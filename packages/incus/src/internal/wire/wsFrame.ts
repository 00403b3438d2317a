/**
 * The RFC 6455 frame codec of a websocket *client*, limited to what the
 * Incus exec channels need: no extensions, no compression, no subprotocols.
 *
 * - Outgoing frames are always masked (a client must mask, §5.3) and never
 *   fragmented.
 * - Incoming frames must be unmasked (a server must not mask, §5.1), may be
 *   fragmented (continuation frames) and may have control frames between the
 *   fragments.
 * - The decoder is incremental: feed it whatever the socket delivered; it
 *   reports each complete frame and keeps a partial one. A frame or a
 *   reassembled message above `maxMessage` is refused before it is
 *   buffered, so a hostile peer cannot make the client hold unbounded data.
 *
 * Pure code (bytes in, callbacks out), tested without a server.
 */
import type * as Crypto from "node:crypto"
import { createRequire } from "node:module"

let crypto: typeof Crypto | undefined

/**
 * `node:crypto`, loaded on first use and through `require`: an ESM import
 * builds the module namespace, which runs its lazy `webcrypto` getter
 * (~9 ms at start-up).
 */
export const loadCrypto = (): typeof Crypto => crypto ??= createRequire(import.meta.url)("node:crypto") as typeof Crypto

/** Frame opcodes (§5.2). */
export const Opcode = {
  Continuation: 0x0,
  Text: 0x1,
  Binary: 0x2,
  Close: 0x8,
  Ping: 0x9,
  Pong: 0xa
} as const

/** One of the {@link Opcode} values. */
export type Opcode = (typeof Opcode)[keyof typeof Opcode]

/** A data message's opcode. */
export type DataOpcode = typeof Opcode.Text | typeof Opcode.Binary

/** The peer broke the protocol; the connection fails with close `code` (1002 protocol error, 1009 too big). */
export class FrameError extends Error {
  readonly code: number
  constructor(message: string, code = 1002) {
    super(message)
    this.code = code
  }
}

/**
 * Encodes one final, masked frame. The payload is copied while it is
 * masked, so the caller may reuse its buffer.
 */
export const encodeFrame = (opcode: Opcode, payload: Uint8Array = new Uint8Array(0)): Buffer => {
  const length = payload.length
  const lengthBytes = length < 126 ? 0 : length < 65536 ? 2 : 8
  const headerSize = 2 + lengthBytes + 4
  const out = Buffer.allocUnsafe(headerSize + length)
  out[0] = 0x80 | opcode
  if (lengthBytes === 0) {
    out[1] = 0x80 | length
  } else if (lengthBytes === 2) {
    out[1] = 0x80 | 126
    out.writeUInt16BE(length, 2)
  } else {
    out[1] = 0x80 | 127
    out.writeBigUInt64BE(BigInt(length), 2)
  }
  const maskAt = 2 + lengthBytes
  loadCrypto().randomFillSync(out, maskAt, 4)
  const m0 = out[maskAt]!, m1 = out[maskAt + 1]!, m2 = out[maskAt + 2]!, m3 = out[maskAt + 3]!
  for (let i = 0; i < length; i++) {
    const m = (i & 3) === 0 ? m0 : (i & 3) === 1 ? m1 : (i & 3) === 2 ? m2 : m3
    out[headerSize + i] = payload[i]! ^ m
  }
  return out
}

/** The payload of a close frame: a 2-byte status code and a UTF-8 reason (§5.5.1). */
export const closePayload = (code: number, reason = ""): Buffer => {
  const text = Buffer.from(reason, "utf8")
  const out = Buffer.allocUnsafe(2 + text.length)
  out.writeUInt16BE(code, 0)
  text.copy(out, 2)
  return out
}

/** What the decoder reports. `message` gets whole (reassembled) data messages. */
export interface DecoderEvents {
  readonly message: (opcode: DataOpcode, payload: Buffer) => void
  readonly ping: (payload: Buffer) => void
  readonly pong: (payload: Buffer) => void
  /** `code` is undefined when the close frame had no status (§7.1.5: 1005). */
  readonly close: (code: number | undefined, reason: string) => void
}

/**
 * Incremental frame decoder. `push` returns a {@link FrameError} on a
 * protocol violation; the decoder must not be used after that.
 *
 * `maxMessage` bounds a frame and a reassembled message: Incus sends each
 * read of the command's pipe as one frame (32 KiB), so the default, 16 MiB,
 * is generous.
 */
export class FrameDecoder {
  // Bytes received and not decoded yet, kept as a list so that a large
  // frame arriving in many reads is concatenated once.
  private pending: Array<Buffer> = []
  private pendingSize = 0
  /** Bytes needed before the next decoding attempt can make progress. */
  private needed = 2
  private fragments: Array<Buffer> = []
  private fragmentsSize = 0
  private fragmentOpcode: DataOpcode | undefined
  private readonly events: DecoderEvents
  private readonly maxMessage: number

  constructor(events: DecoderEvents, maxMessage = 16 * 1024 * 1024) {
    this.events = events
    this.maxMessage = maxMessage
  }

  push(chunk: Buffer): FrameError | undefined {
    this.pending.push(chunk)
    this.pendingSize += chunk.length
    if (this.pendingSize < this.needed) return undefined
    let buffer = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingSize)
    for (;;) {
      const consumed = this.frame(buffer)
      if (consumed instanceof FrameError) return consumed
      if (consumed === 0) break
      buffer = buffer.subarray(consumed)
      this.needed = 2
    }
    this.pending = buffer.length === 0 ? [] : [buffer]
    this.pendingSize = buffer.length
    return undefined
  }

  /**
   * Decodes one frame at the start of `b`: the bytes it used, 0 when the
   * frame is incomplete (`needed` then says how many bytes it takes), or the
   * violation.
   */
  private frame(b: Buffer): number | FrameError {
    if (b.length < 2) return (this.needed = 2), 0
    const first = b[0]!
    const second = b[1]!
    if ((first & 0x70) !== 0) return new FrameError("RSV bits set without a negotiated extension")
    if ((second & 0x80) !== 0) return new FrameError("masked frame from the server")
    let length = second & 0x7f
    let at = 2
    if (length === 126) {
      if (b.length < 4) return (this.needed = 4), 0
      length = b.readUInt16BE(2)
      at = 4
    } else if (length === 127) {
      if (b.length < 10) return (this.needed = 10), 0
      const big = b.readBigUInt64BE(2)
      if (big > BigInt(this.maxMessage)) return new FrameError("frame too large", 1009)
      length = Number(big)
      at = 10
    }
    if (length > this.maxMessage) return new FrameError("frame too large", 1009)
    if (b.length < at + length) return (this.needed = at + length), 0
    // No copy: the socket hands out a fresh Buffer per read (and concat makes
    // a new one), so the slice stays valid while a stream holds it.
    const violation = this.dispatch((first & 0x80) !== 0, first & 0x0f, b.subarray(at, at + length))
    return violation ?? at + length
  }

  private dispatch(fin: boolean, opcode: number, payload: Buffer): FrameError | undefined {
    if (opcode >= 0x8) {
      // Control frames: never fragmented, at most 125 bytes (§5.5).
      if (!fin || payload.length > 125) return new FrameError("invalid control frame")
      switch (opcode) {
        case Opcode.Close:
          if (payload.length === 1) return new FrameError("close frame with a 1-byte payload")
          this.events.close(payload.length >= 2 ? payload.readUInt16BE(0) : undefined, payload.toString("utf8", 2))
          return undefined
        case Opcode.Ping:
          this.events.ping(payload)
          return undefined
        case Opcode.Pong:
          this.events.pong(payload)
          return undefined
        default:
          return new FrameError(`unknown control opcode ${opcode}`)
      }
    }
    if (opcode === Opcode.Continuation) {
      const started = this.fragmentOpcode
      if (started === undefined) return new FrameError("continuation without a start frame")
      const tooBig = this.addFragment(payload)
      if (tooBig !== undefined || !fin) return tooBig
      const whole = Buffer.concat(this.fragments, this.fragmentsSize)
      this.fragments = []
      this.fragmentsSize = 0
      this.fragmentOpcode = undefined
      this.events.message(started, whole)
      return undefined
    }
    if (opcode !== Opcode.Text && opcode !== Opcode.Binary) return new FrameError(`unknown opcode ${opcode}`)
    if (this.fragmentOpcode !== undefined) return new FrameError("a new message inside a fragmented one")
    if (fin) {
      this.events.message(opcode, payload)
      return undefined
    }
    this.fragmentOpcode = opcode
    return this.addFragment(payload)
  }

  private addFragment(payload: Buffer): FrameError | undefined {
    this.fragmentsSize += payload.length
    if (this.fragmentsSize > this.maxMessage) return new FrameError("message too large", 1009)
    this.fragments.push(payload)
    return undefined
  }
}
