/**
 * One version for every package: each `packages/<name>/package.json`
 * carries the version `repoman --version` and `user.repoman.version` report.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Path from "effect/Path"
import * as Schema from "effect/Schema"
import { fileURLToPath } from "node:url"
import { version } from "../src/Version.ts"

const PackageJson = Schema.fromJsonString(Schema.Struct({ name: Schema.String, version: Schema.String }))

describe("Version", () => {
  it.effect("every @repoman package.json has the version of Version.ts", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const packages = fileURLToPath(new URL("../..", import.meta.url))
      const checked: Array<string> = []
      for (const dir of yield* fs.readDirectory(packages)) {
        const file = path.join(packages, dir, "package.json")
        if (!(yield* fs.exists(file))) continue
        const pkg = yield* Schema.decodeUnknownEffect(PackageJson)(yield* fs.readFileString(file))
        assert.strictEqual(pkg.version, version, `${pkg.name} (${file})`)
        checked.push(pkg.name)
      }
      assert.includeMembers(checked, [
        "@repoman/core",
        "@repoman/incus",
        "@repoman/profiles",
        "@repoman/backup",
        "@repoman/live",
        "@repoman/cli"
      ])
    }).pipe(Effect.provide(NodeServices.layer)))
})
