/**
 * Lossless migration of registry files from schema 1 and schema 2 to the
 * current schema 3, on the raw TOML value tree (before Schema decoding, so
 * keys repoman does not know pass through untouched).
 *
 * - schema 1 has no `schema` key, no `[host]` and no profile lists;
 * - schema 2 has `schema = 2` and `[defaults].llm`, a model-server URL such
 *   as `http://192.168.1.42:11434`, and no `[host]`.
 *
 * Schema 3 takes the LAN IP from the llm URL into `[host].lan_ip` (the URL
 * itself stays, so nothing is lost), gives `[defaults].profiles` the built-in
 * default when it is missing, and gives each project without a profile list
 * the document's default profiles.
 *
 * @since 0.1.0
 * @module
 */
import { CURRENT_SCHEMA, DEFAULT_PROFILES } from "./RegistryDocument.ts"

/**
 * A TOML table as smol-toml returns it.
 *
 * @since 0.1.0
 * @category models
 */
export type RawTable = { readonly [key: string]: unknown }

/**
 * The outcome of {@link migrate}: the schema-3 tree and the version it came from.
 *
 * @since 0.1.0
 * @category models
 */
export type Migrated =
  | { readonly _tag: "Migrated"; readonly from: 1 | 2 | 3; readonly table: RawTable }
  | { readonly _tag: "Unsupported"; readonly version: string }

/**
 * Whether `u` is a TOML table (a plain object, not an array or a date).
 *
 * @internal
 * @since 0.1.0
 * @category utils
 */
export const isTable = (u: unknown): u is RawTable =>
  typeof u === "object" && u !== null && !Array.isArray(u) && !(u instanceof Date)

const lanIpFromUrl = (url: unknown): string | undefined => {
  if (typeof url !== "string") return undefined
  if (!URL.canParse(url)) return undefined
  const host = new URL(url).hostname.replace(/^\[(.*)\]$/, "$1")
  return host.length > 0 ? host : undefined
}

/**
 * Detects the schema version of a raw registry tree and brings it to schema 3.
 * The input is not mutated.
 *
 * @since 0.1.0
 * @category utils
 */
export const migrate = (raw: RawTable): Migrated => {
  const version = raw["schema"]
  const from = version === undefined ? 1 : version === 2 ? 2 : version === CURRENT_SCHEMA ? 3 : undefined
  if (from === undefined) return { _tag: "Unsupported", version: String(version) }
  if (from === 3) return { _tag: "Migrated", from, table: raw }

  const defaults: RawTable = isTable(raw["defaults"]) ? raw["defaults"] : {}
  const host: RawTable = isTable(raw["host"]) ? raw["host"] : {}
  const lanIp = from === 2 ? lanIpFromUrl(defaults["llm"]) : undefined
  const profiles = Array.isArray(defaults["profiles"]) ? defaults["profiles"] : DEFAULT_PROFILES
  const projects = Array.isArray(raw["project"])
    ? raw["project"].map((p: unknown) => isTable(p) && p["profiles"] === undefined ? { ...p, profiles } : p)
    : raw["project"]

  const table: Record<string, unknown> = { ...raw, schema: CURRENT_SCHEMA }
  table["defaults"] = { ...defaults, profiles }
  if (lanIp !== undefined && host["lan_ip"] === undefined) table["host"] = { ...host, lan_ip: lanIp }
  if (projects !== undefined) table["project"] = projects
  return { _tag: "Migrated", from, table }
}
