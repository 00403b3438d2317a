import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import { hostname } from "node:os"
import * as SyncLock from "../src/SyncLock.ts"

const now = new Date("2026-01-01T00:00:00Z")

describe("SyncLock", () => {
  it.effect("holds the lock for the scope, refuses a second holder with a clear message, and releases it", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const file = SyncLock.lockFile(`${dir}/locks`, "/backup")
      yield* Effect.scoped(Effect.gen(function*() {
        yield* SyncLock.acquire(`${dir}/locks`, "/backup", now)
        assert.isTrue(yield* fs.exists(file))
        const second = yield* Effect.flip(Effect.scoped(SyncLock.acquire(`${dir}/locks`, "/backup", now)))
        assert.strictEqual(second.reason._tag, "Busy")
        assert.include(second.message, `another repoman sync (pid ${process.pid}`)
        // another root has its own lock
        yield* Effect.scoped(SyncLock.acquire(`${dir}/locks`, "/other-backup", now))
      }))
      assert.isFalse(yield* fs.exists(file))
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.effect("takes over a lock whose holder no longer runs (killed with SIGKILL)", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const file = SyncLock.lockFile(dir, "/backup")
      const dead = { pid: 2_000_000_000, host: hostname(), root: "/backup", started: "2025-01-01T00:00:00Z" }
      yield* fs.writeFileString(file, JSON.stringify(dead))
      yield* Effect.scoped(SyncLock.acquire(dir, "/backup", now))
      // a live holder on this host is respected
      yield* fs.writeFileString(file, JSON.stringify({ ...dead, pid: 1 }))
      const busy = yield* Effect.flip(Effect.scoped(SyncLock.acquire(dir, "/backup", now)))
      assert.strictEqual(busy.reason._tag, "Busy")
      assert.include(busy.message, "pid 1 ")
    }).pipe(Effect.provide(NodeFileSystem.layer)))
})
