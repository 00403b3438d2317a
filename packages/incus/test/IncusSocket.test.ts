import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as IncusSocket from "../src/IncusSocket.ts"

const none = () => false
const only = (path: string) => (p: string) => p === path

describe("IncusSocket.resolve", () => {
  it("takes $INCUS_SOCKET as given, even when it does not exist", () => {
    assert.strictEqual(IncusSocket.resolve({ INCUS_SOCKET: "/x/s", INCUS_DIR: "/d" }, none), "/x/s")
  })

  it("then $INCUS_DIR/unix.socket", () => {
    assert.strictEqual(IncusSocket.resolve({ INCUS_DIR: "/opt/incus/" }, none), "/opt/incus/unix.socket")
    assert.strictEqual(IncusSocket.resolve({ INCUS_SOCKET: "", INCUS_DIR: "/d" }, none), "/d/unix.socket")
  })

  it("then the first default that exists: /var/lib/incus, /run/incus", () => {
    assert.strictEqual(IncusSocket.resolve({}, () => true), IncusSocket.defaultPath)
    assert.strictEqual(IncusSocket.resolve({}, only(IncusSocket.runPath)), IncusSocket.runPath)
  })

  it("else /var/lib/incus/unix.socket, so the error names the usual place", () => {
    assert.strictEqual(IncusSocket.resolve({}, none), "/var/lib/incus/unix.socket")
  })

  it("the incus-user socket beside it when the admin socket is not writable and that one is (group incus)", () => {
    const user = (p: string) => p.endsWith(".user")
    assert.strictEqual(IncusSocket.resolve({}, () => true, user), "/var/lib/incus/unix.socket.user")
    assert.strictEqual(IncusSocket.resolve({ INCUS_DIR: "/d" }, none, user), "/d/unix.socket.user")
    assert.strictEqual(IncusSocket.resolve({}, only(IncusSocket.runPath), user), "/run/incus/unix.socket.user")
    // Writable admin socket (incus-admin): that one; neither writable: the admin one, so EACCES names it.
    assert.strictEqual(IncusSocket.resolve({}, () => true, () => true), IncusSocket.defaultPath)
    assert.strictEqual(IncusSocket.resolve({}, () => true, none), IncusSocket.defaultPath)
    // $INCUS_SOCKET is never second-guessed.
    assert.strictEqual(IncusSocket.resolve({ INCUS_SOCKET: "/x/s" }, () => true, user), "/x/s")
  })
})

describe("IncusSocket.fromEnvironment", () => {
  it.effect("reads INCUS_SOCKET and INCUS_DIR through the ConfigProvider", () =>
    Effect.gen(function*() {
      const fromSocket = yield* IncusSocket.fromEnvironment.pipe(
        Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnvRecord({ INCUS_SOCKET: "/tmp/nowhere.socket" })))
      )
      assert.strictEqual(fromSocket, "/tmp/nowhere.socket")
      const fromDir = yield* IncusSocket.fromEnvironment.pipe(
        Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnvRecord({ INCUS_DIR: "/srv/incus" })))
      )
      assert.strictEqual(fromDir, "/srv/incus/unix.socket")
    }))
})
