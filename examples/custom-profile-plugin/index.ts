/**
 * A profile plugin: its profiles live in `profiles/` next to this file (a
 * stand-in for a git checkout or the files of an npm package). repoman
 * imports the module named in `[plugins] profiles` and calls `layer`.
 *
 * The library helpers do the work: `fromDirectory` lists `<name>.yaml` files
 * and parses and renders them exactly as the vendor and user profiles are,
 * so the plugin only says where its YAML lives.
 */
import { ProfileStore } from "@repoman/core/ProfileStore"
import { fromDirectory } from "@repoman/profiles/ProfileLibrary"
import type { ProfilePlugin } from "@repoman/profiles/ProfilePlugin"
import * as Layer from "effect/Layer"
import { fileURLToPath } from "node:url"

const profilesDir = fileURLToPath(new URL("./profiles", import.meta.url))

/** The plugin's layer factory; the origin is set by repoman to the plugin id. */
export const layer: ProfilePlugin["layer"] = (context) =>
  Layer.effect(ProfileStore, fromDirectory(profilesDir, { _tag: "Plugin", id: context.id }))
