/**
 * A project on a remote Incus, end to end (REPOMAN_INTEGRATION=1): incusd
 * over https://127.0.0.1:8443 with a client certificate restricted to the
 * test's Incus project (trust token, `incus remote add`), and no unix
 * socket in reach. The repo lives in a storage volume there: `new --from`
 * sends a host tree, the container works in it, `pull`/`push` move trees,
 * a session snapshots it, `undo` goes back, `sync` exports it to the
 * backup mount, `restore` imports it for a new project. The container
 * plays the attacker for `pull`: a planted `.git` with hooks, a symlink
 * out, a name with escape sequences.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import { isTrusted, trustRestricted } from "../../incus/test/remoteTrust.ts"
import { debian, IntegrationLayer, sandbox } from "./integration.ts"

const noSocket = "/nonexistent/repoman-remote-volume/unix.socket"

/** `incus ARGS` as the admin (the test user is in incus-admin), through the unix socket. */
const admin = (args: ReadonlyArray<string>): string =>
  execFileSync("incus", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })

/**
 * An image of the Debian test image with a git repo at /srv/seed.git (one
 * commit), published under `alias` (in the default project, where the
 * restricted project takes its images from).
 */
const publishSeeded = (project: string, alias: string) => {
  const maker = "seedmaker"
  admin(["launch", debian, maker, "--project", project])
  try {
    admin([
      "exec",
      maker,
      "--project",
      project,
      "--",
      "sh",
      "-c",
      "git init -q -b main /tmp/w && cd /tmp/w && echo seed > f && git add f && " +
      "git -c user.name=t -c user.email=t@e commit -qm 'seeded inside' && git clone -q --bare /tmp/w /srv/seed.git && chown -R 1000:1000 /srv/seed.git"
    ])
    admin(["stop", maker, "--project", project])
    admin(["publish", maker, "--project", project, "--alias", alias, "--compression", "none"])
  } finally {
    admin(["delete", maker, "--project", project, "--force"])
  }
}
const backupMount = process.env["REPOMAN_CI_BACKUP_MOUNT"] ?? ""

describe("a project on a remote Incus: the repo in a volume there", () => {
  it.live(
    "new --from, exec, pull, push, snapshots and undo, sync and restore, over HTTPS only",
    () =>
      Effect.gen(function*() {
        assert.notStrictEqual(backupMount, "", "REPOMAN_CI_BACKUP_MOUNT must be set (scripts/incus/backup-mounts.sh)")
        const { dir, project, repoman, repomanIn, reposRoot, setupArgs } = yield* sandbox
        const backupRoot = `${backupMount}/${project}`
        fs.mkdirSync(backupRoot)
        yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(backupRoot, { recursive: true, force: true })))
        // The admin's step, on the server: the project (through the unix socket), then a trust token for it.
        const s = yield* repoman([...setupArgs, "--backup-root", backupRoot, "--image", debian])
        assert.strictEqual(s.code, 0, s.stderr)
        const trust = yield* Effect.acquireRelease(Effect.sync(() => trustRestricted(project, "vol")), (t) =>
          Effect.sync(() => {
            t.remove()
            assert.isFalse(isTrusted(t.fingerprint), "the test's trust entry is still there")
          }))
        // From here on: HTTPS only.
        const remote = repomanIn({ INCUS_SOCKET: noSocket, INCUS_CONF: trust.conf, REPOMAN_REMOTE: trust.name })
        const inside = (script: string) =>
          remote(["exec", "vol", "--", "sh", "-c", script])

        // A host tree: a script, a private file, a nested file, a symlink, the user's own .git.
        const src = `${dir}/src`
        fs.mkdirSync(`${src}/lib/deep`, { recursive: true })
        fs.writeFileSync(`${src}/run.sh`, "#!/bin/sh\necho ran\n")
        fs.chmodSync(`${src}/run.sh`, 0o755)
        fs.writeFileSync(`${src}/notes.txt`, "v1\n")
        fs.chmodSync(`${src}/notes.txt`, 0o600)
        fs.writeFileSync(`${src}/lib/deep/a.txt`, "deep\n")
        fs.symlinkSync("lib/deep/a.txt", `${src}/link`)

        const created = yield* remote(["new", "vol", "--from", src])
        assert.strictEqual(created.code, 0, created.stdout + created.stderr)
        const repo = `${reposRoot}/vol`
        assert.include(created.stdout, `repo ${repo} is a storage volume of the remote Incus`)
        assert.isFalse(fs.existsSync(repo), "nothing is made on this host for the repo")

        // Inside: the tree at the same path, owned by uid 1000, modes and the symlink kept.
        const look = yield* inside(
          `cd ${repo} && ./run.sh && stat -c '%u:%g %a %n' run.sh notes.txt lib/deep/a.txt && readlink link && cat link`
        )
        assert.strictEqual(look.code, 0, look.stderr)
        assert.strictEqual(
          look.stdout,
          `ran\n1000:1000 755 run.sh\n1000:1000 600 notes.txt\n1000:1000 644 lib/deep/a.txt\nlib/deep/a.txt\ndeep\n`
        )

        // The agent works there, and plants what a hostile one would for the host.
        const planted = yield* inside(
          `cd ${repo} && echo agent > made-inside.txt && mkdir -p .git/hooks && ` +
            `printf '#!/bin/sh\\ntouch /tmp/pwned\\n' > .git/hooks/post-checkout && ` +
            `printf '[core]\\n\\tfsmonitor = touch /tmp/pwned\\n' > .git/config && ` +
            `ln -s /etc/shadow shadow && : > "$(printf 'esc\\033]0;owned\\007')"`
        )
        assert.strictEqual(planted.code, 0, planted.stderr)

        // pull: the tree comes back, never the container's .git; the escape sequence is escaped.
        const pulled = yield* remote(["pull", "vol", `${dir}/back`])
        assert.strictEqual(pulled.code, 0, pulled.stderr)
        assert.strictEqual(fs.readFileSync(`${dir}/back/made-inside.txt`, "utf8"), "agent\n")
        assert.strictEqual(fs.readFileSync(`${dir}/back/lib/deep/a.txt`, "utf8"), "deep\n")
        assert.strictEqual(fs.statSync(`${dir}/back/run.sh`).mode & 0o777, 0o755)
        assert.strictEqual(fs.statSync(`${dir}/back/notes.txt`).mode & 0o777, 0o600)
        assert.isFalse(fs.existsSync(`${dir}/back/.git`))
        assert.strictEqual(fs.readlinkSync(`${dir}/back/shadow`), "/etc/shadow")
        assert.notInclude(pulled.stdout + pulled.stderr, "\x1b")
        // pull never writes into a directory that has something in it.
        const again = yield* remote(["pull", "vol", `${dir}/back`])
        assert.strictEqual(again.code, 2)

        // push: a snapshot first, then the host's version in.
        fs.writeFileSync(`${src}/notes.txt`, "v2\n")
        const pushed = yield* remote(["push", "vol", src, "--json"])
        assert.strictEqual(pushed.code, 0, pushed.stderr)
        const { snapshot } = JSON.parse(pushed.stdout) as { snapshot: string }
        assert.strictEqual((yield* inside(`cat ${repo}/notes.txt`)).stdout, "v2\n")

        // The session above took a snapshot before it ran; undo goes back to the push's.
        const listed = yield* remote(["checkpoints", "vol", "--json"])
        assert.strictEqual(listed.code, 0, listed.stderr)
        const kinds = (JSON.parse(listed.stdout) as { snapshots: ReadonlyArray<{ kind: string }> }).snapshots
          .map((x) =>
            x.kind
          )
        assert.includeMembers(kinds, ["session", "push"])
        const undone = yield* remote(["undo", "vol", snapshot])
        assert.strictEqual(undone.code, 0, undone.stderr)
        assert.strictEqual((yield* inside(`cat ${repo}/notes.txt`)).stdout, "v1\n")

        // status: healthy, the repo a volume, checked from inside.
        const st = yield* remote(["status", "vol", "--json"])
        assert.strictEqual(st.code, 0, st.stdout + st.stderr)
        const [report] = JSON.parse(st.stdout) as ReadonlyArray<Record<string, unknown>>
        assert.deepInclude(report, { storage: "volume", healthy: true })

        // ssh for editors, through the remote: the ProxyCommand carries the remote and the client config dir,
        // so ssh works from an environment that names neither (and has no unix socket either).
        const printed = yield* remote(["ssh-config", "vol"])
        assert.strictEqual(printed.code, 0, printed.stderr)
        assert.include(printed.stdout, `--remote ${trust.name}`)
        fs.writeFileSync(`${dir}/ssh_config`, printed.stdout)
        const ssh = execFileSync("ssh", [
          "-F",
          `${dir}/ssh_config`,
          "-o",
          "BatchMode=yes",
          "repoman-vol",
          "--",
          "pwd; cat notes.txt"
        ], {
          encoding: "utf8",
          env: {
            PATH: process.env["PATH"] ?? "/usr/bin:/bin",
            HOME: process.env["HOME"] ?? "/",
            INCUS_SOCKET: noSocket
          },
          stdio: ["ignore", "pipe", "pipe"],
          timeout: 120_000
        })
        assert.strictEqual(ssh, `${repo}\nv1\n`)

        // sync: the engine's export lands on the backup mount; restore makes it another project's volume.
        const synced = yield* remote(["sync", "vol"])
        assert.strictEqual(synced.code, 0, synced.stdout + synced.stderr)
        const restored = yield* remote(["restore", "vol", "--to", "vol2"])
        assert.strictEqual(restored.code, 0, restored.stdout + restored.stderr)
        const second = yield* remote(["new", "vol2", "--repo", "vol"])
        assert.strictEqual(second.code, 0, second.stdout + second.stderr)
        const back = yield* remote(["exec", "vol2", "--", "cat", `${repo}/notes.txt`, `${repo}/made-inside.txt`])
        assert.strictEqual(back.stdout, "v1\nagent\n", back.stderr)

        // new --git clones inside, with the container's own git: the image carries a seed repo (published here).
        const seeded = `rmit-seeded-${project.slice(5)}`
        yield* Effect.acquireRelease(
          Effect.sync(() => publishSeeded(project, seeded)),
          () => Effect.sync(() => admin(["image", "delete", seeded]))
        )
        const cloned = yield* remote(["new", "gitvol", "--image", seeded, "--git", "file:///srv/seed.git"])
        assert.strictEqual(cloned.code, 0, cloned.stdout + cloned.stderr)
        assert.include(cloned.stdout, "cloned file:///srv/seed.git inside")
        const log = yield* remote(["exec", "gitvol", "--", "git", "-C", `${reposRoot}/gitvol`, "log", "--format=%s"])
        assert.strictEqual(log.stdout, "seeded inside\n", log.stderr)
        // A clone that fails: git's reason, exit 1, and no container, no volume, no registry entry left.
        const failed = yield* remote(["new", "badgit", "--image", seeded, "--git", "file:///srv/none.git"])
        assert.strictEqual(failed.code, 1, failed.stdout + failed.stderr)
        assert.include(failed.stderr, "does not appear to be a git repository")
        const listed2 = admin(["query", `/1.0/storage-pools/default/volumes/custom?project=${project}`])
        assert.notInclude(listed2, "badgit")
        assert.notInclude(admin(["list", "--project", project, "-c", "n", "-f", "csv"]), "badgit")

        // remove keeps the volume (remove never deletes a repo): new takes it up again.
        const removed = yield* remote(["remove", "vol", "--yes"])
        assert.strictEqual(removed.code, 0, removed.stderr)
        const anew = yield* remote(["new", "vol"])
        assert.strictEqual(anew.code, 0, anew.stdout + anew.stderr)
        assert.strictEqual((yield* inside(`cat ${repo}/notes.txt`)).stdout, "v1\n")
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    900_000
  )
})
