import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { BackupTarget } from "@repoman/core/BackupTarget"
import { ConfigPaths } from "@repoman/core/ConfigPaths"
import { emptyDocument } from "@repoman/core/RegistryDocument"
import * as RegistryMemory from "@repoman/core/RegistryMemory"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import { fileURLToPath } from "node:url"
import * as PluginLoader from "../src/PluginLoader.ts"

const context = { backupRoot: "/backup", reposRoot: "/repos", stateDir: "/state", requireMount: true }
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))
const here = fileURLToPath(new URL(".", import.meta.url)).replace(/\/$/, "")

const locationOf = <E>(layer: Layer.Layer<BackupTarget, E, never>) =>
  Effect.gen(function*() {
    const target = yield* BackupTarget
    return (yield* target.check()).location
  }).pipe(Effect.provide(layer))

describe("PluginLoader", () => {
  it.effect("loads the built-in rsync target and validates its options with its schema", () =>
    Effect.gen(function*() {
      const layer = yield* PluginLoader.load({
        target: "rsync",
        options: { io_timeout_seconds: 60 },
        context,
        configDir: "/nonexistent/config"
      })
      assert.isTrue(Layer.isLayer(layer))
      const bad = yield* Effect.flip(
        PluginLoader.load({
          target: "rsync",
          options: { io_timeout_seconds: "soon" },
          context,
          configDir: "/nonexistent/config"
        })
      )
      assert.strictEqual(bad.reason._tag, "InvalidOptions")
      assert.include(bad.message, "io_timeout_seconds")
      const typo = yield* Effect.flip(
        PluginLoader.load({ target: "rsync", options: { io_timeout: 60 }, context, configDir: "/nonexistent/config" })
      )
      assert.strictEqual(typo.reason._tag, "InvalidOptions")
    }))

  it.effect("loads a plugin module by path, with its options decoded by its own schema", () =>
    Effect.gen(function*() {
      const layer = yield* PluginLoader.load({
        target: fixture("null-plugin.ts"),
        options: { label: "null" },
        context,
        configDir: "/nonexistent/config"
      })
      assert.strictEqual(yield* locationOf(layer.pipe(Layer.provide(NodeServices.layer))), "null:/backup")
      const missing = yield* Effect.flip(
        PluginLoader.load({ target: fixture("null-plugin.ts"), options: {}, context, configDir: "/nonexistent/config" })
      )
      assert.strictEqual(missing.reason._tag, "InvalidOptions")
    }))

  it.effect("names what went wrong: no such module, or a module that is not a plugin", () =>
    Effect.gen(function*() {
      const absent = yield* Effect.flip(
        PluginLoader.load({ target: "@nobody/repoman-backup-nothing", options: {}, context, configDir: here })
      )
      assert.strictEqual(absent.reason._tag, "PluginNotFound")
      assert.include(absent.message, `${here}/plugins/node_modules`)
      assert.include(absent.message, `npm install --prefix ${here}/plugins @nobody/repoman-backup-nothing`)
      const notPlugin = yield* Effect.flip(
        PluginLoader.load({
          target: fixture("not-a-plugin.ts"),
          options: {},
          context,
          configDir: "/nonexistent/config"
        })
      )
      assert.strictEqual(notPlugin.reason._tag, "InvalidPlugin")
      const undefined_ = yield* Effect.flip(
        PluginLoader.load({ target: fixture("undefined-plugin.ts"), options: {}, context, configDir: here })
      )
      assert.strictEqual(
        undefined_.message,
        `backup target ${fixture("undefined-plugin.ts")}: not a repoman backup plugin: ` +
          "its `plugin` was not made with BackupPlugin.define; " +
          "export `plugin = BackupPlugin.define({ ... })`"
      )
    }))

  it.effect("an unloadable target becomes a target that refuses with the reason", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(locationOf(PluginLoader.layerUnavailable("backup target x: no such module")))
      assert.include(String(error), "no such module")
    }))

  it.effect("the registry's plugin is imported when the target is first used, not when the layer is built", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const home = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-loader-" })
      const configDir = `${home}/config`
      const pkg = `${configDir}/plugins/node_modules/repoman-backup-marker`
      yield* fs.makeDirectory(pkg, { recursive: true })
      yield* fs.writeFileString(
        `${pkg}/package.json`,
        JSON.stringify({ name: "repoman-backup-marker", type: "module" })
      )
      // Leaves a file when imported; exports no plugin.
      yield* fs.writeFileString(
        `${pkg}/index.js`,
        `import { writeFileSync } from "node:fs"\nwriteFileSync(new URL("./imported", import.meta.url), "")\n`
      )
      const document = {
        ...emptyDocument,
        defaults: { ...emptyDocument.defaults, reposRoot: `${home}/repos` },
        backup: { ...emptyDocument.backup, target: "repoman-backup-marker" }
      }
      const layer = PluginLoader.layerFromRegistry.pipe(
        Layer.provide(RegistryMemory.layer({ document })),
        Layer.provide(ConfigPaths.layerFrom({ home, configDir })),
        Layer.provide(NodeServices.layer)
      )
      yield* Effect.gen(function*() {
        const target = yield* BackupTarget
        assert.isFalse(yield* fs.exists(`${pkg}/imported`), "built: not imported yet")
        const error = yield* Effect.flip(target.check())
        assert.isTrue(yield* fs.exists(`${pkg}/imported`), "used: imported")
        assert.include(error.message, "exports no `plugin`")
      }).pipe(Effect.provide(layer))
    }).pipe(Effect.provide(NodeServices.layer)))
})
