/**
 * Just enough SFTP (version 3, draft-ietf-secsh-filexfer-02) to read a
 * symlink's target as it is written: Incus's file API answers a symlink
 * with the target made absolute, which loses a relative link. The session
 * is Incus's `/1.0/instances/NAME/sftp` endpoint (an HTTP upgrade to the
 * SFTP protocol, served inside the instance), one per call.
 *
 * Answers are bounded (64 KiB a packet): what the instance's SFTP server
 * relays is attacker input.
 */
import { type Dial, type Failure, ProtocolError, request } from "./http1.ts"

const SSH_FXP_INIT = 1
const SSH_FXP_VERSION = 2
const SSH_FXP_READLINK = 19
const SSH_FXP_STATUS = 101
const SSH_FXP_NAME = 104

const MAX_PACKET = 64 * 1024

/** The server answered a request with a status (`code`: 2 no such file, 3 permission denied, ...). */
export class SftpStatus extends Error {
  readonly code: number
  constructor(code: number, message: string) {
    super(message === "" ? `SFTP status ${code}` : message)
    this.code = code
  }
}

/** The refusal of the upgrade: the HTTP status and body of the answer. */
export class SftpRefused extends Error {
  readonly status: number
  readonly body: string
  constructor(status: number, body: string) {
    super(`the SFTP upgrade was refused (HTTP ${status})`)
    this.status = status
    this.body = body
  }
}

const packet = (type: number, payload: Buffer) => {
  const head = Buffer.alloc(5)
  head.writeUInt32BE(payload.length + 1, 0)
  head.writeUInt8(type, 4)
  return Buffer.concat([head, payload])
}

const sshString = (value: Buffer) => {
  const length = Buffer.alloc(4)
  length.writeUInt32BE(value.length, 0)
  return Buffer.concat([length, value])
}

/**
 * Reads the target of the symlink at `linkPath` in the instance whose SFTP
 * endpoint is `path` (path and query); `done` gets its bytes, or the
 * failure. Returns a function that cancels it.
 */
export const readlink = (
  options: { readonly dial: Dial; readonly path: string; readonly linkPath: string; readonly timeoutMs?: number },
  done: (result: Buffer | Failure | SftpStatus | SftpRefused) => void
): () => void => {
  let finished = false
  let destroy = () => {}
  const finish = (result: Buffer | Failure | SftpStatus | SftpRefused) => {
    if (finished) return
    finished = true
    destroy()
    done(result)
  }
  const cancel = request({
    dial: options.dial,
    method: "GET",
    path: options.path,
    headers: { Connection: "Upgrade", Upgrade: "sftp" },
    maxBody: 64 * 1024,
    timeoutMs: options.timeoutMs ?? 30_000
  }, (result) => {
    if (result instanceof Error) return finish(result)
    if (result._tag === "Response") return finish(new SftpRefused(result.status, result.body.toString("utf8")))
    const { socket } = result
    destroy = () => socket.destroy()
    socket.setTimeout(options.timeoutMs ?? 30_000, () => finish(new ProtocolError("SFTP: timed out")))
    let pending: Buffer = result.head
    let initialized = false
    const onPacket = (type: number, body: Buffer): void => {
      if (!initialized) {
        if (type !== SSH_FXP_VERSION) return finish(new ProtocolError(`SFTP: expected VERSION, got ${type}`))
        initialized = true
        const id = Buffer.alloc(4)
        id.writeUInt32BE(1, 0)
        socket.write(packet(SSH_FXP_READLINK, Buffer.concat([id, sshString(Buffer.from(options.linkPath, "utf8"))])))
        return
      }
      if (body.length < 4 || body.readUInt32BE(0) !== 1) {
        return finish(new ProtocolError("SFTP: answer to another request"))
      }
      if (type === SSH_FXP_STATUS) {
        const code = body.length >= 8 ? body.readUInt32BE(4) : -1
        const length = body.length >= 12 ? body.readUInt32BE(8) : 0
        return finish(new SftpStatus(code, body.subarray(12, 12 + length).toString("utf8")))
      }
      if (type !== SSH_FXP_NAME || body.length < 12 || body.readUInt32BE(4) < 1) {
        return finish(new ProtocolError(`SFTP: unexpected answer ${type}`))
      }
      const length = body.readUInt32BE(8)
      if (12 + length > body.length) return finish(new ProtocolError("SFTP: truncated name"))
      return finish(Buffer.from(body.subarray(12, 12 + length)))
    }
    const onData = (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
      for (;;) {
        if (finished || pending.length < 4) return
        const length = pending.readUInt32BE(0)
        if (length < 1 || length > MAX_PACKET) return finish(new ProtocolError(`SFTP: packet of ${length} bytes`))
        if (pending.length < 4 + length) return
        const type = pending.readUInt8(4)
        const body = pending.subarray(5, 4 + length)
        pending = pending.subarray(4 + length)
        onPacket(type, body)
      }
    }
    socket.on("data", onData)
    socket.on("error", (error) => finish(error))
    socket.on("end", () => finish(new ProtocolError("SFTP: the connection closed")))
    const version = Buffer.alloc(4)
    version.writeUInt32BE(3, 0)
    socket.write(packet(SSH_FXP_INIT, version))
    if (pending.length > 0) onData(Buffer.alloc(0))
  })
  return () => {
    if (finished) return
    finished = true
    cancel()
    destroy()
  }
}
