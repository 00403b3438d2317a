/**
 * The nightly sync on the real stack: `RepomanLive` with another config dir,
 * reading a registry file that names the built-in rsync target
 * (`require_mount = false`, everything in a temporary directory). Needs the
 * `rsync` executable; skipped without it, except under REPOMAN_INTEGRATION=1
 * (CI), where a missing rsync is a failure.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { ProjectName } from "@repoman/core/Ids"
import { Registry } from "@repoman/core/Registry"
import * as RepomanLive from "@repoman/live/RepomanLive"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as TestConsole from "effect/testing/TestConsole"
import { execFileSync } from "node:child_process"
import { nightlySync } from "./src/nightlySync.ts"

const hasRsync = (() => {
  try {
    execFileSync("rsync", ["--version"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
})()

const registry = (dir: string) =>
  [
    "schema = 3",
    "[defaults]",
    `repos_root = "${dir}/repos"`,
    `backup_root = "${dir}/backup"`,
    "[backup]",
    `target = "rsync"`,
    "require_mount = false",
    ...["alpha", "beta"].flatMap((name) => [
      "[[project]]",
      `name = "${name}"`,
      `repo = "${name}"`,
      `image = "images:debian/12"`,
      `profiles = ["default"]`,
      `created = "2026-01-01T00:00:00Z"`
    ])
  ].join("\n") + "\n"

describe.skipIf(!hasRsync && process.env["REPOMAN_INTEGRATION"] !== "1")("nightly-sync on RepomanLive", () => {
  it.effect(
    "mirrors every project with rsync and records last_sync in the registry file",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const dir = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-nightly-" })
        for (const name of ["alpha", "beta"]) {
          yield* fs.makeDirectory(`${dir}/repos/${name}/src`, { recursive: true })
          yield* fs.writeFileString(`${dir}/repos/${name}/src/main.c`, `// ${name}\n`)
        }
        yield* fs.makeDirectory(`${dir}/backup`)
        yield* fs.makeDirectory(`${dir}/config`)
        yield* fs.writeFileString(`${dir}/config/repoman.toml`, registry(dir))

        const live = RepomanLive.layer({ configDir: `${dir}/config` }).pipe(
          // HOME and the state dir (sync locks) inside the temporary directory too.
          Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env: { HOME: dir } })))
        )
        yield* Effect.gen(function*() {
          const completed = yield* nightlySync({ dryRun: false, delete: true })
          assert.deepStrictEqual(completed.failed, [])
          assert.deepStrictEqual(completed.recorded.map(String), ["alpha", "beta"])
          assert.isDefined((yield* (yield* Registry).getProject(ProjectName.make("beta"))).lastSync)
          assert.strictEqual((yield* TestConsole.logLines).at(-1), "2 synced, 0 failed, 0 skipped")
        }).pipe(Effect.provide(Layer.merge(live, TestConsole.layer)))

        assert.strictEqual(yield* fs.readFileString(`${dir}/backup/alpha/src/main.c`), "// alpha\n")
        assert.match(yield* fs.readFileString(`${dir}/config/repoman.toml`), /last_sync = /)
      }).pipe(Effect.provide(NodeServices.layer)),
    60_000
  )
})
