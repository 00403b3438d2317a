/**
 * The TLS dial against servers in this process (no Incus needed): the
 * pinned certificate is the only one trusted, nothing reaches a server with
 * another certificate, and each failure is a RemoteFailed naming the remote.
 * The same against the real incusd: test/IncusRemote.integration.test.ts.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as tls from "node:tls"
import * as IncusClient from "../src/IncusClient.ts"
import * as IncusTls from "../src/IncusTls.ts"

const fixture = (name: string) => fs.readFileSync(new URL(`./fixtures/tls/${name}`, import.meta.url), "utf8")
const server = { cert: fixture("server.crt"), key: fixture("server.key") }
const impostor = { cert: fixture("impostor.crt"), key: fixture("impostor.key") }
const client = { cert: fixture("client.crt"), key: fixture("client.key") }

const envelope = (status: number, error: string, metadata: unknown = null) =>
  JSON.stringify({
    type: error === "" ? "sync" : "error",
    status: error === "" ? "Success" : "",
    status_code: error === "" ? 200 : 0,
    operation: "",
    error_code: error === "" ? 0 : status,
    error,
    metadata
  })

const serverInfo = {
  config: {},
  api_extensions: [],
  api_status: "stable",
  api_version: "1.0",
  auth: "trusted",
  public: false,
  auth_methods: ["tls"],
  environment: { server: "incus", server_version: "6.0.4", kernel_features: {}, lxc_features: {}, project: "default" }
}

interface Fake {
  readonly port: number
  /** Application bytes the server received, and the fingerprint of the client certificate it saw. */
  readonly received: () => number
  readonly peer: () => string | undefined
  readonly close: () => Promise<void>
}

/** A TLS server answering every request with `status` and `body`. */
const listen = (identity: { cert: string; key: string }, status: number, body: string) =>
  Effect.promise(() =>
    new Promise<Fake>((resolve) => {
      let received = 0
      let peer: string | undefined
      const srv = tls.createServer({ ...identity, requestCert: true, rejectUnauthorized: false }, (socket) => {
        peer = socket.getPeerCertificate().fingerprint256
        socket.on("error", () => {})
        socket.on("data", (chunk: Buffer) => {
          received += chunk.length
          if (chunk.includes("\r\n\r\n")) {
            socket.end(
              `HTTP/1.1 ${status} X\r\nContent-Type: application/json\r\nContent-Length: ${
                Buffer.byteLength(body)
              }\r\nConnection: close\r\n\r\n${body}`
            )
          }
        })
      })
      srv.on("tlsClientError", () => {})
      srv.listen(0, "127.0.0.1", () =>
        resolve({
          port: (srv.address() as net.AddressInfo).port,
          received: () => received,
          peer: () => peer,
          close: () => new Promise((done) => srv.close(() => done()))
        }))
    })
  )

const clientOf = (port: number, serverCert: string | undefined, timeoutMs?: number) => {
  const address = `https://127.0.0.1:${port}`
  return IncusClient.make({
    socketPath: address,
    local: false,
    remote: { name: "lab", address, pinned: serverCert === undefined ? undefined : "/conf/servercerts/lab.crt" },
    dial: IncusTls.dial({
      host: "127.0.0.1",
      port,
      ...client,
      serverCert,
      ...(timeoutMs === undefined ? {} : { connectTimeoutMs: timeoutMs })
    })
  })
}

const remoteReason = (error: { readonly reason: { readonly _tag: string } }) => {
  assert.strictEqual(error.reason._tag, "RemoteFailed")
  return error.reason as import("../src/IncusError.ts").RemoteFailed
}

describe("IncusTls.dial", () => {
  it.effect("the pinned server: a request goes through, with our client certificate", () =>
    Effect.gen(function*() {
      const fake = yield* listen(server, 200, envelope(200, "", serverInfo))
      const incus = clientOf(fake.port, server.cert)
      assert.strictEqual(incus.local, false)
      const info = yield* incus.getServer()
      assert.strictEqual(info.auth, "trusted")
      assert.strictEqual(fake.peer(), IncusTls.fingerprint(client.cert))
      yield* Effect.promise(fake.close)
    }))

  it.effect("attacker: a server with another certificate is refused and never sees the request", () =>
    Effect.gen(function*() {
      const fake = yield* listen(impostor, 200, envelope(200, "", serverInfo))
      const error = yield* Effect.flip(clientOf(fake.port, server.cert).getServer())
      const reason = remoteReason(error)
      assert.strictEqual(reason.problem, "certificate")
      assert.strictEqual(reason.remote, "lab")
      assert.match(
        reason.message,
        /^Incus remote "lab" \(https:\/\/127\.0\.0\.1:\d+\): .*not the one pinned in \/conf\/servercerts\/lab\.crt/
      )
      assert.strictEqual(fake.received(), 0, "the impostor received application data")
      yield* Effect.promise(fake.close)
    }))

  it.effect("no pinned certificate and no CA for a self-signed server: refused as a certificate problem", () =>
    Effect.gen(function*() {
      const fake = yield* listen(server, 200, envelope(200, "", serverInfo))
      const reason = remoteReason(yield* Effect.flip(clientOf(fake.port, undefined).getServer()))
      assert.strictEqual(reason.problem, "certificate")
      assert.include(reason.detail, "no certificate is pinned")
      assert.strictEqual(fake.received(), 0)
      yield* Effect.promise(fake.close)
    }))

  it.effect("403 not authorized: our certificate is not trusted", () =>
    Effect.gen(function*() {
      const fake = yield* listen(server, 403, envelope(403, "not authorized"))
      const reason = remoteReason(yield* Effect.flip(clientOf(fake.port, server.cert).listInstances("repoman")))
      assert.strictEqual(reason.problem, "not-trusted")
      assert.include(reason.hint, "incus config trust add")
      yield* Effect.promise(fake.close)
    }))

  it.effect("a restricted certificate and another project: project-not-allowed, as Incus words it (403 or 500)", () =>
    Effect.gen(function*() {
      for (
        const [status, text] of [
          [403, "User does not have permission for project \"default\""],
          [500, "User does not have permissions for project \"default\""]
        ] as const
      ) {
        const fake = yield* listen(server, status, envelope(status, text))
        const reason = remoteReason(yield* Effect.flip(clientOf(fake.port, server.cert).listInstances("default")))
        assert.strictEqual(reason.problem, "project-not-allowed")
        assert.include(reason.detail, "may not use project \"default\"")
        yield* Effect.promise(fake.close)
      }
    }))

  it.effect("a closed port: unreachable, with the errno", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(() =>
        new Promise<number>((resolve) => {
          const srv = net.createServer().listen(0, "127.0.0.1", () => {
            const free = (srv.address() as net.AddressInfo).port
            srv.close(() => resolve(free))
          })
        })
      )
      const reason = remoteReason(yield* Effect.flip(clientOf(port, server.cert).getServer()))
      assert.strictEqual(reason.problem, "unreachable")
      assert.strictEqual(reason.code, "ECONNREFUSED")
    }))

  it.effect("a server that never answers the handshake: unreachable after the connect timeout", () =>
    Effect.gen(function*() {
      const held = new Set<net.Socket>()
      const silent = net.createServer((socket) => {
        held.add(socket)
        socket.on("error", () => {})
      })
      const port = yield* Effect.promise(() =>
        new Promise<number>((resolve) =>
          silent.listen(0, "127.0.0.1", () => resolve((silent.address() as net.AddressInfo).port))
        )
      )
      const reason = remoteReason(yield* Effect.flip(clientOf(port, server.cert, 200).getServer()))
      assert.strictEqual(reason.problem, "unreachable")
      assert.strictEqual(reason.code, "ETIMEDOUT")
      for (const socket of held) socket.destroy()
      yield* Effect.promise(() => new Promise<void>((done) => silent.close(() => done())))
    }))
})

describe("IncusClient.layer with unusable certificate files", () => {
  const made: Array<string> = []
  afterAll(() => made.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })))
  const confWith = (files: Record<string, string>) => {
    const dir = fs.mkdtempSync(`${os.tmpdir()}/repoman-tls-conf-`)
    made.push(dir)
    fs.mkdirSync(`${dir}/servercerts`)
    fs.writeFileSync(`${dir}/config.yml`, "remotes:\n  lab:\n    addr: https://127.0.0.1:1\n    protocol: incus\n")
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(`${dir}/${name}`, text)
    return dir
  }
  const failure = (dir: string) =>
    Effect.flip(Effect.flatMap(IncusClient.IncusClient, (c) => c.getServer())).pipe(
      Effect.provide(IncusClient.layer({ remote: "lab", incusConfigDir: dir }))
    )

  it.effect("attacker: a planted servercerts file that is not a certificate: a certificate problem, no defect", () =>
    Effect.gen(function*() {
      const dir = confWith({ ...fileNames(client), "servercerts/lab.crt": "-----BEGIN CERTIFICATE-----\nAAAA\n" })
      const reason = remoteReason(yield* failure(dir))
      assert.strictEqual(reason.problem, "certificate")
      assert.include(reason.detail, `${dir}/servercerts/lab.crt`)
    }))

  it.effect("a password-protected or broken client key: a client-certificate problem naming the file", () =>
    Effect.gen(function*() {
      const dir = confWith({
        "client.crt": client.cert,
        "client.key": "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
        "servercerts/lab.crt": server.cert
      })
      const reason = remoteReason(yield* failure(dir))
      assert.strictEqual(reason.problem, "client-certificate")
      assert.include(
        reason.message,
        `Incus remote "lab" (https://127.0.0.1:1): the client certificate or its key cannot be used`
      )
    }))
})

const fileNames = (identity: { cert: string; key: string }) => ({
  "client.crt": identity.cert,
  "client.key": identity.key
})

describe("a verified server that breaks the protocol", () => {
  it.effect("a malformed answer is OperationFailed, not 'unreachable'", () =>
    Effect.gen(function*() {
      const srv = tls.createServer(server, (socket) => {
        socket.on("error", () => {})
        socket.once("data", () => socket.end("HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n"))
      })
      const port = yield* Effect.promise(() =>
        new Promise<number>((resolve) =>
          srv.listen(0, "127.0.0.1", () => resolve((srv.address() as net.AddressInfo).port))
        )
      )
      const error = yield* Effect.flip(clientOf(port, server.cert).getServer())
      assert.strictEqual(error.reason._tag, "OperationFailed")
      yield* Effect.promise(() => new Promise<void>((done) => srv.close(() => done())))
    }))
})
