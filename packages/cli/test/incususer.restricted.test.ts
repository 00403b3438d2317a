/**
 * repoman run by a user who is NOT in incus-admin: a member of group `incus`
 * only, reaching Incus through incus-user, which confines them to a project
 * an admin set up for them (`user-<uid>`; scripts/ci/leastpriv.sh does that
 * admin step for `repoman-ci2`). The non-admin CI job runs this file as that
 * user (REPOMAN_CI_RESTRICTED=1, INCUS_SOCKET empty so the socket is picked as
 * the `incus` client picks it, TMPDIR inside the project's allowed paths).
 *
 * Every test shares that one project (a restricted user cannot make more),
 * so this is one file, run sequentially, and each test removes what it made.
 */
import { assert, describe, it } from "@effect/vitest"
import { ContainerRuntime } from "@repoman/core/ContainerRuntime"
import type { IdMapping } from "@repoman/core/IdMapping"
import { ProjectName } from "@repoman/core/Ids"
import { ContainerRuntimeSuite } from "@repoman/core/testing/ContainerRuntimeSuite"
import * as IncusClient from "@repoman/incus/IncusClient"
import * as IncusContainerRuntime from "@repoman/incus/IncusContainerRuntime"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { busybox, debian, IntegrationLayer, type Outcome, repomanWith } from "./integration.ts"

const uid = process.getuid?.() ?? 1000
const gid = process.getgid?.() ?? 1000
const project = process.env["REPOMAN_CI2_PROJECT"] ?? `user-${uid}`
const timeout = 300_000

const Json = Schema.fromJsonString(Schema.Unknown)
const json = (text: string) => Schema.decodeUnknownEffect(Json)(text).pipe(Effect.orDie)

/** One line of stderr (the message of a refusal), for asserting that it is one. */
const oneLine = (o: Outcome) => {
  const lines = o.stderr.trim().split("\n")
  assert.strictEqual(lines.length, 1, o.stderr)
  return lines[0] ?? ""
}

/**
 * A config dir and repos root of the user's own (inside the project's
 * allowed paths), the `repoman` command in it, and the Incus client as this
 * user reaches it. Instances named through `name` are removed at the end.
 */
const box = Effect.gen(function*() {
  const files = yield* FileSystem.FileSystem
  const dir = yield* files.makeTempDirectoryScoped({ prefix: "repoman-rs-" })
  const reposRoot = `${dir}/repos`
  yield* files.makeDirectory(reposRoot)
  const env = { REPOMAN_CONFIG_DIR: `${dir}/config`, XDG_STATE_HOME: `${dir}/state` }
  const client = yield* IncusClient.IncusClient
  const made: Array<string> = []
  yield* Effect.addFinalizer(() =>
    Effect.forEach(made, (n) =>
      Effect.ignore(
        Effect.gen(function*() {
          const runtime = yield* ContainerRuntime
          yield* runtime.remove(ProjectName.make(n))
        }).pipe(Effect.provide(IncusContainerRuntime.layer({ project }).pipe(Layer.provide(IncusClient.layer()))))
      ), { discard: true })
  )
  const tag = randomBytes(2).toString("hex")
  const name = (label: string) => {
    const n = `rs-${label}-${tag}`
    made.push(n)
    return n
  }
  const repoman = (args: ReadonlyArray<string>) => repomanWith(env)(args).pipe(Effect.orDie)
  const setup = repoman(["setup", "--non-interactive", "--repos-root", reposRoot, "--image", busybox])
  return { dir, reposRoot, repoman, setup, client, name }
})

describe("repoman without incus-admin (incus-user)", () => {
  it.live(
    "setup checks the project an admin made instead of making one, and changes nothing of it",
    () =>
      Effect.gen(function*() {
        const { client, dir, setup } = yield* box
        const before = (yield* client.getProject(project)).value.config
        const s = yield* setup
        assert.strictEqual(s.code, 0, s.stderr)
        assert.include(s.stdout, "incus-user at /var/lib/incus/unix.socket.user (restricted")
        assert.include(s.stdout, `project     ${project} `)
        assert.include(s.stderr, "not checked: storage pools")
        assert.deepStrictEqual((yield* client.getProject(project)).value.config, before)

        // A project this user was not granted: the admin steps, and no registry written.
        const other = yield* repomanWith({ REPOMAN_CONFIG_DIR: `${dir}/other` })([
          "setup",
          "--non-interactive",
          "--incus-project",
          "repoman"
        ]).pipe(Effect.orDie)
        assert.strictEqual(other.code, 1, other.stdout)
        assert.include(other.stderr, "an admin must do this once")
        assert.include(other.stderr, "is not granted to you")
        assert.include(other.stderr, `repoman setup --incus-project ${project}`)
        assert.isFalse(fs.existsSync(`${dir}/other/repoman.toml`))
        // Nor may it change, delete or list the server's other projects.
        const denied = yield* Effect.flip(client.getProject("default"))
        assert.strictEqual(denied.reason._tag, "Forbidden")
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    timeout
  )

  it.live(
    "a container works as with incus-admin: the repo mapped to the user, a host id range of its own, default limits",
    () =>
      Effect.gen(function*() {
        const files = yield* FileSystem.FileSystem
        const { name, reposRoot, repoman, setup } = yield* box
        assert.strictEqual((yield* setup).code, 0)
        const n = name("work")
        yield* files.makeDirectory(`${reposRoot}/${n}`)
        const made = yield* repoman(["new", n])
        assert.strictEqual(made.code, 0, made.stderr)
        const sh = yield* repoman(["exec", n, "--", "sh", "-c", "id -u; id -g; echo inside > by-container"])
        assert.strictEqual(sh.code, 0, sh.stderr)
        assert.deepStrictEqual(sh.stdout.trim().split("\n"), ["1000", "1000"])
        const written = yield* files.stat(`${reposRoot}/${n}/by-container`)
        assert.deepStrictEqual([Option.getOrNull(written.uid), Option.getOrNull(written.gid)], [uid, gid])

        const st = yield* repoman(["status", n, "--json"])
        const [status = {}] = (yield* json(st.stdout)) as ReadonlyArray<Record<string, unknown>>
        assert.match(String(status["idRange"]), /^[1-9]\d*\+65536$/)
        assert.deepStrictEqual(status["limits"], {
          cpu: null,
          memory: "50%",
          processes: "2000",
          disk: "20GiB",
          inotifyInstances: "32"
        })
        assert.strictEqual((status["userProbe"] as Record<string, unknown>)["ok"], true)
        const rootProbe = status["rootProbe"] as Record<string, unknown>
        assert.notStrictEqual(rootProbe["hostUid"], 0)

        const l = yield* repoman(["list"])
        assert.include(l.stdout, "memory 50%, processes 2000, disk 20GiB, inotify 32")
        const r = yield* repoman(["remove", n, "--yes"])
        assert.strictEqual(r.code, 0, r.stderr)
        assert.isTrue(fs.existsSync(`${reposRoot}/${n}/by-container`))
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    timeout
  )

  it.live(
    "what only an admin may do is refused with the command an admin runs, and nothing changes",
    () =>
      Effect.gen(function*() {
        const files = yield* FileSystem.FileSystem
        const { client, dir, repoman, setup } = yield* box
        assert.strictEqual((yield* setup).code, 0)
        const before = (yield* client.getProject(project)).value.config
        const profiles = (yield* client.listProfiles(project)).map((p) => p.name).sort()
        yield* files.makeDirectory(`${dir}/config/profiles.d`, { recursive: true })
        // A host directory outside the paths the admin allowed (not a sensitive one).
        yield* files.writeFileString(
          `${dir}/config/profiles.d/docs.yaml`,
          "devices:\n  docs:\n    type: disk\n    source: /usr/share/doc\n    path: /usr/share/doc\n    readonly: true\n"
        )
        const refused = yield* repoman(["profile", "install", "docs"])
        assert.strictEqual(refused.code, 1)
        const line = oneLine(refused)
        assert.include(line, "only an admin can let project")
        assert.include(line, `incus project set ${project} restricted.devices.disk.paths=`)
        assert.include(line, "/usr/share/doc")
        assert.deepStrictEqual((yield* client.getProject(project)).value.config, before)
        assert.deepStrictEqual((yield* client.listProfiles(project)).map((p) => p.name).sort(), profiles)
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    timeout
  )

  it.live(
    "uninstall removes this user's containers and profiles, and keeps the project an admin made",
    () =>
      Effect.gen(function*() {
        const files = yield* FileSystem.FileSystem
        const { client, dir, name, reposRoot, repoman, setup } = yield* box
        assert.strictEqual((yield* setup).code, 0)
        const n = name("gone")
        yield* files.makeDirectory(`${reposRoot}/${n}`)
        yield* files.makeDirectory(`${dir}/config/profiles.d`, { recursive: true })
        const profile = `rs-env-${n.slice(-4)}`
        yield* files.writeFileString(`${dir}/config/profiles.d/${profile}.yaml`, "config:\n  environment.RS: \"1\"\n")
        assert.strictEqual((yield* repoman(["profile", "install", profile])).code, 0)
        assert.strictEqual((yield* repoman(["new", n, "--profile", profile])).code, 0)
        const u = yield* repoman(["uninstall", "--yes"])
        assert.strictEqual(u.code, 0, u.stderr)
        assert.include(u.stdout, `container ${n}, stopped and deleted`)
        assert.include(u.stdout, `stays: an admin set it up for you, and only an admin may delete it`)
        assert.include(u.stdout, `Incus project ${project} kept`)
        assert.strictEqual((yield* client.getProject(project)).value.name, project)
        assert.isFalse((yield* client.listInstances(project)).some((i) => i.name === n))
        assert.isFalse((yield* client.listProfiles(project)).some((p) => p.name === profile))
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    timeout
  )

  it.live(
    "inotify: a container whose user holds as many inotify instances as it can does not stop another from starting",
    () =>
      Effect.gen(function*() {
        const files = yield* FileSystem.FileSystem
        const { name, reposRoot, repoman, setup } = yield* box
        assert.strictEqual((yield* setup).code, 0)
        const [a, b] = [name("ino-a"), name("ino-b")]
        for (const n of [a, b]) yield* files.makeDirectory(`${reposRoot}/${n}`)
        assert.strictEqual((yield* repoman(["new", a, "--image", debian])).code, 0)
        // As uid 1000 (an agent), 100 `tail -f`, each trying for an inotify instance (GNU tail
        // polls when it gets none). They keep running after the exec ends. Counted: the
        // inotify descriptors uid 1000's processes hold.
        const hog = yield* repoman([
          "exec",
          a,
          "--",
          "sh",
          "-c",
          "for i in $(seq 100); do setsid -f tail -f /etc/hostname >/dev/null 2>&1 </dev/null; done; sleep 3; " +
          "n=0; for f in /proc/[0-9]*/fd/*; do [ \"$(readlink \"$f\" 2>/dev/null)\" = anon_inode:inotify ] && n=$((n+1)); done; " +
          "echo held $n; echo tails $(grep -lx tail /proc/[0-9]*/comm | wc -l)"
        ])
        assert.strictEqual(hog.code, 0, hog.stderr)
        // The per-container cap (the default limit): the rest fell back to polling.
        assert.include(hog.stdout, "held 32\n")
        assert.include(hog.stdout, "tails 100\n")
        // While they hold them, another container starts and its systemd comes up.
        const started = yield* repoman(["new", b, "--image", debian])
        assert.strictEqual(started.code, 0, started.stderr)
        // (as root inside: systemd's own socket is root's)
        const up = yield* Effect.gen(function*() {
          const runtime = yield* ContainerRuntime
          // systemd's socket appears a moment after the container starts; then wait for it to be up.
          const script = "for i in $(seq 60); do [ -S /run/systemd/private ] && break; sleep 0.5; done; " +
            "systemctl is-system-running --wait"
          return yield* runtime.exec(ProjectName.make(b), ["sh", "-c", script])
        }).pipe(Effect.provide(IncusContainerRuntime.layer({ project }).pipe(Layer.provide(IncusClient.layer()))))
        assert.match(up.stdout.trim(), /^(running|degraded)$/, up.stderr)
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    timeout
  )
})

// The conformance suite, against the runtime as this user has it: restricted to one project.
const hostDir = (label: string) => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `repoman-rs-${label}-`)))
  process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}
const hostUser: IdMapping = { _tag: "HostUser", uid, gid }
ContainerRuntimeSuite(
  "incus-user",
  IncusContainerRuntime.layer({ project }).pipe(Layer.provideMerge(IncusClient.layer())),
  {
    image: busybox,
    timeout,
    allowedPath: hostDir("allowed"),
    // Outside the paths the admin allowed (only the user's home).
    extraPath: "/usr/share",
    idMapping: hostUser
  }
)
