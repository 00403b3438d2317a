/**
 * Least privilege against the real incusd, as two non-root users: the test
 * user (in incus-admin, which is root-equivalent) and a second one in group
 * `incus` only, reaching Incus through incus-user (scripts/ci/leastpriv.sh
 * provisions it and lets the test user run commands as it with sudo). Every
 * cross-user attack of issue 15 is made with the real `repoman` and
 * refused; unsafe profiles are refused with one line and nothing installed;
 * the registry's duplicate names and a repo symlinked out of the repos root.
 */
import { assert, describe, it } from "@effect/vitest"
import * as IncusClient from "@repoman/incus/IncusClient"
import { managedConfig } from "@repoman/incus/IncusLabels"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as ChildProcess from "effect/process/ChildProcess"
import { randomBytes } from "node:crypto"
import * as path from "node:path"
import { bin, busybox, IntegrationLayer, type Outcome, outcome, repomanWith, sandbox } from "./integration.ts"

const timeout = 300_000

/** What scripts/ci/leastpriv.sh recorded about the second user; the suite cannot run without it. */
const second = (() => {
  const get = (name: string) => {
    const value = process.env[name]
    if (value === undefined || value === "") {
      throw new Error(`${name} is not set: run scripts/ci/leastpriv.sh (as root) to provision the second test user`)
    }
    return value
  }
  return {
    user: get("REPOMAN_CI2_USER"),
    uid: Number(get("REPOMAN_CI2_UID")),
    home: get("REPOMAN_CI2_HOME"),
    project: get("REPOMAN_CI2_PROJECT"),
    tmp: get("REPOMAN_CI2_TMP")
  }
})()

/** A command run as the second user (sudo), with a clean environment as a login would give it. */
const asSecond = (argv: ReadonlyArray<string>) =>
  outcome(ChildProcess.make("sudo", ["-n", "-u", second.user, "--", ...argv], { stdin: "ignore" })).pipe(
    Effect.orDie
  )

/** The one line a refusal prints (and that it is one). */
const oneLine = (o: Outcome) => {
  const lines = o.stderr.trim().split("\n")
  assert.strictEqual(lines.length, 1, o.stderr)
  return lines[0] ?? ""
}

/**
 * The second user's own sandbox: a config dir and repos root in its home
 * (inside its project's allowed paths), readable by others so the first user
 * can try `run` from inside its repo; removed at the end, with its containers.
 */
const secondBox = Effect.gen(function*() {
  const made = yield* asSecond(["mktemp", "-d", "-p", second.tmp, "repoman-cross-XXXXXX"])
  assert.strictEqual(made.code, 0, made.stderr)
  const dir = made.stdout.trim()
  const env = [
    `HOME=${second.home}`,
    `USER=${second.user}`,
    `PATH=${path.dirname(process.execPath)}:/usr/bin:/bin`,
    "INCUS_SOCKET=",
    `TMPDIR=${second.tmp}`,
    `REPOMAN_CONFIG_DIR=${dir}/config`,
    `XDG_STATE_HOME=${dir}/state`
  ]
  const repoman = (args: ReadonlyArray<string>) => asSecond(["env", "-i", ...env, process.execPath, bin, ...args])
  yield* Effect.addFinalizer(() =>
    Effect.gen(function*() {
      const listed = yield* repoman(["list", "--json"])
      for (const row of (JSON.parse(listed.stdout || "[]") as ReadonlyArray<{ name: string }>)) {
        yield* repoman(["remove", row.name, "--yes"])
      }
      yield* asSecond(["rm", "-rf", dir])
    }).pipe(Effect.ignore)
  )
  assert.strictEqual((yield* asSecond(["chmod", "0755", dir])).code, 0)
  assert.strictEqual((yield* asSecond(["mkdir", "-p", `${dir}/repos`])).code, 0)
  const setup = yield* repoman(["setup", "--non-interactive", "--repos-root", `${dir}/repos`, "--image", busybox])
  assert.strictEqual(setup.code, 0, setup.stderr)
  return { dir, reposRoot: `${dir}/repos`, repoman }
})

/** A registry naming `project` and one project entry, written by hand as an attacker would. */
const registryNaming = (project: string, reposRoot: string, name: string) =>
  [
    "schema = 3",
    "[defaults]",
    `repos_root = "${reposRoot}"`,
    `incus_project = "${project}"`,
    `default_image = "${busybox}"`,
    "[[project]]",
    `name = "${name}"`,
    `repo = "${name}"`,
    `image = "${busybox}"`,
    "profiles = [\"default\"]",
    "created = \"2026-01-01T00:00:00Z\"",
    ""
  ].join("\n")

describe("two users on one Incus", () => {
  it.live(
    "a second user's repoman, though in incus-admin, cannot take over, use, remove or uninstall a user's project",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const client = yield* IncusClient.IncusClient
        // The victim: the user without incus-admin, in the project an admin made for it.
        const victim = yield* secondBox
        const name = `victim-${randomBytes(2).toString("hex")}`
        assert.strictEqual((yield* asSecond(["mkdir", `${victim.reposRoot}/${name}`])).code, 0)
        const made = yield* victim.repoman(["new", name])
        assert.strictEqual(made.code, 0, made.stderr)
        const projectBefore = (yield* client.getProject(second.project)).value.config
        const instanceBefore = (yield* client.getInstance(second.project, name)).value

        // The attacker: the admin-group test user, with a registry naming the victim's project.
        const { dir, repoman } = yield* sandbox
        const adopt = yield* repoman(["setup", "--non-interactive", "--incus-project", second.project])
        assert.strictEqual(adopt.code, 1, adopt.stdout)
        assert.include(oneLine(adopt), `Incus project ${second.project}`)
        assert.isFalse(yield* fs.exists(`${dir}/config/repoman.toml`))

        yield* fs.makeDirectory(`${dir}/config`, { recursive: true })
        yield* fs.writeFileString(`${dir}/config/repoman.toml`, registryNaming(second.project, victim.reposRoot, name))
        const why =
          `container ${name} in Incus project ${second.project} belongs to another user (host uid ${second.uid})`
        for (
          const args of [
            ["exec", name, "--", "cat", "/etc/hostname"],
            ["shell", name, "--", "true"],
            ["remove", name, "--yes"],
            ["status", name]
          ]
        ) {
          const refused = yield* repoman(args)
          assert.strictEqual(refused.code, 1, args.join(" "))
          assert.include(oneLine(refused), why, args.join(" "))
        }
        const run = yield* repomanWith({ REPOMAN_CONFIG_DIR: `${dir}/config`, XDG_STATE_HOME: `${dir}/state` }, {
          cwd: `${victim.reposRoot}/${name}`
        })(["run", "--", "id"]).pipe(Effect.orDie)
        assert.strictEqual(run.code, 1)
        assert.include(oneLine(run), why)
        const uninstall = yield* repoman(["uninstall", "--yes"])
        assert.strictEqual(uninstall.code, 1)
        assert.include(oneLine(uninstall), `Incus project ${second.project}`)
        const listed = yield* repoman(["list", "--json"])
        assert.strictEqual(listed.code, 0, listed.stderr)
        assert.include(listed.stdout, "\"kind\": \"foreign\"")

        // Nothing of the victim's changed.
        assert.deepStrictEqual((yield* client.getProject(second.project)).value.config, projectBefore)
        const instanceAfter = (yield* client.getInstance(second.project, name)).value
        assert.deepStrictEqual([instanceAfter.status, instanceAfter.config], [
          instanceBefore.status,
          instanceBefore.config
        ])
        const still = yield* victim.repoman(["exec", name, "--", "true"])
        assert.strictEqual(still.code, 0, still.stderr)
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    timeout
  )

  it.live("a user without incus-admin cannot reach another user's project at all", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const client = yield* IncusClient.IncusClient
      // The victim: the admin-group test user, in a project of its own.
      const { project, reposRoot, repoman, setup } = yield* sandbox
      assert.strictEqual((yield* setup).code, 0)
      yield* fs.makeDirectory(`${reposRoot}/prey`)
      assert.strictEqual((yield* repoman(["new", "prey", "--image", busybox])).code, 0)

      // The attacker: the second user, with a registry naming that project.
      const attacker = yield* secondBox
      const config = `${attacker.dir}/config/repoman.toml`
      const text = registryNaming(project, reposRoot, "prey")
      assert.strictEqual((yield* asSecond(["sh", "-c", "cat > \"$0\" <<'EOF'\n" + text + "EOF", config])).code, 0)
      for (const args of [["exec", "prey", "--", "true"], ["remove", "prey", "--yes"], ["uninstall", "--yes"]]) {
        const refused = yield* attacker.repoman(args)
        assert.strictEqual(refused.code, 1, args.join(" "))
        assert.include(oneLine(refused), "does not have permission", args.join(" "))
      }
      const adopt = yield* attacker.repoman([
        "setup",
        "--non-interactive",
        "--incus-project",
        project,
        "--repos-root",
        attacker.reposRoot
      ])
      assert.strictEqual(adopt.code, 1)
      assert.include(adopt.stderr, "is not granted to you")
      assert.strictEqual((yield* client.getInstance(project, "prey")).value.status, "Running")
    }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)), timeout)

  it.live(
    "setup never adopts a project repoman did not make, or made for another user; an own legacy one it adopts",
    () =>
      Effect.gen(function*() {
        const client = yield* IncusClient.IncusClient
        const uid = process.getuid?.() ?? 1000
        const cases = [
          ["plain", { "features.profiles": "true" }, "was not made by repoman"],
          ["other", { ...managedConfig, "user.repoman.owner": String(second.uid) }, `host uid ${second.uid}`],
          ["legacy-other", { ...managedConfig, "restricted.idmap.uid": String(second.uid) }, "recorded no owner"]
        ] as const
        for (const [label, config, why] of cases) {
          const { dir, project, repoman } = yield* sandbox
          yield* client.createProject({ name: project, description: label, config })
          const before = (yield* client.getProject(project)).value
          const out = yield* repoman(["setup", "--non-interactive", "--incus-project", project])
          assert.strictEqual(out.code, 1, label)
          assert.include(oneLine(out), why, label)
          const after = (yield* client.getProject(project)).value
          assert.deepStrictEqual([after.description, after.config], [before.description, before.config], label)
          assert.isFalse(yield* (yield* FileSystem.FileSystem).exists(`${dir}/config/repoman.toml`), label)
        }
        // Made by an older repoman for this user (it maps this uid): adopted, its owner recorded.
        const { dir, project, repoman, reposRoot } = yield* sandbox
        yield* client.createProject({
          name: project,
          description: "old",
          config: {
            ...managedConfig,
            "restricted": "true",
            "restricted.idmap.uid": String(uid),
            "restricted.idmap.gid": String(process.getgid?.() ?? uid)
          }
        })
        const ok = yield* repoman(["setup", "--non-interactive", "--incus-project", project, "--repos-root", reposRoot])
        assert.strictEqual(ok.code, 0, ok.stderr)
        assert.strictEqual((yield* client.getProject(project)).value.config["user.repoman.owner"], String(uid))

        // And its containers: one that maps this uid is adopted by the first command that acts on it;
        // one that maps none (a shift-mode one, say) stays refused, and nothing is recorded on it.
        const fs = yield* FileSystem.FileSystem
        const gid = process.getgid?.() ?? uid
        const legacy = (name: string, idmap: Record<string, string>) =>
          client.createInstance(project, {
            name,
            type: "container",
            source: { type: "image", alias: busybox },
            profiles: ["default"],
            config: { ...managedConfig, ...idmap },
            devices: {},
            start: true
          })
        yield* legacy("old-mine", { "raw.idmap": `uid ${uid} 1000\ngid ${gid} 1000` })
        yield* legacy("old-theirs", {})
        const entry = (name: string) =>
          `\n[[project]]\nname = "${name}"\nrepo = "${name}"\nimage = "${busybox}"\nprofiles = ["default"]\n` +
          `created = "2026-01-01T00:00:00Z"\n`
        yield* fs.writeFileString(
          `${dir}/config/repoman.toml`,
          `schema = 3\n[defaults]\nrepos_root = "${reposRoot}"\nincus_project = "${project}"\n` +
            entry("old-mine") + entry("old-theirs")
        )
        for (const n of ["old-mine", "old-theirs"]) yield* fs.makeDirectory(`${reposRoot}/${n}`)
        // Made by hand, it has no repo mount: the session runs in / (a missing cwd is refused).
        const mine = yield* repoman(["exec", "old-mine", "--cwd", "/", "--", "true"])
        assert.strictEqual(mine.code, 0, mine.stderr)
        assert.strictEqual(
          (yield* client.getInstance(project, "old-mine")).value.config["user.repoman.owner"],
          String(uid)
        )
        const theirs = yield* repoman(["remove", "old-theirs", "--yes"])
        assert.strictEqual(theirs.code, 1)
        assert.include(oneLine(theirs), "recorded no owner")
        assert.isUndefined((yield* client.getInstance(project, "old-theirs")).value.config["user.repoman.owner"])
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    timeout
  )
})

describe("profiles: an allow list and the sensitive paths", () => {
  it.live(
    "each unsafe profile is refused with one line naming what, nothing is installed, and new still works",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const client = yield* IncusClient.IncusClient
        const home = process.env["HOME"] ?? "/home/repoman-ci"
        const uid = process.getuid?.() ?? 1000
        const { dir, project, reposRoot, repoman, setup } = yield* sandbox
        assert.strictEqual((yield* setup).code, 0)
        const disk = (source: string) => `devices:\n  d:\n    type: disk\n    source: ${source}\n    path: /mnt/d\n`
        const unsafe: ReadonlyArray<readonly [string, string, string]> = [
          [
            "intercept",
            "config:\n  security.syscalls.intercept.mknod: \"true\"\n",
            "security.syscalls.intercept.mknod"
          ],
          ["shutdown", "config:\n  boot.host_shutdown_timeout: \"1\"\n", "boot.host_shutdown_timeout"],
          [
            "bus",
            "devices:\n  p:\n    type: proxy\n    listen: unix:/tmp/bus\n    connect: unix:/run/dbus/system_bus_socket\n",
            "proxy"
          ],
          ["agents", disk(`/run/user/${uid}`), `/run/user/${uid}`],
          ["etc", disk("/etc"), "/etc"],
          ["incusstate", disk("/var/lib/incus"), "/var/lib/incus"],
          ["otherhome", disk(second.home), second.home],
          ["tmp", disk("/tmp"), "/tmp"],
          ["dotlocal", disk(`${home}/.local`), `${home}/.local`],
          ["pass", disk(`${home}/.password-store`), `${home}/.password-store`],
          ["keyring", disk(`${home}/.local/share/keyrings`), `${home}/.local/share/keyrings`],
          ["aws", disk(`${home}/.aws`), `${home}/.aws`]
        ]
        yield* fs.makeDirectory(`${dir}/config/profiles.d`, { recursive: true })
        for (const [name, text] of unsafe) yield* fs.writeFileString(`${dir}/config/profiles.d/${name}.yaml`, text)
        const before = (yield* client.getProject(project)).value.config
        const profiles = (yield* client.listProfiles(project)).map((p) => p.name)
        for (const [name, , what] of unsafe) {
          const out = yield* repoman(["profile", "install", name])
          assert.strictEqual(out.code, 1, `${name}: ${out.stdout}`)
          assert.include(oneLine(out), what, name)
        }
        // --allow-sensitive names paths; it lets nothing off the allow list through.
        const forced = yield* repoman(["profile", "install", "--allow-sensitive", "/etc", "intercept"])
        assert.strictEqual(forced.code, 1)
        assert.deepStrictEqual((yield* client.getProject(project)).value.config, before)
        assert.deepStrictEqual((yield* client.listProfiles(project)).map((p) => p.name), profiles)
        // The project is not bricked: a container still starts.
        yield* fs.makeDirectory(`${reposRoot}/after`)
        const after = yield* repoman(["new", "after", "--image", busybox])
        assert.strictEqual(after.code, 0, after.stderr)
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    timeout
  )

  it.live("profile remove takes back the allowed paths only that profile needed", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const client = yield* IncusClient.IncusClient
      const { dir, project, repomanIn, setup } = yield* sandbox
      assert.strictEqual((yield* setup).code, 0)
      const home = `${dir}/home`
      const repoman = repomanIn({ HOME: home })
      for (const d of ["data-a", "data-b"]) yield* fs.makeDirectory(`${home}/${d}`, { recursive: true })
      yield* fs.makeDirectory(`${dir}/config/profiles.d`, { recursive: true })
      const share = (d: string) => `devices:\n  s:\n    type: disk\n    source: \${HOME}/${d}\n    path: /mnt/${d}\n`
      yield* fs.writeFileString(`${dir}/config/profiles.d/pa.yaml`, share("data-a"))
      yield* fs.writeFileString(`${dir}/config/profiles.d/pb.yaml`, share("data-b"))
      yield* fs.writeFileString(`${dir}/config/profiles.d/pc.yaml`, share("data-a"))
      const paths = () =>
        client.getProject(project).pipe(
          Effect.map((p) => (p.value.config["restricted.devices.disk.paths"] ?? "").split(","))
        )
      const before = yield* paths()
      assert.strictEqual((yield* repoman(["profile", "install", "pa", "pb", "pc"])).code, 0)
      const [a, b] = [`${home}/data-a`, `${home}/data-b`].map((p) => path.resolve(p))
      assert.includeMembers(yield* paths(), [a, b])
      const rb = yield* repoman(["profile", "remove", "pb"])
      assert.include(rb.stdout, `no longer allowed in the project's disk paths: ${b}`)
      assert.notInclude(yield* paths(), b)
      // pc still needs data-a.
      assert.strictEqual((yield* repoman(["profile", "remove", "pa"])).code, 0)
      assert.include(yield* paths(), a)
      assert.strictEqual((yield* repoman(["profile", "remove", "pc"])).code, 0)
      assert.deepStrictEqual(yield* paths(), before)
    }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)), timeout)
})

describe("the registry", () => {
  it.live(
    "two projects of one name: every command exits 1 naming the file and line, and the file stays",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const { dir, repoman } = yield* sandbox
        const entry = (repo: string) =>
          `[[project]]\nname = "twin"\nrepo = "${repo}"\nimage = "img"\nprofiles = ["default"]\ncreated = "2026-01-01T00:00:00Z"\n`
        const text = `schema = 3\n\n${entry("one")}\n${entry("two")}`
        yield* fs.makeDirectory(`${dir}/config`, { recursive: true })
        yield* fs.writeFileString(`${dir}/config/repoman.toml`, text)
        for (const args of [["list"], ["status", "twin"], ["remove", "twin", "--yes"]]) {
          const out = yield* repoman(args)
          assert.strictEqual(out.code, 1, args.join(" "))
          assert.include(oneLine(out), `${dir}/config/repoman.toml:11: key project[1].name`, args.join(" "))
        }
        assert.strictEqual(yield* fs.readFileString(`${dir}/config/repoman.toml`), text)
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    timeout
  )

  it.live(
    "sync refuses a repo that became a symlink out of the repos root, and mirrors nothing of it",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const { dir, reposRoot, repoman } = yield* sandbox
        const backup = `${dir}/backup`
        yield* fs.makeDirectory(backup)
        yield* fs.makeDirectory(`${reposRoot}/fine`)
        yield* fs.writeFileString(`${reposRoot}/fine/README`, "fine\n")
        yield* fs.makeDirectory(`${dir}/secret`)
        yield* fs.writeFileString(`${dir}/secret/id_ed25519`, "PRIVATE KEY\n")
        yield* fs.symlink(`${dir}/secret`, `${reposRoot}/swapped`)
        const project = (name: string) =>
          `[[project]]\nname = "${name}"\nrepo = "${name}"\nimage = "img"\nprofiles = ["default"]\ncreated = "2026-01-01T00:00:00Z"\n`
        yield* fs.makeDirectory(`${dir}/config`, { recursive: true })
        yield* fs.writeFileString(
          `${dir}/config/repoman.toml`,
          `schema = 3\n[defaults]\nrepos_root = "${reposRoot}"\nbackup_root = "${backup}"\n[backup]\nrequire_mount = false\n\n` +
            `${project("fine")}\n${project("swapped")}`
        )
        const out = yield* repoman(["sync"])
        assert.strictEqual(out.code, 1, out.stdout)
        assert.include(`${out.stdout}${out.stderr}`, `resolves to ${dir}/secret, outside the repos root`)
        assert.isTrue(yield* fs.exists(`${backup}/fine/README`))
        const copied = yield* fs.readDirectory(backup, { recursive: true })
        assert.isFalse(copied.some((p) => p.includes("id_ed25519")), copied.join(", "))
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    timeout
  )
})
