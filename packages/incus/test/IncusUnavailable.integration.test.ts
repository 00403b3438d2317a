/**
 * The "daemon unavailable" errors as a user meets them (REPOMAN_INTEGRATION=1):
 * `INCUS_SOCKET` pointing at a missing path and at a stale socket file, read
 * through the live layers exactly as the CLI builds them.
 */
import { assert, describe, it } from "@effect/vitest"
import { ContainerRuntime } from "@repoman/core/ContainerRuntime"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as IncusClient from "../src/IncusClient.ts"
import * as IncusContainerRuntime from "../src/IncusContainerRuntime.ts"
import { staleSocket } from "./fakeIncus.ts"

const withSocketEnv = (socket: string) => ConfigProvider.layer(ConfigProvider.fromEnvRecord({ INCUS_SOCKET: socket }))

const serverVia = (socket: string) =>
  Effect.gen(function*() {
    const client = yield* IncusClient.IncusClient
    return yield* client.getServer()
  }).pipe(Effect.provide(IncusClient.layer().pipe(Layer.provide(withSocketEnv(socket)))))

const listVia = (socket: string) =>
  Effect.gen(function*() {
    const runtime = yield* ContainerRuntime
    return yield* runtime.list()
  }).pipe(
    Effect.provide(IncusContainerRuntime.layerClient({ project: "default" }).pipe(Layer.provide(withSocketEnv(socket))))
  )

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "repoman-unavail-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

describe("Incus unavailable (INCUS_SOCKET)", () => {
  it.live("a missing socket: ENOENT, the hint says to start incusd and names the socket", () =>
    Effect.gen(function*() {
      const socket = path.join(yield* tempDir, "missing.socket")
      const e = yield* Effect.flip(serverVia(socket))
      assert.deepInclude(e.reason, { _tag: "Unavailable", socketPath: socket, code: "ENOENT" })
      assert.include(e.message, socket)
      assert.match(e.message, /start incusd/)

      const r = yield* Effect.flip(listVia(socket))
      assert.strictEqual(r.reason._tag, "Unavailable")
      assert.include(r.message, socket)
    }).pipe(Effect.scoped))

  it.live("a stale socket file: ECONNREFUSED, the hint says incusd is not running", () =>
    Effect.gen(function*() {
      const socket = yield* staleSocket(yield* tempDir)
      assert.isTrue(fs.statSync(socket).isSocket())
      const e = yield* Effect.flip(serverVia(socket))
      assert.deepInclude(e.reason, { _tag: "Unavailable", socketPath: socket, code: "ECONNREFUSED" })
      assert.match(e.message, /incusd is not running/)

      const r = yield* Effect.flip(listVia(socket))
      assert.strictEqual(r.reason._tag, "Unavailable")
      assert.match(r.message, /not running/)
    }).pipe(Effect.scoped))

  it.live("the real socket, for contrast, answers", () =>
    Effect.gen(function*() {
      const socket = process.env["INCUS_SOCKET"] ?? "/var/lib/incus/unix.socket"
      const server = yield* serverVia(socket)
      assert.strictEqual(server.api_version, "1.0")
      assert.isAbove(server.api_extensions.length, 100)
      assert.strictEqual(server.auth, "trusted")
    }))
})
