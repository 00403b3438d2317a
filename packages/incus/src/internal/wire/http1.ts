/**
 * A minimal HTTP/1.1 client on one socket per request: what repoman needs
 * from incusd (JSON requests and answers, raw file bodies, websocket
 * upgrades) without `node:http`.
 *
 * Why not node:http: loading it costs ~45 ms of CPU at start-up and its
 * first request in a process ~17 ms more, against ~1.5 ms for a request
 * written on a socket (measured for issue 17). Every `repoman` command talks
 * to incusd, and `exec`/`run` make six requests (the POST, `/wait`, four
 * websocket upgrades).
 *
 * Scope, enforced: one request per connection (`Connection: close`); bodies
 * with `Content-Length`, `Transfer-Encoding: chunked` (incusd streams larger
 * JSON answers and `/wait` chunked) or up to EOF; `101 Switching Protocols`
 * hands the socket over. The answer's head and body are bounded, so a broken
 * or hostile peer cannot make the client buffer without limit.
 *
 * How a connection is made is the caller's {@link Dial}: a unix socket here;
 * a TLS dialer is all an HTTPS remote needs (issue 19).
 */
import type { Socket } from "node:net"

/** Opens one connection to the server. */
export type Dial = () => Socket

/** One request. */
export interface Request {
  readonly dial: Dial
  readonly method: string
  /** Path and query, already escaped. */
  readonly path: string
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: Uint8Array
  /**
   * A body sent as it is read, `Transfer-Encoding: chunked` (instead of
   * `body`): the next piece is read only once the socket took the last one.
   * If it throws, the request fails with {@link UploadFailed}.
   */
  readonly upload?: AsyncIterable<Uint8Array>
  /** The largest body accepted (default {@link MAX_BODY}). */
  readonly maxBody?: number
  /** Idle time after which the request fails (default: none). */
  readonly timeoutMs?: number
  /**
   * Where a 2xx answer's body goes instead of being kept (the answer's
   * `body` is then empty): each piece as it arrives, with the socket, which
   * the caller pauses while it cannot take more and resumes after.
   */
  readonly sink?: (chunk: Buffer, socket: Socket) => void
}

/** A whole answer. Header names are lower-case; a repeated header keeps its last value. */
export interface Response {
  readonly _tag: "Response"
  readonly status: number
  readonly headers: ReadonlyMap<string, string>
  readonly body: Buffer
}

/** A `101 Switching Protocols` answer: the socket now speaks the new protocol. */
export interface Upgraded {
  readonly _tag: "Upgraded"
  readonly headers: ReadonlyMap<string, string>
  readonly socket: Socket
  /** Bytes that came after the response head (already the new protocol). */
  readonly head: Buffer
}

/** The default bound on a response body: 64 MiB (a list of a thousand instances is a few MB). */
export const MAX_BODY = 64 * 1024 * 1024

const MAX_HEAD = 64 * 1024

const CRLF = Buffer.from("\r\n", "latin1")

/**
 * The peer broke the protocol (a malformed or oversized answer) or the
 * request timed out. Connection failures are the socket's own errors, with
 * their errno `code`.
 */
export class ProtocolError extends Error {}

/**
 * The peer closed the connection before its answer ended: the server went
 * away (or was cut off), as a reset connection says. Carries `ECONNRESET`
 * as its `code`, so callers treat it as the server being unreachable.
 */
export class ConnectionClosed extends ProtocolError {
  readonly code = "ECONNRESET"
}

/** Reading the request's `upload` body threw: `cause` is what it threw. */
export class UploadFailed extends ProtocolError {
  readonly uploadCause: unknown
  constructor(cause: unknown) {
    super(`the request body could not be read: ${cause instanceof Error ? cause.message : String(cause)}`)
    this.uploadCause = cause
  }
}

/** Why a request failed: the socket's error (`code`: ENOENT, ECONNREFUSED, ...) or a {@link ProtocolError}. */
export type Failure = NodeJS.ErrnoException | ProtocolError

/**
 * Sends the request; `done` gets the whole answer, the socket on 101, or
 * the failure, exactly once. Returns a function that cancels the request
 * (the socket is destroyed and `done` is not called).
 */
export const request = (req: Request, done: (result: Response | Upgraded | Failure) => void): () => void => {
  const socket = req.dial()
  let settled = false
  const settle = (result: Response | Upgraded | Failure) => {
    if (settled) return
    settled = true
    if (!(result instanceof Error) && result._tag === "Upgraded") {
      socket.removeListener("data", onData)
      socket.removeListener("end", onEnd)
      socket.removeListener("error", settle)
      socket.setTimeout(0)
    } else {
      socket.destroy()
    }
    done(result)
  }
  socket.setTimeout(req.timeoutMs ?? 0, () => settle(new ProtocolError(`${req.method} ${req.path}: timed out`)))
  socket.on("error", settle)

  const headers: Record<string, string> = { Host: "incus", Connection: "close", ...req.headers }
  if (req.upload !== undefined) headers["Transfer-Encoding"] = "chunked"
  else if (req.body !== undefined) headers["Content-Length"] = String(req.body.length)
  const lines = [`${req.method} ${req.path} HTTP/1.1`]
  for (const [name, value] of Object.entries(headers)) {
    if (/[\r\n]/.test(name + value)) {
      // Nothing is written: the request is refused before it is sent.
      queueMicrotask(() => settle(new ProtocolError(`header ${name} contains a line break`)))
      return () => settle(new ProtocolError("cancelled"))
    }
    lines.push(`${name}: ${value}`)
  }
  // Head and body in one write: a server that answers before reading the
  // body (incusd's 404 for a PATCH of a missing instance) and closes would
  // otherwise fail the body's separate write with EPIPE, and the answer
  // already on its way would be lost (issue 16: a flaky conformance test).
  const headText = `${lines.join("\r\n")}\r\n\r\n`
  socket.write(
    req.body === undefined || req.body.length === 0 || req.upload !== undefined
      ? headText
      : Buffer.concat([Buffer.from(headText, "latin1"), req.body])
  )
  if (req.upload !== undefined) void pump(req.upload)

  /** Writes the upload as chunks, waiting for the socket to drain; stops once the request settled. */
  async function pump(upload: AsyncIterable<Uint8Array>) {
    const drained = () =>
      new Promise<void>((resolve) => {
        const go = () => {
          socket.removeListener("drain", go)
          socket.removeListener("close", go)
          resolve()
        }
        socket.once("drain", go)
        socket.once("close", go)
      })
    try {
      for await (const piece of upload) {
        if (settled || socket.destroyed) return
        if (piece.length === 0) continue
        const ok = socket.write(Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`, "latin1"), piece, CRLF]))
        if (!ok) await drained()
      }
      if (!settled && !socket.destroyed) socket.write("0\r\n\r\n")
    } catch (cause) {
      settle(new UploadFailed(cause))
    }
  }

  let head: Buffer = Buffer.alloc(0)
  let status = 0
  let responseHeaders: Map<string, string> | undefined
  let body: BodyReader | undefined
  function onData(chunk: Buffer) {
    if (settled) return
    if (body === undefined) {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk])
      const end = head.indexOf("\r\n\r\n")
      if (end < 0) {
        if (head.length > MAX_HEAD) settle(new ProtocolError("response head too large"))
        return
      }
      const parsed = parseHead(head.subarray(0, end).toString("latin1"))
      if (parsed === undefined) return settle(new ProtocolError("malformed response head"))
      const rest = head.subarray(end + 4)
      if (parsed.status === 101) {
        return settle({ _tag: "Upgraded", headers: parsed.headers, socket, head: rest })
      }
      status = parsed.status
      responseHeaders = parsed.headers
      // A HEAD answer has no body, whatever its Content-Length says.
      const sink = req.sink
      const streamed = sink !== undefined && parsed.status >= 200 && parsed.status < 300
        ? (b: Buffer) => sink(b, socket)
        : undefined
      const reader = req.method === "HEAD"
        ? emptyBody
        : bodyReader(parsed.headers, req.maxBody ?? MAX_BODY, streamed)
      if (reader instanceof ProtocolError) return settle(reader)
      body = reader
      chunk = rest
    }
    const complete = body.push(chunk)
    if (complete instanceof ProtocolError) return settle(complete)
    if (complete) finish()
  }
  const finish = () => {
    if (body === undefined || responseHeaders === undefined) return
    settle({ _tag: "Response", status, headers: responseHeaders, body: body.result() })
  }
  function onEnd() {
    if (body !== undefined && body.untilEof) finish()
    else settle(new ConnectionClosed(`${req.method} ${req.path}: the connection closed before the answer ended`))
  }
  socket.on("data", onData)
  socket.on("end", onEnd)
  return () => {
    if (settled) return
    settled = true
    socket.destroy()
  }
}

const parseHead = (text: string): { status: number; headers: Map<string, string> } | undefined => {
  const [statusLine, ...rest] = text.split("\r\n")
  const match = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(statusLine ?? "")
  if (match === null) return undefined
  const headers = new Map<string, string>()
  for (const line of rest) {
    const colon = line.indexOf(":")
    if (colon <= 0) return undefined
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim())
  }
  return { status: Number(match[1]), headers }
}

/** Collects a response body: `push` says whether the body is complete, or why it is broken. */
interface BodyReader {
  readonly untilEof: boolean
  push(chunk: Buffer): boolean | ProtocolError
  result(): Buffer
}

const emptyBody: BodyReader = { untilEof: false, push: () => true, result: () => Buffer.alloc(0) }

/** Reads a body of at most `maxBody` bytes, keeping it, or handing each piece to `sink` when given. */
const bodyReader = (
  headers: ReadonlyMap<string, string>,
  maxBody: number,
  sink?: (b: Buffer) => void
): BodyReader | ProtocolError => {
  const parts: Array<Buffer> = []
  let size = 0
  let kept = 0
  const add = (b: Buffer): ProtocolError | undefined => {
    size += b.length
    if (size > maxBody) return new ProtocolError(`response body larger than ${maxBody} bytes`)
    if (b.length === 0) return undefined
    if (sink !== undefined) sink(b)
    else {
      parts.push(b)
      kept += b.length
    }
    return undefined
  }
  const result = () => Buffer.concat(parts, kept)
  const encoding = headers.get("transfer-encoding")
  if (encoding !== undefined) {
    if (encoding.toLowerCase() !== "chunked") return new ProtocolError(`unsupported transfer-encoding ${encoding}`)
    return chunkedReader(add, result)
  }
  const length = headers.get("content-length")
  if (length !== undefined) {
    const total = /^\d+$/.test(length) ? Number(length) : Number.NaN
    if (!Number.isSafeInteger(total) || total > maxBody) return new ProtocolError(`bad content-length ${length}`)
    return {
      untilEof: false,
      result,
      push: (chunk) => add(chunk.subarray(0, total - size)) ?? size >= total
    }
  }
  return { untilEof: true, result, push: (chunk) => add(chunk) ?? false }
}

/** `<hex size>[;ext]\r\n<data>\r\n` ... `0\r\n[trailers]\r\n` (trailers are ignored). */
const chunkedReader = (add: (b: Buffer) => ProtocolError | undefined, result: () => Buffer): BodyReader => {
  let pending: Buffer = Buffer.alloc(0)
  // Bytes of chunk data still to read, plus its CRLF; -1 while a size line is expected.
  let need = -1
  return {
    untilEof: false,
    result,
    push(chunk) {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
      for (;;) {
        if (need < 0) {
          const eol = pending.indexOf("\r\n")
          if (eol < 0) return pending.length > 1024 ? new ProtocolError("bad chunk size line") : false
          const sizeText = pending.subarray(0, eol).toString("latin1").split(";")[0]?.trim() ?? ""
          if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) return new ProtocolError("bad chunk size")
          const n = Number.parseInt(sizeText, 16)
          pending = pending.subarray(eol + 2)
          if (n === 0) return true
          need = n + 2
        }
        if (pending.length < need) return false
        const broken = add(pending.subarray(0, need - 2))
        if (broken !== undefined) return broken
        pending = pending.subarray(need)
        need = -1
      }
    }
  }
}
