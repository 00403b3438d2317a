import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import { failureReason, parseItemLine, succeeded } from "../src/rsyncOutput.ts"

describe("rsync output", () => {
  it("parses itemized lines: transfers with their length, deletions, the rest", () => {
    assert.deepStrictEqual(parseItemLine(">f+++++++++|1234|alpha/src/main.c"), {
      _tag: "Transferred",
      top: "alpha",
      bytes: 1234
    })
    assert.deepStrictEqual(parseItemLine(">f.st......|8|beta/b|with|bars"), {
      _tag: "Transferred",
      top: "beta",
      bytes: 8
    })
    assert.deepStrictEqual(parseItemLine("*deleting  |0|alpha/old.txt"), { _tag: "Deleted", top: "alpha" })
    assert.deepStrictEqual(parseItemLine("cd+++++++++|4096|alpha/src/"), { _tag: "Other", top: "alpha" })
    assert.deepStrictEqual(parseItemLine(".d..t......|4096|alpha/"), { _tag: "Other", top: "alpha" })
    assert.strictEqual(parseItemLine("rsync: some warning"), undefined)
    assert.strictEqual(parseItemLine(""), undefined)
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
