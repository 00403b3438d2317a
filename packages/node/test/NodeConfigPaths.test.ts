import { assert, describe, it } from "@effect/vitest"
import { ConfigPaths } from "@repoman/core/ConfigPaths"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as NodeConfigPaths from "../src/NodeConfigPaths.ts"

const resolve = (env: Record<string, string>) =>
  ConfigPaths.useSync((p) => p).pipe(
    Effect.provide(NodeConfigPaths.layer),
    Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env })))
  )

describe("ConfigPaths", () => {
  it.effect("REPOMAN_CONFIG_DIR wins, with ~ expanded", () =>
    Effect.gen(function*() {
      const p = yield* resolve({ HOME: "/home/ada", REPOMAN_CONFIG_DIR: "~/rm", XDG_CONFIG_HOME: "/xdg" })
      assert.strictEqual(p.configDir, "/home/ada/rm")
      assert.strictEqual(p.registryFile, "/home/ada/rm/repoman.toml")
      assert.strictEqual(p.overridesDir, "/home/ada/rm/repos.d")
      assert.strictEqual(p.profilesDir, "/home/ada/rm/profiles.d")
    }))
  it.effect("then $XDG_CONFIG_HOME/repoman, and $XDG_STATE_HOME for state", () =>
    Effect.gen(function*() {
      const p = yield* resolve({ HOME: "/home/ada", XDG_CONFIG_HOME: "/xdg", XDG_STATE_HOME: "/state" })
      assert.strictEqual(p.configDir, "/xdg/repoman")
      assert.strictEqual(p.stateDir, "/state/repoman")
    }))
  it.effect("else ~/.config/repoman and ~/.local/state/repoman", () =>
    Effect.gen(function*() {
      const p = yield* resolve({ HOME: "/home/ada" })
      assert.strictEqual(p.configDir, "/home/ada/.config/repoman")
      assert.strictEqual(p.stateDir, "/home/ada/.local/state/repoman")
    }))
})
