/**
 * The backup lines of `repoman status`: the target's reachability, mount,
 * filesystem type and free space, and the last-sync age warning past
 * `[backup].last_sync_warning_hours` (default 48 h).
 */
import { assert, describe, it } from "@effect/vitest"
import { BackupTarget } from "@repoman/core/BackupTarget"
import * as BackupTargetMemory from "@repoman/core/BackupTargetMemory"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/testing/TestClock"
import { documentFrom, runCli } from "./harness.ts"

const project = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  repo: name,
  image: "local:busybox",
  profiles: ["default"],
  created: "2026-01-01T00:00:00Z",
  ...extra
})
const documentWith = (backup: Record<string, unknown>) =>
  documentFrom({
    schema: 3,
    backup,
    project: [
      project("fresh", { last_sync: "2026-03-09T12:00:00Z" }),
      project("stale", { last_sync: "2026-03-07T11:00:00Z" }),
      project("never"),
      project("off", { backup: false })
    ]
  })

interface Row {
  readonly name: string
  readonly warnings: ReadonlyArray<string>
  readonly backup: {
    readonly reachable: boolean
    readonly fsType: string | null
    readonly freeBytes: number | null
    readonly ok: boolean
  } | null
}

describe("repoman status: backup", () => {
  it.effect("reports the target once per project with backup on, and warns about old or missing syncs", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-03-10T12:00:00Z"))
      const backup = Layer.succeed(BackupTarget, yield* BackupTargetMemory.make({ freeBytes: 5 * 1024 ** 3 }))
      const out = yield* runCli(["status", "--json"], { backup, memory: { document: documentWith({}) } })
      const rows = JSON.parse(out.stdout.join("\n")) as ReadonlyArray<Row>
      const byName = new Map(rows.map((r) => [r.name, r]))
      assert.deepStrictEqual(
        byName.get("fresh")?.backup,
        {
          location: "memory:/backup",
          reachable: true,
          mounted: true,
          requireMount: true,
          fsType: "memory",
          freeBytes: 5 * 1024 ** 3,
          writable: true,
          error: null,
          ok: true,
          history: "dated generations (in memory)"
        } as unknown as Row["backup"]
      )
      assert.isNull(byName.get("off")?.backup)
      const syncWarnings = (name: string) => (byName.get(name)?.warnings ?? []).filter((w) => /sync|backed up/.test(w))
      assert.deepStrictEqual(syncWarnings("fresh"), [])
      assert.deepStrictEqual(syncWarnings("stale"), ["the last sync of stale is 73 h old (warning after 48 h)"])
      assert.strictEqual(syncWarnings("never").length, 1)
      assert.deepStrictEqual(syncWarnings("off"), [])

      const text = yield* runCli(["status", "stale"], {
        backup,
        memory: { document: documentWith({ last_sync_warning_hours: 100 }) }
      })
      assert.isTrue(
        text.stdout.some((l) =>
          /^ {2}backup {7}ok {2}memory:\/backup \(memory, mounted, writable, 5\.0 GB free\)$/.test(l)
        )
      )
      assert.isFalse(text.stdout.some((l) => l.includes("warning after")))
    }))

  it.effect("an unreachable target is a FAIL line, not a crash", () =>
    Effect.gen(function*() {
      const backup = Layer.succeed(BackupTarget, yield* BackupTargetMemory.make({ reachable: false }))
      const out = yield* runCli(["status", "fresh"], { backup, memory: { document: documentWith({}) } })
      assert.isTrue(out.stdout.some((l) => /^ {2}backup {7}FAIL {2}memory:\/backup is not reachable$/.test(l)))
    }))
})
