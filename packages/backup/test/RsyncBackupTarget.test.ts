/**
 * The rsync target with a fake spawner and real temporary directories: the
 * argv it runs, the guards (which must not start rsync), per-project results
 * from one batched rsync, the re-run of a failed batch one source at a time,
 * and the probe deadline.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { assert, describe, it } from "@effect/vitest"
import { MirrorSource } from "@repoman/core/BackupTarget"
import { ProjectName } from "@repoman/core/Ids"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
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
    options: Schema.decodeUnknownSync(RsyncBackupTarget.RsyncOptions)(options)
  }).pipe(Effect.provide(Layer.merge(Platform, spawner.layer)))
  return { calls: spawner.calls, build }
}

const rsyncCalls = (calls: ReadonlyArray<Call>) => calls.filter((c) => c.command === "rsync")
const mirror = { delete: true, dryRun: false, concurrency: 1 } as const
const outcome = (r: { readonly outcome: { readonly _tag: string; readonly reason?: { readonly _tag: string } } }) =>
  r.outcome._tag === "Success" ? "ok" : r.outcome.reason?._tag

describe("RsyncBackupTarget", () => {
  it.effect("mirrors several repos with one rsync (argv list, --relative sources) and counts per project", () =>
    Effect.gen(function*() {
      const f = yield* fixture()
      const { build, calls } = target(f, () => ({
        stdout: [
          "cd+++++++++|4096|alpha/",
          ">f+++++++++|10|alpha/src/main.c",
          ">f+++++++++|2|beta/b.txt",
          "*deleting  |0|beta/old.txt",
          ""
        ].join("\n")
      }))
      const t = yield* build
      const results = yield* t.mirrorAll([f.source("alpha"), f.source("beta")], mirror)
      assert.deepStrictEqual(
        results.map((r) => [r.project, outcome(r), r.filesTransferred, r.bytesTransferred, r.filesDeleted]),
        [
          ["alpha", "ok", 1, 10, 0],
          ["beta", "ok", 1, 2, 1]
        ]
      )
      const runs = rsyncCalls(calls)
      assert.strictEqual(runs.length, 1)
      assert.deepStrictEqual(runs[0]?.args, [
        "-a",
        "--relative",
        "--delete",
        "--timeout=300",
        "--out-format=%i|%l|%n",
        "--",
        `${f.repos}/./alpha/`,
        `${f.repos}/./beta/`,
        `${f.backup}/`
      ])
      // the backup root is touched first, with a deadline
      assert.deepStrictEqual(calls[0], { command: "stat", args: ["--", `${f.backup}/.`] })
    }).pipe(Effect.provide(Platform)))

  it.effect("--no-delete and --dry-run reach rsync; extra_args go before the sources", () =>
    Effect.gen(function*() {
      const f = yield* fixture()
      const { build, calls } = target(f, () => ({}), { extra_args: ["--exclude=node_modules/"] })
      const t = yield* build
      yield* t.mirrorAll([f.source("alpha")], { delete: false, dryRun: true })
      const args = rsyncCalls(calls)[0]?.args ?? []
      assert.include(args, "--dry-run")
      assert.notInclude(args, "--delete")
      assert.isBelow(args.indexOf("--exclude=node_modules/"), args.indexOf("--"))
    }).pipe(Effect.provide(Platform)))

  it.effect("refuses missing, non-directory and empty sources with their reasons, without handing them to rsync", () =>
    Effect.gen(function*() {
      const f = yield* fixture()
      const { build, calls } = target(f, () => ({}))
      const t = yield* build
      const results = yield* t.mirrorAll(
        [f.source("alpha"), f.source("missing"), f.source("file"), f.source("empty")],
        mirror
      )
      assert.deepStrictEqual(results.map(outcome), ["ok", "SourceMissing", "SourceNotDirectory", "SourceEmpty"])
      const runs = rsyncCalls(calls)
      assert.strictEqual(runs.length, 1)
      assert.deepStrictEqual(runs[0]?.args.slice(-2), [`${f.repos}/./alpha/`, `${f.backup}/`])
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
      const allowed = yield* t.mirrorAll([f.source("alpha")], { ...mirror, requireMount: false })
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
      const { build, calls } = target(f, (call) =>
        call.args.some((a) => a.endsWith("/./beta/"))
          ? { exitCode: 23, stderr: "rsync: [receiver] mkstemp \"beta/.b.txt\" failed: Permission denied (13)\n" }
          : { stdout: ">f+++++++++|10|alpha/src/main.c\n" })
      const t = yield* build
      const results = yield* t.mirrorAll([f.source("alpha"), f.source("beta")], mirror)
      assert.deepStrictEqual(results.map(outcome), ["ok", "Failed"])
      assert.include(
        results[1]?.outcome._tag === "Failure" ? results[1].outcome.reason.message : "",
        "Permission denied"
      )
      assert.strictEqual(results[0]?.filesTransferred, 1)
      assert.strictEqual(rsyncCalls(calls).length, 3)
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
          : {}
      )
      const t = yield* RsyncBackupTarget.make({
        root: f.backup,
        reposRoot: f.repos,
        lockDir: `${f.dir}/locks`,
        mountinfo: f.mountinfo,
        options: RsyncBackupTarget.defaultOptions
      }).pipe(Effect.provide(Layer.merge(Platform, spawner.layer)))
      const results = yield* t.mirrorAll([f.source("alpha"), f.source("beta")], mirror)
      assert.deepStrictEqual(results.map(outcome), ["InsufficientSpace", "ok"])
      assert.include(
        results[0]?.outcome._tag === "Failure" ? results[0].outcome.reason.message : "",
        "8192 bytes needed, 3072 free"
      )
      const runs = rsyncCalls(spawner.calls)
      assert.deepStrictEqual(runs.map((r) => r.args.slice(-2)), [[`${f.repos}/./beta/`, `${f.backup}/`]])
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
