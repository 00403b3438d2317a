/**
 * Keeps keys repoman does not know across a decode/encode round trip.
 *
 * `extract(raw, known)` returns the parts of `raw` that are absent from
 * `known` (the re-encoding of what the schema understood); `restore(next,
 * extra)` puts them back into a newly encoded tree. Arrays of tables whose
 * entries carry a string `name` (the `[[project]]` entries) are matched by
 * name, so an entry's unknown keys follow it and leave with it.
 */
import { isTable, type RawTable } from "../Migration.ts"

type Extra = { readonly [key: string]: unknown }
const BY_NAME = Symbol.for("@repoman/core/unknownKeys/byName")
interface ByName {
  readonly [BY_NAME]: ReadonlyMap<string, Extra>
}

const isByName = (u: unknown): u is ByName => typeof u === "object" && u !== null && BY_NAME in u

const named = (u: unknown): string | undefined => isTable(u) && typeof u["name"] === "string" ? u["name"] : undefined

export const extract = (raw: RawTable, known: RawTable): Extra => {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(raw)) {
    const k = known[key]
    if (k === undefined) {
      out[key] = value
    } else if (isTable(value) && isTable(k)) {
      const sub = extract(value, k)
      if (Object.keys(sub).length > 0) out[key] = sub
    } else if (Array.isArray(value) && Array.isArray(k) && value.every((v) => named(v) !== undefined)) {
      const byName = new Map<string, Extra>()
      for (const entry of value as ReadonlyArray<RawTable>) {
        const match = k.find((e: unknown) => named(e) === entry["name"])
        const sub = isTable(match) ? extract(entry, match) : {}
        if (Object.keys(sub).length > 0) byName.set(entry["name"] as string, sub)
      }
      if (byName.size > 0) out[key] = { [BY_NAME]: byName } satisfies ByName
    }
  }
  return out
}

export const restore = (next: RawTable, extra: Extra): RawTable => {
  const out: Record<string, unknown> = { ...next }
  for (const [key, value] of Object.entries(extra)) {
    const current = out[key]
    if (isByName(value)) {
      if (Array.isArray(current)) {
        out[key] = current.map((entry: unknown) => {
          const name = named(entry)
          const sub = name === undefined ? undefined : value[BY_NAME].get(name)
          return sub !== undefined && isTable(entry) ? restore(entry, sub) : entry
        })
      }
    } else if (current === undefined) {
      out[key] = value
    } else if (isTable(current) && isTable(value)) {
      out[key] = restore(current, value)
    }
  }
  return out
}
