/**
 * The public surface of the @repoman packages: every exported symbol of
 * every module has a JSDoc summary (TypeDoc's `notDocumented` accepts a bare
 * `@since` tag; this does not), and no package exports its `src/internal/`.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Path from "effect/Path"
import * as Schema from "effect/Schema"
import { fileURLToPath } from "node:url"
import ts from "typescript"

const packagesDir = fileURLToPath(new URL("../..", import.meta.url))
const names = ["core", "node", "programs", "incus", "profiles", "checkpoints", "backup", "live", "cli"] as const

const exportedName = (statement: ts.Statement): string | undefined => {
  if (!ts.canHaveModifiers(statement)) return undefined
  if (!(ts.getModifiers(statement) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) return undefined
  if (ts.isVariableStatement(statement)) {
    return statement.declarationList.declarations.map((d) => d.name.getText()).join(",")
  }
  if ("name" in statement && statement.name !== undefined && ts.isIdentifier(statement.name as ts.Node)) {
    return (statement.name as ts.Identifier).text
  }
  return "default"
}

const hasSummary = (statement: ts.Statement): boolean =>
  ts.getJSDocCommentsAndTags(statement).some((doc) =>
    ts.isJSDoc(doc) &&
    (typeof doc.comment === "string" ? doc.comment.trim().length > 0 : (doc.comment?.length ?? 0) > 0)
  )

/** The exported symbols of `text` without a JSDoc summary. */
export const undocumented = (file: string, text: string): ReadonlyArray<string> => {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true)
  return source.statements.flatMap((statement) => {
    const name = exportedName(statement)
    return name === undefined || hasSummary(statement) ? [] : [name]
  })
}

const Exports = Schema.fromJsonString(Schema.Struct({
  name: Schema.String,
  exports: Schema.Record(Schema.String, Schema.Unknown),
  publishConfig: Schema.Struct({ exports: Schema.Record(Schema.String, Schema.Unknown) })
}))

const CliPackage = Schema.fromJsonString(Schema.Struct({
  exports: Schema.Record(Schema.String, Schema.Unknown),
  dependencies: Schema.optionalKey(Schema.Record(Schema.String, Schema.String)),
  peerDependencies: Schema.optionalKey(Schema.Record(Schema.String, Schema.String)),
  files: Schema.Array(Schema.String)
}))

describe("public API", () => {
  it("the check finds a symbol with only a tag, and accepts one with a summary", () => {
    const text = [
      "/** @since 0.1.0 */",
      "export const bare = 1",
      "/**\n * A summary.\n *\n * @since 0.1.0\n */",
      "export const documented = 2",
      "export interface Plain {}"
    ].join("\n")
    assert.deepStrictEqual(undocumented("x.ts", text), ["bare", "Plain"])
  })

  it.effect("every exported symbol of every package has a JSDoc summary", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const missing: Array<string> = []
      let files = 0
      for (const name of names) {
        const src = path.join(packagesDir, name, "src")
        for (const relative of yield* fs.readDirectory(src, { recursive: true })) {
          if (!relative.endsWith(".ts") || relative.startsWith("internal/")) continue
          files++
          const text = yield* fs.readFileString(path.join(src, relative))
          for (const symbol of undocumented(relative, text)) missing.push(`${name}/src/${relative} ${symbol}`)
        }
      }
      assert.isAbove(files, 50)
      assert.deepStrictEqual(missing, [])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("every public module opens with an overview tagged @module, so TypeDoc keeps it", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const untagged: Array<string> = []
      for (const name of names.filter((n) => n !== "cli")) {
        const src = path.join(packagesDir, name, "src")
        for (const relative of yield* fs.readDirectory(src, { recursive: true })) {
          if (!relative.endsWith(".ts") || relative.startsWith("internal/") || relative === "index.ts") continue
          const header = /^\/\*\*([\s\S]*?)\*\//.exec(yield* fs.readFileString(path.join(src, relative)))
          if (header === null || !/@module\b/.test(header[1] ?? "")) untagged.push(`${name}/src/${relative}`)
        }
      }
      assert.deepStrictEqual(untagged, [])
    }).pipe(Effect.provide(NodeServices.layer)))

  // Loads every module of seven packages through the test transform: allow for a busy machine.
  it("each library package has a root entry with its modules as namespaces", { timeout: 60_000 }, async () => {
    const roots = {
      core: await import("@repoman/core"),
      node: await import("@repoman/node"),
      programs: await import("@repoman/programs"),
      incus: await import("@repoman/incus"),
      profiles: await import("@repoman/profiles"),
      backup: await import("@repoman/backup"),
      live: await import("@repoman/live")
    }
    assert.strictEqual(roots.core.Registry.Registry.key, "@repoman/core/Registry")
    assert.isFunction(roots.node.PluginModule.load)
    assert.isFunction(roots.programs.NewProject.newProject)
    assert.isFunction(roots.incus.IncusContainerRuntime.layerClient)
    assert.isFunction(roots.profiles.ProfilePlugin.define)
    assert.isFunction(roots.backup.BackupPlugin.define)
    assert.isTrue(Layer.isLayer(roots.live.RepomanLive.RepomanLive))
    assert.notProperty(roots.core, "ContainerRuntimeSuite", "testing/ stays a subpath (it imports vitest)")
  })

  it.effect("core imports no node:* module and touches no process: the Node edge is @repoman/node", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const src = path.join(packagesDir, "core", "src")
      const offending: Array<string> = []
      for (const relative of yield* fs.readDirectory(src, { recursive: true })) {
        if (!relative.endsWith(".ts")) continue
        const text = yield* fs.readFileString(path.join(src, relative))
        const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "")
        if (/from "node:|import\("node:|\bprocess\.|\bBuffer\./.test(code)) offending.push(relative)
      }
      assert.deepStrictEqual(offending, [])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("no package exports src/internal/", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      for (const name of names.filter((n) => n !== "cli")) {
        const pkg = yield* Schema.decodeUnknownEffect(Exports)(
          yield* fs.readFileString(path.join(packagesDir, name, "package.json"))
        )
        assert.strictEqual(pkg.exports["./internal/*"], null, `${pkg.name} exports`)
        assert.strictEqual(pkg.publishConfig.exports["./internal/*"], null, `${pkg.name} publishConfig.exports`)
      }
      const refused = yield* Effect.try({
        try: () => import.meta.resolve("@repoman/core/internal/atomicFile"),
        catch: (e) => String(e)
      }).pipe(Effect.flip)
      assert.match(refused, /ERR_PACKAGE_PATH_NOT_EXPORTED|not exported/i)
      assert.match(import.meta.resolve("@repoman/core/Version"), /packages\/core\/src\/Version\.ts$/)
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("the CLI package is the bundle alone: no dependency, no module exported, no sources shipped", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const pkg = yield* Schema.decodeUnknownEffect(CliPackage)(
        yield* fs.readFileString(path.join(packagesDir, "cli", "package.json"))
      )
      assert.deepStrictEqual(pkg.exports, { "./package.json": "./package.json" })
      assert.isUndefined(pkg.dependencies)
      assert.isUndefined(pkg.peerDependencies)
      // The bundle's entry and the chunks it loads (exec, run, shell and list load less than the rest).
      assert.deepStrictEqual([...pkg.files].sort(), [
        "bin",
        "dist/repoman-*.js",
        "dist/repoman-*.js.map",
        "dist/repoman.js",
        "dist/repoman.js.map",
        "vendor"
      ])
    }).pipe(Effect.provide(NodeServices.layer)))
})
