/**
 * The request body sent as it is read (chunked), against a local
 * unix-socket server that records what arrives.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import { connect as netConnect, createServer, type Socket } from "node:net"
import { type Failure, request, type Response, type Upgraded, UploadFailed } from "../../src/internal/wire/http1.ts"

/** A server for the scope that collects each request whole (until `0\r\n\r\n`) and answers 200. */
const collectingServer = (seen: Array<string>) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-upload-" })
    const path = `${dir}/s.sock`
    const sockets = new Set<Socket>()
    const server = createServer((socket) => {
      sockets.add(socket)
      let received = ""
      socket.on("data", (d) => {
        received += d.toString("latin1")
        if (received.endsWith("\r\n0\r\n\r\n") || received.endsWith("\r\n\r\n0\r\n\r\n")) {
          seen.push(received)
          socket.end("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        }
      })
      socket.on("close", () => seen.push(received))
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

const send = (path: string, upload: AsyncIterable<Uint8Array>) =>
  Effect.callback<Response | Upgraded | Failure>((resume) => {
    request(
      { dial: () => netConnect(path), method: "POST", path: "/up", upload },
      (result) => resume(Effect.succeed(result))
    )
  })

/** The body of a chunked request, decoded. */
const dechunk = (raw: string): string => {
  let rest = raw.slice(raw.indexOf("\r\n\r\n") + 4)
  let out = ""
  for (;;) {
    const eol = rest.indexOf("\r\n")
    const size = Number.parseInt(rest.slice(0, eol), 16)
    if (size === 0) return out
    out += rest.slice(eol + 2, eol + 2 + size)
    rest = rest.slice(eol + 4 + size)
  }
}

describe("http1 upload", () => {
  it.live("sends the pieces as chunks, skips empty ones, and ends the body", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const path = yield* collectingServer(seen)
      async function* pieces() {
        yield Buffer.from("hello ")
        yield new Uint8Array()
        yield Buffer.from("x".repeat(70_000))
        yield Buffer.from(" end")
      }
      const answer = yield* send(path, pieces())
      assert.isFalse(answer instanceof Error)
      const raw = seen[0] ?? ""
      assert.include(raw, "Transfer-Encoding: chunked")
      assert.notInclude(raw, "Content-Length")
      assert.strictEqual(dechunk(raw), `hello ${"x".repeat(70_000)} end`)
    }), 20_000)

  it.live("an empty body is the last chunk alone", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const path = yield* collectingServer(seen)
      async function* nothing() {}
      const answer = yield* send(path, nothing())
      assert.isFalse(answer instanceof Error)
      assert.isTrue((seen[0] ?? "").endsWith("\r\n\r\n0\r\n\r\n"))
    }), 20_000)

  it.live("a body that fails to read fails the request, and the body is never ended", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const path = yield* collectingServer(seen)
      async function* broken() {
        yield Buffer.from("part")
        throw new Error("disk gone")
      }
      const answer = yield* send(path, broken())
      assert.instanceOf(answer, UploadFailed)
      assert.include((answer as UploadFailed).message, "disk gone")
      yield* Effect.sleep("50 millis")
      assert.isFalse(seen.some((r) => r.endsWith("0\r\n\r\n")), "the server saw a complete body")
    }), 20_000)
})
