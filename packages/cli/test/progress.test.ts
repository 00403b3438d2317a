import { assert, describe, it } from "@effect/vitest"
import { bytes, progressLine } from "../src/render/progress.ts"

describe("sync progress rendering", () => {
  it("formats byte sizes in powers of 1024", () => {
    assert.deepStrictEqual([bytes(0), bytes(1023), bytes(1024), bytes(5 * 1024 ** 3)], [
      "0 B",
      "1023 B",
      "1.0 KB",
      "5.0 GB"
    ])
  })
  it("draws one bar for the run: projects done, files, bytes, failures, within the width", () => {
    const line = progressLine({ projectsDone: 1, projectsTotal: 4, files: 1234, bytes: 2048, failed: 1 }, 80)
    assert.match(line, /^\[#+-+\] {2}1\/4 projects {2}1,234 files {2}2\.0 KB {2}1 failed$/)
    assert.isAtMost(line.length, 79)
    const bar = line.slice(1, line.indexOf("]"))
    assert.strictEqual(bar.split("#").length - 1, Math.round(bar.length / 4))
    assert.match(progressLine({ projectsDone: 0, projectsTotal: 0, files: 0, bytes: 0, failed: 0 }), /^\[#+\]/)
  })
})
