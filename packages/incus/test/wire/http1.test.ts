/**
 * The minimal HTTP/1.1 client, against a local unix-socket server that
 * writes raw answers (well-formed, slow, broken and hostile ones).
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import { connect as netConnect, createServer, type Socket } from "node:net"
import { Worker } from "node:worker_threads"
import { type Failure, type Request, request, type Response, type Upgraded } from "../../src/internal/wire/http1.ts"

/** A server for the scope that answers each request with `reply` (given the request head). */
export const rawServer = (reply: (head: string, socket: Socket) => void) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-http1-" })
    const path = `${dir}/s.sock`
    const sockets = new Set<Socket>()
    const server = createServer((socket) => {
      sockets.add(socket)
      let received = ""
      let answered = false
      socket.on("data", (d) => {
        received += d.toString("latin1")
        if (!answered && received.includes("\r\n\r\n")) {
          answered = true
          reply(received, socket)
        }
      })
      socket.on("error", () => {})
    })
    yield* Effect.acquireRelease(
      Effect.callback<void>((resume) => void server.listen(path, () => resume(Effect.void))),
      () =>
        Effect.sync(() => {
          for (const s of sockets) s.destroy()
          server.close()
        })
    )
    return path
  }).pipe(Effect.provide(NodeFileSystem.layer))

const send = (req: Request) =>
  Effect.callback<Response | Upgraded | Failure>((resume) => {
    request(req, (result) => resume(Effect.succeed(result)))
  })

const dialTo = (path: string) => () => netConnect(path)

/** Writes `text` a few bytes at a time, as a slow server would. */
const trickle = (socket: Socket, text: string) => {
  const pieces = text.match(/[\s\S]{1,7}/g) ?? []
  const next = () => {
    const piece = pieces.shift()
    if (piece !== undefined) socket.write(piece, "latin1", () => setTimeout(next, 1))
  }
  next()
}

const response = (result: Response | Upgraded | Failure): Response => {
  if (result instanceof Error) throw result
  assert.strictEqual(result._tag, "Response")
  return result as Response
}

describe("http1", () => {
  it.live("sends the request line, headers and body; reads a Content-Length answer", () =>
    Effect.gen(function*() {
      let seen = ""
      const path = yield* rawServer((head, socket) => {
        seen = head
        socket.end(
          "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"a\":\"bcd\"}"
        )
      })
      const answer = response(
        yield* send({ dial: dialTo(path), method: "POST", path: "/1.0/x?y=1", body: Buffer.from("{}") })
      )
      assert.strictEqual(answer.status, 202)
      assert.strictEqual(answer.body.toString(), "{\"a\":\"bcd\"}")
      assert.strictEqual(answer.headers.get("content-type"), "application/json")
      assert.match(seen, /^POST \/1\.0\/x\?y=1 HTTP\/1\.1\r\n/)
      assert.match(seen, /\r\nContent-Length: 2\r\n/)
      assert.match(seen, /\r\nConnection: close\r\n/)
    }).pipe(Effect.scoped))

  it.live("reads a chunked answer arriving a few bytes at a time (incusd's /wait)", () =>
    Effect.gen(function*() {
      const path = yield* rawServer((_head, socket) =>
        trickle(
          socket,
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n"
        )
      )
      assert.strictEqual(
        response(yield* send({ dial: dialTo(path), method: "GET", path: "/wait" })).body.toString(),
        "hello, world"
      )
    }).pipe(Effect.scoped))

  it.live("hands over the socket on 101, with the bytes after the head", () =>
    Effect.gen(function*() {
      const path = yield* rawServer((_head, socket) =>
        socket.write(
          Buffer.from("HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: x\r\n\r\n\x82\x01a", "latin1")
        )
      )
      const result = yield* send({ dial: dialTo(path), method: "GET", path: "/ws" })
      if (result instanceof Error || result._tag !== "Upgraded") return assert.fail("expected an upgrade")
      assert.strictEqual(result.headers.get("sec-websocket-accept"), "x")
      assert.deepStrictEqual([...result.head], [0x82, 0x01, 0x61])
      result.socket.destroy()
    }).pipe(Effect.scoped))

  it.live("keeps the answer of a server that replies before reading the body and closes (incusd's 404 to a PATCH)", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-http1-" })
      const path = `${dir}/s.sock`
      // The server runs on a thread of its own, as incusd does: it answers
      // on the head alone and closes at once with the body unread, while the
      // client may still be writing.
      const worker = yield* Effect.acquireRelease(
        Effect.callback<Worker>((resume) => {
          const w = new Worker(
            `const { createServer } = require("node:net")
            const { parentPort, workerData } = require("node:worker_threads")
            createServer((socket) => {
              let head = ""
              socket.on("error", () => {})
              socket.on("data", (d) => {
                head += d.toString("latin1")
                if (!head.includes("\\r\\n\\r\\n")) return
                socket.removeAllListeners("data")
                socket.end("HTTP/1.1 404 Not Found\\r\\nContent-Length: 2\\r\\n\\r\\n{}", () => socket.destroy())
              })
            }).listen(workerData, () => parentPort.postMessage("ready"))`,
            { eval: true, workerData: path }
          )
          w.once("message", () => resume(Effect.succeed(w)))
        }),
        (w) => Effect.promise(() => w.terminate())
      )
      assert.isDefined(worker)
      const body = Buffer.from(JSON.stringify({ config: { "user.a": "x".repeat(4096) } }))
      const outcomes = new Map<string, number>()
      for (let i = 0; i < 500; i++) {
        const result = yield* send({ dial: dialTo(path), method: "PATCH", path: "/1.0/instances/missing", body })
        const key = result instanceof Error
          ? String((result as NodeJS.ErrnoException).code)
          : String((result as Response).status)
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1)
      }
      assert.deepStrictEqual(Object.fromEntries(outcomes), { "404": 500 })
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

  it.live("a HEAD answer has no body, whatever its Content-Length says", () =>
    Effect.gen(function*() {
      const path = yield* rawServer((_head, socket) =>
        socket.write("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nX-Incus-Type: directory\r\n\r\n")
      )
      const answer = response(yield* send({ dial: dialTo(path), method: "HEAD", path: "/f" }))
      assert.strictEqual(answer.headers.get("x-incus-type"), "directory")
      assert.strictEqual(answer.body.length, 0)
    }).pipe(Effect.scoped))

  it.live("refuses broken and oversized answers without buffering them", () =>
    Effect.gen(function*() {
      const failure = (reply: string, extra: Partial<Request> = {}) =>
        Effect.gen(function*() {
          const path = yield* rawServer((_head, socket) => socket.end(reply))
          const result = yield* send({ dial: dialTo(path), method: "GET", path: "/", ...extra })
          return result instanceof Error ? result.message : `answered ${JSON.stringify(result)}`
        })
      assert.match(yield* failure("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"), /closed before the answer ended/)
      assert.match(yield* failure("SSH-2.0-OpenSSH\r\n\r\n"), /malformed/)
      assert.match(yield* failure(`HTTP/1.1 200 OK\r\nX: ${"a".repeat(70_000)}`), /head too large/)
      assert.match(yield* failure("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", { maxBody: 10 }), /content-length/)
      assert.match(
        yield* failure(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n20\r\n${"x".repeat(32)}\r\n0\r\n\r\n`, {
          maxBody: 10
        }),
        /larger than 10 bytes/
      )
      assert.match(yield* failure("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), /bad chunk size/)
      assert.match(yield* failure("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"), /transfer-encoding/)
    }).pipe(Effect.scoped))

  it.live("never sends a header with a line break; connection errors keep their errno", () =>
    Effect.gen(function*() {
      const path = yield* rawServer((head, socket) =>
        socket.end(`HTTP/1.1 200 OK\r\nContent-Length: ${head.length}\r\n\r\n${head}`)
      )
      const injected = yield* send({ dial: dialTo(path), method: "GET", path: "/", headers: { X: "a\r\nB: c" } })
      assert.instanceOf(injected, Error)
      assert.match((injected as Error).message, /line break/)
      const missing = yield* send({ dial: dialTo(`${path}.none`), method: "GET", path: "/" })
      assert.strictEqual((missing as NodeJS.ErrnoException).code, "ENOENT")
    }).pipe(Effect.scoped))
})
