/**
 * `repoman sync` in-process, against the memory registry and the memory
 * backup target: the summary table, skipped projects, exit codes, --json
 * event lines, --dry-run and --no-delete.
 */
import { assert, describe, it } from "@effect/vitest"
import { BackupTarget } from "@repoman/core/BackupTarget"
import * as BackupTargetMemory from "@repoman/core/BackupTargetMemory"
import { ProjectName } from "@repoman/core/Ids"
import * as RegistryMemory from "@repoman/core/RegistryMemory"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { documentFrom, runCli } from "./harness.ts"

const project = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  repo: name,
  image: "local:busybox",
  profiles: ["default"],
  created: "2026-01-01T00:00:00Z",
  ...extra
})
const document = documentFrom({
  schema: 3,
  defaults: { repos_root: "/repos", backup_root: "/backup" },
  project: [project("alpha"), project("beta"), project("gamma", { backup: false })]
})
const files = (entries: Record<string, string>) => new Map(Object.entries(entries))

describe("repoman sync", () => {
  it.effect("mirrors every project with backup on, lists the skipped ones, records last_sync", () =>
    Effect.gen(function*() {
      const target = yield* BackupTargetMemory.make({
        sources: [["/repos/alpha", files({ a: "1", b: "22" })], ["/repos/beta", files({ c: "3" })]]
      })
      const registry = RegistryMemory.layer({ document })
      const out = yield* runCli(["sync"], { backup: Layer.succeed(BackupTarget, target), registry })
      assert.strictEqual(out.code, 0)
      const [header, ...rows] = out.stdout
      assert.match(header ?? "", /^PROJECT\s+RESULT\s+FILES\s+BYTES\s+DELETED\s+TIME\s+GENERATION\s+DETAIL$/)
      assert.match(rows[0] ?? "", /^alpha\s+ok\s+2\s+3 B\s+0\s/)
      assert.match(rows[1] ?? "", /^beta\s+ok\s+1\s+1 B\s+0\s/)
      assert.match(rows[2] ?? "", /^gamma\s+skipped\s.*backup = false$/)
      assert.strictEqual(rows[3], "2 synced, 0 failed, 1 skipped")
      assert.isTrue(Option.isSome(yield* target.backup(ProjectName.make("alpha"))))
    }))

  it.effect("exits 1 with a summary when a project fails, and still mirrors the others", () =>
    Effect.gen(function*() {
      const target = yield* BackupTargetMemory.make({
        sources: [["/repos/alpha", files({ a: "1" })], ["/repos/beta", new Map()]]
      })
      const out = yield* runCli(["sync"], { backup: Layer.succeed(BackupTarget, target), memory: { document } })
      assert.strictEqual(out.code, 1)
      assert.isTrue(
        out.stdout.some((l) => /^beta\s+FAILED\s.*is empty, and mirroring it could wipe the backup$/.test(l))
      )
      assert.include(out.stdout, "1 synced, 1 failed, 1 skipped")
      assert.isTrue(Option.isSome(yield* target.backup(ProjectName.make("alpha"))))
    }))

  it.effect("--json prints one JSON object per event, one per line", () =>
    Effect.gen(function*() {
      const target = yield* BackupTargetMemory.make({
        sources: [["/repos/alpha", files({ a: "1" })], ["/repos/beta", files({ b: "2" })]]
      })
      const out = yield* runCli(["sync", "alpha", "--json"], {
        backup: Layer.succeed(BackupTarget, target),
        memory: { document }
      })
      assert.strictEqual(out.code, 0)
      const events = out.stdout.map((l) => JSON.parse(l) as { event: string; [k: string]: unknown })
      assert.deepStrictEqual(events.map((e) => e.event), [
        "SyncPlanned",
        "MirrorStarted",
        "MirrorProgressed",
        "MirrorFinished",
        "SyncCompleted"
      ])
      assert.deepStrictEqual(events[3], {
        event: "MirrorFinished",
        project: "alpha",
        outcome: "success",
        filesTransferred: 1,
        bytesTransferred: 1,
        filesDeleted: 0,
        durationMs: 0,
        generation: "19700101T000000Z",
        newGeneration: true
      })
      assert.deepStrictEqual(events[4]?.["recorded"], ["alpha"])
    }))

  it.effect("a target-wide refusal (not mounted) fails the run with one clear line", () =>
    Effect.gen(function*() {
      const target = yield* BackupTargetMemory.make({ mounted: false, sources: [["/repos/alpha", files({ a: "1" })]] })
      const out = yield* runCli(["sync"], { backup: Layer.succeed(BackupTarget, target), memory: { document } })
      assert.strictEqual(out.code, 1)
      assert.deepStrictEqual(out.stderr, [
        "repoman: the backup root memory:/backup is not a mounted filesystem; mount it, or, for a local disk, turn " +
        "the mount check off with [backup] require_mount = false in repoman.toml"
      ])
      const json = yield* runCli(["sync", "--json"], {
        backup: Layer.succeed(BackupTarget, target),
        memory: { document }
      })
      assert.strictEqual(json.code, 1)
      assert.strictEqual(JSON.parse(json.stdout.at(-1) ?? "{}").event, "SyncFailed")
    }))

  it.effect("--dry-run changes nothing; --no-delete keeps files gone from the repo", () =>
    Effect.gen(function*() {
      const target = yield* BackupTargetMemory.make({
        sources: [["/repos/alpha", files({ a: "1", b: "2" })], ["/repos/beta", files({ c: "3" })]]
      })
      const backup = Layer.succeed(BackupTarget, target)
      const dry = yield* runCli(["sync", "--dry-run"], { backup, memory: { document } })
      assert.strictEqual(dry.code, 0)
      assert.strictEqual(dry.stdout[0], "dry run: nothing was changed and nothing recorded")
      assert.isTrue(Option.isNone(yield* target.backup(ProjectName.make("alpha"))))
      yield* runCli(["sync"], { backup, memory: { document } })
      yield* target.setSource("/repos/alpha", files({ a: "1" }))
      yield* runCli(["sync", "--no-delete"], { backup, memory: { document } })
      assert.deepStrictEqual(
        Option.map(yield* target.backup(ProjectName.make("alpha")), (m) => [...m.keys()].sort()),
        Option.some(["a", "b"])
      )
      // Half of the bytes would go: the deletion guard stops it and says how to go on.
      const guarded = yield* runCli(["sync"], { backup, memory: { document } })
      assert.strictEqual(guarded.code, 1)
      assert.include(guarded.stdout.join("\n"), "it would delete 1 of 2 bytes")
      assert.include(guarded.stdout.join("\n"), "--allow-deletions")
      assert.deepStrictEqual(
        Option.map(yield* target.backup(ProjectName.make("alpha")), (m) => [...m.keys()].sort()),
        Option.some(["a", "b"])
      )
      yield* runCli(["sync", "--allow-deletions"], { backup, memory: { document } })
      assert.deepStrictEqual(
        Option.map(yield* target.backup(ProjectName.make("alpha")), (m) => [...m.keys()].sort()),
        Option.some(["a"])
      )
    }))
})
