import { assert, describe, it } from "@effect/vitest"
import * as GitBundle from "../src/GitBundle.ts"
import * as TerminalText from "../src/TerminalText.ts"

const oid = (c: string) => c.repeat(40)
const bundle = (lines: ReadonlyArray<string>, signature = "# v2 git bundle") =>
  new TextEncoder().encode(`${[signature, ...lines].join("\n")}\n\nPACK\x00\x00\x00\x02`)

const parse = (bytes: Uint8Array) => {
  const result = GitBundle.parseHeader(bytes)
  if (!GitBundle.isHeader(result)) throw new Error(result.problem)
  return result
}

describe("GitBundle.parseHeader", () => {
  it("keeps branch refs with valid names and object ids, and finds the pack", () => {
    const bytes = bundle([
      `-${oid("c")} base commit subject`,
      `${oid("a")} refs/heads/main`,
      `${oid("b")} refs/heads/feature/x`
    ])
    const header = parse(bytes)
    assert.deepStrictEqual(header.refs.map((r) => [r.branch, r.oid]), [["main", oid("a")], ["feature/x", oid("b")]])
    assert.deepStrictEqual(header.prerequisites, [oid("c")])
    assert.deepStrictEqual(header.rejected, [])
    assert.strictEqual(new TextDecoder().decode(bytes.subarray(header.packOffset, header.packOffset + 4)), "PACK")
  })

  it("rejects hostile names, as they are: escapes, traversal, HEAD, tags, non-ASCII", () => {
    const hostile = [
      "refs/heads/esc\x1b]0;pwned\x07\x1b[31mred",
      "refs/heads/a/../../b",
      "refs/heads/HEAD",
      "refs/heads/x/HEAD",
      "HEAD",
      "refs/tags/main",
      "refs/remotes/origin/main",
      "refs/heads/caf\u00e9",
      "refs/heads/sp ace",
      "refs/heads/x.lock",
      "refs/heads/.hidden",
      "refs/heads/a@{1}",
      "refs/heads/trail/",
      "refs/heads/double//slash",
      "refs/heads/star*",
      "refs/heads/colon:x",
      "refs/heads/"
    ]
    const header = parse(bundle([...hostile.map((n) => `${oid("a")} ${n}`), `${oid("b")} refs/heads/ok`]))
    assert.deepStrictEqual(header.refs.map((r) => r.name), ["refs/heads/ok"])
    assert.strictEqual(header.rejected.length, hostile.length)
    assert.strictEqual(header.rejected[0]?.name, hostile[0])
    assert.strictEqual(
      TerminalText.escape(header.rejected[0]?.name ?? ""),
      "refs/heads/esc\\x1b]0;pwned\\x07\\x1b[31mred"
    )
  })

  it("rejects bad object ids and duplicate names; accepts SHA-256 ids", () => {
    const header = parse(bundle([
      `${"a".repeat(39)} refs/heads/short`,
      `${"A".repeat(40)} refs/heads/upper`,
      `${"f".repeat(64)} refs/heads/sha256`,
      `${oid("a")} refs/heads/twice`,
      `${oid("b")} refs/heads/twice`
    ]))
    assert.deepStrictEqual(header.refs.map((r) => r.branch), ["sha256", "twice"])
    assert.deepStrictEqual(header.rejected.map((r) => r.reason), [
      "no valid object id",
      "no valid object id",
      "listed twice"
    ])
  })

  it("refuses what is not a v2 bundle, a header without an end, and bad prerequisites", () => {
    const problem = (bytes: Uint8Array) => {
      const r = GitBundle.parseHeader(bytes)
      return GitBundle.isHeader(r) ? "parsed" : r.problem
    }
    assert.include(problem(bundle([], "# v3 git bundle")), "not a v2 git bundle")
    assert.include(problem(bundle([], "# v2 git bundle\x1b[2J")), "not a v2 git bundle")
    assert.include(problem(new TextEncoder().encode(`# v2 git bundle\n${oid("a")} refs/heads/main\n`)), "no end")
    assert.include(problem(bundle(["-nothex comment"])), "prerequisite")
  })

  it("branchRefProblem accepts ordinary branch names", () => {
    for (const name of ["refs/heads/main", "refs/heads/feature/JIRA-12_fix", "refs/heads/v1.2.3", "refs/heads/a-b.c"]) {
      assert.isUndefined(GitBundle.branchRefProblem(name), name)
    }
  })
})
