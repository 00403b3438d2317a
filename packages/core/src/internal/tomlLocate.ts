/**
 * Finds the 1-based line of a key path (as Schema reports it, e.g.
 * `["project", 2, "name"]`) in TOML text, for error messages. It follows
 * `[table]` and `[[array]]` headers and `key =` lines; a key that is missing
 * points at its table's header. Good enough for hand-written files; returns
 * `undefined` when nothing matches.
 */
const HEADER = /^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$/
const KEY = /^\s*("?)([A-Za-z0-9_.-]+)\1\s*=/

const splitDotted = (s: string): ReadonlyArray<string> => s.split(".").map((p) => p.trim().replace(/^"(.*)"$/, "$1"))

export const keyPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>(
    (acc, p) => typeof p === "number" ? `${acc}[${p}]` : acc === "" ? String(p) : `${acc}.${String(p)}`,
    ""
  )

export const locate = (text: string, path: ReadonlyArray<PropertyKey>): number | undefined => {
  // Table path: the leading string keys plus an array index, as far as headers go.
  const lines = text.split(/\r?\n/)
  const counters = new Map<string, number>()
  let table: ReadonlyArray<PropertyKey> = []
  let best: number | undefined
  let bestDepth = -1
  const startsWith = (p: ReadonlyArray<PropertyKey>, prefix: ReadonlyArray<PropertyKey>) =>
    prefix.length <= p.length && prefix.every((x, i) => x === p[i])

  for (const [i, line] of lines.entries()) {
    const header = HEADER.exec(line)
    if (header !== null) {
      const names = splitDotted(header[2] ?? "")
      if (header[1] === "[[") {
        const id = names.join(".")
        const n = counters.get(id) ?? 0
        counters.set(id, n + 1)
        table = [...names, n]
      } else {
        table = names
      }
      if (startsWith(path, table) && table.length > bestDepth) {
        best = i + 1
        bestDepth = table.length
      }
      continue
    }
    const key = KEY.exec(line)
    if (key !== null && startsWith(path, table)) {
      const full = [...table, ...splitDotted(key[2] ?? "")]
      if (startsWith(path, full)) return i + 1
    }
  }
  return best
}
