/**
 * The checkpoint store's behaviour on one filesystem and layout: the unit
 * tests run it in a temp dir, the integration tests on loop-mounted ext4 and
 * btrfs and on tmpfs.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as CheckpointStore from "@repoman/checkpoints/CheckpointStore"
import { type CheckpointId, Checkpoints } from "@repoman/core/Checkpoints"
import { ProjectName } from "@repoman/core/Ids"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { execFileSync, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import { agentSession, freshDir, oddName, pause, removeFreshDirs, seedTree, treeDifferences, treeMap } from "./tree.ts"

/** A setup: where, which layout, whether the repo is made a btrfs subvolume. */
export interface Setup {
  readonly name: string
  readonly base: () => string
  readonly layout: "objects" | "btrfs-snapshot"
  readonly copy?: "auto" | "reflink" | "copy"
  readonly subvolume?: boolean
}

const project = ProjectName.make("demo")

/** A repo dir and a store config in a fresh directory of the setup. */
export const makeRepo = (setup: Setup, overrides: Partial<CheckpointStore.StoreConfig> = {}) => {
  const base = freshDir(setup.base(), "t")
  const repo = `${base}/repo`
  if (setup.subvolume === true) execFileSync("btrfs", ["subvolume", "create", repo], { stdio: "ignore" })
  else fs.mkdirSync(repo)
  const config: CheckpointStore.StoreConfig = {
    base: `${base}/checkpoints`,
    layout: setup.layout,
    copy: setup.copy ?? "auto",
    keep: 30,
    keepDays: 14,
    maxFileBytes: 2 ** 30,
    maxNewBytes: 8 * 2 ** 30,
    maxEntries: 2_000_000,
    racyWindowSeconds: 0,
    ...overrides
  }
  const layer = CheckpointStore.layer(config).pipe(Layer.provide(NodeServices.layer))
  return { base, repo, root: { project, path: repo }, store: `${config.base}/demo`, layer }
}

const store = Effect.gen(function*() {
  return yield* Checkpoints
})

/** Runs the suite for `setup`. */
export const storeSuite = (setup: Setup): void => {
  describe(`checkpoints on ${setup.name}`, () => {
    afterAll(removeFreshDirs)
    it.live("undo after a scripted agent session gives the tree back exactly, and the undo can be undone", () => {
      const { layer, repo, root } = makeRepo(setup)
      return Effect.gen(function*() {
        const checkpoints = yield* store
        seedTree(repo)
        yield* checkpoints.take(root, "session", "an older one") // so that the next one reuses its copies
        pause(30)
        const before = treeMap(repo)
        const taken = yield* checkpoints.take(root, "session", "claude")
        assert.strictEqual(taken.layout, setup.layout)
        pause(30)
        agentSession(repo)
        const agentState = treeMap(repo)

        const diff = yield* checkpoints.diff(root)
        const kinds = new Map(diff.changes.map((c) => [c.path, c.kind]))
        assert.strictEqual(diff.since, taken.id)
        assert.strictEqual(kinds.get("src/a.ts"), "modified")
        assert.strictEqual(kinds.get("README.md"), "modified", "the same size, the mtime put back: only ctime tells")
        assert.strictEqual(kinds.get("src/big.bin"), "modified")
        assert.strictEqual(kinds.get(".env"), "removed")
        assert.strictEqual(kinds.get("src/deep/er/b.ts"), "removed")
        assert.strictEqual(kinds.get("src/new.ts"), "added")
        assert.strictEqual(kinds.get("evil-link"), "added")
        assert.strictEqual(kinds.get("node_modules/.bin/a"), "target")
        assert.strictEqual(kinds.get("run.sh"), "mode")
        assert.strictEqual(kinds.get("will-become-dir"), "type")
        assert.strictEqual(kinds.get("will-become-file"), "type")
        assert.strictEqual(kinds.get("empty-dir"), "removed")
        assert.strictEqual(kinds.get("hard1"), "modified", "written through the other link")
        assert.strictEqual(kinds.get(oddName), undefined)

        const undone = yield* checkpoints.undo(root, taken.id)
        assert.deepStrictEqual(treeDifferences(before, treeMap(repo)), [])
        assert.strictEqual(undone.applied.leftAloneCount, 0)
        assert.strictEqual(undone.before.kind, "undo")
        pause(30)
        yield* checkpoints.undo(root, undone.before.id)
        assert.deepStrictEqual(treeDifferences(agentState, treeMap(repo)), [])
      }).pipe(Effect.provide(layer))
    })

    it.live("an in-place write to a repo file never reaches a checkpoint (the hard-link attack)", () => {
      const { layer, repo, root } = makeRepo(setup)
      return Effect.gen(function*() {
        const checkpoints = yield* store
        fs.writeFileSync(`${repo}/victim`, "original\n")
        const first = yield* checkpoints.take(root, "session", "")
        pause(30)
        const second = yield* checkpoints.take(root, "session", "") // the victim is unchanged: reused
        fs.appendFileSync(`${repo}/victim`, "x\n") // echo x >> victim
        fs.writeFileSync(`${repo}/victim`, "overwritten\n", { flag: "r+" })
        for (const id of [first.id, second.id]) {
          const out = freshDir(repo.replace(/\/repo$/, ""), "out")
          yield* checkpoints.restore(project, id, `${out}/r`)
          assert.strictEqual(fs.readFileSync(`${out}/r/victim`, "utf8"), "original\n")
        }
        // After an undo the repo file is a fresh copy: writing to it again cannot reach the store either.
        yield* checkpoints.undo(root, second.id)
        fs.appendFileSync(`${repo}/victim`, "again\n")
        const out = freshDir(repo.replace(/\/repo$/, ""), "out")
        yield* checkpoints.restore(project, second.id, `${out}/r`)
        assert.strictEqual(fs.readFileSync(`${out}/r/victim`, "utf8"), "original\n")
      }).pipe(Effect.provide(layer))
    })

    it.live("undo never writes through a directory the agent swapped for a symlink", () => {
      const { base, layer, repo, root } = makeRepo(setup)
      return Effect.gen(function*() {
        const checkpoints = yield* store
        fs.mkdirSync(`${repo}/src`)
        fs.writeFileSync(`${repo}/src/a.ts`, "a\n")
        fs.mkdirSync(`${base}/outside`)
        fs.writeFileSync(`${base}/outside/keep`, "host file\n")
        const before = treeMap(repo)
        const taken = yield* checkpoints.take(root, "session", "")
        pause(30)
        fs.rmSync(`${repo}/src`, { recursive: true })
        fs.symlinkSync(`${base}/outside`, `${repo}/src`) // src -> a host directory
        yield* checkpoints.undo(root, taken.id)
        assert.deepStrictEqual(fs.readdirSync(`${base}/outside`), ["keep"])
        assert.strictEqual(fs.readFileSync(`${base}/outside/keep`, "utf8"), "host file\n")
        assert.deepStrictEqual(treeDifferences(before, treeMap(repo)), [])
      }).pipe(Effect.provide(layer))
    })

    it.live("a symlink is kept as a symlink: what it points to is never read", () => {
      const { base, layer, repo, root, store: dir } = makeRepo(setup)
      return Effect.gen(function*() {
        const checkpoints = yield* store
        fs.writeFileSync(`${base}/host-secret`, "TOP-SECRET-KEY\n")
        fs.mkdirSync(`${base}/host-dir`)
        fs.writeFileSync(`${base}/host-dir/id_rsa`, "TOP-SECRET-KEY\n")
        fs.symlinkSync(`${base}/host-secret`, `${repo}/link-to-secret`)
        fs.symlinkSync(`${base}/host-dir`, `${repo}/link-to-dir`)
        yield* checkpoints.take(root, "session", "")
        const grep = spawnSync("grep", ["-rl", "TOP-SECRET", dir], { encoding: "utf8" })
        assert.strictEqual(grep.status, 1, `the secret is in the store: ${grep.stdout}`)
        const out = freshDir(base, "out")
        yield* checkpoints.restore(project, (yield* checkpoints.list(project))[0]?.id as CheckpointId, `${out}/r`)
        assert.strictEqual(fs.readlinkSync(`${out}/r/link-to-dir`), `${base}/host-dir`)
        assert.strictEqual(fs.readlinkSync(`${out}/r/link-to-secret`), `${base}/host-secret`)
      }).pipe(Effect.provide(layer))
    })

    it.live("FIFOs and sockets are listed as special and never opened", () => {
      const { layer, repo, root } = makeRepo(setup)
      return Effect.gen(function*() {
        const checkpoints = yield* store
        fs.writeFileSync(`${repo}/ok`, "ok\n")
        execFileSync("mkfifo", [`${repo}/fifo`]) // opening it to read would hang
        const server = yield* Effect.callback<net.Server>((resume) => {
          const s = net.createServer()
          s.listen(`${repo}/sock`, () => resume(Effect.succeed(s)))
        })
        const taken = yield* checkpoints.take(root, "session", "")
        server.close()
        const diff = yield* checkpoints.diff(root)
        assert.deepStrictEqual(diff.changes, [])
        if (taken.layout === "objects") {
          assert.deepStrictEqual(taken.skipped.map((s) => [s.path, s.reason]), [["fifo", "special"], [
            "sock",
            "special"
          ]])
          assert.strictEqual(taken.entries, 1)
        }
      }).pipe(Effect.provide(layer))
    })

    it.live("restore writes a checkpoint into a new directory, and refuses one that exists", () => {
      const { base, layer, repo, root } = makeRepo(setup)
      return Effect.gen(function*() {
        const checkpoints = yield* store
        seedTree(repo)
        const before = treeMap(repo, false)
        const taken = yield* checkpoints.take(root, "session", "")
        agentSession(repo)
        const applied = yield* checkpoints.restore(project, taken.id, `${base}/restored`)
        assert.strictEqual(applied.removed, 0)
        assert.deepStrictEqual(treeDifferences(before, treeMap(`${base}/restored`, false)), [])
        const again = yield* Effect.flip(checkpoints.restore(project, taken.id, `${base}/restored`))
        assert.strictEqual(again.reason._tag, "TargetExists")
        const unknown = yield* Effect.flip(checkpoints.undo(root, "20990101T000000.000Z-zzzz" as CheckpointId))
        assert.strictEqual(unknown.reason._tag, "NotFound")
      }).pipe(Effect.provide(layer))
    })
  })
}
