/**
 * A profile plugin: its profiles live in `profiles/` at the root of the
 * package (a stand-in for a git checkout or the files of an npm package).
 * repoman imports the package named in `[plugins] profiles` and builds the
 * layer of its `plugin` export.
 *
 * The library helpers do the work: `fromDirectory` lists `<name>.yaml` files
 * and parses and renders them exactly as the vendor and user profiles are,
 * so the plugin only says where its YAML lives.
 */
import { ProfileStore } from "@repoman/core/ProfileStore"
import { fromDirectory } from "@repoman/profiles/ProfileLibrary"
import * as ProfilePlugin from "@repoman/profiles/ProfilePlugin"
import * as Layer from "effect/Layer"
import { fileURLToPath } from "node:url"

/** `profiles/` of this package, from `src/` (in the workspace) and `dist/` (installed). */
const profilesDir = fileURLToPath(new URL("../profiles", import.meta.url))

/** The plugin; the origin of its profiles is set by repoman to the plugin id. */
export const plugin = ProfilePlugin.define({
  layer: (context) => Layer.effect(ProfileStore, fromDirectory(profilesDir, { _tag: "Plugin", id: context.id }))
})
