/**
 * What a killed repoman leaves next to the registry, against real files and
 * real processes: temp files of a write cut short (removed by the next
 * write, only if they are regular files of a writer that no longer runs,
 * never following a symlink), and a lock whose owner is gone, whose pid now
 * belongs to another process, or whose content cannot be read (taken over,
 * and said so).
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import { spawn, spawnSync } from "node:child_process"
import { hostname } from "node:os"
import { acquire, parseOwner } from "../src/internal/lockFile.ts"
import * as ProcessTable from "../src/ProcessTable.ts"
import { configDir, registryAt } from "./registryHarness.ts"

const VALID = `schema = 3\n[defaults]\nrepos_root = "~/repos"\n`

/** The pid of a process that ran and has exited. */
const deadPid = (): number => {
  const r = spawnSync("true", [])
  assert.isNumber(r.pid)
  assert.isUndefined(ProcessTable.startTime(r.pid))
  return r.pid
}

/** A process that runs for the scope: its pid and start time. */
const liveProcess = Effect.acquireRelease(
  Effect.sync(() => {
    const child = spawn("sleep", ["120"], { stdio: "ignore" })
    return child
  }),
  (child) => Effect.sync(() => child.kill("SIGKILL"))
).pipe(Effect.flatMap((child) =>
  Effect.gen(function*() {
    const pid = child.pid ?? -1
    // Gate on /proc, not on time: the child exists once its stat can be read.
    let start = ProcessTable.startTime(pid)
    while (start === undefined) {
      yield* Effect.sleep("5 millis")
      start = ProcessTable.startTime(pid)
    }
    return { pid, start }
  })
))

describe("stale temp files of the registry", () => {
  it.live("the next write removes a dead writer's temp files: regular files of that name only; a symlink's target survives", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { dir, file } = yield* configDir(VALID)
      const outside = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-outside-" })
      yield* fs.writeFileString(`${outside}/precious`, "keep me\n")
      const dead = deadPid()
      const live = yield* liveProcess
      const stale = `${dir}/.repoman.toml.${dead}.1.tmp`
      yield* fs.writeFileString(stale, "half a regis")
      // Planted by someone else: a symlink by that name, a directory, a live writer's file, other names.
      yield* fs.symlink(`${outside}/precious`, `${dir}/.repoman.toml.${dead}.2.tmp`)
      yield* fs.makeDirectory(`${dir}/.repoman.toml.${dead}.3.tmp`)
      yield* fs.writeFileString(`${dir}/.repoman.toml.${live.pid}.1.tmp`, "in flight")
      yield* fs.writeFileString(`${dir}/.other.toml.${dead}.1.tmp`, "not ours")
      yield* fs.writeFileString(`${dir}/.repoman.toml.${dead}.x.tmp`, "not our pattern")
      yield* fs.writeFileString(`${dir}/repoman.toml.${dead}.1.tmp`, "not our pattern")

      const registry = yield* registryAt(dir)
      yield* registry.modify((d) =>
        Effect.succeed([undefined, { ...d, defaults: { ...d.defaults, reposRoot: "~/elsewhere" } }] as const)
      )
      assert.include(yield* fs.readFileString(file), "~/elsewhere")

      assert.isFalse(yield* fs.exists(stale))
      assert.strictEqual(yield* fs.readFileString(`${outside}/precious`), "keep me\n")
      assert.strictEqual(yield* fs.readLink(`${dir}/.repoman.toml.${dead}.2.tmp`), `${outside}/precious`)
      assert.strictEqual((yield* fs.stat(`${dir}/.repoman.toml.${dead}.3.tmp`)).type, "Directory")
      for (
        const kept of [
          `.repoman.toml.${live.pid}.1.tmp`,
          `.other.toml.${dead}.1.tmp`,
          `.repoman.toml.${dead}.x.tmp`,
          `repoman.toml.${dead}.1.tmp`
        ]
      ) {
        assert.isTrue(yield* fs.exists(`${dir}/${kept}`), kept)
      }
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))
})

describe("a stale registry lock", () => {
  const taking = (file: string, timeout: Duration.Input = "2 seconds") =>
    Effect.gen(function*() {
      const said: Array<string> = []
      const outcome = yield* Effect.scoped(
        acquire(file, { timeout, onTakeover: (why) => Effect.sync(() => said.push(why)) }).pipe(
          Effect.andThen(FileSystem.FileSystem.use((fs) => fs.readFileString(`${file}.lock`))),
          Effect.result
        )
      )
      return { outcome, said }
    })

  it.live("a pid that runs but started at another time (reused) is stale; the real holder is not", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { file } = yield* configDir(VALID)
      const live = yield* liveProcess
      const reused = `${live.pid}\n${hostname()}\n${Number(live.start) + 1}\n`
      yield* fs.writeFileString(`${file}.lock`, reused)
      const taken = yield* taking(file)
      assert.strictEqual(taken.outcome._tag, "Success")
      // While held, the lock names this process with its own start time.
      const held = taken.outcome._tag === "Success" ? parseOwner(taken.outcome.success) : undefined
      assert.deepStrictEqual(held, { pid: process.pid, host: hostname(), start: ProcessTable.self().start })
      assert.deepStrictEqual(taken.said, [
        `${file}.lock: its owner, process ${live.pid}, no longer runs (that pid is another process now); taken over`
      ])
      assert.isFalse(yield* fs.exists(`${file}.lock`), "released with the scope")

      // The same pid with its real start time: a live holder, waited for, never broken.
      const holder = `${live.pid}\n${hostname()}\n${live.start}\n`
      yield* fs.writeFileString(`${file}.lock`, holder)
      const busy = yield* taking(file, "300 millis")
      assert.strictEqual(busy.outcome._tag, "Failure")
      assert.deepStrictEqual(busy.said, [])
      assert.strictEqual(yield* fs.readFileString(`${file}.lock`), holder)
      // A lock of an older repoman (no start time) of a live pid is also held.
      yield* fs.writeFileString(`${file}.lock`, `${live.pid}\n${hostname()}\n`)
      assert.strictEqual((yield* taking(file, "300 millis")).outcome._tag, "Failure")
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.live("a dead owner's lock and an unreadable lock are taken over, and it says so", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { dir, file } = yield* configDir(VALID)
      const dead = deadPid()
      yield* fs.writeFileString(`${file}.lock`, `${dead}\n${hostname()}\n12345\n`)
      const gone = yield* taking(file)
      assert.strictEqual(gone.outcome._tag, "Success")
      assert.deepStrictEqual(gone.said, [`${file}.lock: its owner, process ${dead}, no longer runs; taken over`])

      for (const garbage of ["", "not a pid\n", "-1\nhost\n", `${dead}\n\n`, "12\x00\x1b[31m\n"]) {
        yield* fs.writeFileString(`${file}.lock`, garbage)
        const taken = yield* taking(file)
        assert.strictEqual(taken.outcome._tag, "Success", JSON.stringify(garbage))
        assert.strictEqual(taken.said.length, 1)
        assert.include(taken.said[0], `${file}.lock: the lock held no owner one can read (`)
        assert.include(taken.said[0], "; taken over")
      }
      // Through the registry: a write goes through a garbled lock.
      yield* fs.writeFileString(`${file}.lock`, "garbled")
      const registry = yield* registryAt(dir, { lockTimeout: "2 seconds" })
      yield* registry.modify((d) => Effect.succeed([undefined, { ...d, projects: [] }] as const))
      assert.isFalse(yield* fs.exists(`${file}.lock`))
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))
})
