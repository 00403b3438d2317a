/**
 * Loads this example as `repoman` does: installed by its package name under
 * the config dir (`<config dir>/plugins/node_modules/@acme/repoman-profiles`,
 * here a symlink to this directory, as `npm install` of a local directory
 * makes it), named in `[plugins] profiles`; its profiles join the library
 * with the plugin as their origin.
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
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import { fileURLToPath } from "node:url"

const exampleDir = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "")
const id = "@acme/repoman-profiles"

describe("custom-profile-plugin", () => {
  it.effect("its profiles join the library with the plugin as their origin, beside the vendor ones", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const home = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-profile-plugin-" })
      const configDir = `${home}/.config/repoman`
      yield* fs.makeDirectory(`${configDir}/plugins/node_modules/@acme`, { recursive: true })
      yield* fs.symlink(exampleDir, `${configDir}/plugins/node_modules/${id}`)
      const live = ProfileLibrary.layer.pipe(
        Layer.provide(Layer.mergeAll(
          ConfigPaths.layerFrom({ home, configDir }),
          RegistryMemory.layer({ document: { ...emptyDocument, plugins: { profiles: [id] } } })
        )),
        Layer.provide(NodeServices.layer)
      )
      yield* Effect.gen(function*() {
        const store = yield* ProfileStore
        const entries = yield* store.list()
        const acme = entries.filter((e) => e.origin._tag === "Plugin")
        assert.deepStrictEqual(acme.map((e) => e.name), ["acme-llm", "acme-node"])
        assert.deepStrictEqual(acme[0]?.origin, { _tag: "Plugin", id })
        assert.isTrue(entries.some((e) => e.name === "claude" && e.origin._tag === "Vendor"))
        const node = yield* store.render(ProfileName.make("acme-node"), { HOME: "/home/ada" })
        assert.strictEqual(node.config["environment.NPM_CONFIG_CACHE"], "/home/ada/.cache/acme-npm")
        const llm = yield* store.render(ProfileName.make("acme-llm"), { HOME: "/home/ada" }).pipe(Effect.flip)
        assert.include(llm.message, "${HOST_LAN_IP}")
      }).pipe(Effect.provide(live))
    }).pipe(Effect.provide(NodeServices.layer)))
})
