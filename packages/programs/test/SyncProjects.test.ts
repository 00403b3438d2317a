/**
 * The sync use case against the memory registry and the memory target:
 * skipped projects, a result per project, last_sync only on success, and a
 * dry run that records nothing.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { BackupTarget } from "@repoman/core/BackupTarget"
import * as BackupTargetMemory from "@repoman/core/BackupTargetMemory"
import { ConfigPaths } from "@repoman/core/ConfigPaths"
import * as HostInfo from "@repoman/core/HostInfo"
import { ProjectName } from "@repoman/core/Ids"
import { Registry } from "@repoman/core/Registry"
import { RegistryDocument } from "@repoman/core/RegistryDocument"
import * as RegistryMemory from "@repoman/core/RegistryMemory"
import * as NodeHostFiles from "@repoman/node/NodeHostFiles"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/testing/TestClock"
import { syncProjects } from "../src/SyncProjects.ts"

const project = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  repo: `${name}-repo`,
  image: "local:busybox",
  profiles: ["default"],
  created: "2026-01-01T00:00:00Z",
  ...extra
})
const document = Schema.decodeUnknownSync(RegistryDocument)({
  schema: 3,
  defaults: { repos_root: "/repos", backup_root: "/backup" },
  project: [
    project("alpha"),
    project("beta", { last_sync: "2026-01-02T00:00:00Z" }),
    project("gamma", { backup: false }),
    project("delta")
  ]
})
const files = new Map([["README", "hello"]])

const setup = Effect.gen(function*() {
  const target = yield* BackupTargetMemory.make({
    sources: [["/repos/alpha-repo", files], ["/repos/beta-repo", new Map()]] // beta empty, delta missing
  })
  const layer = Layer.mergeAll(
    RegistryMemory.layer({ document }),
    Layer.succeed(BackupTarget, target),
    ConfigPaths.layerFrom({ home: "/home/ada", configDir: "/home/ada/.config/repoman" }),
    HostInfo.layerTest({ home: "/home/ada" }),
    NodeHostFiles.layer,
    NodeServices.layer
  )
  return { target, layer }
})

describe("syncProjects", () => {
  it.effect("skips backup=false, gives a result per project, records last_sync only on success", () =>
    Effect.gen(function*() {
      const { layer, target } = yield* setup
      yield* TestClock.setTime(Date.parse("2026-03-04T05:06:07Z"))
      const { events, after } = yield* Effect.gen(function*() {
        const collected = yield* Stream.runCollect(syncProjects({ delete: true, dryRun: false }))
        return { events: collected, after: yield* (yield* Registry).load }
      }).pipe(Effect.provide(layer))
      assert.deepStrictEqual(events.map((e) => e._tag).filter((t) => t !== "MirrorProgressed"), [
        "SyncPlanned",
        "ProjectSkipped",
        "MirrorStarted",
        "MirrorFinished",
        "MirrorStarted",
        "MirrorFinished",
        "MirrorStarted",
        "MirrorFinished",
        "SyncCompleted"
      ])
      const done = events[events.length - 1]
      assert.strictEqual(done?._tag, "SyncCompleted")
      if (done?._tag !== "SyncCompleted") return
      assert.deepStrictEqual(
        done.results.map((r) => [r.project, r.outcome._tag === "Failure" ? r.outcome.reason._tag : "ok"]),
        [["alpha", "ok"], ["beta", "SourceEmpty"], ["delta", "SourceMissing"]]
      )
      assert.deepStrictEqual(done.skipped.map(String), ["gamma"])
      assert.deepStrictEqual(done.recorded.map(String), ["alpha"])
      const lastSync = Object.fromEntries(
        after.projects.map((p) => [p.name, p.lastSync === undefined ? null : String(p.lastSync)])
      )
      assert.deepStrictEqual(lastSync, {
        alpha: "2026-03-04T05:06:07Z",
        beta: "2026-01-02T00:00:00Z",
        gamma: null,
        delta: null
      })
      assert.isTrue(Option.isSome(yield* target.backup(ProjectName.make("alpha"))))
    }))

  it.effect("a dry run changes nothing and records nothing", () =>
    Effect.gen(function*() {
      const { layer, target } = yield* setup
      const after = yield* Effect.gen(function*() {
        yield* Stream.runDrain(syncProjects({ delete: true, dryRun: true }))
        return yield* (yield* Registry).load
      }).pipe(Effect.provide(layer))
      assert.deepStrictEqual(after, document)
      assert.isTrue(Option.isNone(yield* target.backup(ProjectName.make("alpha"))))
    }))

  it.effect("one named project; a backup=false project is only skipped", () =>
    Effect.gen(function*() {
      const { layer } = yield* setup
      const one = yield* Stream.runCollect(
        syncProjects({ name: ProjectName.make("gamma"), delete: true, dryRun: false })
      )
        .pipe(Effect.provide(layer))
      assert.deepStrictEqual(one.map((e) => e._tag), ["SyncPlanned", "ProjectSkipped", "SyncCompleted"])
      const missing = yield* Effect.flip(
        Stream.runDrain(syncProjects({ name: ProjectName.make("nope"), delete: true, dryRun: false })).pipe(
          Effect.provide(layer)
        )
      )
      assert.strictEqual(missing._tag, "RegistryError")
    }))
})

describe("syncProjects: a repo the user does not fully own", () => {
  it.effect("is refused with the way out, before the target sees it; the others are mirrored", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const repos = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-sync-owners-" })
      for (const repo of ["alpha-repo", "beta-repo"]) {
        yield* fs.makeDirectory(`${repos}/${repo}`)
        yield* fs.writeFileString(`${repos}/${repo}/README`, "hello\n")
      }
      // beta has a file its owner cannot read (as container root leaves it after chmod 000).
      yield* fs.chmod(`${repos}/beta-repo/README`, 0o000)
      const target = yield* BackupTargetMemory.make({
        sources: [[`${repos}/alpha-repo`, files], [`${repos}/beta-repo`, files]]
      })
      const doc = Schema.decodeUnknownSync(RegistryDocument)({
        schema: 3,
        defaults: { repos_root: repos, backup_root: "/backup" },
        project: [project("alpha"), project("beta")]
      })
      const run = (uid: number) =>
        Stream.runCollect(syncProjects({ delete: true, dryRun: false })).pipe(
          Effect.provide(Layer.mergeAll(
            RegistryMemory.layer({ document: doc }),
            Layer.succeed(BackupTarget, target),
            ConfigPaths.layerFrom({ home: "/home/ada", configDir: "/home/ada/.config/repoman" }),
            HostInfo.layerTest({ home: "/home/ada", uid }),
            NodeHostFiles.layer,
            NodeServices.layer
          ))
        )
      const mine = process.getuid?.() ?? 1000
      const events = yield* run(mine)
      const done = events.at(-1)
      assert.strictEqual(done?._tag, "SyncCompleted")
      const results = done?._tag === "SyncCompleted" ? done.results : []
      const outcome = (name: string) => results.find((r) => r.project === name)?.outcome
      assert.strictEqual(outcome("alpha")?._tag, "Success")
      const beta = outcome("beta")
      assert.strictEqual(beta?._tag, "Failure")
      assert.include(beta?._tag === "Failure" ? beta.reason.message : "", "repoman repair beta")
      assert.isTrue(Option.isNone(yield* target.backup(ProjectName.make("beta"))))
      // Files of another uid (container root's) are refused the same way.
      const theirs = yield* run(mine + 4242)
      const last = theirs.at(-1)
      assert.isTrue(
        last?._tag === "SyncCompleted" && last.results.every((r) => r.outcome._tag === "Failure"),
        "every repo is foreign to uid+4242"
      )
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))
})

describe("syncProjects: where each repo resolves now", () => {
  it.effect("a repo that became a symlink out of the repos root is refused, and nothing of it is mirrored", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-sync-" })
      yield* fs.makeDirectory(`${dir}/repos/inside`, { recursive: true })
      yield* fs.writeFileString(`${dir}/repos/inside/README`, "ok")
      yield* fs.makeDirectory(`${dir}/secret`)
      yield* fs.writeFileString(`${dir}/secret/id_ed25519`, "key")
      // `new` saw a directory; the repo was later swapped for a symlink out of the root.
      yield* fs.symlink(`${dir}/secret`, `${dir}/repos/outside`)
      const doc = Schema.decodeUnknownSync(RegistryDocument)({
        schema: 3,
        defaults: { repos_root: `${dir}/repos`, backup_root: "/backup" },
        project: [
          { ...project("inside"), repo: "inside" },
          { ...project("outside"), repo: "outside" }
        ]
      })
      const target = yield* BackupTargetMemory.make({
        sources: [[`${dir}/repos/inside`, files], [`${dir}/repos/outside`, new Map([["id_ed25519", "key"]])]]
      })
      const layer = Layer.mergeAll(
        RegistryMemory.layer({ document: doc }),
        Layer.succeed(BackupTarget, target),
        ConfigPaths.layerFrom({ home: dir, configDir: `${dir}/config` }),
        HostInfo.layerTest({ home: dir, uid: process.getuid?.() ?? 1000 }),
        NodeHostFiles.layer
      )
      const events = yield* Stream.runCollect(syncProjects({ delete: true, dryRun: false })).pipe(
        Effect.provide(layer)
      )
      const done = events[events.length - 1]
      if (done?._tag !== "SyncCompleted") return assert.fail("no SyncCompleted")
      const outside = done.results.find((r) => r.project === "outside")
      assert.strictEqual(outside?.outcome._tag === "Failure" ? outside.outcome.reason._tag : "ok", "SourceOutsideRoot")
      assert.include(outside?.outcome._tag === "Failure" ? outside.outcome.reason.message : "", `${dir}/secret`)
      assert.deepStrictEqual(done.recorded, [ProjectName.make("inside")])
      // Only the repo inside reached the target.
      assert.isFalse(events.some((e) => e._tag === "MirrorStarted" && e.project === "outside"))
      assert.isTrue(Option.isSome(yield* target.backup(ProjectName.make("inside"))))
      assert.isTrue(Option.isNone(yield* target.backup(ProjectName.make("outside"))))
    }).pipe(Effect.provide(NodeServices.layer)))
})
