/**
 * The checkpoint store on real filesystems, as the non-root test user:
 * loop-mounted ext4 (copies), loop-mounted btrfs (reflinks, and read-only
 * snapshots of a subvolume the user owns, made and pruned without
 * privileges), and tmpfs. scripts/ci/backup-filesystems.sh makes the loop
 * mounts and records them in REPOMAN_CI_FS_EXT4 and REPOMAN_CI_FS_BTRFS.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Checkpoints } from "@repoman/core/Checkpoints"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import { makeRepo, type Setup, storeSuite } from "./storeSuite.ts"
import { pause, removeFreshDirs } from "./tree.ts"

const mount = (name: string): string => {
  const dir = process.env[name]
  if (dir === undefined || !fs.existsSync(dir)) {
    throw new Error(`${name} is not set or missing: run scripts/ci/backup-filesystems.sh (as root) first`)
  }
  return dir
}
const ext4 = () => mount("REPOMAN_CI_FS_EXT4")
const btrfs = () => mount("REPOMAN_CI_FS_BTRFS")

const setups: ReadonlyArray<Setup> = [
  { name: "ext4 (objects, copies)", base: ext4, layout: "objects", copy: "copy" },
  { name: "btrfs (objects, reflinks)", base: btrfs, layout: "objects", copy: "reflink" },
  { name: "btrfs (snapshots of a subvolume)", base: btrfs, layout: "btrfs-snapshot", subvolume: true },
  { name: "tmpfs (objects)", base: () => "/dev/shm", layout: "objects" }
]
for (const setup of setups) storeSuite(setup)

describe("btrfs snapshots", () => {
  afterAll(removeFreshDirs)
  it.live("the subvolume's owner takes and prunes read-only snapshots without privileges", () => {
    const setup: Setup = { name: "btrfs", base: btrfs, layout: "btrfs-snapshot", subvolume: true }
    const { layer, repo, root, store } = makeRepo(setup, { keep: 1 })
    return Effect.gen(function*() {
      assert.notStrictEqual(process.getuid?.(), 0, "this test is about an unprivileged user")
      const checkpoints = yield* Checkpoints
      fs.writeFileSync(`${repo}/a`, "1")
      const first = yield* checkpoints.take(root, "session", "")
      assert.strictEqual(first.layout, "btrfs-snapshot")
      pause(20)
      fs.writeFileSync(`${repo}/a`, "2")
      const undone = yield* checkpoints.undo(root, first.id)
      assert.strictEqual(fs.readFileSync(`${repo}/a`, "utf8"), "1")
      // keep = 1: only the undo's own snapshot is left, and the others are gone from disk.
      assert.deepStrictEqual((yield* checkpoints.list(first.project)).map((c) => c.id), [undone.before.id])
      assert.deepStrictEqual(fs.readdirSync(`${store}/snapshots`), [undone.before.id])
    }).pipe(Effect.provide(layer))
  })

  it.live("layout auto snapshots a subvolume, and copies a plain directory", () => {
    const sub = makeRepo({ name: "btrfs", base: btrfs, layout: "objects", subvolume: true }, { layout: "auto" })
    const plain = makeRepo({ name: "btrfs", base: btrfs, layout: "objects" }, { layout: "auto" })
    return Effect.gen(function*() {
      for (const [{ layer, repo, root }, layout] of [[sub, "btrfs-snapshot"], [plain, "objects"]] as const) {
        fs.writeFileSync(`${repo}/a`, "1")
        const taken = yield* Effect.flatMap(Checkpoints, (c) => c.take(root, "session", "")).pipe(
          Effect.provide(layer)
        )
        assert.strictEqual(taken.layout, layout)
      }
    })
  })
})
