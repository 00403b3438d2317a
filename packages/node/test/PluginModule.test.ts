/**
 * The one rule by which plugins are found and accepted, on real files: the
 * config dir's `plugins/node_modules`, then repoman's own installation, never
 * anywhere else; nothing inside the repos root; only modules marked by the
 * `define` of the wanted kind (the mark is a global symbol, as a plugin with
 * its own copy of the packages makes it).
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as PluginModule from "../src/PluginModule.ts"

/** A plugin module as another copy of the packages would write it: plain JS, the mark by its global key. */
const pluginSource = (kind: string, exportAs: "plugin" | "default" = "plugin") =>
  [
    `const value = { [Symbol.for("@repoman/node/PluginModule")]: ${JSON.stringify(kind)}, name: "fixture" }`,
    exportAs === "plugin" ? "export const plugin = value" : "export default value"
  ].join("\n")

/** A temp home with a config dir and a repos root, and a way to install packages. */
const setup = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const home = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-plugin-" })
  const configDir = `${home}/config`
  const reposRoot = `${home}/repos`
  yield* fs.makeDirectory(`${reposRoot}/alpha`, { recursive: true })
  /** Writes package `name` with `index.js` = `source` under `dir/node_modules`. */
  const install = (dir: string, name: string, source: string) =>
    Effect.gen(function*() {
      const pkg = `${dir}/node_modules/${name}`
      yield* fs.makeDirectory(pkg, { recursive: true })
      yield* fs.writeFileString(
        `${pkg}/package.json`,
        JSON.stringify({ name, version: "1.0.0", type: "module", exports: { ".": "./index.js" } })
      )
      yield* fs.writeFileString(`${pkg}/index.js`, source)
      return pkg
    })
  const plugins = PluginModule.pluginsDir(configDir)
  return { fs, home, configDir, reposRoot, plugins, install, location: { configDir, reposRoot } }
})

describe("PluginModule", () => {
  it.effect("a package in <config dir>/plugins/node_modules loads, its mark checked", () =>
    Effect.gen(function*() {
      const { install, location, plugins } = yield* setup
      const dir = yield* install(plugins, "repoman-backup-fixture", pluginSource("backup"))
      const resolved = yield* PluginModule.resolve("repoman-backup-fixture", location)
      assert.deepStrictEqual(resolved, { file: `${dir}/index.js`, from: "config" })
      const plugin = yield* PluginModule.load("backup", "repoman-backup-fixture", location)
      assert.strictEqual(PluginModule.kindOf(plugin), "backup")
      yield* install(plugins, "@acme/repoman-profiles", pluginSource("profile", "default"))
      const scoped = yield* PluginModule.load("profile", "@acme/repoman-profiles", location)
      assert.strictEqual(PluginModule.kindOf(scoped), "profile")
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("then repoman's own installation; the config dir wins over it", () =>
    Effect.gen(function*() {
      const { install, location, plugins } = yield* setup
      // smol-toml is one of this package's own dependencies.
      const own = yield* PluginModule.resolve("smol-toml", location)
      assert.strictEqual(own.from, "installation")
      assert.match(own.file, /node_modules\/.*smol-toml/)
      const notPlugin = yield* Effect.flip(PluginModule.load("backup", "smol-toml", location))
      assert.strictEqual(notPlugin.reason._tag, "NotAPlugin")
      assert.include(notPlugin.message, "BackupPlugin.define")

      yield* install(plugins, "smol-toml", pluginSource("backup"))
      assert.strictEqual((yield* PluginModule.resolve("smol-toml", location)).from, "config")
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("nowhere else: a package beside the config dir or in a parent's node_modules is not installed", () =>
    Effect.gen(function*() {
      const { configDir, home, install, location, plugins } = yield* setup
      // Node's own lookup from <config dir>/plugins would find both of these.
      yield* install(configDir, "repoman-backup-parent", pluginSource("backup"))
      yield* install(home, "repoman-backup-home", pluginSource("backup"))
      for (const id of ["repoman-backup-parent", "repoman-backup-home", "repoman-backup-absent"]) {
        const error = yield* Effect.flip(PluginModule.resolve(id, location))
        assert.strictEqual(error.reason._tag, "NotInstalled", id)
        assert.include(error.message, `${plugins}/node_modules`)
        assert.include(error.message, `npm install --prefix ${plugins} ${id}`)
      }
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("refuses what is not a package name or an absolute path, and built-in modules", () =>
    Effect.gen(function*() {
      const { location } = yield* setup
      for (
        const id of ["./plugin.js", "../plugin.js", "plugin/sub", "@acme/a/b", "node:fs", "fs", "child_process", ""]
      ) {
        const error = yield* Effect.flip(PluginModule.resolve(id, location))
        assert.strictEqual(error.reason._tag, "Refused", JSON.stringify(id))
      }
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("an absolute path or file: URL loads that file; a missing one is not installed", () =>
    Effect.gen(function*() {
      const { fs, home, location } = yield* setup
      yield* fs.writeFileString(`${home}/plugin.mjs`, pluginSource("profile"))
      assert.deepStrictEqual(yield* PluginModule.resolve(`${home}/plugin.mjs`, location), {
        file: `${home}/plugin.mjs`,
        from: "path"
      })
      const byUrl = yield* PluginModule.load("profile", `file://${home}/plugin.mjs`, location)
      assert.strictEqual(PluginModule.kindOf(byUrl), "profile")
      const missing = yield* Effect.flip(PluginModule.resolve(`${home}/absent.mjs`, location))
      assert.strictEqual(missing.reason._tag, "NotInstalled")
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("a module file inside the repos root is refused, however it is reached", () =>
    Effect.gen(function*() {
      const { fs, install, location, plugins, reposRoot } = yield* setup
      // What an agent can write: a file in its repo ...
      yield* fs.writeFileString(`${reposRoot}/alpha/plugin.mjs`, pluginSource("backup"))
      const direct = yield* Effect.flip(PluginModule.load("backup", `${reposRoot}/alpha/plugin.mjs`, location))
      assert.strictEqual(direct.reason._tag, "Refused")
      assert.include(direct.message, "inside the repos root")
      // ... which a symlinked install (npm install of a directory) points at.
      const inRepo = yield* install(`${reposRoot}/alpha`, "repoman-backup-linked", pluginSource("backup"))
      yield* fs.makeDirectory(`${plugins}/node_modules`, { recursive: true })
      yield* fs.symlink(inRepo, `${plugins}/node_modules/repoman-backup-linked`)
      const linked = yield* Effect.flip(PluginModule.load("backup", "repoman-backup-linked", location))
      assert.strictEqual(linked.reason._tag, "Refused")
      assert.include(linked.message, `${reposRoot}/alpha/node_modules/repoman-backup-linked/index.js`)
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("only a module marked by the define of the wanted kind is a plugin", () =>
    Effect.gen(function*() {
      const { install, location, plugins } = yield* setup
      yield* install(plugins, "unmarked", "export const plugin = { name: 'x', options: {}, layer: () => null }")
      yield* install(plugins, "nothing", "export const hello = 'world'")
      yield* install(plugins, "profile-only", pluginSource("profile"))
      yield* install(plugins, "throws", "throw new Error('boom at import')")

      const unmarked = yield* Effect.flip(PluginModule.load("backup", "unmarked", location))
      assert.strictEqual(unmarked.reason._tag, "NotAPlugin")
      assert.strictEqual(
        unmarked.message,
        "plugin unmarked: not a repoman backup plugin: its `plugin` was not made with BackupPlugin.define; " +
          "export `plugin = BackupPlugin.define({ ... })`"
      )
      const profileUnmarked = yield* Effect.flip(PluginModule.load("profile", "unmarked", location))
      assert.include(profileUnmarked.message, "ProfilePlugin.define")

      const nothing = yield* Effect.flip(PluginModule.load("backup", "nothing", location))
      assert.include(nothing.message, "exports no `plugin`")
      const wrongKind = yield* Effect.flip(PluginModule.load("backup", "profile-only", location))
      assert.include(wrongKind.message, "it is a profile plugin")
      const throws = yield* Effect.flip(PluginModule.load("backup", "throws", location))
      assert.strictEqual(throws.reason._tag, "ImportFailed")
      assert.include(throws.message, "boom at import")
      for (const e of [unmarked, nothing, wrongKind, throws]) assert.notInclude(e.message, "\n")
    }).pipe(Effect.provide(NodeServices.layer)))

  it("mark survives a spread, and kindOf ignores anything else", () => {
    const marked = PluginModule.mark("backup", { name: "x" })
    assert.strictEqual(PluginModule.kindOf({ ...marked }), "backup")
    assert.isUndefined(PluginModule.kindOf({ [PluginModule.TypeId]: "other" }))
    assert.isUndefined(PluginModule.kindOf(null))
    assert.isUndefined(PluginModule.kindOf("backup"))
  })
})
