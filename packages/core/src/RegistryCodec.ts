/**
 * Text ⇄ document for registry and override files: TOML parsing with
 * positions, migration, Schema decoding with the offending key and line,
 * and rendering that keeps keys repoman does not know.
 *
 * @since 0.1.0
 * @module
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import { parse, stringify, TomlError } from "smol-toml"
import { keyPath, locate } from "./internal/tomlLocate.ts"
import { extract, restore } from "./internal/unknownKeys.ts"
import { isTable, migrate, type RawTable } from "./Migration.ts"
import { InvalidDocument, InvalidToml, RegistryError, UnsupportedSchema } from "./Registry.ts"
import { ProjectOverride, RegistryDocument } from "./RegistryDocument.ts"

/**
 * A decoded registry file: the document, the schema it was written in, and
 * the keys repoman did not understand (kept for the next write).
 *
 * @since 0.1.0
 * @category models
 */
export interface DecodedRegistry {
  readonly document: RegistryDocument
  readonly from: 1 | 2 | 3
  readonly unknown: RawTable
}

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

const fail = (reason: ConstructorParameters<typeof RegistryError>[0]["reason"]) =>
  Effect.fail(new RegistryError({ reason }))

/**
 * Parses TOML text into a raw table, failing with `InvalidToml` (file, line, column).
 *
 * @since 0.1.0
 * @category utils
 */
export const parseToml = (path: string, text: string): Effect.Effect<RawTable, RegistryError> =>
  Effect.try({
    try: () => parse(text) as RawTable,
    catch: (e) =>
      e instanceof TomlError
        ? new RegistryError({
          reason: new InvalidToml({
            path,
            line: e.line,
            column: e.column,
            detail: e.message.split("\n")[0] ?? "syntax error"
          })
        })
        : new RegistryError({
          reason: new InvalidToml({ path, line: 1, column: 1, detail: String(e) })
        })
  })

const decodeWith = <S extends Schema.Codec<unknown, unknown>>(schema: S) => {
  const decode = Schema.decodeUnknownEffect(schema as Schema.Codec<S["Type"], unknown>)
  return (path: string, text: string, value: unknown): Effect.Effect<S["Type"], RegistryError> =>
    decode(value).pipe(Effect.catchTag("SchemaError", (e) => {
      const issue = formatter(e.issue).issues[0]
      const keys = (issue?.path ?? []).map((p) => typeof p === "object" && p !== null ? p.key : p)
      const line = locate(text, keys)
      return fail(
        new InvalidDocument({
          path,
          key: keyPath(keys),
          detail: issue?.message ?? e.message,
          ...(line === undefined ? {} : { line })
        })
      )
    }))
}

const decodeRegistry = decodeWith(RegistryDocument)
const decodeOverride = decodeWith(ProjectOverride)
const encodeRegistry = Schema.encodeSync(RegistryDocument)

/**
 * The first project whose name an earlier one uses already, as an
 * `InvalidDocument` pointing at its line; `undefined` when names are unique.
 */
const duplicateName = (path: string, text: string, document: RegistryDocument) => {
  const first = new Map<string, number>()
  for (const [i, p] of document.projects.entries()) {
    const earlier = first.get(p.name)
    if (earlier === undefined) {
      first.set(p.name, i)
      continue
    }
    const line = locate(text, ["project", i, "name"])
    const earlierLine = locate(text, ["project", earlier, "name"])
    return new RegistryError({
      reason: new InvalidDocument({
        path,
        key: keyPath(["project", i, "name"]),
        detail: `the project name "${p.name}" is used twice (first at ${
          earlierLine === undefined ? keyPath(["project", earlier]) : `line ${earlierLine}`
        }): names must be unique`,
        ...(line === undefined ? {} : { line })
      })
    })
  }
  return undefined
}

/**
 * Decodes registry text of schema 1, 2 or 3 into a schema-3 document. Two
 * projects of the same name are an `InvalidDocument` naming the second.
 *
 * @since 0.1.0
 * @category utils
 */
export const decodeRegistryText = (path: string, text: string): Effect.Effect<DecodedRegistry, RegistryError> =>
  Effect.gen(function*() {
    const raw = yield* parseToml(path, text)
    const migrated = migrate(raw)
    if (migrated._tag === "Unsupported") {
      return yield* fail(new UnsupportedSchema({ path, version: migrated.version }))
    }
    const document = yield* decodeRegistry(path, text, migrated.table)
    const duplicate = duplicateName(path, text, document)
    if (duplicate !== undefined) return yield* duplicate
    const known = encodeRegistry(document) as RawTable
    return { document, from: migrated.from, unknown: extract(migrated.table, known) }
  })

/**
 * Renders a document as TOML, putting back the unknown keys of the file it
 * was read from.
 *
 * @since 0.1.0
 * @category utils
 */
export const encodeRegistryText = (document: RegistryDocument, unknown: RawTable = {}): string => {
  const encoded = restore(encodeRegistry(document) as RawTable, unknown)
  return stringify(encoded) + "\n"
}

/**
 * Decodes the text of a per-project override file.
 *
 * @since 0.1.0
 * @category utils
 */
export const decodeOverrideText = (path: string, text: string): Effect.Effect<ProjectOverride, RegistryError> =>
  Effect.flatMap(parseToml(path, text), (raw) => decodeOverride(path, text, isTable(raw) ? raw : {}))
