/**
 * The nightly sync against the memory layers: a registry with three
 * projects, a memory backup target holding the sources of some of them.
 */
import { assert, describe, it } from "@effect/vitest"
import * as BackupTargetMemory from "@repoman/core/BackupTargetMemory"
import { ConfigPaths } from "@repoman/core/ConfigPaths"
import * as HostInfo from "@repoman/core/HostInfo"
import { ProjectName } from "@repoman/core/Ids"
import { Registry } from "@repoman/core/Registry"
import { RegistryDocument } from "@repoman/core/RegistryDocument"
import * as RegistryMemory from "@repoman/core/RegistryMemory"
import * as NodeHostFiles from "@repoman/node/NodeHostFiles"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Path from "effect/Path"
import * as Schema from "effect/Schema"
import * as TestConsole from "effect/testing/TestConsole"
import { nightlySync } from "./src/nightlySync.ts"

const project = (name: string, backup = true) => ({
  name,
  repo: name,
  image: "images:debian/12",
  profiles: ["default"],
  created: "2026-01-01T00:00:00Z",
  backup
})

const document = Schema.decodeUnknownSync(RegistryDocument)({
  schema: 3,
  defaults: { repos_root: "/home/ada/repos", backup_root: "/backup" },
  project: [project("alpha"), project("beta"), project("gamma", false)]
})

const files = (text: string) => new Map([["README.md", text]])

const layer = (sources: ReadonlyArray<readonly [string, BackupTargetMemory.FileTree]>) =>
  Layer.mergeAll(
    RegistryMemory.layer({ document }),
    BackupTargetMemory.layer({ sources }),
    ConfigPaths.layerFrom({ home: "/home/ada", configDir: "/home/ada/.config/repoman" }),
    HostInfo.layerTest({ home: "/home/ada" }),
    NodeHostFiles.layer,
    Path.layer,
    // No repo exists on disk: where each resolves is left to the memory target.
    FileSystem.layerNoop({}),
    TestConsole.layer
  )

describe("nightly-sync", () => {
  it.effect("syncs every project, records last_sync and prints a report", () =>
    Effect.gen(function*() {
      const completed = yield* nightlySync({ dryRun: false, delete: true })
      assert.deepStrictEqual(completed.results.map((r) => [String(r.project), r.succeeded]), [["alpha", true], [
        "beta",
        true
      ]])
      assert.deepStrictEqual(completed.recorded.map(String), ["alpha", "beta"])
      const lines = yield* TestConsole.logLines
      assert.strictEqual(lines[0], "repoman nightly sync")
      assert.match(String(lines[1]), /^ok {6}alpha: 1 file\(s\)/)
      assert.include(lines, "skipped gamma: backup = false")
      assert.strictEqual(lines.at(-1), "2 synced, 0 failed, 1 skipped")
      const registry = yield* Registry
      const alpha = yield* registry.getProject(ProjectName.make("alpha"))
      assert.isDefined(alpha.lastSync)
    }).pipe(Effect.provide(layer([["/home/ada/repos/alpha", files("a\n")], ["/home/ada/repos/beta", files("b\n")]]))))

  it.effect("fails with the failed projects named, after reporting the others", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(nightlySync({ dryRun: false, delete: false }))
      assert.strictEqual(error._tag, "NightlySyncFailed")
      assert.deepStrictEqual(error._tag === "NightlySyncFailed" ? error.failed : [], ["beta"])
      const lines = yield* TestConsole.logLines
      assert.match(String(lines.find((l) => String(l).startsWith("FAILED"))), /^FAILED {2}beta: /)
      assert.strictEqual(lines.at(-1), "1 synced, 1 failed, 1 skipped")
    }).pipe(Effect.provide(layer([["/home/ada/repos/alpha", files("a\n")]]))))

  it.effect("a dry run records nothing", () =>
    Effect.gen(function*() {
      const completed = yield* nightlySync({ dryRun: true, delete: false })
      assert.deepStrictEqual(completed.recorded, [])
      const registry = yield* Registry
      const alpha = yield* registry.getProject(ProjectName.make("alpha"))
      assert.isTrue(Option.isNone(Option.fromNullishOr(alpha.lastSync)))
      assert.strictEqual((yield* TestConsole.logLines)[0], "repoman nightly sync (dry run)")
    }).pipe(Effect.provide(layer([["/home/ada/repos/alpha", files("a\n")], ["/home/ada/repos/beta", files("b\n")]]))))
})
