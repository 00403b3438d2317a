/**
 * Issue 6 against the real incusd, through the real `repoman` executable, as
 * a non-root user: `exec` (stdio, TTY, exit code), `run` (project from the
 * current directory) and `uninstall`.
 */
import { assert, describe, it } from "@effect/vitest"
import { markManaged } from "@repoman/incus/IncusLabels"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as ChildProcess from "effect/process/ChildProcess"
import * as Stream from "effect/Stream"
import { bin, busybox, debian, IntegrationLayer, repomanWith, sandbox, snapshot } from "./integration.ts"

/** `repoman <args>` in the sandbox `dir`, from `cwd`, with `input` on stdin. */
const repomanIn = (
  dir: string,
  args: ReadonlyArray<string>,
  options: { cwd?: string; input?: string; env?: Record<string, string> } = {}
) =>
  repomanWith({ REPOMAN_CONFIG_DIR: `${dir}/config`, XDG_STATE_HOME: `${dir}/state`, ...options.env }, options)(args)
    .pipe(Effect.orDie)

describe("issue 6 against a real Incus", () => {
  it.live(
    "exec: stdio and exit code pass through, --env and --cwd apply, a TTY is passed when there is one",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const { dir, reposRoot, repoman, setup } = yield* sandbox
        const repo = `${reposRoot}/isurus`
        yield* fs.makeDirectory(`${repo}/src`, { recursive: true })
        assert.strictEqual((yield* setup).code, 0)
        const n = yield* repoman(["new", "isurus", "--image", busybox])
        assert.strictEqual(n.code, 0, n.stderr)

        const out = yield* repomanIn(dir, [
          "exec",
          "isurus",
          "--env",
          "GREETING=hello world",
          "--",
          "sh",
          "-c",
          "id -u; pwd; echo \"$GREETING\"; cat; echo err >&2; exit 5"
        ], { input: "from stdin\n" })
        assert.strictEqual(out.code, 5, out.stderr)
        assert.deepStrictEqual(out.stdout.split("\n"), ["1000", repo, "hello world", "from stdin", ""])
        assert.strictEqual(out.stderr, "err\n")

        const cwd = yield* repoman(["exec", "isurus", "--cwd", `${repo}/src`, "--", "pwd"])
        assert.strictEqual(cwd.code, 0, cwd.stderr)
        assert.strictEqual(cwd.stdout, `${repo}/src\n`)

        // No TTY here (stdin ignored, pipes): the command sees none.
        const noTty = yield* repoman(["exec", "isurus", "--", "sh", "-c", "test -t 0 && echo tty || echo notty"])
        assert.strictEqual(noTty.stdout, "notty\n")
        // Under a pseudo-terminal (util-linux `script`), the command gets one.
        const script = yield* Effect.scoped(Effect.gen(function*() {
          const handle = yield* ChildProcess.make("script", [
            "-qec",
            [process.execPath, bin, "exec", "isurus", "--", "sh", "-c", "test -t 0 && test -t 1 && echo got-a-tty"]
              .map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" "),
            "/dev/null"
          ], {
            env: { ...process.env, REPOMAN_CONFIG_DIR: `${dir}/config`, XDG_STATE_HOME: `${dir}/state` },
            stdin: "pipe"
          })
          const [stdout, code] = yield* Effect.all([
            Stream.mkString(Stream.decodeText(handle.stdout)),
            handle.exitCode
          ], { concurrency: "unbounded" })
          return { stdout, code: Number(code) }
        })).pipe(Effect.orDie)
        assert.strictEqual(script.code, 0, script.stdout)
        assert.include(script.stdout, "got-a-tty")

        const missing = yield* repoman(["exec", "nope", "--", "true"])
        assert.strictEqual(missing.code, 1)
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    300_000
  )

  it.live(
    "run: from a directory in the repo, starts the stopped container and runs at the same path; refuses elsewhere",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const { dir, reposRoot, repoman, setup, client, project } = yield* sandbox
        const repo = `${reposRoot}/foo`
        yield* fs.makeDirectory(`${repo}/src`, { recursive: true })
        assert.strictEqual((yield* setup).code, 0)
        assert.strictEqual((yield* repoman(["new", "foo", "--image", busybox])).code, 0)
        yield* client.updateInstanceState(project, "foo", { action: "stop", force: true })

        const out = yield* repomanIn(dir, ["run", "--", "sh", "-c", "pwd; id -u; exit 4"], { cwd: `${repo}/src` })
        assert.strictEqual(out.code, 4, out.stderr)
        assert.deepStrictEqual(out.stdout.split("\n"), [`${repo}/src`, "1000", ""])

        const refused = yield* repomanIn(dir, ["run", "--", "true"], { cwd: reposRoot })
        assert.strictEqual(refused.code, 1)
        assert.include(refused.stderr, "is not inside a project's repo")
        assert.include(refused.stderr, repo)
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    300_000
  )
  it.live(
    "uninstall: removes repoman's containers, profiles and Incus project; keeps repos and the registry",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const { dir, reposRoot, repoman, setup, client, project } = yield* sandbox
        for (const name of ["one", "two"]) yield* fs.makeDirectory(`${reposRoot}/${name}`)
        yield* fs.writeFileString(`${reposRoot}/one/keep.txt`, "keep\n")
        assert.strictEqual((yield* setup).code, 0)
        for (const name of ["one", "two"]) {
          const n = yield* repoman(["new", name, "--image", busybox])
          assert.strictEqual(n.code, 0, n.stderr)
        }
        // A profile repoman made (as `profile install` does: marked managed).
        yield* client.createProfile(project, {
          name: "extra",
          description: "",
          config: markManaged({}, process.getuid?.() ?? 0),
          devices: {}
        })
        const before = yield* snapshot(reposRoot)

        const refused = yield* repoman(["uninstall"])
        assert.strictEqual(refused.code, 1)
        assert.include(refused.stdout, "  - container one, stopped and deleted")
        assert.include(refused.stdout, "  - container two, stopped and deleted")
        assert.include(refused.stdout, "  - profile extra")
        assert.include(refused.stdout, `  - the Incus project ${project} itself`)
        assert.strictEqual((yield* client.listInstances(project)).length, 2)

        const u = yield* repoman(["uninstall", "--yes"])
        assert.strictEqual(u.code, 0, u.stderr)
        assert.isFalse((yield* client.listProjects()).some((p) => p.name === project))
        assert.deepStrictEqual(yield* snapshot(reposRoot), before)
        assert.isTrue(yield* fs.exists(`${dir}/config/repoman.toml`))
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    300_000
  )
  it.live(
    "limits and stack: new --cpu --memory and [container] limits reach Incus, list and status show them; new prints the stack",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const { dir, reposRoot, repoman, setup, client, project } = yield* sandbox
        yield* fs.makeDirectory(`${reposRoot}/lim`)
        yield* fs.writeFileString(`${reposRoot}/lim/Cargo.toml`, "[package]\nname = \"lim\"\n")
        assert.strictEqual((yield* setup).code, 0)
        yield* fs.makeDirectory(`${dir}/config/repos.d`, { recursive: true })
        yield* fs.writeFileString(
          `${dir}/config/repos.d/lim.toml`,
          "[container]\nlimits = { processes = 300, memory = \"1GiB\" }\n"
        )
        const n = yield* repoman(["new", "lim", "--image", busybox, "--cpu", "1", "--memory", "256MiB"])
        assert.strictEqual(n.code, 0, n.stderr)
        assert.include(n.stdout, "stack: rust (found Cargo.toml)")
        const instance = (yield* client.getInstance(project, "lim")).value
        assert.strictEqual(instance.config["limits.cpu"], "1")
        assert.strictEqual(instance.config["limits.memory"], "256MiB")
        assert.strictEqual(instance.config["limits.processes"], "300")
        const l = yield* repoman(["list"])
        assert.include(l.stdout, "cpu 1, memory 256MiB, processes 300")
        const st = yield* repoman(["status", "lim"])
        assert.include(st.stdout, "  limits       cpu 1, memory 256MiB, processes 300")
        // Incus validated and applied them: the container runs with them.
        assert.strictEqual(instance.status, "Running")
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    300_000
  )
  it.live(
    "new --git: clones a local bare repo with hooks disabled, mounts it; refuses to clone over an existing dir",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const { dir, reposRoot, repoman, setup } = yield* sandbox
        assert.strictEqual((yield* setup).code, 0)
        // A git template whose post-checkout hook would leave a marker: a stand-in for a hostile hook.
        const marker = `${dir}/hook-ran`
        yield* fs.makeDirectory(`${dir}/template/hooks`, { recursive: true })
        yield* fs.writeFileString(`${dir}/template/hooks/post-checkout`, `#!/bin/sh\ntouch ${marker}\n`)
        yield* fs.chmod(`${dir}/template/hooks/post-checkout`, 0o755)
        yield* fs.writeFileString(`${dir}/gitconfig`, `[init]\n\ttemplateDir = ${dir}/template\n`)
        const env = {
          GIT_CONFIG_GLOBAL: `${dir}/gitconfig`,
          GIT_AUTHOR_NAME: "t",
          GIT_AUTHOR_EMAIL: "t@example.invalid",
          GIT_COMMITTER_NAME: "t",
          GIT_COMMITTER_EMAIL: "t@example.invalid"
        }
        const git = (args: ReadonlyArray<string>) =>
          Effect.scoped(Effect.gen(function*() {
            const handle = yield* ChildProcess.make("git", args, { env: { ...process.env, ...env }, stdin: "ignore" })
            const [, , code] = yield* Effect.all([
              Stream.runDrain(handle.stdout),
              Stream.runDrain(handle.stderr),
              handle.exitCode
            ], { concurrency: "unbounded" })
            return Number(code)
          })).pipe(Effect.orDie)
        yield* fs.makeDirectory(`${dir}/src`)
        yield* fs.writeFileString(`${dir}/src/README`, "cloned\n")
        assert.strictEqual(yield* git(["-C", `${dir}/src`, "init", "-q"]), 0)
        assert.strictEqual(yield* git(["-C", `${dir}/src`, "add", "README"]), 0)
        assert.strictEqual(yield* git(["-C", `${dir}/src`, "commit", "-qm", "init"]), 0)
        assert.strictEqual(yield* git(["clone", "-q", "--bare", `${dir}/src`, `${dir}/bare.git`]), 0)
        // Control: a plain clone runs the hook, so the check below can fail.
        assert.strictEqual(yield* git(["clone", "-q", `${dir}/bare.git`, `${dir}/control`]), 0)
        assert.isTrue(yield* fs.exists(marker), "the template hook runs on a plain clone")
        yield* fs.remove(marker)

        const n = yield* repomanIn(dir, ["new", "cl", "--git", `${dir}/bare.git`, "--image", busybox], { env })
        assert.strictEqual(n.code, 0, n.stderr)
        assert.include(n.stdout, `cloned ${dir}/bare.git into ${reposRoot}/cl`)
        assert.isFalse(yield* fs.exists(marker), "no hook ran")
        const seen = yield* repoman(["exec", "cl", "--", "cat", "README"])
        assert.strictEqual(seen.stdout, "cloned\n", seen.stderr)

        const before = yield* snapshot(`${reposRoot}/cl`)
        const over = yield* repomanIn(dir, ["new", "again", "--repo", "cl", "--git", `${dir}/bare.git`], { env })
        assert.strictEqual(over.code, 1)
        assert.include(over.stderr, "exists already: not cloning over it")
        assert.deepStrictEqual(yield* snapshot(`${reposRoot}/cl`), before)
        const bad = yield* repoman(["new", "bad", "--git", "--upload-pack=touch /tmp/x"])
        assert.strictEqual(bad.code, 2)
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    300_000
  )
  it.live(
    "new --hermetic: the repo is read-only inside, the container works on its own clone, patches come out and apply",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const { dir, reposRoot, repoman, setup } = yield* sandbox
        assert.strictEqual((yield* setup).code, 0)
        const env = {
          GIT_AUTHOR_NAME: "host",
          GIT_AUTHOR_EMAIL: "host@example.invalid",
          GIT_COMMITTER_NAME: "host",
          GIT_COMMITTER_EMAIL: "host@example.invalid"
        }
        const repo = `${reposRoot}/herm`
        const git = (args: ReadonlyArray<string>) =>
          Effect.scoped(Effect.gen(function*() {
            const handle = yield* ChildProcess.make("git", ["-C", repo, ...args], {
              env: { ...process.env, ...env },
              stdin: "ignore"
            })
            const [stdout, , code] = yield* Effect.all([
              Stream.mkString(Stream.decodeText(handle.stdout)),
              Stream.runDrain(handle.stderr),
              handle.exitCode
            ], { concurrency: "unbounded" })
            return { stdout, code: Number(code) }
          })).pipe(Effect.orDie)
        yield* fs.makeDirectory(repo)
        yield* fs.writeFileString(`${repo}/README`, "one\n")
        assert.strictEqual((yield* git(["init", "-q"])).code, 0)
        assert.strictEqual((yield* git(["add", "README"])).code, 0)
        assert.strictEqual((yield* git(["commit", "-qm", "init"])).code, 0)

        const n = yield* repomanIn(dir, ["new", "herm", "--hermetic", "--image", debian], { env })
        assert.strictEqual(n.code, 0, n.stderr)

        const write = yield* repoman(["exec", "herm", "--", "sh", "-c", "touch /srv/repoman/origin/x"])
        assert.notStrictEqual(write.code, 0, "a write to the read-only mount fails")
        assert.include(write.stderr, "Read-only")
        assert.isFalse(yield* fs.exists(`${repo}/x`))

        const work = yield* repoman([
          "exec",
          "herm",
          "--",
          "sh",
          "-c",
          "pwd; echo two >> README && git -c user.name=agent -c user.email=agent@example.invalid commit -qam change" +
          " && git format-patch -q -o /patches HEAD~1 && ls /patches"
        ])
        assert.strictEqual(work.code, 0, work.stderr)
        assert.deepStrictEqual(work.stdout.trim().split("\n"), [repo, "0001-change.patch"])
        assert.strictEqual(yield* fs.readFileString(`${repo}/README`), "one\n", "the host repo is untouched")

        const listed = yield* repoman(["patches", "herm"])
        assert.strictEqual(listed.code, 0, listed.stderr)
        assert.include(listed.stdout, "0001-change.patch")

        yield* fs.writeFileString(`${repo}/dirty`, "x\n")
        const dirty = yield* repomanIn(dir, ["patches", "herm", "--apply"], { env })
        assert.strictEqual(dirty.code, 1)
        assert.include(dirty.stderr, "uncommitted changes")
        yield* fs.remove(`${repo}/dirty`)

        const applied = yield* repomanIn(dir, ["patches", "herm", "--apply"], { env })
        assert.strictEqual(applied.code, 0, applied.stderr)
        assert.strictEqual(yield* fs.readFileString(`${repo}/README`), "one\ntwo\n")
        assert.strictEqual((yield* git(["log", "-1", "--format=%s %an %cn"])).stdout.trim(), "change agent host")
        const again = yield* repomanIn(dir, ["patches", "herm", "--apply"], { env })
        assert.strictEqual(again.stdout.trim(), "no patches to apply")
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    300_000
  )
  it.live(
    "ssh-config: a real ssh client runs a command in the Debian container through sshd -i behind repoman ssh-proxy",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const { dir, reposRoot, repoman, setup } = yield* sandbox
        yield* fs.makeDirectory(`${reposRoot}/sshp`)
        assert.strictEqual((yield* setup).code, 0)
        assert.strictEqual((yield* repoman(["new", "sshp", "--image", debian])).code, 0)
        const c = yield* repoman(["ssh-config", "sshp"])
        assert.strictEqual(c.code, 0, c.stderr)
        assert.include(c.stdout, "Host repoman-sshp")
        assert.include(c.stdout, "ssh-proxy sshp")
        // The private key stays on the host, in the state dir.
        assert.isTrue(yield* fs.exists(`${dir}/state/repoman/ssh/sshp/id_ed25519`))
        yield* fs.writeFileString(`${dir}/ssh_config`, c.stdout)
        // A user who never ran the incus client: its first-run notice must not reach ssh's stderr.
        const freshHome = `${dir}/fresh-home`
        yield* fs.makeDirectory(freshHome)
        const ssh = yield* Effect.scoped(Effect.gen(function*() {
          const handle = yield* ChildProcess.make("ssh", [
            "-F",
            `${dir}/ssh_config`,
            "-o",
            "BatchMode=yes",
            "repoman-sshp",
            "--",
            "id -u; echo \"$HOME\"; echo over-ssh"
          ], { stdin: "ignore", env: { HOME: freshHome, XDG_CONFIG_HOME: `${freshHome}/.config` }, extendEnv: true })
          const [stdout, stderr, code] = yield* Effect.all([
            Stream.mkString(Stream.decodeText(handle.stdout)),
            Stream.mkString(Stream.decodeText(handle.stderr)),
            handle.exitCode
          ], { concurrency: "unbounded" })
          return { stdout, stderr, code: Number(code) }
        })).pipe(Effect.orDie)
        assert.strictEqual(ssh.code, 0, ssh.stderr)
        assert.notInclude(ssh.stderr, "incus launch", "the incus client's first-run notice")
        assert.isFalse(yield* fs.exists(`${freshHome}/.config/incus`), "the user's own incus config is not touched")
        // HOME is the host home path, as for shell, exec and run (the sandbox's HOME here).
        assert.strictEqual(ssh.stdout, `1000\n${process.env["HOME"]}\nover-ssh\n`)
        // A second call keeps the key (the block is the same).
        assert.strictEqual((yield* repoman(["ssh-config", "sshp"])).stdout, c.stdout)
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    300_000
  )
})
