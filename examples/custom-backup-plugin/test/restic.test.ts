/**
 * The restic example plugin, loaded through repoman's plugin loader by its
 * package name, installed under the config dir as `npm install --prefix
 * <config dir>/plugins` of this directory would (a symlink): back up, change
 * a file, back up again, restore the first snapshot. Needs the `restic` executable (Debian package `restic`); it is
 * skipped without it, except under REPOMAN_INTEGRATION=1 (CI), where a
 * missing restic is a failure.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import * as PluginLoader from "@repoman/backup/PluginLoader"
import { BackupTarget, MirrorSource } from "@repoman/core/BackupTarget"
import { ProjectName } from "@repoman/core/Ids"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { ResticOptions, restore, snapshots } from "../src/index.ts"

const hasRestic = (() => {
  try {
    execFileSync("restic", ["version"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
})()
const exampleDir = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "")
const alpha = ProjectName.make("alpha")

describe.skipIf(!hasRestic && process.env["REPOMAN_INTEGRATION"] !== "1")("restic backup plugin", () => {
  it.effect("backs up, backs up a change, and restores the first snapshot", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-restic-" })
      const repo = `${dir}/repos/alpha`
      yield* fs.makeDirectory(`${repo}/src`, { recursive: true })
      yield* fs.makeDirectory(`${dir}/repos/empty`)
      yield* fs.writeFileString(`${repo}/src/main.c`, "version 1\n")
      yield* fs.writeFileString(`${dir}/password`, "correct horse battery staple\n")
      const raw = { repository: `${dir}/restic`, password_file: `${dir}/password` }
      const options = Schema.decodeUnknownSync(ResticOptions)(raw)

      // Through the loader, by package name, as `[backup] target = "repoman-backup-restic"` would.
      const configDir = `${dir}/config`
      yield* fs.makeDirectory(`${configDir}/plugins/node_modules`, { recursive: true })
      yield* fs.symlink(exampleDir, `${configDir}/plugins/node_modules/repoman-backup-restic`)
      const layer = yield* PluginLoader.load({
        target: "repoman-backup-restic",
        options: raw,
        context: {
          backupRoot: `${dir}/restic`,
          reposRoot: `${dir}/repos`,
          stateDir: `${dir}/state`,
          requireMount: false
        },
        configDir
      })
      const mirror = { delete: true, dryRun: false, requireMount: false }
      const source = new MirrorSource({ project: alpha, path: repo })
      const results = yield* Effect.gen(function*() {
        const target = yield* BackupTarget
        const first = yield* target.mirrorAll([source], mirror)
        yield* fs.writeFileString(`${repo}/src/main.c`, "version 2\n")
        yield* fs.writeFileString(`${repo}/NEW`, "new\n")
        const second = yield* target.mirrorAll([source], mirror)
        const empty = yield* target.mirrorAll(
          [new MirrorSource({ project: ProjectName.make("empty"), path: `${dir}/repos/empty` })],
          mirror
        )
        return { first, second, empty }
      }).pipe(Effect.provide(Layer.provide(layer, NodeServices.layer)))

      assert.deepStrictEqual(results.first.map((r) => [r.succeeded, r.filesTransferred]), [[true, 1]])
      assert.deepStrictEqual(results.second.map((r) => [r.succeeded, r.filesTransferred]), [[true, 2]])
      const refused = results.empty[0]?.outcome
      assert.strictEqual(refused?._tag === "Failure" ? refused.reason._tag : refused?._tag, "SourceEmpty")

      const list = yield* snapshots(options, "alpha")
      assert.strictEqual(list.length, 2)
      const oldest = list[0]
      assert.isDefined(oldest)
      if (oldest === undefined) return
      const restored = yield* restore(options, oldest, `${dir}/restored`)
      assert.strictEqual(yield* fs.readFileString(`${restored}/src/main.c`), "version 1\n")
      assert.isFalse(yield* fs.exists(`${restored}/NEW`))
      assert.deepStrictEqual(yield* snapshots(options, "empty"), [])
    }).pipe(Effect.provide(NodeServices.layer)), 60_000)
})
