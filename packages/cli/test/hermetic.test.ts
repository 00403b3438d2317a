import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { ContainerRuntime, HostPath, Mount } from "@repoman/core/ContainerRuntime"
import * as RuntimeMemory from "@repoman/core/ContainerRuntimeMemory"
import { ProjectName } from "@repoman/core/Ids"
import { ORIGIN, PATCHES } from "@repoman/programs/Hermetic"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { documentFrom, runCli } from "./harness.ts"

const document = documentFrom({ schema: 3, defaults: { profiles: ["default"], default_image: "img" } })

const world = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const home = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-herm-" })
  yield* fs.makeDirectory(`${home}/repos/herm`, { recursive: true })
  // The namespace as setup leaves it in uid mode idmap: the repos root allowed.
  const runtime = yield* RuntimeMemory.make({
    namespace: "repoman",
    restrictions: { allowedPaths: [`${home}/repos`], idMapping: { _tag: "HostUser", uid: 1000, gid: 1000 } }
  })
  return { fs, home, runtime, layer: Layer.succeed(ContainerRuntime, runtime) }
})

describe("hermetic projects", () => {
  it.effect("new --hermetic: repo read-only at the origin, patches dir writable, a clone made inside", () =>
    Effect.gen(function*() {
      const { fs, home, runtime, layer } = yield* world
      const out = yield* runCli(["new", "herm", "--hermetic"], { memory: { document }, runtime: layer, home })
      assert.strictEqual(out.code, 0, out.stderr.join("\n"))
      // It does not claim the repo is mounted at the same path: it is not.
      assert.notInclude(out.stdout.join("\n"), "mounted at the same path")
      assert.include(
        out.stdout,
        `repo ${home}/repos/herm is mounted read-only at ${ORIGIN}; the container works on its own clone at ` +
          `${home}/repos/herm; enter with 'repoman shell herm'`
      )
      const repo = yield* fs.realPath(`${home}/repos/herm`)
      const patches = yield* fs.realPath(`${home}/.local/state/repoman/patches/herm`)
      const instance = yield* runtime.get(ProjectName.make("herm"))
      assert.deepStrictEqual(instance.repo, Option.some(new HostPath({ source: repo, path: ORIGIN, readOnly: true })))
      assert.deepStrictEqual(instance.mounts, [
        new Mount({ name: "patches", source: patches, path: PATCHES, readOnly: false })
      ])
      // The patches root is allowed in the restricted project.
      const ns = yield* runtime.getNamespace("repoman")
      assert.include(ns.allowedPaths, yield* fs.realPath(`${home}/.local/state/repoman/patches`))
      const clone = (yield* runtime.calls).find((c) => c.argv.includes("clone"))
      assert.deepStrictEqual(clone?.argv, [
        "git",
        "-c",
        "core.hooksPath=/dev/null",
        "clone",
        "-q",
        "--no-hardlinks",
        "--",
        ORIGIN,
        `${home}/repos/herm`
      ])
      assert.strictEqual(clone?.options.user, 1000)
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("a plain project has no patches dir: patches says so; an empty dir lists none", () =>
    Effect.gen(function*() {
      const { fs, home, layer } = yield* world
      const registered = documentFrom({
        schema: 3,
        project: [{ name: "herm", repo: "herm", image: "img", profiles: [], created: "2026-04-28T15:00:00Z" }]
      })
      const missing = yield* runCli(["patches", "herm"], { memory: { document: registered }, runtime: layer, home })
      assert.strictEqual(missing.code, 1)
      assert.include(missing.stderr.join("\n"), "is it a hermetic project?")
      const dir = `${home}/.local/state/repoman/patches/herm`
      yield* fs.makeDirectory(dir, { recursive: true })
      yield* fs.writeFileString(`${dir}/notes.txt`, "")
      const none = yield* runCli(["patches", "herm"], { memory: { document: registered }, runtime: layer, home })
      assert.deepStrictEqual(none.stdout, [`no patches in ${dir}`])
      yield* fs.writeFileString(`${dir}/0002-b.patch`, "")
      yield* fs.writeFileString(`${dir}/0001-a.patch`, "")
      const some = yield* runCli(["patches", "herm"], { memory: { document: registered }, runtime: layer, home })
      assert.deepStrictEqual(some.stdout, [`${dir}/0001-a.patch`, `${dir}/0002-b.patch`])
      const unknown = yield* runCli(["patches", "nope"], { memory: { document: registered }, runtime: layer, home })
      assert.strictEqual(unknown.code, 1)
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))
})
