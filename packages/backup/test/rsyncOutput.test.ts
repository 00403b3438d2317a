import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as fc from "fast-check"
import { failureReason, parseItemLine, StatsReader, succeeded, unescapeName } from "../src/rsyncOutput.ts"

describe("rsync output", () => {
  it("parses itemized lines: transfers with their length, deletions, the rest", () => {
    assert.deepStrictEqual(parseItemLine(">f+++++++++|1234|alpha/src/main.c"), {
      _tag: "Transferred",
      top: "alpha",
      name: "alpha/src/main.c",
      bytes: 1234
    })
    assert.deepStrictEqual(parseItemLine(">f.st......|8|beta/b|with|bars"), {
      _tag: "Transferred",
      top: "beta",
      name: "beta/b|with|bars",
      bytes: 8
    })
    assert.deepStrictEqual(parseItemLine("*deleting  |0|alpha/old.txt"), {
      _tag: "Deleted",
      top: "alpha",
      name: "alpha/old.txt"
    })
    assert.deepStrictEqual(parseItemLine("cd+++++++++|4096|alpha/src/"), {
      _tag: "Other",
      top: "alpha",
      name: "alpha/src/"
    })
    assert.deepStrictEqual(parseItemLine(".d..t......|4096|alpha/"), { _tag: "Other", top: "alpha", name: "alpha/" })
    // With LC_ALL=C rsync prints every byte that is not printable ASCII as \#ooo: the name comes back byte for byte.
    assert.deepStrictEqual(parseItemLine("*deleting  |0|alpha/n\\#033[1m\\#303\\#251\\#377"), {
      _tag: "Deleted",
      top: "alpha",
      name: "alpha/n\x1b[1m\xc3\xa9\xff"
    })
    assert.strictEqual(parseItemLine("rsync: some warning"), undefined)
    assert.strictEqual(parseItemLine(""), undefined)
  })

  it("any name survives rsync's escaping with LC_ALL=C (every byte that is not printable ASCII as \\#ooo)", () =>
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 40 }), (raw) => {
        const bytes = [...raw].filter((b) => b !== 0x2f && b !== 0).map((b) => String.fromCharCode(b)).join("")
        if (bytes === "" || bytes.includes("\\#")) return
        const printed = [...bytes].map((c) => {
          const b = c.charCodeAt(0)
          return b >= 0x20 && b < 0x7f ? c : `\\#${b.toString(8).padStart(3, "0")}`
        }).join("")
        assert.strictEqual(unescapeName(printed), bytes)
        const item = parseItemLine(`*deleting  |0|alpha/${printed}`)
        assert.strictEqual(item?.name, `alpha/${bytes}`)
      }),
      { numRuns: 1000 }
    ))

  it("reads the totals of --stats: entries that are not directories, and their bytes", () => {
    const stats = new StatsReader()
    assert.strictEqual(stats.totals, undefined)
    for (
      const line of [
        ">f+++++++++|2|repo/z",
        "Number of files: 1,234 (reg: 1,000, dir: 230, link: 4)",
        "Number of created files: 1 (reg: 1)",
        "Total file size: 5,678,901 bytes",
        "Total transferred file size: 2 bytes"
      ]
    ) stats.line(line)
    assert.deepStrictEqual(stats.totals, { files: 1004, bytes: 5_678_901 })
  })

  it("maps exit codes to reasons", () => {
    const context = { location: "/backup", ioTimeout: Duration.seconds(60) }
    assert.isTrue(succeeded(0))
    assert.isTrue(succeeded(24))
    assert.isFalse(succeeded(23))
    assert.strictEqual(failureReason(30, "", context)._tag, "Timeout")
    const partial = failureReason(
      23,
      "rsync: [sender] link_stat \"/r/x\" failed: No such file or directory (2)\nrsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1394)\n",
      context
    )
    assert.strictEqual(partial._tag, "Failed")
    assert.include(partial.message, "partial transfer")
    assert.include(partial.message, "link_stat")
    assert.notInclude(partial.message, "rsync error:")
    assert.include(partial.message, "exit code 23")
    const full = failureReason(
      11,
      "rsync: [receiver] write failed on \"/backup/a/f\": No space left on device (28)\n",
      context
    )
    assert.strictEqual(full._tag, "InsufficientSpace")
  })
})
