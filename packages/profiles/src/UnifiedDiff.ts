/**
 * A line-based unified diff (the format of `diff -u`), for `repoman profile
 * diff`, computed by jsdiff.
 *
 * @since 0.1.0
 * @module
 */
import { structuredPatch } from "diff"

/**
 * The unified diff from `before` to `after`, with `---`/`+++` headers naming
 * them; the empty string when the texts are equal.
 *
 * @example
 * ```ts
 * import { unifiedDiff } from "@repoman/profiles/UnifiedDiff"
 * unifiedDiff({ name: "installed", text: "a\nb\n" }, { name: "library", text: "a\nc\n" })
 * // "--- installed\n+++ library\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n"
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const unifiedDiff = (
  before: { readonly name: string; readonly text: string },
  after: { readonly name: string; readonly text: string },
  context = 3
): string => {
  const patch = structuredPatch(before.name, after.name, before.text, after.text, undefined, undefined, { context })
  if (patch.hunks.length === 0) return ""
  // diff(1) names the line before an empty range (`-0,0` for an empty file).
  const range = (start: number, count: number) => `${count === 0 ? start - 1 : start},${count}`
  const out = [`--- ${before.name}`, `+++ ${after.name}`]
  for (const hunk of patch.hunks) {
    out.push(`@@ -${range(hunk.oldStart, hunk.oldLines)} +${range(hunk.newStart, hunk.newLines)} @@`, ...hunk.lines)
  }
  return `${out.join("\n")}\n`
}
