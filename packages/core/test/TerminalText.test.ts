import { assert, describe, it } from "@effect/vitest"
import * as TerminalText from "../src/TerminalText.ts"

describe("TerminalText", () => {
  it("escapes what a terminal acts on: ESC, OSC, BEL, CSI, C1, DEL", () => {
    assert.strictEqual(TerminalText.escape("a\x1b]0;owned\x07b"), "a\\x1b]0;owned\\x07b")
    assert.strictEqual(TerminalText.escape("\x1b[31mred\x1b[0m"), "\\x1b[31mred\\x1b[0m")
    assert.strictEqual(TerminalText.escape("csi\u009b2J del\x7f nul\x00"), "csi\\x9b2J del\\x7f nul\\x00")
  })

  it("makes line tricks visible: \\r, \\n on one line, backspace", () => {
    assert.strictEqual(TerminalText.escape("ok\rFAKE"), "ok\\rFAKE")
    assert.strictEqual(TerminalText.escape("one\ntwo"), "one\\ntwo")
    assert.strictEqual(TerminalText.escape("abc\b\b\bxyz"), "abc\\x08\\x08\\x08xyz")
    assert.strictEqual(TerminalText.escapeLines("one\ntwo\r\x1b[2K"), "one\ntwo\\r\\x1b[2K")
  })

  it("escapes characters that reorder or hide text, and lone surrogates; keeps real text", () => {
    assert.strictEqual(TerminalText.escape("file\u202Etxt.exe"), "file\\u{202e}txt.exe")
    assert.strictEqual(TerminalText.escape("zero\u200Bwidth\uFEFF"), "zero\\u{200b}width\\u{feff}")
    assert.strictEqual(TerminalText.escape("lone\uD800"), "lone\\u{d800}")
    assert.strictEqual(TerminalText.escape("héllo 世界 🎉 tab\there"), "héllo 世界 🎉 tab\\there")
  })

  it("escapes the backslash, so an escape in the output always means one was made", () => {
    assert.strictEqual(TerminalText.escape("C:\\x1b"), "C:\\\\x1b")
    assert.strictEqual(TerminalText.escape("plain"), "plain")
  })

  it("firstLine keeps one bounded line (escaping is the printer's)", () => {
    assert.strictEqual(
      TerminalText.escape(TerminalText.firstLine("  fatal: \x1b[31mbad\nmore\n")),
      "fatal: \\x1b[31mbad"
    )
    assert.strictEqual(TerminalText.firstLine("x".repeat(300), 10), `${"x".repeat(10)}…`)
  })
})
