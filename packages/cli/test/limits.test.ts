import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { ContainerRuntime } from "@repoman/core/ContainerRuntime"
import * as RuntimeMemory from "@repoman/core/ContainerRuntimeMemory"
import { ProjectName } from "@repoman/core/Ids"
import { DEFAULT_LIMITS, DiskSize, MemorySize, mergeLimits, ResourceLimits } from "@repoman/core/ResourceLimits"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { documentFrom, overrideFrom, runCli } from "./harness.ts"

const document = documentFrom({
  schema: 3,
  defaults: { profiles: ["default"], default_image: "img", limits: { processes: 500, memory: "1GiB" } }
})

const world = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const home = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-limits-" })
  yield* fs.makeDirectory(`${home}/repos/isurus`, { recursive: true })
  yield* fs.makeDirectory(`${home}/repos/lamna`, { recursive: true })
  yield* fs.makeDirectory(`${home}/repos/carcharias`, { recursive: true })
  const runtime = yield* RuntimeMemory.make({ namespace: "repoman" })
  const layer = Layer.succeed(ContainerRuntime, runtime)
  return { home, runtime, layer }
})

describe("resource limits", () => {
  it.effect("new: flags over the override's [container] limits over [defaults]; list and status show them", () =>
    Effect.gen(function*() {
      const { home, runtime, layer } = yield* world
      const out = yield* runCli(["new", "isurus", "--cpu", "3"], {
        memory: {
          document,
          overrides: new Map([[
            ProjectName.make("isurus"),
            overrideFrom({ container: { limits: { cpu: 1, memory: "2GiB" } } })
          ]])
        },
        runtime: layer,
        home
      })
      assert.strictEqual(out.code, 0, out.stderr.join("\n"))
      const limits = (yield* runtime.get(ProjectName.make("isurus"))).limits
      // Over the built-in defaults (root disk, inotify), which nothing here overrides.
      assert.deepStrictEqual(limits, {
        cpu: 3,
        memory: MemorySize.make("2GiB"),
        processes: 500,
        disk: DiskSize.make("20GiB"),
        inotifyInstances: 32
      })

      const lamna = yield* runCli(["new", "lamna", "--memory", "512MiB"], {
        memory: { document },
        runtime: layer,
        home
      })
      assert.strictEqual(lamna.code, 0, lamna.stderr.join("\n"))
      const lamnaLimits = (yield* runtime.get(ProjectName.make("lamna"))).limits
      assert.deepStrictEqual(lamnaLimits, { ...DEFAULT_LIMITS, memory: MemorySize.make("512MiB"), processes: 500 })

      // --processes and --disk too; bad values are usage errors.
      const carcharias = yield* runCli(["new", "carcharias", "--processes", "64", "--disk", "5GiB"], {
        memory: { document },
        runtime: layer,
        home
      })
      assert.strictEqual(carcharias.code, 0, carcharias.stderr.join("\n"))
      const cLimits = (yield* runtime.get(ProjectName.make("carcharias"))).limits
      assert.deepStrictEqual([cLimits.processes, cLimits.disk], [64, DiskSize.make("5GiB")])
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("list and status print the container's limits", () =>
    Effect.gen(function*() {
      const { home, runtime, layer } = yield* world
      const registered = documentFrom({
        schema: 3,
        defaults: { profiles: ["default"], default_image: "img", limits: { cpu: 2, processes: 100 } }
      })
      assert.strictEqual(
        (yield* runCli(["new", "isurus"], { memory: { document: registered }, runtime: layer, home })).code,
        0
      )
      const project = yield* runtime.get(ProjectName.make("isurus"))
      const withProject = documentFrom({
        schema: 3,
        project: [{
          name: "isurus",
          repo: "isurus",
          image: "img",
          profiles: ["default"],
          created: "2026-04-28T15:00:00Z"
        }]
      })
      assert.strictEqual(project.limits.cpu, 2)
      const list = yield* runCli(["list"], { memory: { document: withProject }, runtime: layer, home })
      assert.include(list.stdout.join("\n"), "cpu 2, memory 50%, processes 100, disk 20GiB, inotify 32")
      const status = yield* runCli(["status", "isurus"], { memory: { document: withProject }, runtime: layer, home })
      assert.include(
        status.stdout.join("\n"),
        "  limits       cpu 2, memory 50%, processes 100, disk 20GiB, inotify 32"
      )
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("bad --cpu, --memory, --processes and --disk values are usage errors and create nothing", () =>
    Effect.gen(function*() {
      const { home, runtime, layer } = yield* world
      for (
        const argv of [
          ["new", "lamna", "--cpu", "0"],
          ["new", "lamna", "--cpu", "two"],
          ["new", "lamna", "--memory", "4XB"],
          ["new", "lamna", "--memory", "lots"],
          ["new", "lamna", "--memory", "0GiB"],
          ["new", "lamna", "--processes", "0"],
          ["new", "lamna", "--disk", "50%"],
          ["new", "lamna", "--disk", "lots"]
        ]
      ) {
        const out = yield* runCli(argv, { memory: { document }, runtime: layer, home })
        assert.strictEqual(out.code, 2, `${argv.join(" ")}: ${out.stderr.join("\n")}`)
      }
      assert.deepStrictEqual(yield* runtime.list(), [])
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it("MemorySize takes Incus sizes and percentages only; the schema rejects a bad override", () => {
    const ok = Schema.is(MemorySize)
    for (const s of ["512MiB", "4GiB", "1.5GB", "100kB", "50%", "100%", "1024B"]) assert.isTrue(ok(s), s)
    for (const s of ["4", "4gib", "-1GiB", "0GiB", "101%", "4 GiB", "1e3MiB", ""]) assert.isFalse(ok(s), s)
    assert.isFalse(Schema.is(ResourceLimits)({ cpu: 1.5 }))
    assert.throws(() => overrideFrom({ container: { limits: { memory: "huge" } } }))
  })

  it("mergeLimits lets later layers win key by key", () => {
    assert.deepStrictEqual(mergeLimits({ cpu: 1, processes: 10 }, undefined, { cpu: 4 }), { cpu: 4, processes: 10 })
  })
})
