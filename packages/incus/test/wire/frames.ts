/** Websocket frames as a server writes them, for the tests. */

/** An unmasked (server) frame. */
export const serverFrame = (opcode: number, payload: Buffer, fin = true): Buffer => {
  const length = payload.length
  const head = length < 126 ? Buffer.from([0, length]) : length < 65536 ? Buffer.alloc(4) : Buffer.alloc(10)
  if (length >= 126 && length < 65536) {
    head[1] = 126
    head.writeUInt16BE(length, 2)
  } else if (length >= 65536) {
    head[1] = 127
    head.writeBigUInt64BE(BigInt(length), 2)
  }
  head[0] = (fin ? 0x80 : 0) | opcode
  return Buffer.concat([head, payload])
}
