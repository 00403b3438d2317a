import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/testing/TestClock"
import * as BackupTarget from "../src/BackupTarget.ts"
import * as BackupTargetMemory from "../src/BackupTargetMemory.ts"
import { ProjectName } from "../src/Ids.ts"

const alpha = ProjectName.make("alpha")
const beta = ProjectName.make("beta")
const source = (project: ProjectName) => new BackupTarget.MirrorSource({ project, path: `/repos/${project}` })
const tree = (entries: Record<string, string>): BackupTargetMemory.FileTree => new Map(Object.entries(entries))
const mirrorOnce = { delete: true, dryRun: false } as const

const backupOf = (target: BackupTargetMemory.MemoryBackupTarget, project: ProjectName) =>
  target.backup(project).pipe(Effect.map(Option.map((files) => Object.fromEntries(files))))

const outcomeOf = (result: BackupTarget.MirrorResult | undefined) =>
  result === undefined ? "missing" : result.outcome._tag === "Success" ? "Success" : result.outcome.reason._tag

const failureOf = <A>(effect: Effect.Effect<A, BackupTarget.BackupError>) =>
  Effect.match(effect, { onFailure: (e) => e.reason._tag, onSuccess: () => "Success" })

describe("BackupTargetMemory", () => {
  it.effect("mirrors each source into its project's copy and streams the progress", () =>
    Effect.gen(function*() {
      const target = yield* BackupTargetMemory.make({
        sources: [["/repos/alpha", tree({ "a.txt": "aa", "dir/b.txt": "héllo" })]]
      })
      const events = yield* Stream.runCollect(target.mirror([source(alpha)], mirrorOnce))
      assert.deepStrictEqual(events.map((e) => e._tag), [
        "MirrorStarted",
        "MirrorProgressed",
        "MirrorProgressed",
        "MirrorFinished"
      ])
      const last = events[events.length - 1]
      assert.strictEqual(last?._tag, "MirrorFinished")
      if (last?._tag !== "MirrorFinished") return
      assert.deepStrictEqual(
        [last.result.project, last.result.filesTransferred, last.result.bytesTransferred, last.result.filesDeleted],
        [alpha, 2, 8, 0]
      )
      assert.isTrue(last.result.succeeded)
      assert.deepStrictEqual(yield* backupOf(target, alpha), Option.some({ "a.txt": "aa", "dir/b.txt": "héllo" }))
    }))

  it.effect("transfers only what changed, and deletes what is gone only when asked to", () =>
    Effect.gen(function*() {
      const target = yield* BackupTargetMemory.make({ sources: [["/repos/alpha", tree({ a: "1", b: "2", c: "3" })]] })
      yield* target.mirrorAll([source(alpha)], mirrorOnce)
      yield* target.setSource("/repos/alpha", tree({ a: "1", b: "two" }))

      const [kept] = yield* target.mirrorAll([source(alpha)], { delete: false, dryRun: false })
      assert.deepStrictEqual([kept?.filesTransferred, kept?.filesDeleted], [1, 0])
      assert.deepStrictEqual(yield* backupOf(target, alpha), Option.some({ a: "1", b: "two", c: "3" }))

      const [pruned] = yield* target.mirrorAll([source(alpha)], mirrorOnce)
      assert.deepStrictEqual([pruned?.filesTransferred, pruned?.filesDeleted], [0, 1])
      assert.deepStrictEqual(yield* backupOf(target, alpha), Option.some({ a: "1", b: "two" }))
    }))

  it.effect("a dry run reports what would change and changes nothing", () =>
    Effect.gen(function*() {
      const target = yield* BackupTargetMemory.make({ sources: [["/repos/alpha", tree({ a: "1" })]] })
      const [result] = yield* target.mirrorAll([source(alpha)], { delete: true, dryRun: true })
      assert.strictEqual(result?.filesTransferred, 1)
      assert.isTrue(Option.isNone(yield* target.backup(alpha)))
    }))

  it.effect("refuses a missing or empty source without touching its backup, and mirrors the others", () =>
    Effect.gen(function*() {
      const target = yield* BackupTargetMemory.make({
        sources: [["/repos/alpha", tree({ a: "1" })], ["/repos/beta", tree({ b: "2" })]]
      })
      yield* target.mirrorAll([source(alpha), source(beta)], mirrorOnce)
      yield* target.setSource("/repos/alpha", undefined)
      yield* target.setSource("/repos/beta", tree({}))
      const gamma = ProjectName.make("gamma")
      yield* target.setSource("/repos/gamma", tree({ g: "3" }))

      const results = yield* target.mirrorAll([source(alpha), source(beta), source(gamma)], mirrorOnce)
      assert.deepStrictEqual(results.map(outcomeOf), ["SourceMissing", "SourceEmpty", "Success"])
      assert.deepStrictEqual(yield* backupOf(target, alpha), Option.some({ a: "1" }))
      assert.deepStrictEqual(yield* backupOf(target, beta), Option.some({ b: "2" }))
      assert.deepStrictEqual(yield* backupOf(target, gamma), Option.some({ g: "3" }))
    }))

  it.effect("refuses an unmounted backup root unless the mount check is off", () =>
    Effect.gen(function*() {
      const target = yield* BackupTargetMemory.make({ mounted: false, sources: [["/repos/alpha", tree({ a: "1" })]] })
      assert.strictEqual(yield* failureOf(target.mirrorAll([source(alpha)], mirrorOnce)), "NotMounted")
      assert.isTrue(Option.isNone(yield* target.backup(alpha)))
      const [result] = yield* target.mirrorAll([source(alpha)], { ...mirrorOnce, requireMount: false })
      assert.strictEqual(outcomeOf(result), "Success")
    }))

  it.effect("refuses an unreachable backup root even with the mount check off", () =>
    Effect.gen(function*() {
      const target = yield* BackupTargetMemory.make({ reachable: false })
      const status = yield* target.check()
      assert.deepStrictEqual([status.reachable, status.mounted, status.writable], [false, false, false])
      assert.strictEqual(
        yield* failureOf(target.mirrorAll([source(alpha)], { ...mirrorOnce, requireMount: false })),
        "NotMounted"
      )
    }))

  it.effect("refuses an unwritable backup root, except for a dry run", () =>
    Effect.gen(function*() {
      const target = yield* BackupTargetMemory.make({ sources: [["/repos/alpha", tree({ a: "1" })]] })
      yield* target.setState({ writable: false })
      assert.strictEqual(yield* failureOf(target.mirrorAll([source(alpha)], mirrorOnce)), "NotWritable")
      const [result] = yield* target.mirrorAll([source(alpha)], { ...mirrorOnce, dryRun: true })
      assert.strictEqual(outcomeOf(result), "Success")
    }))

  it.effect("fails a source that does not fit and accounts for the space it uses", () =>
    Effect.gen(function*() {
      const target = yield* BackupTargetMemory.make({
        freeBytes: 5,
        sources: [["/repos/alpha", tree({ a: "1234" })], ["/repos/beta", tree({ b: "56" })]]
      })
      const results = yield* target.mirrorAll([source(alpha), source(beta)], mirrorOnce)
      assert.deepStrictEqual(results.map(outcomeOf), ["Success", "InsufficientSpace"])
      assert.deepStrictEqual((yield* target.check()).freeBytes, Option.some(1))
    }))

  it.effect("check reports the target's state", () =>
    Effect.gen(function*() {
      const target = yield* BackupTargetMemory.make({ location: "/nfs/repos", freeBytes: 42 })
      const status = yield* target.check()
      assert.deepStrictEqual(
        [status.location, status.reachable, status.mounted, status.writable, status.fsType, status.freeBytes],
        ["/nfs/repos", true, true, true, Option.some("memory"), Option.some(42)]
      )
    }))
})

describe("BackupTarget.make", () => {
  const status = new BackupTarget.TargetStatus({
    location: "/backup",
    reachable: true,
    mounted: true,
    fsType: Option.some("nfs4"),
    writable: true,
    freeBytes: Option.none()
  })

  it.effect("measures each source's duration with the clock", () =>
    Effect.gen(function*() {
      const target = BackupTarget.make({
        check: () => Effect.succeed(status),
        mirrorOne: () => Effect.sleep("5 seconds").pipe(Effect.as(BackupTarget.MirrorStats.zero))
      })
      const fiber = yield* Effect.forkChild(target.mirrorAll([source(alpha)], mirrorOnce))
      yield* TestClock.adjust("5 seconds")
      const [result] = yield* Fiber.join(fiber)
      assert.strictEqual(Duration.toMillis(result?.duration ?? Duration.zero), 5000)
    }))

  it.effect("mirrors up to `concurrency` sources at once", () =>
    Effect.gen(function*() {
      let running = 0
      let peak = 0
      const target = BackupTarget.make({
        check: () => Effect.succeed(status),
        mirrorOne: () =>
          Effect.sync(() => {
            running++
            peak = Math.max(peak, running)
          }).pipe(
            Effect.andThen(Effect.yieldNow),
            Effect.andThen(Effect.sync(() => running--)),
            Effect.as(BackupTarget.MirrorStats.zero)
          )
      })
      const sources = [alpha, beta, ProjectName.make("gamma")].map(source)
      yield* target.mirrorAll(sources, { ...mirrorOnce, concurrency: 2 })
      assert.strictEqual(peak, 2)
      peak = 0
      yield* target.mirrorAll(sources, mirrorOnce)
      assert.strictEqual(peak, 1)
    }))

  it.effect("a failing check fails the whole mirror before any source is touched", () =>
    Effect.gen(function*() {
      let touched = false
      const target = BackupTarget.make({
        check: () =>
          Effect.fail(
            new BackupTarget.BackupError({
              reason: new BackupTarget.Timeout({ operation: "statfs /backup", after: Duration.seconds(10) })
            })
          ),
        mirrorOne: () => Effect.sync(() => (touched = true)).pipe(Effect.as(BackupTarget.MirrorStats.zero))
      })
      const error = yield* Effect.flip(target.mirrorAll([source(alpha)], mirrorOnce))
      assert.strictEqual(error.reason._tag, "Timeout")
      assert.strictEqual(error.message, "statfs /backup did not finish within 10s")
      assert.isFalse(touched)
    }))
})
