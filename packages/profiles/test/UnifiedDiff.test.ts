/**
 * The unified diff behind `repoman profile diff`.
 */
import { assert, describe, it } from "@effect/vitest"
import { unifiedDiff } from "../src/UnifiedDiff.ts"

const a = (text: string) => ({ name: "a", text })
const b = (text: string) => ({ name: "b", text })

describe("unifiedDiff", () => {
  it("is empty for equal texts", () => {
    assert.strictEqual(unifiedDiff(a("x\ny\n"), b("x\ny\n")), "")
  })

  it("shows a change with its context and diff(1) line ranges", () => {
    const before = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n"
    const after = "1\n2\n3\n4\n5\nsix\n7\n8\n9\n10\n"
    assert.strictEqual(
      unifiedDiff(a(before), b(after)),
      "--- a\n+++ b\n@@ -3,7 +3,7 @@\n 3\n 4\n 5\n-6\n+six\n 7\n 8\n 9\n"
    )
  })

  it("keeps far-apart changes in separate hunks and handles additions to an empty text", () => {
    const before = Array.from({ length: 20 }, (_, i) => `${i + 1}`).join("\n") + "\n"
    const after = before.replace("2\n", "two\n").replace("19\n", "nineteen\n")
    const text = unifiedDiff(a(before), b(after))
    assert.strictEqual(text.split("\n").filter((l) => l.startsWith("@@")).length, 2)
    assert.strictEqual(unifiedDiff(a(""), b("x\ny\n")), "--- a\n+++ b\n@@ -0,0 +1,2 @@\n+x\n+y\n")
  })
})
