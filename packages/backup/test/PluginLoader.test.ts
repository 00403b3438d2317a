import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { BackupTarget } from "@repoman/core/BackupTarget"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { fileURLToPath } from "node:url"
import * as PluginLoader from "../src/PluginLoader.ts"

const context = { backupRoot: "/backup", reposRoot: "/repos", stateDir: "/state", requireMount: true }
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))
const here = fileURLToPath(new URL(".", import.meta.url))

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
        resolveFrom: []
      })
      assert.isTrue(Layer.isLayer(layer))
      const bad = yield* Effect.flip(
        PluginLoader.load({ target: "rsync", options: { io_timeout_seconds: "soon" }, context, resolveFrom: [] })
      )
      assert.strictEqual(bad.reason._tag, "InvalidOptions")
      assert.include(bad.message, "io_timeout_seconds")
      const typo = yield* Effect.flip(
        PluginLoader.load({ target: "rsync", options: { io_timeout: 60 }, context, resolveFrom: [] })
      )
      assert.strictEqual(typo.reason._tag, "InvalidOptions")
    }))

  it.effect("loads a plugin module by path, with its options decoded by its own schema", () =>
    Effect.gen(function*() {
      const layer = yield* PluginLoader.load({
        target: fixture("null-plugin.ts"),
        options: { label: "null" },
        context,
        resolveFrom: []
      })
      assert.strictEqual(yield* locationOf(layer.pipe(Layer.provide(NodeServices.layer))), "null:/backup")
      const missing = yield* Effect.flip(
        PluginLoader.load({ target: fixture("null-plugin.ts"), options: {}, context, resolveFrom: [] })
      )
      assert.strictEqual(missing.reason._tag, "InvalidOptions")
    }))

  it.effect("names what went wrong: no such module, or a module that is not a plugin", () =>
    Effect.gen(function*() {
      const absent = yield* Effect.flip(
        PluginLoader.load({ target: "@nobody/repoman-backup-nothing", options: {}, context, resolveFrom: [here] })
      )
      assert.strictEqual(absent.reason._tag, "PluginNotFound")
      assert.include(absent.message, here)
      const notPlugin = yield* Effect.flip(
        PluginLoader.load({ target: fixture("not-a-plugin.ts"), options: {}, context, resolveFrom: [] })
      )
      assert.strictEqual(notPlugin.reason._tag, "InvalidPlugin")
    }))

  it.effect("an unloadable target becomes a target that refuses with the reason", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(locationOf(PluginLoader.layerUnavailable("backup target x: no such module")))
      assert.include(String(error), "no such module")
    }))
})
