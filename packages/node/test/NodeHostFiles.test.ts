/**
 * The host file reader against real files: nothing followed, nothing
 * waited on, nothing read past its cap; the tree walk's owners, unreadable
 * entries and nested repos.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { HostFiles } from "@repoman/core/HostFiles"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import { execFileSync } from "node:child_process"
import * as NodeHostFiles from "../src/NodeHostFiles.ts"

const uid = process.getuid?.() ?? 1000

const reasonOf = <A>(effect: Effect.Effect<A, { readonly reason: { readonly _tag: string } }>) =>
  Effect.match(effect, { onFailure: (e) => e.reason._tag, onSuccess: () => "Success" })

describe("NodeHostFiles", () => {
  it.effect("reads a regular file; refuses a symlink, a FIFO and a directory without following or blocking", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const files = yield* HostFiles
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-hostfiles-" })
      yield* fs.writeFileString(`${dir}/ok.patch`, "diff\n")
      yield* fs.writeFileString(`${dir}/secret`, "host secret\n")
      yield* fs.symlink(`${dir}/secret`, `${dir}/link.patch`)
      execFileSync("mkfifo", [`${dir}/fifo.patch`])
      assert.strictEqual(
        new TextDecoder().decode(yield* files.readRegular(`${dir}/ok.patch`, { maxBytes: 100 })),
        "diff\n"
      )
      assert.strictEqual(yield* reasonOf(files.readRegular(`${dir}/link.patch`, { maxBytes: 100 })), "NotRegular")
      assert.strictEqual(yield* reasonOf(files.readRegular(`${dir}/fifo.patch`, { maxBytes: 100 })), "NotRegular")
      assert.strictEqual(yield* reasonOf(files.readRegular(dir, { maxBytes: 100 })), "NotRegular")
      assert.strictEqual(yield* reasonOf(files.readRegular(`${dir}/none`, { maxBytes: 100 })), "Missing")
      assert.strictEqual(yield* reasonOf(files.readRegular(`${dir}/ok.patch`, { maxBytes: 4 })), "TooLarge")
      const link = yield* files.lstat(`${dir}/link.patch`)
      assert.strictEqual(Option.map(link, (s) => s.type).pipe(Option.getOrNull), "symlink")
      assert.deepStrictEqual(yield* files.lstat(`${dir}/none`), Option.none())
    }).pipe(Effect.scoped, Effect.provide([NodeHostFiles.layer, NodeServices.layer])))

  it.effect("scanTree: foreign owners, unreadable entries and nested .git, without following symlinks, up to a cap", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const files = yield* HostFiles
      const repo = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-scan-" })
      const outside = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-scan-outside-" })
      yield* fs.makeDirectory(`${repo}/.git`)
      yield* fs.makeDirectory(`${repo}/vendor/lib/.git`, { recursive: true })
      yield* fs.writeFileString(`${repo}/README`, "x\n")
      yield* fs.writeFileString(`${repo}/locked`, "x\n")
      yield* fs.chmod(`${repo}/locked`, 0o000)
      yield* fs.makeDirectory(`${repo}/closed`)
      yield* fs.writeFileString(`${repo}/closed/inside`, "x\n")
      yield* fs.chmod(`${repo}/closed`, 0o000)
      for (let i = 0; i < 5; i++) yield* fs.writeFileString(`${outside}/f${i}`, "x\n")
      yield* fs.symlink(outside, `${repo}/out`)

      const mine = yield* files.scanTree(repo, { uid })
      assert.strictEqual(mine.foreign.count, 0)
      assert.deepStrictEqual([...mine.unreadable.sample].sort(), [`${repo}/closed`, `${repo}/locked`])
      assert.deepStrictEqual(
        mine.nestedGitDirs.sample,
        [`${repo}/vendor/lib/.git`],
        "the repo's own .git is not nested"
      )
      // .git, vendor, vendor/lib, vendor/lib/.git, README, locked, closed, out: the symlink's target is not walked.
      assert.strictEqual(mine.entries, 8)
      assert.isTrue(mine.complete)

      const someoneElse = yield* files.scanTree(repo, { uid: uid + 4242, sample: 2 })
      assert.strictEqual(someoneElse.foreign.count, someoneElse.entries + 1, "every entry, the top included")
      assert.strictEqual(someoneElse.foreign.sample.length, 2)

      const capped = yield* files.scanTree(repo, { uid, maxEntries: 3 })
      assert.strictEqual(capped.entries, 3)
      assert.isFalse(capped.complete)
      yield* fs.chmod(`${repo}/closed`, 0o700)
    }).pipe(Effect.scoped, Effect.provide([NodeHostFiles.layer, NodeServices.layer])))
})
