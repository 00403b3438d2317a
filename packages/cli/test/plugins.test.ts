/**
 * Which code the `repoman` command imports, in a child process as a user
 * runs it: a backup plugin an agent planted in its repo's `node_modules` is
 * never loaded, however the registry names it and wherever repoman runs
 * from; a plugin installed under the config dir is imported by the commands
 * that use the backup target (`sync`) and by no other (`list`, `run`).
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as ChildProcess from "effect/process/ChildProcess"
import { bin, outcome } from "./integration.ts"

/** Each run starts Node on the unbundled source: allow for a slow, busy machine. */
const timeout = 60_000

/** A package whose import (nothing more) leaves `marker` behind. */
const markerPackage = (name: string, marker: string) => ({
  "package.json": JSON.stringify({ name, version: "1.0.0", type: "module", exports: { ".": "./index.js" } }),
  "index.js": `import { writeFileSync } from "node:fs"\nwriteFileSync(${JSON.stringify(marker)}, "imported")\n`
})

/**
 * A home with a registry naming backup target `target`, project `alpha`
 * (repo with a file), and the marker package `target` in the repo's
 * node_modules (what an agent can write) and, when `installed`, under the
 * config dir's plugins.
 */
const setup = Effect.fn("setup")(function*(target: string, installed: boolean) {
  const fs = yield* FileSystem.FileSystem
  const home = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-plugins-" })
  const repo = `${home}/repos/alpha`
  const planted = `${home}/planted-plugin-ran`
  const imported = `${home}/installed-plugin-imported`
  const install = (dir: string, marker: string) =>
    Effect.gen(function*() {
      yield* fs.makeDirectory(`${dir}/node_modules/${target}`, { recursive: true })
      for (const [file, text] of Object.entries(markerPackage(target, marker))) {
        yield* fs.writeFileString(`${dir}/node_modules/${target}/${file}`, text)
      }
    })
  yield* fs.makeDirectory(`${home}/config`, { recursive: true })
  yield* fs.makeDirectory(`${home}/backup`)
  yield* fs.makeDirectory(repo, { recursive: true })
  yield* fs.writeFileString(`${repo}/README`, "alpha\n")
  yield* install(repo, planted)
  // Also one level up, where Node's own lookup from the repo would go next.
  yield* install(`${home}/repos`, planted)
  if (installed) yield* install(`${home}/config/plugins`, imported)
  yield* fs.writeFileString(
    `${home}/config/repoman.toml`,
    [
      "schema = 3",
      "[defaults]",
      `repos_root = "${home}/repos"`,
      `backup_root = "${home}/backup"`,
      "[backup]",
      `target = "${target}"`,
      "require_mount = false",
      "[[project]]",
      `name = "alpha"`,
      `repo = "alpha"`,
      `image = "images:debian/12"`,
      `profiles = ["default"]`,
      `created = "2026-04-28T15:00:00Z"`,
      ""
    ].join("\n")
  )
  const repoman = (argv: ReadonlyArray<string>) =>
    outcome(ChildProcess.make(process.execPath, [bin, ...argv], {
      cwd: repo,
      env: {
        PATH: process.env["PATH"],
        HOME: home,
        REPOMAN_CONFIG_DIR: `${home}/config`,
        INCUS_SOCKET: `${home}/no-incus/unix.socket`,
        NO_COLOR: "1"
      }
    }))
  return { fs, home, planted, imported, repoman }
})

describe("plugins (child process)", () => {
  it.live(
    "a backup plugin in the repo's node_modules is never loaded, from inside the repo",
    () =>
      Effect.gen(function*() {
        const { fs, home, planted, repoman } = yield* setup("repoman-backup-planted", false)
        const sync = yield* repoman(["sync"])
        assert.isFalse(yield* fs.exists(planted), "the planted module ran")
        assert.strictEqual(sync.code, 1, sync.stderr)
        assert.include(sync.stderr, "backup target repoman-backup-planted is not installed")
        assert.include(sync.stderr, `npm install --prefix ${home}/config/plugins repoman-backup-planted`)
        const list = yield* repoman(["list"])
        assert.strictEqual(list.code, 0, list.stderr)
        assert.isFalse(yield* fs.exists(planted), "the planted module ran")
      }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)),
    timeout
  )

  it.live("an installed backup plugin is imported by sync only: not by list, not by run", () =>
    Effect.gen(function*() {
      const { fs, imported, planted, repoman } = yield* setup("repoman-backup-marker", true)
      const list = yield* repoman(["list", "--json"])
      assert.strictEqual(list.code, 0, list.stderr)
      const run = yield* repoman(["run", "--", "true"])
      assert.strictEqual(run.code, 1, "no container engine here")
      assert.isFalse(yield* fs.exists(imported), "list or run imported the backup plugin")
      const sync = yield* repoman(["sync"])
      assert.strictEqual(sync.code, 1, sync.stderr)
      assert.isTrue(yield* fs.exists(imported), "sync did not import the installed plugin")
      // It exports no plugin: sync says so, in one line.
      assert.include(sync.stderr, "not a repoman backup plugin: it exports no `plugin`")
      assert.isFalse(yield* fs.exists(planted), "the copy in the repo ran instead")
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)), timeout)
})
