/**
 * The checkpoint store on the machine's own filesystem (a temp dir): the
 * shared suite, plus what only the objects layout does (limits, retention,
 * a corrupt store). The loop-mounted ext4 and btrfs and tmpfs runs are in
 * filesystems.integration.test.ts.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { type CheckpointId, Checkpoints } from "@repoman/core/Checkpoints"
import { ProjectName } from "@repoman/core/Ids"
import * as Effect from "effect/Effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import { makeRepo, type Setup, storeSuite } from "./storeSuite.ts"
import { pause, removeFreshDirs, seedTree } from "./tree.ts"

const tmp = fs.mkdtempSync(`${os.tmpdir()}/repoman-checkpoints-`)
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))
const local: Setup = { name: "the temp dir (objects)", base: () => tmp, layout: "objects" }

storeSuite(local)

const project = ProjectName.make("demo")

describe("the objects layout", () => {
  afterAll(removeFreshDirs)
  it.live("a 100 GiB sparse file is listed, not copied, and undo leaves it alone", () => {
    const { layer, repo, root } = makeRepo(local)
    return Effect.gen(function*() {
      const checkpoints = yield* Checkpoints
      fs.writeFileSync(`${repo}/small`, "s\n")
      execFileSync("truncate", ["-s", "100G", `${repo}/huge`])
      const taken = yield* checkpoints.take(root, "session", "")
      assert.deepStrictEqual(taken.skipped.map((s) => [s.path, s.reason]), [["huge", "too-large"]])
      assert.strictEqual(taken.copiedBytes, 2)
      pause(20)
      fs.writeFileSync(`${repo}/small`, "changed\n")
      const undone = yield* checkpoints.undo(root, taken.id)
      assert.deepStrictEqual(undone.applied.leftAlone, ["huge"])
      assert.strictEqual(fs.readFileSync(`${repo}/small`, "utf8"), "s\n")
      assert.strictEqual(fs.statSync(`${repo}/huge`).size, 100 * 1024 ** 3)
    }).pipe(Effect.provide(layer))
  })

  it.live("too much new content, or too many entries, is a typed error and leaves nothing behind", () => {
    const small = makeRepo(local, { maxNewBytes: 100_000 })
    const few = makeRepo(local, { maxEntries: 10 })
    for (const { repo } of [small, few]) {
      for (let i = 0; i < 50; i++) fs.writeFileSync(`${repo}/f${i}`, Buffer.alloc(10_000))
    }
    return Effect.gen(function*() {
      for (const { layer, root, store } of [small, few]) {
        const error = yield* Effect.flip(Effect.flatMap(Checkpoints, (c) => c.take(root, "session", "")))
          .pipe(Effect.provide(layer))
        assert.strictEqual(error.reason._tag, "TooLarge")
        assert.deepStrictEqual(fs.readdirSync(`${store}/checkpoints`), [])
        assert.deepStrictEqual(fs.readdirSync(`${store}/objects`), [])
        assert.deepStrictEqual(fs.readdirSync(store).filter((n) => n.startsWith(".tmp")), [])
      }
    })
  })

  it.live("a tree deeper than the limit is cut there, without running out of fds", () => {
    const { layer, repo, root } = makeRepo(local)
    let p = repo
    for (let i = 0; i < 300; i++) {
      p += "/d"
      fs.mkdirSync(p)
    }
    return Effect.gen(function*() {
      const taken = yield* (yield* Checkpoints).take(root, "session", "")
      assert.strictEqual(taken.entries, 200)
      assert.deepStrictEqual(taken.skipped.map((s) => s.reason), ["too-deep"])
    }).pipe(Effect.provide(layer))
  })

  it.live("retention keeps the newest, and what it keeps still undoes (its objects survive)", () => {
    const { layer, repo, root, store } = makeRepo(local, { keep: 2 })
    return Effect.gen(function*() {
      const checkpoints = yield* Checkpoints
      seedTree(repo)
      const ids: Array<CheckpointId> = []
      for (let i = 0; i < 4; i++) {
        pause(20)
        fs.writeFileSync(`${repo}/n${i}`, String(i))
        fs.writeFileSync(`${repo}/README.md`, `round ${i}\n`)
        ids.push((yield* checkpoints.take(root, "session", `round ${i}`)).id)
      }
      const kept = yield* checkpoints.list(project)
      assert.deepStrictEqual(kept.map((c) => c.label), ["round 2", "round 3"])
      const { added, changed, removed } = kept[1]?.changes ?? {}
      assert.deepStrictEqual({ added, removed, changed }, { added: 1, removed: 0, changed: 1 })
      // Dropped checkpoints' copies that the kept ones still use stay; the rest (old READMEs) go.
      const objects = (id: string) => fs.readdirSync(`${store}/objects/${id}`, { recursive: true }).length
      assert.deepStrictEqual(fs.readdirSync(`${store}/objects`).sort(), [...ids].sort())
      const firstCopies = 1 + 14 // a bucket directory, the 14 files of the seed and n0 but the old README
      assert.strictEqual(objects(ids[0] as string), firstCopies)
      assert.strictEqual(objects(ids[1] as string), 1 + 1, "n1 stays, its README went")
      // The oldest kept one still undoes (the undo's own checkpoint then drops it).
      fs.rmSync(`${repo}/src`, { recursive: true })
      pause(20)
      yield* checkpoints.undo(root, kept[0]?.id as CheckpointId)
      assert.strictEqual(fs.readFileSync(`${repo}/README.md`, "utf8"), "round 2\n")
      assert.isFalse(fs.existsSync(`${repo}/n3`))
      assert.isTrue(fs.existsSync(`${repo}/src/deep/er/b.ts`))
    }).pipe(Effect.provide(layer))
  })

  it.live("a corrupt or truncated checkpoint is a typed error; a bad id is not found", () => {
    const { layer, repo, root, store } = makeRepo(local)
    return Effect.gen(function*() {
      const checkpoints = yield* Checkpoints
      fs.writeFileSync(`${repo}/a`, "a")
      const taken = yield* checkpoints.take(root, "session", "")
      const entries = `${store}/checkpoints/${taken.id}.entries`
      const text = fs.readFileSync(entries, "latin1")
      fs.writeFileSync(entries, text.slice(0, -3), "latin1")
      const truncated = yield* Effect.flip(checkpoints.diff(root))
      assert.strictEqual(truncated.reason._tag, "Corrupt")
      fs.writeFileSync(entries, "f\t644\t1\t1\t1\t1\t-\t-\t../../etc/passwd\t\n", "latin1")
      const escaped = yield* Effect.flip(checkpoints.undo(root, taken.id))
      assert.strictEqual(escaped.reason._tag, "Corrupt")
      assert.strictEqual(fs.readFileSync(`${repo}/a`, "utf8"), "a")
      const bad = yield* Effect.flip(checkpoints.undo(root, "../../etc" as CheckpointId))
      assert.strictEqual(bad.reason._tag, "NotFound")
    }).pipe(Effect.provide(layer))
  })

  it.live("a checkpoint directory inside the repo is refused", () => {
    const { layer, repo, root } = makeRepo(local)
    const inside = makeRepo(local, { base: `${repo}/.checkpoints` })
    void layer
    return Effect.gen(function*() {
      const error = yield* Effect.flip((yield* Checkpoints).take(root, "session", ""))
      assert.strictEqual(error.reason._tag, "RootInvalid")
    }).pipe(Effect.provide(inside.layer))
  })

  it.live("a missing repo is a typed error", () => {
    const { layer, repo, root } = makeRepo(local)
    fs.rmSync(repo, { recursive: true })
    return Effect.gen(function*() {
      const error = yield* Effect.flip((yield* Checkpoints).take(root, "session", ""))
      assert.strictEqual(error.reason._tag, "RootInvalid")
      assert.match(error.message, /does not exist/)
    }).pipe(Effect.provide(layer))
  })
})
