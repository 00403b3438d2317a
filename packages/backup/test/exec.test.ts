/**
 * `exec.run` with real processes: a child blocked on a path (a FIFO nobody
 * writes, standing in for a hung NFS server) is killed and reported as a
 * Timeout within the deadline instead of hanging repoman; argv goes to the
 * child verbatim, never through a shell.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import { execFileSync } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"

/** Pids whose command line contains `needle` (NUL-separated argv, as in /proc). */
const processesWith = (needle: string): ReadonlyArray<string> =>
  readdirSync("/proc").filter((pid) => {
    if (!/^\d+$/.test(pid)) return false
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "latin1").includes(needle)
    } catch {
      return false
    }
  })
import { run } from "../src/exec.ts"

describe("exec.run", () => {
  it.live("a child blocked on a path fails with Timeout within the deadline", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const fifo = `${dir}/blocking`
      execFileSync("mkfifo", [fifo])
      const started = Date.now()
      const error = yield* Effect.flip(
        run("cat", [fifo], { operation: `touching the backup root ${fifo}`, timeout: Duration.millis(300) })
      )
      assert.strictEqual(error.reason._tag, "Timeout")
      assert.strictEqual(error.message, `touching the backup root ${fifo} did not finish within 300ms`)
      assert.isBelow(Date.now() - started, 3_000)
      // and the stuck child was killed, not left behind
      yield* Effect.sleep("100 millis")
      assert.deepStrictEqual(processesWith(`cat\0${fifo}\0`), [])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("passes argv verbatim (no shell) and reports the exit code and output", () =>
    Effect.gen(function*() {
      const tricky = "a b; echo injected $HOME `id` *"
      const result = yield* run("printf", ["%s|", tricky, "--"], { operation: "printf" })
      assert.deepStrictEqual(result, { exitCode: 0, stdout: `${tricky}|--|`, stderr: "" })
      const failed = yield* run("sh", ["-c", "echo oops >&2; exit 3"], { operation: "sh" })
      assert.deepStrictEqual([failed.exitCode, failed.stderr], [3, "oops\n"])
      const missing = yield* Effect.flip(run("/nonexistent/rsync", [], { operation: "rsync" }))
      assert.strictEqual(missing.reason._tag, "Failed")
      assert.include(missing.message, "cannot run /nonexistent/rsync")
    }).pipe(Effect.provide(NodeServices.layer)))
})
