/**
 * Loads this example through repoman's plugin loader, as `[plugins] profiles`
 * names it, and checks its profiles join the library with the plugin origin.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { ConfigPaths } from "@repoman/core/ConfigPaths"
import { ProfileName } from "@repoman/core/Ids"
import { ProfileStore } from "@repoman/core/ProfileStore"
import { emptyDocument } from "@repoman/core/RegistryDocument"
import * as RegistryMemory from "@repoman/core/RegistryMemory"
import * as ProfileLibrary from "@repoman/profiles/ProfileLibrary"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { fileURLToPath } from "node:url"

const pluginPath = fileURLToPath(new URL("./index.ts", import.meta.url))

const live = ProfileLibrary.layer.pipe(
  Layer.provide(Layer.mergeAll(
    ConfigPaths.layerFrom({ home: "/home/ada", configDir: "/nonexistent/repoman" }),
    RegistryMemory.layer({ document: { ...emptyDocument, plugins: { profiles: [pluginPath] } } })
  )),
  Layer.provide(NodeServices.layer)
)

describe("custom-profile-plugin", () => {
  it.effect("its profiles join the library with the plugin as their origin, beside the vendor ones", () =>
    Effect.gen(function*() {
      const store = yield* ProfileStore
      const entries = yield* store.list()
      const acme = entries.filter((e) => e.origin._tag === "Plugin")
      assert.deepStrictEqual(acme.map((e) => e.name), ["acme-llm", "acme-node"])
      assert.deepStrictEqual(acme[0]?.origin, { _tag: "Plugin", id: pluginPath })
      assert.isTrue(entries.some((e) => e.name === "claude-share" && e.origin._tag === "Vendor"))
      const node = yield* store.render(ProfileName.make("acme-node"), { HOME: "/home/ada" })
      assert.strictEqual(node.config["environment.NPM_CONFIG_CACHE"], "/home/ada/.cache/acme-npm")
      const llm = yield* store.render(ProfileName.make("acme-llm"), { HOME: "/home/ada" }).pipe(Effect.flip)
      assert.include(llm.message, "${HOST_LAN_IP}")
    }).pipe(Effect.provide(live)))
})
