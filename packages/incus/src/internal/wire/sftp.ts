/**
 * Just enough SFTP (version 3, draft-ietf-secsh-filexfer-02) for what
 * Incus's file API cannot do safely: read a symlink's target as it is
 * written (the file API makes it absolute, which loses a relative link),
 * and create a file that is never written through a symlink (`O_EXCL`).
 * The session is Incus's `/1.0/instances/NAME/sftp` endpoint (an HTTP
 * upgrade to the SFTP protocol, served inside the instance), one per call.
 *
 * Answers are bounded (64 KiB a packet): what the instance's SFTP server
 * relays is attacker input.
 */
import { type Dial, ProtocolError, request } from "./http1.ts"

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

// --- A session: requests by id over one connection -----------------------------

const SSH_FXP_OPEN = 3
const SSH_FXP_CLOSE = 4
const SSH_FXP_WRITE = 6
const SSH_FXP_LSTAT = 7
const SSH_FXP_FSETSTAT = 10
const SSH_FXP_REMOVE = 13
const SSH_FXP_HANDLE = 102
const SSH_FXP_ATTRS = 105

const FX_OK = 0
/** `SSH_FX_NO_SUCH_FILE`. */
export const FX_NO_SUCH_FILE = 2

const ATTR_UIDGID = 0x2
const ATTR_PERMISSIONS = 0x4

const PF_WRITE = 0x2
const PF_CREAT = 0x8
const PF_EXCL = 0x20

/** What `lstat` says of a path: its type (from the mode), owner and mode. */
export interface SftpAttrs {
  readonly type: "file" | "directory" | "symlink" | "other"
  readonly uid: number
  readonly gid: number
  readonly mode: number
}

const typeOf = (mode: number): SftpAttrs["type"] => {
  const format = mode & 0o170000
  return format === 0o100000 ? "file" : format === 0o040000 ? "directory" : format === 0o120000 ? "symlink" : "other"
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n >>> 0, 0)
  return b
}

const u64 = (n: number) => {
  const b = Buffer.alloc(8)
  b.writeBigUInt64BE(BigInt(n), 0)
  return b
}

/** Reads an ATTRS structure (`body` from its start); `undefined` when it is cut short. */
const readAttrs = (body: Buffer): SftpAttrs | undefined => {
  if (body.length < 4) return undefined
  const flags = body.readUInt32BE(0)
  let at = 4
  if (flags & 0x1) at += 8
  let uid = 0
  let gid = 0
  if (flags & ATTR_UIDGID) {
    if (body.length < at + 8) return undefined
    uid = body.readUInt32BE(at)
    gid = body.readUInt32BE(at + 4)
    at += 8
  }
  if (!(flags & ATTR_PERMISSIONS) || body.length < at + 4) return undefined
  const mode = body.readUInt32BE(at)
  return { type: typeOf(mode), uid, gid, mode: mode & 0o7777 }
}

/**
 * One SFTP connection to an instance (Incus's `/1.0/instances/NAME/sftp`),
 * its requests answered by id. Every answer is bounded; the connection
 * closes on the first broken one, failing what waits.
 */
export class SftpSession {
  private readonly socket: import("node:net").Socket
  private readonly waiting = new Map<number, (answer: { type: number; body: Buffer } | Error) => void>()
  private nextId = 1
  private broken: Error | undefined
  private pending: Buffer

  private constructor(socket: import("node:net").Socket, head: Buffer) {
    this.socket = socket
    this.pending = head
    socket.on("data", (chunk: Buffer) => this.onData(chunk))
    socket.on("error", (error) => this.fail(error))
    socket.on("close", () => this.fail(new ProtocolError("SFTP: the connection closed")))
  }

  /** Opens a session at `path` (path and query): the upgrade, then INIT and VERSION. */
  static open(
    options: { readonly dial: Dial; readonly path: string; readonly timeoutMs?: number }
  ): Promise<SftpSession> {
    return new Promise((resolve, reject) => {
      request({
        dial: options.dial,
        method: "GET",
        path: options.path,
        headers: { Connection: "Upgrade", Upgrade: "sftp" },
        maxBody: 64 * 1024,
        timeoutMs: options.timeoutMs ?? 30_000
      }, (result) => {
        if (result instanceof Error) return reject(result)
        if (result._tag === "Response") return reject(new SftpRefused(result.status, result.body.toString("utf8")))
        const session = new SftpSession(result.socket, result.head)
        // The VERSION answer carries no id: it is taken as the answer to id 0.
        session.waiting.set(0, (answer) => {
          if (answer instanceof Error) return reject(answer)
          if (answer.type !== SSH_FXP_VERSION) {
            return reject(new ProtocolError(`SFTP: expected VERSION, got ${answer.type}`))
          }
          resolve(session)
        })
        result.socket.write(packet(SSH_FXP_INIT, u32(3)))
        if (session.pending.length > 0) session.onData(Buffer.alloc(0))
      })
    })
  }

  /** Closes the connection (what still waits fails). */
  close(): void {
    this.socket.destroy()
  }

  private fail(error: Error) {
    this.broken ??= error
    for (const [, resume] of this.waiting) resume(this.broken)
    this.waiting.clear()
    this.socket.destroy()
  }

  private onData(chunk: Buffer) {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk])
    for (;;) {
      if (this.broken !== undefined || this.pending.length < 4) return
      const length = this.pending.readUInt32BE(0)
      if (length < 1 || length > MAX_PACKET) return this.fail(new ProtocolError(`SFTP: packet of ${length} bytes`))
      if (this.pending.length < 4 + length) return
      const type = this.pending.readUInt8(4)
      const body = Buffer.from(this.pending.subarray(5, 4 + length))
      this.pending = this.pending.subarray(4 + length)
      const id = type === SSH_FXP_VERSION ? 0 : body.length >= 4 ? body.readUInt32BE(0) : -1
      const resume = this.waiting.get(id)
      if (resume === undefined) return this.fail(new ProtocolError(`SFTP: an answer to no request (${id})`))
      this.waiting.delete(id)
      resume({ type, body: type === SSH_FXP_VERSION ? body : body.subarray(4) })
    }
  }

  /** Sends a request (`payload` after the id) and waits for its answer. */
  private call(type: number, payload: Buffer): Promise<{ type: number; body: Buffer }> {
    if (this.broken !== undefined) return Promise.reject(this.broken)
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.waiting.set(id, (answer) => answer instanceof Error ? reject(answer) : resolve(answer))
      this.socket.write(packet(type, Buffer.concat([u32(id), payload])))
    })
  }

  private static status(answer: { type: number; body: Buffer }): SftpStatus {
    if (answer.type !== SSH_FXP_STATUS || answer.body.length < 4) {
      return new SftpStatus(-1, `SFTP: unexpected answer ${answer.type}`)
    }
    const length = answer.body.length >= 8 ? answer.body.readUInt32BE(4) : 0
    return new SftpStatus(answer.body.readUInt32BE(0), answer.body.subarray(8, 8 + length).toString("utf8"))
  }

  /** Fails with the status unless it is OK. */
  private async ok(type: number, payload: Buffer): Promise<void> {
    const status = SftpSession.status(await this.call(type, payload))
    if (status.code !== FX_OK) throw status
  }

  /** The target of the symlink at `path`, as it is written (its bytes). */
  async readlink(path: string): Promise<Buffer> {
    const answer = await this.call(SSH_FXP_READLINK, sshString(Buffer.from(path, "utf8")))
    if (answer.type !== SSH_FXP_NAME) throw SftpSession.status(answer)
    const body = answer.body
    if (body.length < 8 || body.readUInt32BE(0) < 1) throw new ProtocolError("SFTP: no name in the answer")
    const length = body.readUInt32BE(4)
    if (8 + length > body.length) throw new ProtocolError("SFTP: truncated name")
    return Buffer.from(body.subarray(8, 8 + length))
  }

  /** What is at `path`, not following a symlink; `undefined` when nothing is. */
  async lstat(path: string): Promise<SftpAttrs | undefined> {
    const answer = await this.call(SSH_FXP_LSTAT, sshString(Buffer.from(path, "utf8")))
    if (answer.type !== SSH_FXP_ATTRS) {
      const status = SftpSession.status(answer)
      if (status.code === FX_NO_SUCH_FILE) return undefined
      throw status
    }
    const attrs = readAttrs(answer.body)
    if (attrs === undefined) throw new ProtocolError("SFTP: attributes cut short")
    return attrs
  }

  /** Removes the file or symlink at `path` (a symlink itself, never what it points to). */
  remove(path: string): Promise<void> {
    return this.ok(SSH_FXP_REMOVE, sshString(Buffer.from(path, "utf8")))
  }

  /**
   * Creates the regular file at `path`, which must not exist (`O_EXCL`: a
   * symlink there fails it, and is never followed), writes `content` into
   * it and gives it `owner`'s uid, gid and mode on the open file.
   */
  async createFile(
    path: string,
    content: AsyncIterable<Uint8Array>,
    owner: { readonly uid: number; readonly gid: number; readonly mode: number }
  ): Promise<void> {
    const open = await this.call(
      SSH_FXP_OPEN,
      Buffer.concat([
        sshString(Buffer.from(path, "utf8")),
        u32(PF_WRITE | PF_CREAT | PF_EXCL),
        u32(ATTR_PERMISSIONS),
        u32(0o600)
      ])
    )
    if (open.type !== SSH_FXP_HANDLE) throw SftpSession.status(open)
    if (open.body.length < 4) throw new ProtocolError("SFTP: handle cut short")
    const handle = sshString(open.body.subarray(4, 4 + open.body.readUInt32BE(0)))
    const close = () => this.ok(SSH_FXP_CLOSE, handle)
    try {
      let offset = 0
      for await (const piece of content) {
        for (let at = 0; at < piece.length; at += WRITE_CHUNK) {
          const part = piece.subarray(at, at + WRITE_CHUNK)
          await this.ok(SSH_FXP_WRITE, Buffer.concat([handle, u64(offset), sshString(Buffer.from(part))]))
          offset += part.length
        }
      }
      // The owner first: a chown clears setuid and setgid bits a mode set before it.
      await this.ok(SSH_FXP_FSETSTAT, Buffer.concat([handle, u32(ATTR_UIDGID), u32(owner.uid), u32(owner.gid)]))
      await this.ok(SSH_FXP_FSETSTAT, Buffer.concat([handle, u32(ATTR_PERMISSIONS), u32(owner.mode & 0o7777)]))
    } catch (cause) {
      // What was made of the file goes again: a failed write leaves nothing behind.
      await close().catch(() => {})
      await this.remove(path).catch(() => {})
      throw cause
    }
    await close()
  }
}

/** The data of one WRITE request (the server's packets are at most 32 KiB + headers by the draft). */
const WRITE_CHUNK = 32 * 1024
