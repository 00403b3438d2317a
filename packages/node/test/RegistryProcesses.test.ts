/**
 * The registry against real concurrent processes: no lost writes under
 * contention, and a SIGKILL in the middle of a write leaves a file that parses.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as ChildProcess from "effect/process/ChildProcess"
import * as Stream from "effect/Stream"
import { fileURLToPath } from "node:url"
import { configDir, readText, registryAt } from "./registryHarness.ts"

const worker = fileURLToPath(new URL("./fixtures/registry-worker.ts", import.meta.url))

const VALID = `schema = 3\n[defaults]\nrepos_root = "~/repos"\n`

const runWorker = (dir: string, ...args: ReadonlyArray<string>) =>
  Effect.scoped(Effect.gen(function*() {
    const handle = yield* ChildProcess.make(process.execPath, [worker, dir, ...args], { stderr: "pipe" })
    const [stderr, code] = yield* Effect.all(
      [Stream.mkString(Stream.decodeText(handle.stderr)), handle.exitCode],
      { concurrency: "unbounded" }
    )
    return { code: Number(code), stderr }
  }))

describe("Registry under concurrent processes", () => {
  it.live("20 processes adding different projects at the same time lose none", () =>
    Effect.gen(function*() {
      const { dir } = yield* configDir(VALID)
      const names = Array.from({ length: 20 }, (_, i) => `proj-${i}`)
      const results = yield* Effect.forEach(names, (n) => runWorker(dir, "add", n), { concurrency: "unbounded" })
      for (const r of results) assert.strictEqual(r.code, 0, r.stderr)
      const registry = yield* registryAt(dir)
      const stored = (yield* registry.projects).map((p) => p.name).sort()
      assert.deepStrictEqual(stored, [...names].sort())
    }).pipe(Effect.provide(NodeServices.layer)), 60_000)

  it.live(
    "SIGKILL in the middle of writes leaves a registry that parses, and the next writer recovers the lock",
    () =>
      Effect.gen(function*() {
        const { dir, file } = yield* configDir(VALID)
        for (let round = 0; round < 8; round++) {
          yield* Effect.scoped(Effect.gen(function*() {
            const handle = yield* ChildProcess.make(process.execPath, [worker, dir, "churn"])
            // Let it get some writes done, then kill it at a moment that varies by round.
            const lines = handle.stdout.pipe(Stream.decodeText, Stream.splitLines)
            yield* lines.pipe(Stream.take(3 + round), Stream.runDrain)
            yield* Effect.sleep(`${(round * 7) % 23} millis`)
            yield* handle.kill({ killSignal: "SIGKILL" })
            yield* handle.exitCode.pipe(Effect.ignore)
          }))
          const registry = yield* registryAt(dir, { lockTimeout: "5 seconds" })
          const projects = yield* registry.projects
          // Old or new content, never a mix: either no bulk projects or all 400.
          const bulk = projects.filter((p) => p.name.startsWith("bulk-")).length
          assert.include([0, 400], bulk, `round ${round}: ${bulk} bulk projects`)
          // The dead worker may have held the lock: the next write must still go through.
          yield* registry.modify((d) => Effect.succeed([undefined, { ...d, projects: [] }] as const))
          assert.include(yield* readText(file), "schema = 3")
        }
      }).pipe(Effect.provide(NodeServices.layer)),
    120_000
  )
})
