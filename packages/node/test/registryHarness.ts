/**
 * Test helpers: a file-backed Registry in a fresh temp config dir.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { ConfigPaths } from "@repoman/core/ConfigPaths"
import { Registry } from "@repoman/core/Registry"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Path from "effect/Path"
import { fileURLToPath } from "node:url"
import * as RegistryFile from "../src/RegistryFile.ts"

export const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))

/** A temp config dir (removed with the scope), optionally seeded with registry text. */
export const configDir = (text?: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-registry-" })
    const file = path.join(dir, "repoman.toml")
    if (text !== undefined) yield* fs.writeFileString(file, text)
    return { dir, file }
  })

/** The file Registry rooted at `dir`. */
export const registryAt = (dir: string, options: RegistryFile.Options = {}) =>
  Registry.useSync((r) => r).pipe(
    Effect.provide(
      RegistryFile.layer(options).pipe(
        Layer.provide(ConfigPaths.layerFrom({ home: dir, configDir: dir })),
        Layer.provide(NodeServices.layer)
      )
    )
  )

export const readText = (file: string) => FileSystem.FileSystem.use((fs) => fs.readFileString(file))
