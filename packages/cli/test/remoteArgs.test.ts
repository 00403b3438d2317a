import { assert, describe, it } from "@effect/vitest"
import { splitRemote } from "../src/internal/remoteArgs.ts"

describe("--remote on the command line", () => {
  it("is taken out before or after the command, as --remote NAME or --remote=NAME", () => {
    assert.deepStrictEqual(splitRemote(["--remote", "lab", "list", "--json"]), {
      _tag: "Split",
      argv: ["list", "--json"],
      remote: "lab"
    })
    assert.deepStrictEqual(splitRemote(["status", "isurus", "--remote=lab"]), {
      _tag: "Split",
      argv: ["status", "isurus"],
      remote: "lab"
    })
    assert.deepStrictEqual(splitRemote(["list"]), { _tag: "Split", argv: ["list"], remote: undefined })
  })

  it("after --, the words are the command's own and stay", () => {
    assert.deepStrictEqual(splitRemote(["exec", "isurus", "--", "tool", "--remote", "x"]), {
      _tag: "Split",
      argv: ["exec", "isurus", "--", "tool", "--remote", "x"],
      remote: undefined
    })
  })

  it("without a name, with an option for a name, or twice: malformed (a usage error)", () => {
    for (
      const argv of [["list", "--remote"], ["--remote", "--json", "list"], ["--remote=", "list"], [
        "--remote",
        "a",
        "--remote=b",
        "list"
      ]]
    ) {
      assert.strictEqual(splitRemote(argv)._tag, "Malformed", argv.join(" "))
    }
  })
})
