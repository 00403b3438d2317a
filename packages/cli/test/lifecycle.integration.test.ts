/**
 * The project lifecycle against the real incusd, as a non-root user, through
 * the real `repoman` executable: the user flow and the safety invariants.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Schema from "effect/Schema"
import {
  assertDisksForbidden,
  busybox,
  debian,
  IntegrationLayer,
  sandbox,
  shellScript,
  snapshot,
  vanishingProxy
} from "./integration.ts"

const Json = Schema.fromJsonString(Schema.Unknown)
const json = (text: string) => Schema.decodeUnknownEffect(Json)(text).pipe(Effect.orDie)

describe("repoman against a real Incus", () => {
  it.live(
    "the whole user flow on the Debian image: setup, new, shell, status, list, remove",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const { project, reposRoot, repoman, setupArgs } = yield* sandbox
        const repo = `${reposRoot}/isurus`
        yield* fs.makeDirectory(`${repo}/src`, { recursive: true })
        yield* fs.writeFileString(`${repo}/src/main.rs`, "fn main() {}\n")
        yield* fs.chmod(`${repo}/src/main.rs`, 0o640)
        // A backup root that is a mount: status exits 0 only when every line is ok (a backup FAIL is exit 1).
        const backupRoot = `${process.env["REPOMAN_CI_BACKUP_MOUNT"] ?? ""}/${project}`
        yield* fs.makeDirectory(backupRoot)
        yield* Effect.addFinalizer(() => Effect.ignore(fs.remove(backupRoot, { recursive: true })))

        const s = yield* repoman([...setupArgs, "--backup-root", backupRoot])
        assert.strictEqual(s.code, 0, s.stderr)
        assert.include(s.stdout, "uid mode idmap")

        const n = yield* repoman(["new", "isurus", "--image", debian])
        assert.strictEqual(n.code, 0, n.stderr)

        const sh = yield* shellScript(repoman, "isurus", "id -u; id -g; pwd; echo \"$HOME\"; echo hi > made-inside")
        assert.strictEqual(sh.code, 0, sh.stderr)
        assert.deepStrictEqual(sh.stdout.trim().split("\n"), ["1000", "1000", repo, process.env["HOME"]])
        // The uid mapping seen from the host: the container's uid 1000 is this user.
        const made = yield* fs.stat(`${repo}/made-inside`)
        assert.strictEqual(made.uid._tag === "Some" ? made.uid.value : -1, process.getuid?.())

        const exit = yield* shellScript(repoman, "isurus", "exit 7")
        assert.strictEqual(exit.code, 7)

        const st = yield* repoman(["status", "isurus", "--json"])
        assert.strictEqual(st.code, 0, st.stdout + st.stderr)
        const [status = {}] = (yield* json(st.stdout)) as ReadonlyArray<Record<string, unknown>>
        assert.strictEqual(status["state"], "Running")
        assert.strictEqual(status["mountPresent"], true)
        assert.deepStrictEqual((status["userProbe"] as Record<string, unknown>)["hostUid"], process.getuid?.())
        const root = status["rootProbe"] as Record<string, unknown>
        assert.strictEqual(root["ok"], true)
        assert.notStrictEqual(root["hostUid"], 0)

        const l = yield* repoman(["list", "--json"])
        assert.strictEqual(l.code, 0, l.stderr)
        const rows = (yield* json(l.stdout)) as ReadonlyArray<Record<string, unknown>>
        assert.deepStrictEqual(rows.map((r) => [r["name"], r["kind"], r["state"], r["repoPath"]]), [
          ["isurus", "managed", "Running", repo]
        ])

        // Invariant 1: remove leaves every byte and mode under the repo as it was.
        const before = yield* snapshot(repo)
        const refused = yield* repoman(["remove", "isurus"])
        assert.strictEqual(refused.code, 1, "no TTY and no --yes: refuse")
        assert.include(refused.stdout, `The repo at ${repo} is not touched.`)
        const r = yield* repoman(["remove", "isurus", "--yes"])
        assert.strictEqual(r.code, 0, r.stderr)
        assert.deepStrictEqual(yield* snapshot(repo), before)
        const after = yield* repoman(["list", "--json"])
        assert.deepStrictEqual(yield* json(after.stdout), [])
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    300_000
  )

  it.live("invariant 3: hostile names and --repo values exit 2 and create nothing", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { reposRoot, repoman, setup, client, project } = yield* sandbox
      assert.strictEqual((yield* setup).code, 0)
      yield* fs.makeDirectory(`${reposRoot}/ok`)
      yield* fs.makeDirectory(`${reposRoot}/../outside`)
      yield* fs.symlink(`${reposRoot}/../outside`, `${reposRoot}/sneaky`)
      const hostile: ReadonlyArray<ReadonlyArray<string>> = [
        ["new", "../etc"],
        ["new", "/etc"],
        ["new", "a;rm -rf ~"],
        ["new", "$(id)"],
        ["new", "`id`"],
        ["new", "x".repeat(64)],
        ["new", "ünïcode"],
        ["new", "-rf"],
        ["new", "1abc"],
        ["new", "ok", "--repo", "../outside"],
        ["new", "ok", "--repo", "/etc"],
        ["new", "ok", "--repo", "a/b"],
        ["new", "ok", "--repo", ".."],
        ["new", "sneaky"],
        ["new", "ok", "--image", "x; reboot"]
      ]
      for (const argv of hostile) {
        const out = yield* repoman(argv)
        assert.strictEqual(out.code, 2, `${JSON.stringify(argv)}: ${out.stderr}`)
        assert.notInclude(out.stderr, "    at ", "no stack trace")
      }
      assert.deepStrictEqual(yield* client.listInstances(project), [])
      assert.deepStrictEqual(yield* json((yield* repoman(["list", "--json"])).stdout), [])
    }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)), 300_000)

  it.live(
    "invariant 2: in repoman's project Incus itself refuses a disk from outside the allowed paths",
    () =>
      Effect.gen(function*() {
        const { reposRoot, setup, project } = yield* sandbox
        assert.strictEqual((yield* setup).code, 0)
        yield* assertDisksForbidden(project, ["/etc", "/", `${reposRoot}/../`, `${reposRoot}X`])
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    300_000
  )

  it.live(
    "invariant 4: a failure after the container exists leaves no container and no registry entry",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const { dir, reposRoot, repoman, setup, client, project } = yield* sandbox
        assert.strictEqual((yield* setup).code, 0)
        yield* fs.makeDirectory(`${reposRoot}/isurus`)
        const registry = `${dir}/config/repoman.toml`
        const before = yield* fs.readFileString(registry)

        // A profile that does not exist.
        const missing = yield* repoman(["new", "isurus", "--image", busybox, "--profile", "nope"])
        assert.strictEqual(missing.code, 1, missing.stderr)
        assert.include(missing.stderr, "nope")
        assert.deepStrictEqual(yield* client.listInstances(project), [])

        // The registry cannot be written once the container runs: it must go again.
        yield* fs.chmod(`${dir}/config`, 0o500)
        const blocked = yield* repoman(["new", "isurus", "--image", busybox]).pipe(
          Effect.ensuring(Effect.orDie(fs.chmod(`${dir}/config`, 0o700)))
        )
        assert.strictEqual(blocked.code, 1, blocked.stderr)
        assert.deepStrictEqual(yield* client.listInstances(project), [])
        assert.strictEqual(yield* fs.readFileString(registry), before)
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    300_000
  )

  it.live(
    "invariant 4: the daemon goes away once the container exists: no registry entry; later list and remove clean up",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const { dir, reposRoot, repomanIn, setup, client, project } = yield* sandbox
        assert.strictEqual((yield* setup).code, 0)
        yield* fs.makeDirectory(`${reposRoot}/isurus`)
        yield* fs.writeFileString(`${reposRoot}/isurus/README`, "keep me\n")
        const registry = `${dir}/config/repoman.toml`
        const before = yield* fs.readFileString(registry)

        // repoman talks to incusd through a proxy that vanishes, socket and connections, at
        // the first file request: right after the create request made and started the container.
        const proxy = yield* vanishingProxy(`${dir}/incus.sock`, (request) => request.includes("/files?"))
        const cut = yield* repomanIn({ INCUS_SOCKET: proxy.path })(["new", "isurus", "--image", busybox])
        assert.isTrue(proxy.vanished(), "the proxy saw the file request")
        assert.strictEqual(cut.code, 1, cut.stderr)
        assert.include(cut.stderr, "not reachable")
        assert.include(cut.stderr, "'repoman remove isurus' deletes it")
        assert.notInclude(cut.stderr, "    at ")
        assert.strictEqual(yield* fs.readFileString(registry), before)

        // The daemon is back: the container repoman made shows as unregistered, and remove deletes it.
        const repoman = repomanIn()
        const listed = yield* repoman(["list", "--json"])
        assert.strictEqual(listed.code, 0, listed.stderr)
        const rows = Schema.decodeUnknownSync(Schema.fromJsonString(Schema.Array(Schema.Struct({
          name: Schema.String,
          kind: Schema.String
        }))))(listed.stdout)
        assert.deepStrictEqual(rows.map((r) => [r.name, r.kind]), [["isurus", "unregistered"]])
        const removed = yield* repoman(["remove", "isurus", "--yes"])
        assert.strictEqual(removed.code, 0, removed.stderr)
        assert.include(removed.stdout, "not in the registry")
        assert.deepStrictEqual(yield* client.listInstances(project), [])
        assert.strictEqual(yield* fs.readFileString(`${reposRoot}/isurus/README`), "keep me\n")
        assert.strictEqual(yield* fs.readFileString(registry), before)
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    300_000
  )
})
