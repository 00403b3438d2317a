/**
 * Bulk create against the memory registry and runtime, over a real
 * temporary repos root.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { ConfigPaths } from "@repoman/core/ConfigPaths"
import { ContainerRuntime } from "@repoman/core/ContainerRuntime"
import * as ContainerRuntimeMemory from "@repoman/core/ContainerRuntimeMemory"
import * as HostInfo from "@repoman/core/HostInfo"
import * as ProfileStoreMemory from "@repoman/core/ProfileStoreMemory"
import { Registry } from "@repoman/core/Registry"
import { RegistryDocument } from "@repoman/core/RegistryDocument"
import * as RegistryMemory from "@repoman/core/RegistryMemory"
import * as NodeHostFiles from "@repoman/node/NodeHostFiles"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as TestConsole from "effect/testing/TestConsole"
import { bulkCreate } from "./src/bulkCreate.ts"

/** A repos root with `alpha`, `beta`, `gamma` (registered), `Bad_Name`, a hidden dir and a file. */
const withReposRoot = <A, E, R>(
  test: (root: string) => Effect.Effect<A, E, R>
) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const root = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-bulk-" })
    const stateDir = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-bulk-state-" })
    for (const dir of ["alpha", "beta", "gamma", "Bad_Name", ".cache"]) yield* fs.makeDirectory(`${root}/${dir}`)
    yield* fs.writeFileString(`${root}/notes.txt`, "not a repo\n")
    const document = Schema.decodeUnknownSync(RegistryDocument)({
      schema: 3,
      defaults: { repos_root: root },
      project: [{
        name: "gamma",
        repo: "gamma",
        image: "images:debian/12",
        profiles: [],
        created: "2026-01-01T00:00:00Z"
      }]
    })
    return yield* test(root).pipe(
      Effect.provide(Layer.mergeAll(
        RegistryMemory.layer({ document }),
        ContainerRuntimeMemory.layer(),
        ProfileStoreMemory.layer(),
        HostInfo.layerTest({ home: "/home/dev" }),
        ConfigPaths.layerFrom({ home: "/home/dev", configDir: "/home/dev/.config/repoman", stateDir }),
        NodeHostFiles.layer,
        TestConsole.layer
      ))
    )
  }).pipe(Effect.provide(NodeServices.layer))

describe("bulk-create", () => {
  it.effect("--dry-run plans the missing projects and creates nothing", () =>
    withReposRoot(() =>
      Effect.gen(function*() {
        const outcomes = yield* bulkCreate({ dryRun: true })
        assert.deepStrictEqual(outcomes.map((o) => o._tag), ["Skipped", "WouldCreate", "WouldCreate", "Skipped"])
        assert.deepStrictEqual(yield* (yield* ContainerRuntime).list(), [])
        assert.strictEqual((yield* (yield* Registry).load).projects.length, 1)
        assert.deepStrictEqual(yield* TestConsole.logLines, [
          "skipped      Bad_Name: not a valid project name",
          "would create alpha",
          "would create beta",
          "skipped      gamma: registered (container missing: see repoman status)",
          "2 to create, 2 skipped (dry run)"
        ])
      })
    ))

  it.effect("creates a container and a registry entry for each, and is idempotent", () =>
    withReposRoot(() =>
      Effect.gen(function*() {
        const first = yield* bulkCreate({ dryRun: false })
        assert.deepStrictEqual(first.flatMap((o) => o._tag === "Created" ? [String(o.name)] : []), [
          "alpha",
          "beta"
        ])
        const names = (yield* (yield* ContainerRuntime).list()).map((i) => String(i.name)).sort()
        assert.deepStrictEqual(names, ["alpha", "beta"])
        const registered = (yield* (yield* Registry).load).projects.map((p) => String(p.name)).sort()
        assert.deepStrictEqual(registered, ["alpha", "beta", "gamma"])

        const second = yield* bulkCreate({ dryRun: false })
        assert.isFalse(second.some((o) => o._tag === "Created"))
        assert.include(yield* TestConsole.logLines, "skipped      alpha: has a container")
      })
    ))
})
