/**
 * The real agent CLIs (installed from the npm registry by scripts/ci/agents.sh
 * into $REPOMAN_CI_AGENTS) inside the Debian image, through the real
 * `repoman`, as the non-root test user, each test in its own Incus project:
 * they run with no hand-written file; Claude's login is one file shared in
 * place with the host; and each escape of issue 13 is attempted from a
 * container and shown not to reach the host or another project.
 */
import { assert, describe, it } from "@effect/vitest"
import { ContainerRuntime } from "@repoman/core/ContainerRuntime"
import { ProjectName } from "@repoman/core/Ids"
import * as IncusContainerRuntime from "@repoman/incus/IncusContainerRuntime"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as ChildProcess from "effect/process/ChildProcess"
import { fileURLToPath } from "node:url"
import { debian, IntegrationLayer, type Outcome, outcome, sandbox, shellScript } from "./integration.ts"

const agents = process.env["REPOMAN_CI_AGENTS"] ?? "/opt/repoman-ci/agents"
const prefix = (tool: string) => `${agents}/${tool}`

/** A sandbox with a temp home (HOME for repoman and, at the same path, inside) and claude on PATH. */
const world = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const box = yield* sandbox
  const home = `${box.dir}/home`
  yield* fs.makeDirectory(home, { recursive: true })
  const env = { HOME: home, PATH: `${prefix("claude")}/bin:${process.env["PATH"] ?? "/usr/bin:/bin"}` }
  const repoman = box.repomanIn(env)
  const setup = yield* repoman(box.setupArgs)
  assert.strictEqual(setup.code, 0, setup.stderr)
  const state = `${box.dir}/state/repoman`
  /** Every tool profile: claude found on PATH, the others named with --agent-dir (a global npm prefix each). */
  const installAll = repoman([
    "profile",
    "install",
    "claude",
    "codex",
    "gemini",
    "pi",
    "--agent-dir",
    `codex=${prefix("codex")}`,
    "--agent-dir",
    `gemini=${prefix("gemini")}`,
    "--agent-dir",
    `pi=${prefix("pi")}`
  ])
  const newProject = (name: string, profiles: ReadonlyArray<string>, extra: ReadonlyArray<string> = []) =>
    Effect.gen(function*() {
      yield* fs.makeDirectory(`${box.reposRoot}/${name}`, { recursive: true })
      const created = yield* repoman([
        "new",
        name,
        "--image",
        debian,
        ...profiles.flatMap((p) => ["--profile", p]),
        ...extra
      ])
      assert.strictEqual(created.code, 0, created.stderr)
      return created
    })
  const sh = (name: string, script: string) => shellScript(repoman, name, script)
  const runtime = yield* ContainerRuntime.pipe(
    Effect.provide(IncusContainerRuntime.layerClient({ project: box.project }))
  )
  /** The host dir of a project's agent state (the source of its `agent-<tool>` mount). */
  const stateDirOf = (name: string, tool: string) =>
    Effect.map(
      runtime.get(ProjectName.make(name)),
      (i) => i.mounts.find((m) => m.name === `agent-${tool}`)?.source ?? ""
    )
  return { ...box, fs, home, env, repoman, state, installAll, newProject, sh, runtime, stateDirOf }
})

const ok = (out: Outcome, what: string) => assert.strictEqual(out.code, 0, `${what}: ${out.stderr}${out.stdout}`)

describe("agents inside a real container", () => {
  it.live(
    "after profile install and new -p, claude, codex, gemini and pi run inside through 'repoman run', with no hand-written file",
    () =>
      Effect.gen(function*() {
        const { home, env, reposRoot, installAll, newProject, repomanIn, fs, state } = yield* world
        const installed = yield* installAll
        ok(installed, "install")
        assert.include(
          installed.stdout,
          `claude: runs inside from ${prefix("claude")}/lib/node_modules/@anthropic-ai/claude-code`
        )
        yield* newProject("isurus", ["claude", "codex", "gemini", "pi"])
        yield* fs.makeDirectory(`${reposRoot}/isurus/src`)
        const run = (argv: ReadonlyArray<string>) =>
          repomanIn(env, { cwd: `${reposRoot}/isurus/src` })(["run", "--", ...argv])
        const versions: Array<[ReadonlyArray<string>, string]> = [
          [["claude", "--version"], "2.1.332"],
          [["codex", "--version"], "0.171.0"],
          [["gemini", "--version"], "0.61.0"],
          [["pi", "--version"], "0.73.1"],
          [["node", "--version"], "v2"]
        ]
        for (const [argv, version] of versions) {
          const out = yield* run(argv)
          ok(out, argv.join(" "))
          assert.include(`${out.stdout}${out.stderr}`, version, argv.join(" "))
        }
        const help = yield* run(["claude", "--help"])
        ok(help, "claude --help")
        assert.include(help.stdout, "Usage: claude")
        // Where things are: the commands through the read-only shim dirs, the state per project.
        const where = yield* run([
          "sh",
          "-c",
          "command -v claude; command -v gemini; echo $CLAUDE_CONFIG_DIR; touch $(dirname $(command -v claude))/x 2>/dev/null && echo writable || echo read-only"
        ])
        ok(where, "where")
        assert.deepStrictEqual(where.stdout.trim().split("\n"), [
          `${state}/agents/bin/claude/claude`,
          `${state}/agents/bin/gemini/gemini`,
          `${home}/.claude`,
          "read-only"
        ])
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    600_000
  )

  it.live(
    "one Claude login: a credential written inside is the host's file (same file, no copy), the host's rename reaches running containers, a fresh host gets no duplicate",
    () =>
      Effect.gen(function*() {
        const { fs, home, repoman, state, newProject, sh, stateDirOf } = yield* world
        const installed = yield* repoman(["profile", "install", "claude"])
        ok(installed, "install")
        assert.include(installed.stdout, "no claude login yet")
        assert.include(installed.stdout, `export CLAUDE_SECURESTORAGE_CONFIG_DIR=${state}/agents/claude-auth`)
        assert.isFalse(yield* fs.exists(`${home}/.claude`))
        assert.isFalse(yield* fs.exists(`${home}/.claude.json`))
        yield* newProject("one", ["claude"])
        yield* newProject("two", ["claude"])
        const store = `${state}/agents/claude-auth`
        const credentials = `${store}/.credentials.json`

        // Inside: write it as Claude Code does (a temp file in the store, renamed over the name).
        const written = yield* sh(
          "one",
          `cd "$CLAUDE_SECURESTORAGE_CONFIG_DIR" && printf '{"claudeAiOauth":{"refreshToken":"from-one"}}' > .credentials.json.tmp.1 && ` +
            `mv .credentials.json.tmp.1 .credentials.json && stat -c %i .credentials.json`
        )
        ok(written, "write inside")
        assert.strictEqual(yield* fs.readFileString(credentials), "{\"claudeAiOauth\":{\"refreshToken\":\"from-one\"}}")
        const info = yield* fs.stat(credentials)
        assert.strictEqual(String(info.ino._tag === "Some" ? info.ino.value : -1), written.stdout.trim())
        assert.strictEqual(info.uid._tag === "Some" ? info.uid.value : -1, process.getuid?.())
        // The other container sees the same file at once, and writes it in place (Claude's fallback).
        const seen = yield* sh(
          "two",
          `cat "$CLAUDE_SECURESTORAGE_CONFIG_DIR/.credentials.json"; printf '{"claudeAiOauth":{"refreshToken":"from-two"}}' > "$CLAUDE_SECURESTORAGE_CONFIG_DIR/.credentials.json"`
        )
        ok(seen, "read in two")
        assert.strictEqual(seen.stdout, "{\"claudeAiOauth\":{\"refreshToken\":\"from-one\"}}")
        assert.include(yield* fs.readFileString(credentials), "from-two")
        // The host's Claude refreshes by rename too: the running containers see the new file.
        yield* fs.writeFileString(`${credentials}.tmp.host`, "{\"claudeAiOauth\":{\"refreshToken\":\"from-host\"}}")
        yield* fs.rename(`${credentials}.tmp.host`, credentials)
        const after = yield* sh("one", `cat "$CLAUDE_SECURESTORAGE_CONFIG_DIR/.credentials.json"`)
        assert.strictEqual(after.stdout, "{\"claudeAiOauth\":{\"refreshToken\":\"from-host\"}}")
        // One file: nowhere else on the host, not in the projects' own state.
        assert.deepStrictEqual(yield* fs.readDirectory(store), [".credentials.json"])
        for (const project of ["one", "two"]) {
          assert.isFalse(yield* fs.exists(`${yield* stateDirOf(project, "claude")}/.credentials.json`))
        }
        assert.isFalse(yield* fs.exists(`${home}/.claude`))
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    600_000
  )

  it.live(
    "escapes: hooks, MCP servers, notify, '!command' keys, a hostile oauth_creds.json and transcripts stay in the project; a symlink planted in the store redirects no host write",
    () =>
      Effect.gen(function*() {
        const { fs, home, repoman, state, installAll, newProject, sh, stateDirOf } = yield* world
        // The host's own agent state, as a user has it.
        const hostFiles: Record<string, string> = {
          ".claude/settings.json": "{\"model\":\"opus\"}\n",
          ".claude/projects/-host-secret/session.jsonl": "{\"secret\":\"host transcript\"}\n",
          ".claude.json": "{\"theme\":\"dark\"}\n",
          ".codex/config.toml": "model = \"gpt-5\"\n",
          ".codex/auth.json": "{\"tokens\":{\"refresh_token\":\"codex-host\"}}\n",
          ".gemini/settings.json": "{\"theme\":\"Default\"}\n",
          ".gemini/oauth_creds.json": "{\"access_token\":\"ya29\",\"refresh_token\":\"1//host\"}\n",
          ".pi/agent/auth.json": "{\"openai\":{\"type\":\"api_key\",\"key\":\"sk-host\"}}\n",
          ".bashrc": "# host rc\n"
        }
        for (const [file, text] of Object.entries(hostFiles)) {
          yield* fs.makeDirectory(`${home}/${file.split("/").slice(0, -1).join("/")}`, { recursive: true })
          yield* fs.writeFileString(`${home}/${file}`, text)
        }
        ok(yield* installAll, "install")
        yield* newProject("evil", ["claude", "codex", "gemini", "pi"])
        yield* newProject("other", ["claude", "codex", "gemini", "pi"])
        const otherGemini = yield* fs.readFileString(`${yield* stateDirOf("other", "gemini")}/oauth_creds.json`)

        const attack = yield* sh(
          "evil",
          [
            // The host's own files are not there at all; the project has its own copies.
            `test ! -e ~/.claude/projects/-host-secret && echo no-host-transcripts`,
            `test ! -e ~/.codex/auth.json && echo no-codex-login`,
            `cat ~/.pi/agent/auth.json | tr -d ' \\n'; echo`,
            // Configuration the host's agents would run.
            `printf '{"hooks":{"SessionStart":[{"hooks":[{"type":"command","command":"touch ${home}/pwned"}]}]}}' > ~/.claude/settings.json`,
            `printf '{"mcpServers":{"x":{"command":"touch","args":["${home}/pwned"]}}}' > ~/.claude/.claude.json`,
            `printf 'notify = ["touch", "${home}/pwned"]\\n' >> ~/.codex/config.toml`,
            `printf '{"mcpServers":{"x":{"command":"touch"}}}' > ~/.gemini/settings.json`,
            `printf '{"type":"external_account","token_url":"http://127.0.0.1:8080/x","credential_source":{"file":"${home}/.bashrc"}}' > ~/.gemini/oauth_creds.json`,
            `printf '{"openai":{"type":"api_key","key":"!touch ${home}/pwned"}}' > ~/.pi/agent/auth.json`,
            // A transcript of this project.
            `mkdir -p ~/.claude/projects/-evil && echo evil-session > ~/.claude/projects/-evil/s.jsonl`,
            // A symlink in the shared store, put over the credential's name (as 'mv -T' would).
            `ln -s ${home}/.bashrc "$CLAUDE_SECURESTORAGE_CONFIG_DIR/.credentials.json.new" && ` +
            `mv -T "$CLAUDE_SECURESTORAGE_CONFIG_DIR/.credentials.json.new" "$CLAUDE_SECURESTORAGE_CONFIG_DIR/.credentials.json"`,
            `echo done`
          ].join("; ")
        )
        ok(attack, "attack")
        assert.deepStrictEqual(attack.stdout.trim().split("\n"), [
          "no-host-transcripts",
          "no-codex-login",
          "{\"openai\":{\"type\":\"api_key\",\"key\":\"sk-host\"}}",
          "done"
        ])
        // Nothing reached the host's agent state.
        for (const [file, text] of Object.entries(hostFiles)) {
          assert.strictEqual(yield* fs.readFileString(`${home}/${file}`), text, file)
        }
        assert.isFalse(yield* fs.exists(`${home}/pwned`))
        // The symlink is in the store now; the next command (in any project) removes it unfollowed.
        const planted = `${state}/agents/claude-auth/.credentials.json`
        assert.strictEqual((yield* fs.lstat(planted)).type, "SymbolicLink")
        // Nor the other project: its transcripts and copies are its own.
        const other = yield* sh(
          "other",
          "ls ~/.claude/projects 2>/dev/null | wc -l; cat ~/.gemini/oauth_creds.json; grep -c notify ~/.codex/config.toml || true"
        )
        assert.deepStrictEqual(other.stdout.split("\n")[0], "0")
        assert.include(other.stdout, "1//host")
        assert.strictEqual(
          yield* fs.readFileString(`${yield* stateDirOf("other", "gemini")}/oauth_creds.json`),
          otherGemini
        )
        assert.strictEqual(other.stdout.trim().split("\n").at(-1), "0")
        assert.isFalse(yield* fs.exists(planted))

        // The planted symlink is gone, never written through; the host's rc file is untouched. The host
        // logs in again (a new ~/.claude/.credentials.json) and reinstalls: the login moves into the store.
        yield* fs.writeFileString(
          `${home}/.claude/.credentials.json`,
          "{\"claudeAiOauth\":{\"refreshToken\":\"relogin\"}}"
        )
        const again = yield* repoman(["profile", "install", "claude"])
        ok(again, "reinstall")
        assert.isFalse(yield* fs.exists(`${home}/.claude/.credentials.json`))
        assert.strictEqual(yield* fs.readFileString(`${home}/.bashrc`), "# host rc\n")
        const credentials = `${state}/agents/claude-auth/.credentials.json`
        assert.strictEqual((yield* fs.lstat(credentials)).type, "File")
        assert.include(yield* fs.readFileString(credentials), "relogin")
        // The evil project's own state goes with it.
        const evilState = yield* stateDirOf("evil", "claude")
        ok(yield* repoman(["remove", "evil", "--yes"]), "remove")
        assert.isFalse(yield* fs.exists(evilState))
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    600_000
  )

  it.live(
    "config --add-profile claude on a project made without it: refused while ~/.claude is a planted symlink, then claude runs inside; --remove-profile takes its state away",
    () =>
      Effect.gen(function*() {
        const { fs, home, repoman, state, newProject, runtime, stateDirOf } = yield* world
        ok(yield* repoman(["profile", "install", "claude"]), "install")
        yield* newProject("gulo", [])
        const name = ProjectName.make("gulo")
        const projects = `${state}/projects`
        const stateDirs = fs.readDirectory(projects).pipe(
          Effect.map((all) => all.filter((d) => d.startsWith("gulo-"))),
          Effect.orElseSucceed((): ReadonlyArray<string> => [])
        )
        // The boot's tmpfiles clean-up of /tmp (where the sandbox's home is) is over; the home is there.
        const booted = yield* runtime.exec(name, [
          "sh",
          "-c",
          "for i in $(seq 150); do case $(systemctl is-system-running 2>/dev/null) in running|degraded) exit 0;; esac; sleep 0.2; done; exit 1"
        ])
        assert.strictEqual(booted.exitCode, 0, "the container did not finish booting")
        const made = yield* runtime.exec(name, ["install", "-d", "-o", "1000", "-g", "1000", home])
        assert.strictEqual(made.exitCode, 0, made.stderr)
        // The agent that used the container before plants its state path as a symlink to the root.
        const planted = yield* runtime.exec(name, ["ln", "-s", "/", `${home}/.claude`], { user: 1000, group: 1000 })
        assert.strictEqual(planted.exitCode, 0, planted.stderr)
        const refused = yield* repoman(["config", "gulo", "--add-profile", "claude"])
        assert.strictEqual(refused.code, 2, `${refused.stderr}${refused.stdout}`)
        assert.include(refused.stderr, `${home}/.claude is a symlink in the container`)
        assert.deepStrictEqual((yield* runtime.get(name)).profiles as ReadonlyArray<string>, ["default"])
        assert.deepStrictEqual(yield* stateDirs, [])
        assert.strictEqual((yield* runtime.exec(name, ["rm", `${home}/.claude`])).exitCode, 0)

        const added = yield* repoman(["config", "gulo", "--add-profile", "claude"])
        ok(added, "config --add-profile claude")
        assert.include(added.stdout, `note: agent state of this project: ${projects}/gulo-`)
        const version = yield* repoman(["exec", "gulo", "--", "claude", "--version"])
        ok(version, "claude --version")
        assert.include(`${version.stdout}${version.stderr}`, "2.1.332")
        // Its state is the project's own, made as `new` makes it, and the container user's inside.
        const agentState = yield* stateDirOf("gulo", "claude")
        assert.isTrue(agentState.startsWith(`${projects}/gulo-`), agentState)
        const where = yield* repoman([
          "exec",
          "gulo",
          "--",
          "sh",
          "-c",
          `echo $CLAUDE_CONFIG_DIR; touch ${home}/.claude/x && echo writable; stat -c %u ${state}/agents`
        ])
        ok(where, "where")
        assert.deepStrictEqual(where.stdout.trim().split("\n"), [`${home}/.claude`, "writable", "1000"])
        assert.isTrue(yield* fs.exists(`${agentState}/x`))

        // Taking it away (its variables go, so the container restarts): the mount and the state go too.
        ok(yield* repoman(["config", "gulo", "--remove-profile", "claude", "--restart"]), "config --remove-profile")
        const after = yield* runtime.get(name)
        assert.deepStrictEqual(after.profiles as ReadonlyArray<string>, ["default"])
        assert.isFalse(after.mounts.some((m) => m.name === "agent-claude"))
        assert.isFalse(yield* fs.exists(agentState))
        assert.deepStrictEqual(yield* stateDirs, [])
        const gone = yield* repoman(["exec", "gulo", "--", "sh", "-c", "command -v claude || echo none"])
        ok(gone, "after removal")
        assert.strictEqual(gone.stdout.trim(), "none")
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    600_000
  )

  it.live(
    "a symlink container root planted where a mount nests in its agent state is removed before the next start",
    () =>
      Effect.gen(function*() {
        const { fs, home, dir, repoman, reposRoot, newProject, runtime, stateDirOf } = yield* world
        yield* fs.makeDirectory(`${reposRoot}/notes`)
        yield* fs.makeDirectory(`${dir}/config/profiles.d`, { recursive: true })
        yield* fs.writeFileString(
          `${dir}/config/profiles.d/notes.yaml`,
          `devices:\n  notes: { type: disk, source: "${reposRoot}/notes", path: "\${HOME}/.claude/notes" }\n`
        )
        // The sandbox's repos root sits beside its home: a profile may mount it only when told to.
        ok(
          yield* repoman(["profile", "install", "claude", "notes", "--allow-sensitive", `${reposRoot}/notes`]),
          "install"
        )
        // A sealed project locks its mounts (container root cannot unmount): the plant needs an unsealed one.
        yield* newProject("isurus", ["claude", "notes"], ["--git-mode", "shared"])
        const name = ProjectName.make("isurus")
        const agentState = yield* stateDirOf("isurus", "claude")
        // Container root takes the nested mount away and leaves a symlink to the host's home in its place.
        const planted = yield* runtime.exec(name, [
          "sh",
          "-c",
          `umount ${home}/.claude/notes && rmdir ${home}/.claude/notes && ln -s ${home} ${home}/.claude/notes && echo planted`
        ])
        assert.strictEqual(planted.stdout.trim(), "planted", planted.stderr)
        assert.strictEqual((yield* fs.lstat(`${agentState}/notes`)).type, "SymbolicLink")
        yield* runtime.stop(name, { force: true })
        const ran = yield* repoman([
          "exec",
          "isurus",
          "--",
          "sh",
          "-c",
          `test -d ${home}/.claude/notes && echo mounted`
        ])
        ok(ran, "exec after the plant")
        assert.strictEqual(ran.stdout.trim(), "mounted")
        assert.strictEqual((yield* fs.lstat(`${agentState}/notes`)).type, "Directory")
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    600_000
  )
  it.live(
    "the real Claude Code refreshes the shared login inside: it spends the host's refresh token once, the host gets the new pair in the same file, the next run reuses it",
    () =>
      Effect.gen(function*() {
        const { fs, repoman, reposRoot, state, newProject, runtime } = yield* world
        ok(yield* repoman(["profile", "install", "claude", "node"]), "install")
        yield* newProject("one", ["claude", "node"])
        const name = ProjectName.make("one")
        // A token endpoint inside the container (no network): a test CA, a certificate for Claude's
        // hosts, the names pointed at 127.0.0.1, the server run as root from the repo mount.
        const fake = `${reposRoot}/one/.fake`
        yield* fs.makeDirectory(fake)
        yield* fs.copyFile(
          fileURLToPath(new URL("fixtures/fake-claude-auth.mjs", import.meta.url)),
          `${fake}/server.mjs`
        )
        const names = [
          "platform.claude.com",
          "api.anthropic.com",
          "claude.ai",
          "console.anthropic.com",
          "statsig.anthropic.com"
        ]
        yield* fs.writeFileString(`${fake}/san.cnf`, `subjectAltName=${names.map((n) => `DNS:${n}`).join(",")}\n`)
        const openssl = (args: ReadonlyArray<string>) =>
          Effect.flatMap(
            outcome(ChildProcess.make("openssl", args, { cwd: fake })),
            (o) => Effect.sync(() => ok(o, `openssl ${args[0]}`))
          )
        yield* openssl([
          "req",
          "-x509",
          "-newkey",
          "rsa:2048",
          "-nodes",
          "-keyout",
          "ca.key",
          "-out",
          "ca.crt",
          "-days",
          "2",
          "-subj",
          "/CN=repoman test CA"
        ])
        yield* openssl([
          "req",
          "-newkey",
          "rsa:2048",
          "-nodes",
          "-keyout",
          "srv.key",
          "-out",
          "srv.csr",
          "-subj",
          "/CN=platform.claude.com"
        ])
        yield* openssl([
          "x509",
          "-req",
          "-in",
          "srv.csr",
          "-CA",
          "ca.crt",
          "-CAkey",
          "ca.key",
          "-CAcreateserial",
          "-out",
          "srv.crt",
          "-days",
          "2",
          "-extfile",
          "san.cnf"
        ])
        const started = yield* runtime.exec(name, [
          "sh",
          "-c",
          `echo "127.0.0.1 ${names.join(" ")}" >> /etc/hosts && ` +
          `FAKE_LOG=/tmp/fake.log nohup node ${fake}/server.mjs >/tmp/fake.out 2>&1 </dev/null & ` +
          `for i in $(seq 80); do grep -q listening /tmp/fake.log 2>/dev/null && exit 0; sleep 0.25; done; cat /tmp/fake.out; exit 1`
        ])
        assert.strictEqual(started.exitCode, 0, `${started.stdout}${started.stderr}`)

        // The host's login, expired, in the shared store (as the host's claude left it).
        const credentials = `${state}/agents/claude-auth/.credentials.json`
        const expired = Date.now() - 3_600_000
        yield* fs.writeFileString(
          credentials,
          JSON.stringify({
            claudeAiOauth: {
              accessToken: "sk-ant-oat01-host-old",
              refreshToken: "sk-ant-ort01-host-old",
              expiresAt: expired,
              scopes: ["user:inference", "user:profile", "user:sessions:claude_code"],
              subscriptionType: "pro"
            }
          }),
          { mode: 0o600 }
        )
        const claude = repoman([
          "exec",
          "one",
          "--env",
          `NODE_EXTRA_CA_CERTS=${fake}/ca.crt`,
          "--",
          "timeout",
          "120",
          "claude",
          "-p",
          "hi"
        ])
        yield* claude
        const refreshes = Effect.map(
          runtime.exec(name, ["cat", "/tmp/fake.log"]),
          (r) => r.stdout.split("\n").filter((l) => l.includes("/v1/oauth/token"))
        )
        const first = yield* refreshes
        assert.strictEqual(first.length, 1, first.join("\n"))
        assert.include(first[0], "sk-ant-ort01-host-old")
        const after = JSON.parse(yield* fs.readFileString(credentials))
        assert.strictEqual(after.claudeAiOauth.refreshToken, "sk-ant-ort01-fake-rt-1")
        assert.strictEqual(after.claudeAiOauth.accessToken, "sk-ant-oat01-fake-at-1")
        const info = yield* fs.lstat(credentials)
        assert.strictEqual(info.type, "File")
        assert.strictEqual(info.mode & 0o777, 0o600)
        assert.strictEqual(info.uid._tag === "Some" ? info.uid.value : -1, process.getuid?.())
        // The next run finds the fresh token in the same file and refreshes nothing.
        yield* claude
        assert.strictEqual((yield* refreshes).length, 1)
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    600_000
  )
})
