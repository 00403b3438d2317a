/**
 * Properties of the deletion guard: what it must refuse (a mass deletion,
 * whatever its shape), what it must let through, and that more deletions
 * never turn a refusal into an allowance.
 */
import { assert, describe, it } from "@effect/vitest"
import { defaultPolicy, judge } from "@repoman/core/DeletionGuard"
import * as fc from "fast-check"

const policy = fc.record({ maxPercent: fc.integer({ min: 0, max: 99 }), minFiles: fc.integer({ min: 0, max: 200 }) })
/** A backup, and a deletion that cannot exceed it. */
const case_ = fc.record({ files: fc.integer({ min: 1, max: 1_000_000 }), bytes: fc.integer({ min: 0, max: 2 ** 40 }) })
  .chain((backup) =>
    fc.record({
      backup: fc.constant(backup),
      deleted: fc.record({
        files: fc.integer({ min: 0, max: backup.files }),
        bytes: fc.integer({ min: 0, max: backup.bytes })
      })
    })
  )

const share = (part: number, whole: number) => (whole === 0 ? 0 : (100 * part) / whole)

describe("deletion guard", () => {
  it("the issue's case: rm -rf ./*; touch .x is refused, by files or by bytes", () => {
    assert.deepInclude(judge({ files: 400, bytes: 9e6 }, { files: 400, bytes: 9e6 }, defaultPolicy), { _tag: "Refuse" })
    // a tiny repo: too few files to count by files, but every byte goes
    assert.deepInclude(judge({ files: 3, bytes: 300 }, { files: 3, bytes: 300 }, defaultPolicy), {
      _tag: "Refuse",
      by: "bytes"
    })
    assert.deepStrictEqual(judge({ files: 1, bytes: 10 }, { files: 400, bytes: 9e6 }, defaultPolicy), { _tag: "Allow" })
  })

  it("nothing deleted, or an empty backup, is always allowed", () =>
    fc.assert(
      fc.property(case_, policy, ({ backup }, p) => {
        assert.strictEqual(judge({ files: 0, bytes: 0 }, backup, p)._tag, "Allow")
        assert.strictEqual(judge({ files: 5, bytes: 5 }, { files: 0, bytes: 0 }, p)._tag, "Allow")
      })
    ))

  it("refuses exactly when a share goes over the limit (files counting from minFiles on)", () =>
    fc.assert(
      fc.property(case_, policy, ({ backup, deleted }, p) => {
        const byFiles = deleted.files >= p.minFiles && share(deleted.files, backup.files) > p.maxPercent
        const byBytes = deleted.files > 0 && share(deleted.bytes, backup.bytes) > p.maxPercent
        const verdict = judge(deleted, backup, p)
        assert.strictEqual(verdict._tag, byFiles || byBytes ? "Refuse" : "Allow")
        if (verdict._tag === "Refuse") {
          assert.isAbove(verdict.percent, p.maxPercent)
          assert.strictEqual(verdict.by, byFiles ? "files" : "bytes")
        }
      }),
      { numRuns: 2000 }
    ))

  it("deleting more never turns a refusal into an allowance", () =>
    fc.assert(
      fc.property(case_, policy, fc.nat(), fc.nat(), ({ backup, deleted }, p, moreFiles, moreBytes) => {
        if (judge(deleted, backup, p)._tag !== "Refuse") return
        const more = {
          files: Math.min(backup.files, deleted.files + moreFiles),
          bytes: Math.min(backup.bytes, deleted.bytes + moreBytes)
        }
        assert.strictEqual(judge(more, backup, p)._tag, "Refuse")
      }),
      { numRuns: 2000 }
    ))

  it("deleting a whole backup with some bytes, or enough files, is refused under any policy below 100%", () =>
    fc.assert(
      fc.property(case_, policy, ({ backup }, p) => {
        if (backup.bytes === 0 && backup.files < p.minFiles) return
        assert.strictEqual(judge(backup, backup, p)._tag, "Refuse")
      })
    ))

  it("deletions the backup does not hold (a count that is off) cannot push a share over 100%", () =>
    fc.assert(
      fc.property(case_, ({ backup }) => {
        const verdict = judge({ files: backup.files * 3, bytes: backup.bytes * 3 + 1 }, backup, defaultPolicy)
        assert.isAtMost(verdict._tag === "Refuse" ? verdict.percent : 0, 100)
      })
    ))
})
