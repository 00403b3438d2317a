/**
 * The rsync target with a fake spawner and real temporary directories: the
 * argv it runs, the guards (which must not start rsync), per-project results
 * from one batched rsync, the re-run of a failed batch one source at a time,
 * and the probe deadline.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { assert, describe, it } from "@effect/vitest"
import { type MirrorResult, MirrorSource } from "@repoman/core/BackupTarget"
import { ProjectName } from "@repoman/core/Ids"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/testing/TestClock"
import * as nodefs from "node:fs"
import * as RsyncBackupTarget from "../src/RsyncBackupTarget.ts"
import { type Call, type FakeReply, fakeSpawner } from "./fakeSpawner.ts"

const Platform = Layer.mergeAll(NodeFileSystem.layer, NodePath.layer)

/** repos/{alpha,beta} with files, repos/empty, repos/file (not a dir), a backup dir, and a mount table. */
const fixture = (options: { readonly separate?: boolean } = {}) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-rsync-" })
    const repos = `${dir}/repos`
    const backup = `${dir}/backup`
    for (const d of ["alpha/src", "beta", "empty"]) yield* fs.makeDirectory(`${repos}/${d}`, { recursive: true })
    yield* fs.writeFileString(`${repos}/alpha/src/main.c`, "int main;\n")
    yield* fs.writeFileString(`${repos}/beta/b.txt`, "b\n")
    yield* fs.writeFileString(`${repos}/file`, "not a dir\n")
    yield* fs.makeDirectory(backup)
    const mountinfo = `${dir}/mountinfo`
    yield* fs.writeFileString(
      mountinfo,
      [
        "1 0 8:1 / / rw - ext4 /dev/sda1 rw",
        ...(options.separate === false ? [] : [`2 1 0:99 / ${backup} rw - nfs4 nas:/repos rw`])
      ].join("\n") + "\n"
    )
    const source = (name: string) => new MirrorSource({ project: ProjectName.make(name), path: `${repos}/${name}` })
    return { dir, repos, backup, mountinfo, source }
  })

const statReply = (call: Call): FakeReply | undefined =>
  call.command !== "stat" ? undefined : call.args[0] === "-f" ? { stdout: "1000000 4096\n" } : { exitCode: 0 }

const isDryRun = (call: Call) => call.command === "rsync" && call.args.includes("--dry-run")
const isWrite = (call: Call) => call.command === "rsync" && !call.args.includes("--dry-run")

/**
 * A fake rsync: a dry run prints `dry`; a write makes the new generation's
 * directory (as rsync would) with one file, and prints its itemized line and
 * `--stats` totals (`files` files of 100 bytes).
 */
const fakeRsync = (dry: (call: Call) => FakeReply, files = 3) => (call: Call): FakeReply => {
  if (isDryRun(call)) return dry(call)
  if (!isWrite(call)) return {}
  const dest = call.args.at(-1) ?? ""
  nodefs.mkdirSync(dest, { recursive: true })
  nodefs.writeFileSync(`${dest}/written`, "x")
  return {
    stdout: [
      ">f+++++++++|100|written",
      `Number of files: ${files + 1} (reg: ${files}, dir: 1)`,
      `Total file size: ${files * 100} bytes`,
      ""
    ].join("\n")
  }
}

const target = (
  f: { readonly backup: string; readonly repos: string; readonly dir: string; readonly mountinfo: string },
  reply: (call: Call) => FakeReply,
  options: Record<string, unknown> = {}
) => {
  const spawner = fakeSpawner((call) => statReply(call) ?? reply(call))
  const build = RsyncBackupTarget.make({
    root: f.backup,
    reposRoot: f.repos,
    lockDir: `${f.dir}/locks`,
    mountinfo: f.mountinfo,
    pdeathsig: false,
    options: Schema.decodeUnknownSync(RsyncBackupTarget.RsyncOptions)(options)
  }).pipe(Effect.provide(Layer.merge(Platform, spawner.layer)))
  return { calls: spawner.calls, build }
}

const rsyncCalls = (calls: ReadonlyArray<Call>) => calls.filter((c) => c.command === "rsync")
const mirror = { delete: true, dryRun: false, concurrency: 1 } as const
const outcome = (r: { readonly outcome: { readonly _tag: string; readonly reason?: { readonly _tag: string } } }) =>
  r.outcome._tag === "Success" ? "ok" : r.outcome.reason?._tag
const message = (r: MirrorResult | undefined) => r?.outcome._tag === "Failure" ? r.outcome.reason.message : ""
const PARTIAL = /^\/proc\/\d+\/fd\/\d+\/\.partial-\d{8}T\d{6}Z\/$/

describe("RsyncBackupTarget", () => {
  it.effect("finds the changes of several repos with one dry run, and writes a new generation for each", () =>
    Effect.gen(function*() {
      const f = yield* fixture()
      const changes = { on: true }
      const { build, calls } = target(
        f,
        fakeRsync(() => ({
          stdout: changes.on
            ? ["cd+++++++++|4096|alpha/", ">f+++++++++|10|alpha/src/main.c", ">f+++++++++|2|beta/b.txt", ""].join("\n")
            : ""
        }))
      )
      const t = yield* build
      const results = yield* t.mirrorAll([f.source("alpha"), f.source("beta")], mirror)
      assert.deepStrictEqual(
        results.map((r) => [r.project, outcome(r), r.filesTransferred, r.bytesTransferred, r.newGeneration]),
        [["alpha", "ok", 1, 100, true], ["beta", "ok", 1, 100, true]]
      )
      const runs = rsyncCalls(calls)
      assert.deepStrictEqual(runs[0]?.args, [
        "-a",
        "--relative",
        "--delete",
        "--dry-run",
        "--timeout=300",
        "--out-format=%i|%l|%n",
        "--",
        `${f.repos}/./alpha/`,
        `${f.repos}/./beta/`,
        `${f.backup}/`
      ])
      // A first generation: no --link-dest; written through an fd repoman holds, then put in place.
      assert.deepStrictEqual(runs[1]?.args.slice(0, -1), [
        "-a",
        "--delete",
        "--stats",
        "--timeout=300",
        "--out-format=%i|%l|%n",
        "--",
        `${f.repos}/alpha/`
      ])
      assert.match(runs[1]?.args.at(-1) ?? "", PARTIAL)
      assert.strictEqual(runs.length, 3)
      const generation = results[0]?.generation ?? ""
      assert.match(generation, /^\d{8}T\d{6}Z$/)
      assert.isTrue(nodefs.existsSync(`${f.backup}/alpha/written`))
      assert.isTrue(nodefs.existsSync(`${f.backup}/.repoman/alpha/${generation}.json`))
      assert.deepStrictEqual(nodefs.readdirSync(`${f.backup}/.repoman/alpha`), [`${generation}.json`])
      // the backup root is touched first, with a deadline
      assert.deepStrictEqual(calls[0], { command: "stat", args: ["--", `${f.backup}/.`] })

      // Nothing changed: no new generation, the latest is named.
      changes.on = false
      const again = yield* t.mirrorAll([f.source("alpha")], mirror)
      assert.deepStrictEqual(again.map((r) => [outcome(r), r.generation, r.newGeneration]), [["ok", generation, false]])
      assert.strictEqual(rsyncCalls(calls).length, 4)

      // A change: a new generation beside the latest, linked to it; the latest moves aside.
      changes.on = true
      yield* TestClock.adjust("2 seconds")
      const third = yield* t.mirrorAll([f.source("alpha")], mirror)
      const write = rsyncCalls(calls).at(-1)?.args ?? []
      assert.include(write, "--link-dest=../../../alpha")
      assert.strictEqual(third[0]?.newGeneration, true)
      assert.notStrictEqual(third[0]?.generation, generation)
      assert.isTrue(nodefs.existsSync(`${f.backup}/.repoman/alpha/${generation}/written`))
    }).pipe(Effect.provide(Platform)))

  it.effect("--no-delete and --dry-run reach rsync; extra_args go before the sources; a dry run writes nothing", () =>
    Effect.gen(function*() {
      const f = yield* fixture()
      const { build, calls } = target(f, fakeRsync(() => ({ stdout: ">f+++++++++|10|alpha/src/main.c\n" })), {
        extra_args: ["--exclude=node_modules/"]
      })
      const t = yield* build
      const [r] = yield* t.mirrorAll([f.source("alpha")], { delete: false, dryRun: true })
      assert.deepStrictEqual([r?.filesTransferred, r?.bytesTransferred], [1, 10])
      const runs = rsyncCalls(calls)
      assert.strictEqual(runs.length, 1)
      const args = runs[0]?.args ?? []
      assert.include(args, "--dry-run")
      assert.notInclude(args, "--delete")
      assert.isBelow(args.indexOf("--exclude=node_modules/"), args.indexOf("--"))
      assert.isFalse(nodefs.existsSync(`${f.backup}/alpha`))
    }).pipe(Effect.provide(Platform)))

  it.effect("extra_args that would write into a previous generation through its hard links are refused", () =>
    Effect.gen(function*() {
      for (const arg of ["--inplace", "--append", "--append-verify", "--link-dest=/x", "--compare-dest=x"]) {
        const error = yield* Effect.flip(
          Schema.decodeUnknownEffect(RsyncBackupTarget.RsyncOptions)({ extra_args: [arg] })
        )
        assert.include(error.message, "previous generation")
      }
    }))

  it.effect("refuses missing, non-directory and empty sources with their reasons, without handing them to rsync", () =>
    Effect.gen(function*() {
      const f = yield* fixture()
      const { build, calls } = target(f, fakeRsync(() => ({ stdout: ">f+++++++++|10|alpha/src/main.c\n" })))
      const t = yield* build
      const results = yield* t.mirrorAll(
        [f.source("alpha"), f.source("missing"), f.source("file"), f.source("empty")],
        mirror
      )
      assert.deepStrictEqual(results.map(outcome), ["ok", "SourceMissing", "SourceNotDirectory", "SourceEmpty"])
      const runs = rsyncCalls(calls)
      assert.strictEqual(runs.length, 2)
      assert.deepStrictEqual(runs[0]?.args.slice(-2), [`${f.repos}/./alpha/`, `${f.backup}/`])
      assert.deepStrictEqual(runs[1]?.args.at(-2), `${f.repos}/alpha/`)
    }).pipe(Effect.provide(Platform)))

  it.effect("the deletion guard stops a mirror that would delete most of a backup, naming what would go", () =>
    Effect.gen(function*() {
      const f = yield* fixture()
      const deleting = { on: false }
      const gone = Array.from({ length: 30 }, (_, i) => `src/f${i}.c`)
      const { build, calls } = target(
        f,
        fakeRsync(() => ({
          stdout: deleting.on
            ? gone.map((n) => `*deleting  |0|alpha/${n}`).join("\n")
            : ">f+++++++++|10|alpha/src/main.c\n"
        }), 40)
      )
      const t = yield* build
      const [first] = yield* t.mirrorAll([f.source("alpha")], mirror)
      deleting.on = true
      const [refused] = yield* t.mirrorAll([f.source("alpha")], mirror)
      assert.strictEqual(refused === undefined ? undefined : outcome(refused), "DeletionGuard")
      assert.include(message(refused), "would delete 30 of 40 files")
      assert.include(message(refused), "src/f0.c")
      assert.include(message(refused), `previous generation ${first?.generation} is whole`)
      assert.include(message(refused), "--allow-deletions")
      assert.strictEqual(rsyncCalls(calls).length, 3, "no write after the refused dry run")
      // A smaller share of a bigger backup, or the user's word, goes through.
      const [allowed] = yield* t.mirrorAll([f.source("alpha")], { ...mirror, allowDeletions: true })
      assert.strictEqual(allowed === undefined ? undefined : outcome(allowed), "ok")
      const [lenient] = yield* t.mirrorAll([f.source("alpha")], {
        ...mirror,
        deletionGuard: { maxPercent: 80, minFiles: 20 }
      })
      assert.strictEqual(lenient === undefined ? undefined : outcome(lenient), "ok")
    }).pipe(Effect.provide(Platform)))

  it.effect("a write that fails removes the partial generation and says the previous one is whole", () =>
    Effect.gen(function*() {
      const f = yield* fixture()
      const full = { on: false }
      const { build } = target(f, (call) =>
        full.on && isWrite(call)
          ? { exitCode: 11, stderr: "rsync: [receiver] write failed on \"x\": No space left on device (28)\n" }
          : fakeRsync(() => ({ stdout: ">f+++++++++|10|alpha/src/main.c\n" }))(call))
      const t = yield* build
      const [first] = yield* t.mirrorAll([f.source("alpha")], mirror)
      full.on = true
      yield* TestClock.adjust("2 seconds")
      const [failed] = yield* t.mirrorAll([f.source("alpha")], mirror)
      assert.strictEqual(failed === undefined ? undefined : outcome(failed), "InsufficientSpace")
      assert.include(message(failed), `previous generation ${first?.generation} is whole and still the latest`)
      assert.deepStrictEqual(nodefs.readdirSync(`${f.backup}/.repoman/alpha`), [`${first?.generation}.json`])
      assert.isTrue(nodefs.existsSync(`${f.backup}/alpha/written`))
    }).pipe(Effect.provide(Platform)))

  it.effect("refuses a backup root on the repos root's filesystem, unless require_mount is off", () =>
    Effect.gen(function*() {
      const f = yield* fixture({ separate: false })
      const { build, calls } = target(f, () => ({}))
      const t = yield* build
      const status = yield* t.check()
      assert.deepStrictEqual([status.reachable, status.mounted, status.writable], [true, false, true])
      const refused = yield* Effect.flip(t.mirrorAll([f.source("alpha")], mirror))
      assert.strictEqual(refused.reason._tag, "NotMounted")
      assert.strictEqual(rsyncCalls(calls).length, 0)
      const allowed = yield* t.mirrorAll([f.source("alpha")], { ...mirror, requireMount: false, dryRun: true })
      assert.deepStrictEqual(allowed.map(outcome), ["ok"])
    }).pipe(Effect.provide(Platform)))

  it.effect("reports the filesystem type and free space of the root", () =>
    Effect.gen(function*() {
      const f = yield* fixture()
      const { build } = target(f, () => ({}))
      const status = yield* (yield* build).check()
      assert.deepStrictEqual(
        [status.reachable, status.mounted, status.fsType._tag === "Some" ? status.fsType.value : null],
        [true, true, "nfs4"]
      )
      assert.deepStrictEqual(status.freeBytes._tag === "Some" ? status.freeBytes.value : null, 1000000 * 4096)
    }).pipe(Effect.provide(Platform)))

  it.effect("an unreachable root (the touch fails) is refused as not mounted, and rsync never runs", () =>
    Effect.gen(function*() {
      const f = yield* fixture()
      const spawner = fakeSpawner((call) => call.command === "stat" ? { exitCode: 1, stderr: "No such file" } : {})
      const t = yield* RsyncBackupTarget.make({
        root: `${f.dir}/nowhere`,
        reposRoot: f.repos,
        lockDir: `${f.dir}/locks`,
        mountinfo: f.mountinfo,
        options: RsyncBackupTarget.defaultOptions
      }).pipe(Effect.provide(Layer.merge(Platform, spawner.layer)))
      const refused = yield* Effect.flip(t.mirrorAll([f.source("alpha")], mirror))
      assert.strictEqual(refused.reason._tag, "NotMounted")
      assert.strictEqual(rsyncCalls(spawner.calls).length, 0)
    }).pipe(Effect.provide(Platform)))

  it.live("a touch that hangs (hung NFS) fails with Timeout within the deadline instead of hanging", () =>
    Effect.gen(function*() {
      const f = yield* fixture()
      const spawner = fakeSpawner((call) => call.command === "stat" ? { hang: true } : {})
      const t = yield* RsyncBackupTarget.make({
        root: f.backup,
        reposRoot: f.repos,
        lockDir: `${f.dir}/locks`,
        mountinfo: f.mountinfo,
        options: Schema.decodeUnknownSync(RsyncBackupTarget.RsyncOptions)({ probe_timeout_seconds: 0.2 })
      }).pipe(Effect.provide(Layer.merge(Platform, spawner.layer)))
      const started = Date.now()
      const error = yield* Effect.flip(t.mirrorAll([f.source("alpha")], mirror))
      const elapsed = Date.now() - started
      assert.strictEqual(error.reason._tag, "Timeout")
      assert.include(error.message, `touching the backup root ${f.backup}`)
      assert.isBelow(elapsed, 2_000)
      assert.strictEqual(rsyncCalls(spawner.calls).length, 0)
    }).pipe(Effect.provide(Platform), Effect.scoped))

  it.effect("when a batch fails, each source is re-run alone and only the failing one fails", () =>
    Effect.gen(function*() {
      const f = yield* fixture()
      const { build, calls } = target(
        f,
        fakeRsync((call) =>
          call.args.some((a) => a.endsWith("/./beta/"))
            ? { exitCode: 23, stderr: "rsync: [sender] opendir \"beta/x\" failed: Permission denied (13)\n" }
            : { stdout: ">f+++++++++|10|alpha/src/main.c\n" }
        )
      )
      const t = yield* build
      const results = yield* t.mirrorAll([f.source("alpha"), f.source("beta")], mirror)
      assert.deepStrictEqual(results.map(outcome), ["ok", "Failed"])
      assert.include(message(results[1]), "Permission denied")
      assert.strictEqual(results[0]?.filesTransferred, 1)
      // the batch's dry run, alpha's alone and its write, beta's alone
      assert.strictEqual(rsyncCalls(calls).length, 4)
    }).pipe(Effect.provide(Platform)))

  it.effect("maps rsync's timeout exit code to Timeout", () =>
    Effect.gen(function*() {
      const f = yield* fixture()
      const { build } = target(f, () => ({ exitCode: 30 }))
      const [r] = yield* (yield* build).mirrorAll([f.source("alpha")], mirror)
      assert.strictEqual(r === undefined ? undefined : outcome(r), "Timeout")
    }).pipe(Effect.provide(Platform)))

  it.effect("refuses a first copy larger than the free space, without running rsync for it", () =>
    Effect.gen(function*() {
      const f = yield* fixture()
      const spawner = fakeSpawner((call) =>
        call.command === "stat"
          ? (call.args[0] === "-f" ? { stdout: "3 1024\n" } : {})
          : call.command === "du"
          ? { stdout: `${call.args.at(-1)?.endsWith("alpha") ? 8192 : 1024}\t${call.args.at(-1)}\n` }
          : fakeRsync(() => ({ stdout: ">f+++++++++|2|beta/b.txt\n" }))(call)
      )
      const t = yield* RsyncBackupTarget.make({
        root: f.backup,
        reposRoot: f.repos,
        lockDir: `${f.dir}/locks`,
        mountinfo: f.mountinfo,
        pdeathsig: false,
        options: RsyncBackupTarget.defaultOptions
      }).pipe(Effect.provide(Layer.merge(Platform, spawner.layer)))
      const results = yield* t.mirrorAll([f.source("alpha"), f.source("beta")], mirror)
      assert.deepStrictEqual(results.map(outcome), ["InsufficientSpace", "ok"])
      assert.include(message(results[0]), "8192 bytes needed, 3072 free")
      const runs = rsyncCalls(spawner.calls)
      assert.deepStrictEqual(runs[0]?.args.slice(-2), [`${f.repos}/./beta/`, `${f.backup}/`])
      assert.strictEqual(runs.length, 2)
    }).pipe(Effect.provide(Platform)))

  it.effect("one sync at a time per root: a second run is refused with Busy while the first holds the lock", () =>
    Effect.gen(function*() {
      const f = yield* fixture()
      const { build } = target(f, () => ({}))
      const t = yield* build
      const lock = t.lock
      assert.isDefined(lock)
      if (lock === undefined) return
      yield* lock()
      const second = yield* Effect.flip(t.mirrorAll([f.source("alpha")], mirror))
      assert.strictEqual(second.reason._tag, "Busy")
      assert.include(second.message, `pid ${process.pid}`)
    }).pipe(Effect.provide(Platform)))
})
