/**
 * `repoman sync` end to end: the real CLI entry point, real rsync, a real
 * mounted filesystem as the backup root, run as the non-root CI user.
 *
 * This kernel has no NFS client and the CI user cannot mount, so CI (as
 * root) prepares two mount points and passes them in:
 *
 * - `REPOMAN_CI_BACKUP_MOUNT`: a tmpfs owned by the CI user (the backup root
 *   lives in a fresh directory below it per test);
 * - `REPOMAN_CI_BACKUP_RO_MOUNT`: a read-only bind mount of the same tmpfs.
 *
 * The repos root is a temporary directory on the root filesystem, so the
 * tmpfs is "another filesystem" and a directory under /tmp is not.
 *
 * Every guard test snapshots the backup root (paths, types, modes, mtimes,
 * contents) before and after, and requires them to be identical.
 */
import { assert, describe } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FileSystem from "effect/FileSystem"
import * as Schedule from "effect/Schedule"
import type { Outcome } from "../../cli/test/integration.ts"
import { backupMount, backupRoMount, contents, lastSyncOf, project, sandbox, snapshot, test } from "./syncSandbox.ts"

describe("repoman sync (real rsync, real mounts)", () => {
  describe("mirror semantics", () => {
    test("new, changed and deleted files; --no-delete keeps deleted files; last_sync only on success", () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const s = yield* sandbox()
        yield* s.write(`${s.reposRoot}/alpha/README.md`, "# alpha\n")
        yield* s.write(`${s.reposRoot}/alpha/src/main.c`, "int main(void) { return 0; }\n")
        yield* s.write(`${s.reposRoot}/alpha/old.txt`, "old\n")
        yield* fs.chmod(`${s.reposRoot}/alpha/src/main.c`, 0o750)
        yield* s.write(`${s.reposRoot}/beta/b.txt`, "b\n")
        yield* s.writeRegistry(project("alpha") + project("beta") + project("gamma", "backup = false"))

        const first = yield* s.repoman(["sync"])
        assert.strictEqual(first.code, 0, first.stderr)
        assert.match(first.stdout, /alpha\s+ok\s+3\s/)
        assert.match(first.stdout, /gamma\s+skipped/)
        assert.deepStrictEqual(yield* contents(`${s.backupRoot}/alpha`), yield* contents(`${s.reposRoot}/alpha`))
        assert.deepStrictEqual(yield* contents(`${s.backupRoot}/beta`), yield* contents(`${s.reposRoot}/beta`))
        const registry = yield* fs.readFileString(s.registry)
        assert.isDefined(lastSyncOf(registry, "alpha"))
        assert.isUndefined(lastSyncOf(registry, "gamma"))

        // change one file, add one, delete one
        yield* s.write(`${s.reposRoot}/alpha/src/main.c`, "int main(void) { return 1; }\n")
        yield* s.write(`${s.reposRoot}/alpha/docs/new.md`, "new\n")
        yield* fs.remove(`${s.reposRoot}/alpha/old.txt`)

        const kept = yield* s.repoman(["sync", "alpha", "--no-delete"])
        assert.strictEqual(kept.code, 0, kept.stderr)
        assert.match(kept.stdout, /alpha\s+ok\s+2\s+\S+ \S+\s+0\s/)
        assert.strictEqual(yield* fs.readFileString(`${s.backupRoot}/alpha/old.txt`), "old\n")
        assert.strictEqual(yield* fs.readFileString(`${s.backupRoot}/alpha/docs/new.md`), "new\n")

        const mirrored = yield* s.repoman(["sync", "alpha"])
        assert.strictEqual(mirrored.code, 0, mirrored.stderr)
        assert.match(mirrored.stdout, /alpha\s+ok\s+0\s+0 B\s+1\s/)
        assert.deepStrictEqual(yield* contents(`${s.backupRoot}/alpha`), yield* contents(`${s.reposRoot}/alpha`))

        // --dry-run: shows the change, changes and records nothing
        yield* s.write(`${s.reposRoot}/beta/b.txt`, "b2\n")
        const before = yield* snapshot(s.backupRoot)
        const registryBefore = yield* fs.readFileString(s.registry)
        const dry = yield* s.repoman(["sync", "--dry-run", "--json"])
        assert.strictEqual(dry.code, 0, dry.stderr)
        const events = dry.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>)
        const beta = events.find((e) => e["event"] === "MirrorFinished" && e["project"] === "beta")
        assert.strictEqual(beta?.["filesTransferred"], 1)
        assert.deepStrictEqual(yield* snapshot(s.backupRoot), before)
        assert.strictEqual(yield* fs.readFileString(s.registry), registryBefore)
      }))
  })

  describe("guards: each refuses and leaves the backup byte-identical", () => {
    test("the backup root is not a mounted filesystem (a directory on the repos root's filesystem)", () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const local = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-local-backup-" })
        const s = yield* sandbox({ backupRoot: local })
        yield* s.write(`${s.reposRoot}/alpha/a.txt`, "a\n")
        yield* s.write(`${local}/alpha/previous.txt`, "an earlier backup\n")
        yield* s.writeRegistry(project("alpha"))
        const before = yield* snapshot(local)
        const out = yield* s.repoman(["sync"])
        assert.strictEqual(out.code, 1)
        assert.include(out.stderr, `the backup root ${local} is not a mounted filesystem`)
        assert.deepStrictEqual(yield* snapshot(local), before)
        assert.isUndefined(lastSyncOf(yield* fs.readFileString(s.registry), "alpha"))
      }))

    test("the same root is accepted with require_mount = false", () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const local = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-local-backup-" })
        const s = yield* sandbox({ backupRoot: local, backup: "[backup]\nrequire_mount = false\n" })
        yield* s.write(`${s.reposRoot}/alpha/a.txt`, "a\n")
        yield* s.writeRegistry(project("alpha"))
        const out = yield* s.repoman(["sync"])
        assert.strictEqual(out.code, 0, out.stderr)
        assert.strictEqual(yield* fs.readFileString(`${local}/alpha/a.txt`), "a\n")
      }))

    test("the source is empty, or has vanished", () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const s = yield* sandbox()
        yield* s.write(`${s.reposRoot}/alpha/a.txt`, "a\n")
        yield* s.write(`${s.reposRoot}/beta/b.txt`, "b\n")
        yield* s.write(`${s.reposRoot}/gamma/g.txt`, "g\n")
        yield* s.writeRegistry(project("alpha") + project("beta") + project("gamma"))
        assert.strictEqual((yield* s.repoman(["sync"])).code, 0)
        const synced = yield* fs.readFileString(s.registry)

        yield* fs.remove(`${s.reposRoot}/alpha/a.txt`) // alpha: empty
        yield* fs.remove(`${s.reposRoot}/beta`, { recursive: true }) // beta: vanished
        yield* s.write(`${s.reposRoot}/gamma/g.txt`, "g2\n")
        const before = yield* snapshot(`${s.backupRoot}/alpha`)
        const beforeBeta = yield* snapshot(`${s.backupRoot}/beta`)
        const out = yield* s.repoman(["sync"])
        assert.strictEqual(out.code, 1)
        assert.match(out.stdout, /alpha\s+FAILED\s.*is empty, and mirroring it could wipe the backup/)
        assert.match(out.stdout, /beta\s+FAILED\s.*does not exist/)
        assert.match(out.stdout, /gamma\s+ok\s+1\s/)
        assert.include(out.stdout, "1 synced, 2 failed, 0 skipped")
        assert.deepStrictEqual(yield* snapshot(`${s.backupRoot}/alpha`), before)
        assert.deepStrictEqual(yield* snapshot(`${s.backupRoot}/beta`), beforeBeta)
        const after = yield* fs.readFileString(s.registry)
        assert.strictEqual(lastSyncOf(after, "alpha"), lastSyncOf(synced, "alpha"))
        assert.strictEqual(lastSyncOf(after, "beta"), lastSyncOf(synced, "beta"))
      }))

    test("the backup root is read-only", () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const s = yield* sandbox()
        yield* s.write(`${s.reposRoot}/alpha/a.txt`, "a\n")
        yield* s.writeRegistry(project("alpha"))
        assert.strictEqual((yield* s.repoman(["sync"])).code, 0)
        // the same directory, seen through the read-only bind mount
        const readOnly = `${backupRoMount}/${s.backupRoot.slice(backupMount.length + 1)}`
        yield* s.write(`${s.reposRoot}/alpha/a.txt`, "changed\n")
        yield* s.writeRegistry(project("alpha"), readOnly)
        const registryBefore = yield* fs.readFileString(s.registry)
        const before = yield* snapshot(s.backupRoot)
        const out = yield* s.repoman(["sync"])
        assert.strictEqual(out.code, 1)
        assert.include(out.stderr, `the backup root ${readOnly} is not writable`)
        assert.deepStrictEqual(yield* snapshot(s.backupRoot), before)
        assert.strictEqual(yield* fs.readFileString(s.registry), registryBefore)
      }))
  })

  describe("status", () => {
    test("reports the backup root: reachable, mounted, filesystem type, free space; and a local root as not mounted", () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const s = yield* sandbox()
        yield* s.write(`${s.reposRoot}/alpha/a.txt`, "a\n")
        yield* s.writeRegistry(project("alpha"))
        const report = (out: Outcome) =>
          (JSON.parse(out.stdout) as ReadonlyArray<{ readonly backup: Record<string, unknown> | null }>)[0]?.backup
        const mounted = report(yield* s.repoman(["status", "alpha", "--json"]))
        assert.deepStrictEqual(
          [mounted?.["reachable"], mounted?.["mounted"], mounted?.["fsType"], mounted?.["writable"], mounted?.["ok"]],
          [true, true, "tmpfs", true, true]
        )
        assert.isAbove(Number(mounted?.["freeBytes"]), 0)

        const local = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-local-backup-" })
        yield* s.writeRegistry(project("alpha"), local)
        const notMounted = report(yield* s.repoman(["status", "alpha", "--json"]))
        assert.deepStrictEqual([notMounted?.["reachable"], notMounted?.["mounted"], notMounted?.["ok"]], [
          true,
          false,
          false
        ])
        const text = yield* s.repoman(["status", "alpha"])
        assert.match(
          text.stdout,
          new RegExp(`backup +FAIL +${local} \\(\\S+, NOT a separate mount, writable, .* free\\)`)
        )
      }))
  })

  describe("interruption and concurrency", () => {
    test("two syncs at once: the second refuses clearly, the first completes", () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        // The first sync's rsync is a gate: it says it started, then waits for
        // the test to open it, so the second sync runs while the first surely
        // holds the lock (no race with start-up or transfer times).
        const gate = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-sync-gate-" })
        yield* fs.writeFileString(
          `${gate}/rsync`,
          `#!/bin/sh\n: > "${gate}/started"\nwhile [ ! -e "${gate}/open" ]; do sleep 0.05; done\nexec rsync "$@"\n`
        )
        yield* fs.chmod(`${gate}/rsync`, 0o755)
        const s = yield* sandbox({ backup: `[backup.options]\nrsync = "${gate}/rsync"\n` })
        yield* s.bulk("alpha", 20, 4_000)
        yield* s.writeRegistry(project("alpha"))
        const first = yield* Effect.forkChild(s.repoman(["sync"]))
        yield* fs.exists(`${gate}/started`).pipe(
          Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (started) => started }),
          Effect.timeout("60 seconds")
        )
        const second = yield* s.repoman(["sync"])
        yield* fs.writeFileString(`${gate}/open`, "")
        assert.strictEqual(second.code, 1)
        assert.match(second.stderr, /is busy: another repoman sync \(pid \d+ on .*\) is mirroring to it/)
        const done = yield* Fiber.join(first)
        assert.strictEqual(done.code, 0, done.stderr)
        assert.deepStrictEqual(yield* contents(`${s.backupRoot}/alpha`), yield* contents(`${s.reposRoot}/alpha`))
      }))
  })
})
