/**
 * The websocket frame codec. Server frames are built by hand, as incusd
 * (gorilla/websocket) sends them: unmasked, possibly fragmented, control
 * frames in between; and as a hostile server might.
 */
import { assert, describe, it } from "@effect/vitest"
import { closePayload, encodeFrame, FrameDecoder, FrameError, Opcode } from "../../src/internal/wire/wsFrame.ts"
import { serverFrame } from "./frames.ts"

type Event = readonly [string, ...Array<unknown>]

const collect = (maxMessage?: number) => {
  const events: Array<Event> = []
  const decoder = new FrameDecoder({
    message: (opcode, payload) => events.push([opcode === Opcode.Text ? "text" : "binary", payload.toString("latin1")]),
    ping: (payload) => events.push(["ping", payload.toString()]),
    pong: (payload) => events.push(["pong", payload.toString()]),
    close: (code, reason) => events.push(["close", code, reason])
  }, maxMessage)
  return { decoder, events }
}

/** Unmasks a client frame, as a server does, to check what the client sends. */
const unmask = (frame: Buffer): { fin: boolean; opcode: number; payload: Buffer } => {
  assert.isTrue((frame[1]! & 0x80) !== 0, "client frames are masked")
  let length = frame[1]! & 0x7f
  let at = 2
  if (length === 126) {
    length = frame.readUInt16BE(2)
    at = 4
  } else if (length === 127) {
    length = Number(frame.readBigUInt64BE(2))
    at = 10
  }
  const mask = frame.subarray(at, at + 4)
  const payload = Buffer.from(frame.subarray(at + 4, at + 4 + length))
  for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ mask[i & 3]!
  assert.strictEqual(frame.length, at + 4 + length)
  return { fin: (frame[0]! & 0x80) !== 0, opcode: frame[0]! & 0x0f, payload }
}

describe("wsFrame", () => {
  it("encodes masked, final frames with 7-, 16- and 64-bit lengths", () => {
    for (const size of [0, 1, 125, 126, 65535, 65536, 200_000]) {
      const data = Buffer.alloc(size, 0xab)
      const frame = unmask(encodeFrame(Opcode.Binary, data))
      assert.isTrue(frame.fin)
      assert.strictEqual(frame.opcode, Opcode.Binary)
      assert.isTrue(frame.payload.equals(data), `size ${size}`)
    }
    assert.strictEqual(unmask(encodeFrame(Opcode.Text)).payload.length, 0) // the end-of-stream barrier
    assert.deepStrictEqual([...unmask(encodeFrame(Opcode.Close, closePayload(1000))).payload], [0x03, 0xe8])
  })

  it("masks with a fresh key per frame and leaves the caller's buffer alone", () => {
    const data = Buffer.from("keep me, keep me")
    const a = encodeFrame(Opcode.Binary, data)
    const b = encodeFrame(Opcode.Binary, data)
    assert.strictEqual(data.toString(), "keep me, keep me")
    assert.isFalse(a.subarray(2).equals(b.subarray(2)), "two frames of the same payload differ on the wire")
  })

  it("decodes whole, split and merged frames alike", () => {
    const stream = Buffer.concat([
      serverFrame(Opcode.Binary, Buffer.from("out\n")),
      serverFrame(Opcode.Binary, Buffer.alloc(70_000, 0x61)),
      serverFrame(Opcode.Text, Buffer.alloc(0))
    ])
    const whole = collect()
    assert.isUndefined(whole.decoder.push(stream))
    const bytewise = collect()
    for (let i = 0; i < stream.length; i++) assert.isUndefined(bytewise.decoder.push(stream.subarray(i, i + 1)))
    for (const { events } of [whole, bytewise]) {
      assert.deepStrictEqual(events.map((e) => e[0]), ["binary", "binary", "text"])
      assert.strictEqual(events[0]?.[1], "out\n")
      assert.strictEqual(String(events[1]?.[1]).length, 70_000)
      assert.strictEqual(events[2]?.[1], "")
    }
  })

  it("reassembles a fragmented message with control frames in between", () => {
    const { decoder, events } = collect()
    decoder.push(serverFrame(Opcode.Binary, Buffer.from("ab"), false))
    decoder.push(serverFrame(Opcode.Ping, Buffer.from("keepalive")))
    decoder.push(serverFrame(Opcode.Continuation, Buffer.from("cd"), false))
    decoder.push(serverFrame(Opcode.Pong, Buffer.from("late")))
    decoder.push(serverFrame(Opcode.Continuation, Buffer.from("ef"), true))
    assert.deepStrictEqual(events, [["ping", "keepalive"], ["pong", "late"], ["binary", "abcdef"]])
  })

  it("reports close codes and reasons, and a close without a code", () => {
    const { decoder, events } = collect()
    decoder.push(serverFrame(Opcode.Close, closePayload(1000, "bye")))
    decoder.push(serverFrame(Opcode.Close, Buffer.alloc(0)))
    assert.deepStrictEqual(events, [["close", 1000, "bye"], ["close", undefined, ""]])
  })

  it("refuses what a server must not send, delivering nothing of it", () => {
    const bad: ReadonlyArray<readonly [string, Buffer]> = [
      ["masked", Buffer.from([0x82, 0x81, 1, 2, 3, 4, 5])],
      ["RSV bit", Buffer.from([0xc2, 0x00])],
      ["unknown opcode", Buffer.from([0x83, 0x00])],
      ["unknown control opcode", Buffer.from([0x8b, 0x00])],
      ["fragmented ping", serverFrame(Opcode.Ping, Buffer.alloc(1), false)],
      ["long ping", serverFrame(Opcode.Ping, Buffer.alloc(126))],
      ["stray continuation", serverFrame(Opcode.Continuation, Buffer.alloc(1))],
      ["1-byte close", serverFrame(Opcode.Close, Buffer.alloc(1))]
    ]
    for (const [name, frame] of bad) {
      const { decoder, events } = collect()
      const error = decoder.push(frame)
      assert.instanceOf(error, FrameError, name)
      assert.strictEqual(error?.code, 1002, name)
      assert.deepStrictEqual(events, [], name)
    }
    const nested = collect()
    nested.decoder.push(serverFrame(Opcode.Binary, Buffer.from("a"), false))
    assert.instanceOf(nested.decoder.push(serverFrame(Opcode.Binary, Buffer.from("b"))), FrameError)
  })

  it("refuses oversized frames and messages before buffering them (close 1009)", () => {
    const small = collect(1000)
    assert.strictEqual(small.decoder.push(serverFrame(Opcode.Binary, Buffer.alloc(1001)))?.code, 1009)
    // A 64-bit length announcing 2^53 bytes is refused from the header alone.
    const huge = collect()
    assert.strictEqual(huge.decoder.push(Buffer.from([0x82, 127, 0, 0x20, 0, 0, 0, 0, 0, 0]))?.code, 1009)
    // So is a 16-bit one over the bound, before its payload arrived.
    const early = collect(1000)
    assert.strictEqual(early.decoder.push(Buffer.from([0x82, 126, 0x04, 0x00]))?.code, 1009)
    // And a fragmented message that grows past it.
    const fragments = collect(1000)
    assert.isUndefined(fragments.decoder.push(serverFrame(Opcode.Binary, Buffer.alloc(600), false)))
    assert.strictEqual(fragments.decoder.push(serverFrame(Opcode.Continuation, Buffer.alloc(600)))?.code, 1009)
    assert.deepStrictEqual(fragments.events, [])
  })
})
