/**
 * Issue 18's rough edges against the real incusd, through the real `repoman`
 * executable, as the non-root test user: `status` (one truth for FAIL, the
 * repo mount checked without running anything of the image) and
 * `uninstall` (registry entries go with their containers; nothing to remove
 * is no error).
 */
import { assert, describe, it } from "@effect/vitest"
import { ContainerRuntime } from "@repoman/core/ContainerRuntime"
import { ProjectName } from "@repoman/core/Ids"
import * as IncusContainerRuntime from "@repoman/incus/IncusContainerRuntime"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Schema from "effect/Schema"
import { busybox, IntegrationLayer, sandbox } from "./integration.ts"

const Json = Schema.fromJsonString(Schema.Unknown)
const json = (text: string) => Schema.decodeUnknownEffect(Json)(text).pipe(Effect.orDie)

/** A tmpfs the test user owns (scripts/incus/backup-mounts.sh): a backup root that is a mount. */
const backupMount = process.env["REPOMAN_CI_BACKUP_MOUNT"] ?? ""

const timeout = 300_000

interface StatusRow {
  readonly healthy: boolean
  readonly mountPresent: boolean | null
  readonly backup: { readonly ok: boolean } | null
}

describe("issue 18 against a real Incus", () => {
  it.live(
    "status: a busybox container is healthy (exit 0), also with no 'test' in its image; backup FAIL means exit 1",
    () =>
      Effect.gen(function*() {
        assert.notStrictEqual(backupMount, "", "REPOMAN_CI_BACKUP_MOUNT is not set: run scripts/incus/backup-mounts.sh")
        const fs = yield* FileSystem.FileSystem
        const { dir, project, reposRoot, repoman, setupArgs } = yield* sandbox
        const backupRoot = `${backupMount}/${project}`
        yield* fs.makeDirectory(backupRoot)
        yield* Effect.addFinalizer(() => Effect.ignore(fs.remove(backupRoot, { recursive: true })))
        yield* fs.makeDirectory(`${reposRoot}/bb`)
        const s = yield* repoman([...setupArgs, "--backup-root", backupRoot])
        assert.strictEqual(s.code, 0, s.stderr)
        const n = yield* repoman(["new", "bb", "--image", busybox])
        assert.strictEqual(n.code, 0, n.stderr)

        const status = (args: ReadonlyArray<string>) =>
          Effect.gen(function*() {
            const out = yield* repoman(["status", ...args, "--json"])
            const [row] = (yield* json(out.stdout)) as ReadonlyArray<StatusRow>
            return { code: out.code, row: row as StatusRow, raw: out }
          })
        const healthy = yield* status(["bb"])
        assert.strictEqual(healthy.code, 0, healthy.raw.stdout + healthy.raw.stderr)
        assert.strictEqual(healthy.row.mountPresent, true)
        assert.isTrue(healthy.row.healthy)

        // An image without `test` (nor `[`): the mount check runs nothing inside.
        const runtime = yield* ContainerRuntime.pipe(Effect.provide(IncusContainerRuntime.layerClient({ project })))
        const removed = yield* runtime.exec(ProjectName.make("bb"), [
          "rm",
          "-f",
          "/bin/test",
          "/usr/bin/test",
          "/bin/[",
          "/usr/bin/["
        ])
        assert.strictEqual(removed.exitCode, 0, removed.stderr)
        const gone = yield* runtime.exec(ProjectName.make("bb"), ["test", "-d", "/"]).pipe(
          Effect.map((r) => r.exitCode),
          Effect.orElseSucceed(() => -1)
        )
        assert.notStrictEqual(gone, 0, "test still runs in the container")
        const noTest = yield* status(["bb"])
        assert.strictEqual(noTest.code, 0, noTest.raw.stdout + noTest.raw.stderr)
        assert.strictEqual(noTest.row.mountPresent, true)

        // The backup root is a plain directory now (require_mount is on): FAIL, and so exit 1, unhealthy.
        const plain = `${dir}/plain-backup`
        yield* fs.makeDirectory(plain)
        assert.strictEqual((yield* repoman([...setupArgs, "--backup-root", plain])).code, 0)
        const failing = yield* status(["bb"])
        assert.strictEqual(failing.row.backup?.ok, false)
        assert.isFalse(failing.row.healthy)
        assert.strictEqual(failing.code, 1)
        const text = yield* repoman(["status", "bb"])
        assert.match(text.stdout, /backup +FAIL /)
        assert.strictEqual(text.code, 1)
        // All projects: the same truth.
        assert.strictEqual((yield* repoman(["status"])).code, 1)
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    timeout
  )

  it.live(
    "uninstall drops the registry entries of what it deleted: setup then new webapp works again; nothing left exits 0",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const { dir, reposRoot, repoman, setup } = yield* sandbox
        yield* fs.makeDirectory(`${reposRoot}/webapp`)
        yield* fs.writeFileString(`${reposRoot}/webapp/keep.txt`, "keep\n")
        assert.strictEqual((yield* setup).code, 0)
        const first = yield* repoman(["new", "webapp", "--image", busybox])
        assert.strictEqual(first.code, 0, first.stderr)

        const u = yield* repoman(["uninstall", "--yes"])
        assert.strictEqual(u.code, 0, u.stderr)
        assert.include(u.stdout, "  - the registry entry of webapp")
        assert.include(u.stdout, `  - the sealed gitdir ${dir}/state/repoman/git/webapp`)
        assert.isFalse(yield* fs.exists(`${dir}/state/repoman/git/webapp`))
        const registry = yield* fs.readFileString(`${dir}/config/repoman.toml`)
        assert.notInclude(registry, "webapp")

        // Nothing left: it says so and succeeds, without --yes and without a terminal.
        const nothing = yield* repoman(["uninstall"])
        assert.strictEqual(nothing.code, 0, nothing.stderr)
        assert.match(nothing.stdout, /^Nothing to remove: Incus project \S+ does not exist\.\n$/)

        assert.strictEqual((yield* setup).code, 0)
        const again = yield* repoman(["new", "webapp", "--image", busybox])
        assert.strictEqual(again.code, 0, again.stderr)
        assert.strictEqual(yield* fs.readFileString(`${reposRoot}/webapp/keep.txt`), "keep\n")
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    timeout
  )
})
