/**
 * The derived parts of BackupTarget.make: batching (`batches`, `mirrorBatch`),
 * the per-run lock, and the target-wide guards.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Stream from "effect/Stream"
import * as BackupTarget from "../src/BackupTarget.ts"
import { ProjectName } from "../src/Ids.ts"

const status = (patch: Partial<{ mounted: boolean; writable: boolean; reachable: boolean }> = {}) =>
  new BackupTarget.TargetStatus({
    location: "/backup",
    reachable: patch.reachable ?? true,
    mounted: patch.mounted ?? true,
    fsType: Option.some("nfs4"),
    writable: patch.writable ?? true,
    freeBytes: Option.none()
  })
const sources = (n: number) =>
  Array.from(
    { length: n },
    (_, i) => new BackupTarget.MirrorSource({ project: ProjectName.make(`p${i}`), path: `/r/p${i}` })
  )
const stats = (files: number) =>
  new BackupTarget.MirrorStats({ filesTransferred: files, bytesTransferred: files * 10, filesDeleted: 0 })

describe("batches", () => {
  it("splits into at most `workers` batches of about equal size", () => {
    assert.deepStrictEqual(BackupTarget.batches([1, 2, 3, 4, 5], 2, 32), [[1, 2, 3], [4, 5]])
    assert.deepStrictEqual(BackupTarget.batches([1, 2, 3], 8, 32), [[1], [2], [3]])
    assert.deepStrictEqual(BackupTarget.batches([], 4, 32), [])
  })
  it("never makes a batch larger than maxBatchSize", () => {
    const out = BackupTarget.batches(Array.from({ length: 100 }, (_, i) => i), 2, 25)
    assert.deepStrictEqual(out.map((b) => b.length), [25, 25, 25, 25])
    assert.deepStrictEqual(out.flat(), Array.from({ length: 100 }, (_, i) => i))
  })
})

describe("make with mirrorBatch", () => {
  it.effect("runs one call per batch, in parallel, and still gives one result per project", () =>
    Effect.gen(function*() {
      const calls: Array<ReadonlyArray<string>> = []
      let running = 0
      let peak = 0
      const target = BackupTarget.make({
        check: () => Effect.succeed(status()),
        mirrorOne: () => Effect.die("mirrorOne must not be used when mirrorBatch is there"),
        maxBatchSize: 4,
        mirrorBatch: (batch, _options, onProgress) =>
          Effect.gen(function*() {
            calls.push(batch.map((s) => s.project))
            running += 1
            peak = Math.max(peak, running)
            yield* Effect.yieldNow
            for (const s of batch) yield* onProgress(s.project, { filesTransferred: 1, bytesTransferred: 10 })
            running -= 1
            return batch.map((s) =>
              s.project === "p3"
                ? Result.fail(
                  new BackupTarget.BackupError({ reason: new BackupTarget.Failed({ detail: "boom", exitCode: 23 }) })
                )
                : Result.succeed(stats(1))
            )
          })
      })
      const events = yield* Stream.runCollect(
        target.mirror(sources(10), { delete: true, dryRun: false, concurrency: 2 })
      )
      assert.deepStrictEqual(calls.map((c) => c.length), [4, 4, 2])
      assert.strictEqual(peak, 2)
      const finished = events.flatMap((e) => e._tag === "MirrorFinished" ? [e.result] : [])
      assert.strictEqual(finished.length, 10)
      assert.deepStrictEqual(finished.filter((r) => !r.succeeded).map((r) => r.project), ["p3"])
      assert.strictEqual(events.filter((e) => e._tag === "MirrorStarted").length, 10)
      assert.strictEqual(events.filter((e) => e._tag === "MirrorProgressed").length, 10)
    }))

  it.effect("a failing batch fails each of its projects with the reason, and only those", () =>
    Effect.gen(function*() {
      const target = BackupTarget.make({
        check: () => Effect.succeed(status()),
        mirrorOne: () => Effect.succeed(stats(0)),
        maxBatchSize: 2,
        mirrorBatch: (batch) =>
          batch[0]?.project === "p0"
            ? Effect.fail(
              new BackupTarget.BackupError({
                reason: new BackupTarget.Timeout({ operation: "rsync", after: Duration.seconds(1) })
              })
            )
            : Effect.succeed(batch.map(() => Result.succeed(stats(2))))
      })
      const results = yield* target.mirrorAll(sources(4), { delete: true, dryRun: false, concurrency: 1 })
      assert.deepStrictEqual(
        results.map((r) => [r.project, r.outcome._tag === "Failure" ? r.outcome.reason._tag : "ok"]),
        [["p0", "Timeout"], ["p1", "Timeout"], ["p2", "ok"], ["p3", "ok"]]
      )
    }))

  it.effect("takes the lock after the checks, for the whole run, and a busy lock refuses the run", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const make = (busy: boolean) =>
        BackupTarget.make({
          check: () => Effect.sync(() => log.push("check")).pipe(Effect.as(status())),
          mirrorOne: (s) => Effect.sync(() => log.push(`mirror ${s.project}`)).pipe(Effect.as(stats(0))),
          lock: () =>
            busy
              ? Effect.fail(
                new BackupTarget.BackupError({
                  reason: new BackupTarget.Busy({ location: "/backup", detail: "pid 1" })
                })
              )
              : Effect.acquireRelease(Effect.sync(() => log.push("lock")), () => Effect.sync(() => log.push("unlock")))
        })
      yield* make(false).mirrorAll(sources(2), { delete: true, dryRun: false })
      assert.deepStrictEqual(log, ["check", "lock", "mirror p0", "mirror p1", "unlock"])
      const refused = yield* Effect.flip(make(true).mirrorAll(sources(2), { delete: true, dryRun: false }))
      assert.strictEqual(refused.reason._tag, "Busy")
    }))

  it.effect("refuses an unmounted root unless requireMount is false, and a read-only root unless dry run", () =>
    Effect.gen(function*() {
      const target = (s: BackupTarget.TargetStatus) =>
        BackupTarget.make({ check: () => Effect.succeed(s), mirrorOne: () => Effect.succeed(stats(1)) })
      const opts = { delete: true, dryRun: false }
      const notMounted = yield* Effect.flip(target(status({ mounted: false })).mirrorAll(sources(1), opts))
      assert.strictEqual(notMounted.reason._tag, "NotMounted")
      assert.include(notMounted.message, "turn the mount check off with [backup] require_mount = false in repoman.toml")
      const allowed = yield* target(status({ mounted: false })).mirrorAll(sources(1), { ...opts, requireMount: false })
      assert.isTrue(allowed[0]?.succeeded)
      const ro = yield* Effect.flip(target(status({ writable: false })).mirrorAll(sources(1), opts))
      assert.strictEqual(ro.reason._tag, "NotWritable")
      const dry = yield* target(status({ writable: false })).mirrorAll(sources(1), { ...opts, dryRun: true })
      assert.isTrue(dry[0]?.succeeded)
    }))
})
