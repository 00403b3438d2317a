/**
 * A fake incusd for unit tests: a `node:http` server on a unix socket in a
 * temporary directory, answering with the envelopes Incus 6.0.4 sends.
 * Routes are plain functions of the request; every request is recorded.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import type * as Scope from "effect/Scope"
import * as nodeFs from "node:fs"
import * as http from "node:http"
import * as net from "node:net"

/** One request the fake received. */
export interface FakeRequest {
  readonly method: string
  readonly path: string
  readonly query: URLSearchParams
  readonly headers: http.IncomingHttpHeaders
  /** The JSON body, or `undefined` when there was none. */
  readonly body: unknown
}

/** What a route answers: a JSON body (or a raw string), a status and headers. */
export interface FakeReply {
  readonly status?: number
  readonly body: unknown
  readonly headers?: Readonly<Record<string, string>>
  /** Send `body` as is (a string) instead of as JSON. */
  readonly raw?: boolean
}

/** Answers a request (maybe later: a long poll), or `undefined` to let the fake answer 404. */
export type Route = (request: FakeRequest) => FakeReply | undefined | Promise<FakeReply | undefined>

/** Takes over the connection of a websocket upgrade request. */
export type Upgrade = (request: http.IncomingMessage, socket: net.Socket, head: Buffer) => void

/** A running fake. */
export interface FakeIncus {
  readonly socketPath: string
  /** Every request so far, oldest first. */
  readonly requests: Effect.Effect<ReadonlyArray<FakeRequest>>
}

/** A sync answer. */
export const sync = (metadata: unknown, status = 200, headers: Readonly<Record<string, string>> = {}): FakeReply => ({
  status,
  headers,
  body: {
    type: "sync",
    status: "Success",
    status_code: 200,
    operation: "",
    error_code: 0,
    error: "",
    metadata,
    extra_field_from_a_newer_incus: true
  }
})

/** An error answer, as Incus sends it (HTTP status = `error_code`, unless `http` says otherwise). */
export const error = (code: number, text: string, httpStatus = code): FakeReply => ({
  status: httpStatus,
  body: { type: "error", status: "", status_code: 0, operation: "", error_code: code, error: text, metadata: null }
})

/** An operation object. */
export const operation = (id: string, status: string, statusCode: number, metadata: unknown = null, err = "") => ({
  id,
  class: "task",
  description: "Testing",
  created_at: "2026-11-22T07:45:54.031578847Z",
  updated_at: "2026-11-22T07:45:54.031578847Z",
  status,
  status_code: statusCode,
  resources: null,
  metadata,
  may_cancel: false,
  err,
  location: "none"
})

/** The 202 answer that starts operation `id`. */
export const started = (id: string): FakeReply => ({
  status: 202,
  body: {
    type: "async",
    status: "Operation created",
    status_code: 100,
    operation: `/1.0/operations/${id}`,
    error_code: 0,
    error: "",
    metadata: operation(id, "Running", 103)
  }
})

/** The /wait answer of a successful operation. */
export const succeeded = (id: string, metadata: unknown = null): FakeReply =>
  sync(operation(id, "Success", 200, metadata))

/** The /wait answer of a failed operation: HTTP 200 with an error body. */
export const failedOp = (text: string, code = 400): FakeReply => error(code, text, 200)

/** An instance object as `recursion=1` returns it. */
export const instance = (name: string, status = "Running", extra: Record<string, unknown> = {}) => ({
  architecture: "x86_64",
  config: { "volatile.base_image": "3f53ed68ab0a1428a9704d6587cda3d5a68aa0bb6a78590fa763ecc827736929" },
  devices: {},
  ephemeral: false,
  profiles: ["default"],
  stateful: false,
  description: "",
  created_at: "2026-11-22T07:45:54.03627188Z",
  expanded_config: {},
  expanded_devices: {},
  name,
  status,
  status_code: status === "Running" ? 103 : 102,
  last_used_at: "2026-11-22T07:45:54.157639453Z",
  location: "none",
  type: "container",
  project: "p",
  ...extra
})

const readBody = (req: http.IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    req.on("error", reject)
  })

const listen = (server: http.Server, socketPath: string) =>
  Effect.callback<void>((resume) => {
    server.listen(socketPath, () => resume(Effect.void))
  })

const close = (server: http.Server) =>
  Effect.callback<void>((resume) => {
    server.closeAllConnections()
    server.close(() => resume(Effect.void))
  })

/**
 * Starts a fake incusd for the scope. Unrouted requests get Incus's 404.
 */
export const fakeIncus = (route: Route, upgrade?: Upgrade): Effect.Effect<FakeIncus, never, Scope.Scope> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-fake-incus-" })
    const socketPath = `${dir}/unix.socket`
    const requests: Array<FakeRequest> = []
    const server = http.createServer((req, res) => {
      void readBody(req).then((text) => {
        const url = new URL(req.url ?? "/", "http://incus")
        const request: FakeRequest = {
          method: req.method ?? "GET",
          path: url.pathname,
          query: url.searchParams,
          headers: req.headers,
          body: text.length > 0 ? JSON.parse(text) : undefined
        }
        requests.push(request)
        return route(request)
      }).then((routed) => {
        const reply = routed ?? error(404, `not routed: ${req.method} ${req.url}`)
        res.writeHead(reply.status ?? 200, {
          "content-type": reply.raw === true ? "application/octet-stream" : "application/json",
          ...reply.headers
        })
        res.end(reply.raw === true ? String(reply.body) : JSON.stringify(reply.body))
      })
    })
    server.on("upgrade", (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      const url = new URL(req.url ?? "/", "http://incus")
      requests.push({
        method: "UPGRADE",
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: undefined
      })
      if (upgrade === undefined) return socket.destroy()
      upgrade(req, socket, head)
    })
    yield* Effect.acquireRelease(listen(server, socketPath), () => close(server))
    return { socketPath, requests: Effect.sync(() => requests.slice()) }
  }).pipe(Effect.orDie, Effect.provide(NodeFileSystem.layer))

/**
 * Leaves a socket file nobody listens on, as a crashed daemon does: listen,
 * hard-link the socket, close (which removes only the original name).
 */
export const staleSocket = (dir: string): Effect.Effect<string> =>
  Effect.callback<string>((resume) => {
    const live = `${dir}/live.socket`
    const stale = `${dir}/stale.socket`
    const server = net.createServer()
    server.listen(live, () => {
      nodeFs.linkSync(live, stale)
      server.close(() => resume(Effect.succeed(stale)))
    })
  })
