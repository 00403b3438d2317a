/**
 * The library: the vendor profiles shipped in the package, the user's
 * shadow dir, plugins, and the live layer reading `[plugins] profiles`.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { containerPath } from "@repoman/core/Agents"
import { ConfigPaths } from "@repoman/core/ConfigPaths"
import { ProfileSpec } from "@repoman/core/ContainerRuntime"
import { fileLinks as declaredLinks } from "@repoman/core/FileLink"
import type { IdMapping } from "@repoman/core/IdMapping"
import { ProfileName } from "@repoman/core/Ids"
import { ProfileStore } from "@repoman/core/ProfileStore"
import { emptyDocument } from "@repoman/core/RegistryDocument"
import * as RegistryMemory from "@repoman/core/RegistryMemory"
import { exposure } from "@repoman/core/SensitivePaths"
import * as IncusProfileDocument from "@repoman/incus/IncusProfileDocument"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import { fileURLToPath } from "node:url"
import * as ProfileLibrary from "../src/ProfileLibrary.ts"

/** The library's format is Incus profile YAML: profiles are read as the Incus runtime reads them. */
const hostUser: IdMapping = { _tag: "HostUser", uid: 1000, gid: 1000 }
const fileLinks = (spec: ProfileSpec) => declaredLinks(IncusProfileDocument.inspect(spec, hostUser))

const state = "/home/ada/.local/state/repoman"
const variables = {
  HOME: "/home/ada",
  USER: "ada",
  UID: "1000",
  GID: "1000",
  HOST_LAN_IP: "192.168.1.42",
  STATE_DIR: state,
  AGENT_PATH: containerPath(state),
  NODE_INSTALL: "/home/ada/.nvm/versions/node/v24.21.0",
  CLAUDE_INSTALL: "/home/ada/.npm-global/lib/node_modules/@anthropic-ai/claude-code",
  CODEX_INSTALL: "/home/ada/.npm-global/lib/node_modules/@openai/codex",
  GEMINI_INSTALL: "/home/ada/.npm-global/lib/node_modules/@google/gemini-cli",
  PI_INSTALL: "/home/ada/.npm-global/lib/node_modules/@mariozechner/pi-coding-agent"
}
const name = ProfileName.make

const library = (userDir: string, plugins: ReadonlyArray<{ id: string; store: ProfileStore["Service"] }> = []) =>
  ProfileLibrary.layerDirectories({ vendorDir: ProfileLibrary.vendorDir(), userDir, plugins }).pipe(
    Layer.provide(NodeServices.layer)
  )

describe("the vendor library", () => {
  it.effect("ships the documented profiles", () =>
    Effect.gen(function*() {
      const store = yield* ProfileStore
      const entries = yield* store.list()
      assert.deepStrictEqual(entries.map((e) => e.name), [
        "claude",
        "codex",
        "gemini",
        "gitconfig-ro",
        "llm-share",
        "node",
        "pi"
      ])
      assert.isTrue(entries.every((e) => e.origin._tag === "Vendor" && !e.shadows))
    }).pipe(Effect.provide(library("/nonexistent/profiles.d"))))

  it.effect("every vendor profile renders, passes the project restrictions and exposes nothing sensitive", () =>
    Effect.gen(function*() {
      const store = yield* ProfileStore
      for (const entry of yield* store.list()) {
        const spec = yield* store.render(entry.name, variables)
        assert.isUndefined(IncusProfileDocument.refusal(spec, hostUser), entry.name)
        for (const device of Object.values(spec.devices)) {
          const source = device["source"]
          if (source === undefined) continue
          const readOnly = device["readonly"] === "true"
          // (on a host without a git credentials file in it: that one would be refused)
          const exists = () => false
          assert.isUndefined(
            exposure(source, { home: variables.HOME }, { readOnly, exists }),
            `${entry.name}: ${source}`
          )
          // The same absolute path inside as on the host.
          assert.strictEqual(device["path"], source, entry.name)
          assert.isTrue(source.startsWith(`${variables.HOME}/.`), entry.name)
          // Writable only in repoman's own state dir (Claude's credential store).
          if (device["readonly"] !== "true") {
            assert.isTrue(source.startsWith(`${state}/agents/`), `${entry.name}: ${source}`)
          }
        }
      }
    }).pipe(Effect.provide(library("/nonexistent/profiles.d"))))

  it.effect("claude: install and shims read-only, only the credential store read-write; llm-share is environment only; gitconfig is read-only", () =>
    Effect.gen(function*() {
      const store = yield* ProfileStore
      const claude = yield* store.render(name("claude"), variables)
      const devices = Object.values(claude.devices).map((d) => [d["source"], d["readonly"] ?? "false"])
      assert.deepStrictEqual(devices, [
        [variables.CLAUDE_INSTALL, "true"],
        [`${state}/agents/bin/claude`, "true"],
        [`${state}/agents/claude-auth`, "false"]
      ])
      // Nothing of the host's ~/.claude is mounted: the project's own state is mounted there by new.
      assert.isFalse(devices.some(([s]) => s?.startsWith("/home/ada/.claude") === true))
      assert.strictEqual(claude.config["environment.CLAUDE_CONFIG_DIR"], "/home/ada/.claude")
      assert.strictEqual(claude.config["environment.CLAUDE_SECURESTORAGE_CONFIG_DIR"], `${state}/agents/claude-auth`)
      assert.strictEqual(claude.config["user.repoman.agent"], "claude")
      assert.deepStrictEqual(Result.map(fileLinks(claude), (ls) => ls.length), Result.succeed(0))
      // Every tool profile sets the same PATH (whichever applies last, every tool is found) and mounts Node alike.
      for (const tool of ["node", "codex", "gemini", "pi"]) {
        const spec = yield* store.render(name(tool), variables)
        assert.strictEqual(spec.config["environment.PATH"], containerPath(state), tool)
        assert.strictEqual(spec.config["user.repoman.agent"], tool)
        assert.deepStrictEqual(spec.devices["node-install"], {
          type: "disk",
          source: variables.NODE_INSTALL,
          path: variables.NODE_INSTALL,
          readonly: "true"
        })
        // Only Claude's store is writable: every other host source is read-only.
        assert.isTrue(Object.values(spec.devices).every((d) => d["readonly"] === "true"), tool)
      }
      const llm = yield* store.render(name("llm-share"), variables)
      assert.deepStrictEqual(llm.devices, {})
      assert.strictEqual(llm.config["environment.OLLAMA_HOST"], "http://192.168.1.42:11434")
      const git = yield* store.render(name("gitconfig-ro"), variables)
      assert.strictEqual(git.devices["gitconfig"]?.["readonly"], "true")
      // git reads ~/.config/git/config by itself and ~/.gitconfig through the link; GIT_CONFIG_GLOBAL would hide the latter.
      assert.isUndefined(git.config["environment.GIT_CONFIG_GLOBAL"])
      assert.deepStrictEqual(
        Result.map(fileLinks(git), (ls) => ls.map((l) => [l.file, l.target])),
        Result.succeed([["/home/ada/.gitconfig", "/home/ada/.config/git/gitconfig"]])
      )
      const { HOST_LAN_IP: _, ...noLan } = variables
      const e = yield* store.render(name("llm-share"), noLan).pipe(Effect.flip)
      assert.strictEqual(e.reason._tag, "UnknownVariable")
    }).pipe(Effect.provide(library("/nonexistent/profiles.d"))))
})

describe("shared-file declarations", () => {
  const spec = (config: Record<string, string>, readonly = "true") =>
    new ProfileSpec({
      description: "",
      config,
      devices: { d: { type: "disk", source: "/home/ada/.tool", path: "/home/ada/.tool", readonly } }
    })
  const problem = (config: Record<string, string>) =>
    Result.match(fileLinks(spec(config)), { onFailure: (p) => p, onSuccess: () => "" })

  it("are FILE -> TARGET with absolute paths, the target inside a directory mounted at the same path", () => {
    assert.strictEqual(problem({ "user.repoman.link.a": "/home/ada/.tool.json -> /home/ada/.tool/tool.json" }), "")
    assert.include(problem({ "user.repoman.link.a": "/home/ada/.tool.json" }), "FILE -> TARGET")
    assert.include(problem({ "user.repoman.link.a": "tool.json -> /home/ada/.tool/tool.json" }), "absolute")
    assert.include(problem({ "user.repoman.link.a": "/home/ada/x -> /home/ada/.tool/../x" }), "absolute")
    assert.include(
      problem({ "user.repoman.link.a": "/home/ada/.tool.json -> /home/ada/other/tool.json" }),
      "not inside"
    )
    assert.include(problem({ "user.repoman.link.a": "/home/ada/.tool/x -> /home/ada/.tool/y" }), "already inside")
    assert.strictEqual(problem({ "environment.X": "a -> b" }), "")
  })

  it("must point into a read-only mount: a container could put a symlink in a writable one", () => {
    const link = { "user.repoman.link.a": "/home/ada/.tool.json -> /home/ada/.tool/tool.json" }
    const writable = Result.match(fileLinks(spec(link, "false")), { onFailure: (p) => p, onSuccess: () => "" })
    assert.include(writable, "read-only")
  })
})

describe("user profiles and plugins", () => {
  it.effect("a user file shadows the vendor one; a plugin sits between them", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-lib-" })
      yield* fs.writeFileString(`${dir}/claude.yaml`, "description: mine\nconfig:\n  environment.MINE: \"1\"\n")
      yield* fs.writeFileString(`${dir}/editor.yml`, "config:\n  environment.EDITOR: vim\n")
      yield* fs.writeFileString(`${dir}/notes.txt`, "ignored")
      const plugin = ProfileLibrary.fromTexts({
        "codex": "description: from the plugin\n",
        "acme-env": "config:\n  environment.ACME: \"${USER}\"\n"
      })
      const entries = yield* Effect.gen(function*() {
        const store = yield* ProfileStore
        const list = yield* store.list()
        const claude = yield* store.render(name("claude"), variables)
        assert.strictEqual(claude.description, "mine")
        assert.deepStrictEqual(claude.devices, {})
        const codex = yield* store.render(name("codex"), variables)
        assert.strictEqual(codex.description, "from the plugin")
        assert.strictEqual((yield* store.render(name("acme-env"), variables)).config["environment.ACME"], "ada")
        assert.include(yield* store.read(name("editor")), "EDITOR")
        return list
      }).pipe(Effect.provide(library(dir, [{ id: "@acme/repoman-profiles", store: plugin }])))
      const row = (n: string) => {
        const e = entries.find((x) => x.name === n)
        return e === undefined
          ? undefined
          : [e.origin._tag === "Plugin" ? `plugin:${e.origin.id}` : e.origin._tag, e.shadows]
      }
      assert.deepStrictEqual(row("claude"), ["User", true])
      assert.deepStrictEqual(row("editor"), ["User", false])
      assert.deepStrictEqual(row("codex"), ["plugin:@acme/repoman-profiles", true])
      assert.deepStrictEqual(row("acme-env"), ["plugin:@acme/repoman-profiles", false])
      assert.deepStrictEqual(row("gemini"), ["Vendor", false])
      assert.strictEqual(entries.find((e) => e.name === "claude")?.location, `${dir}/claude.yaml`)
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("a malformed user file fails render naming the file; a bad file name fails list", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-lib-" })
      yield* fs.writeFileString(`${dir}/broken.yaml`, "config:\n  a: [\n")
      const error = yield* Effect.gen(function*() {
        return yield* (yield* ProfileStore).render(name("broken"), variables)
      }).pipe(Effect.provide(library(dir)), Effect.flip)
      assert.strictEqual(error.reason._tag, "Malformed")
      assert.include(error.message, `${dir}/broken.yaml`)
      yield* fs.writeFileString(`${dir}/bad name.yaml`, "")
      const listError = yield* Effect.gen(function*() {
        return yield* (yield* ProfileStore).list()
      }).pipe(Effect.provide(library(dir)), Effect.flip)
      assert.include(listError.message, "bad name.yaml")
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("an alias bomb or an oversized user file fails its own render; list and the others keep working", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-lib-" })
      const laughs = ["a: &a [x, x, x, x, x, x, x, x, x]"]
      for (const [i, l] of ["b", "c", "d", "e", "f"].entries()) {
        const prev = ["a", "b", "c", "d", "e"][i]
        laughs.push(`${l}: &${l} [${Array(9).fill(`*${prev}`).join(", ")}]`)
      }
      yield* fs.writeFileString(`${dir}/bomb.yaml`, `${laughs.join("\n")}\nconfig:\n  environment.X: *f\n`)
      yield* fs.writeFileString(`${dir}/huge.yaml`, `description: "${"x".repeat(300 * 1024)}"\n`)
      yield* fs.writeFileString(`${dir}/fine.yaml`, "config:\n  environment.OK: \"1\"\n")
      const results = yield* Effect.gen(function*() {
        const store = yield* ProfileStore
        const names = (yield* store.list()).map((e) => e.name)
        const render = (n: string) =>
          store.render(name(n), variables).pipe(
            Effect.match({ onFailure: (e) => `${e.reason._tag}: ${e.message}`, onSuccess: () => "ok" })
          )
        return { names, bomb: yield* render("bomb"), huge: yield* render("huge"), fine: yield* render("fine") }
      }).pipe(Effect.provide(library(dir)))
      assert.includeMembers(results.names, ["bomb", "huge", "fine"])
      assert.match(results.bomb, /^Malformed: .*bomb\.yaml.*alias/)
      assert.match(results.huge, /^Malformed: .*huge\.yaml.*larger than a profile may be/)
      assert.strictEqual(results.fine, "ok")
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("the live layer loads the plugins the registry names; a missing one is PluginFailed", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-lib-" })
      const plugin = fileURLToPath(new URL("./fixtures/plugin.mjs", import.meta.url))
      const live = (plugins: ReadonlyArray<string>) =>
        ProfileLibrary.layer.pipe(
          Layer.provide(Layer.mergeAll(
            ConfigPaths.layerFrom({ home: dir, configDir: dir }),
            RegistryMemory.layer({ document: { ...emptyDocument, plugins: { profiles: plugins } } })
          )),
          Layer.provide(NodeServices.layer)
        )
      const entries = yield* Effect.gen(function*() {
        const store = yield* ProfileStore
        assert.strictEqual((yield* store.render(name("from-file"), variables)).description, plugin)
        return yield* store.list()
      }).pipe(Effect.provide(live([plugin])))
      const entry = entries.find((e) => e.name === "from-file")
      assert.deepStrictEqual(entry?.origin, { _tag: "Plugin", id: plugin })
      const failed = yield* Effect.gen(function*() {
        return yield* (yield* ProfileStore).list()
      }).pipe(Effect.provide(live(["@acme/not-installed"])), Effect.flip)
      assert.strictEqual(failed.reason._tag, "PluginFailed")
      assert.include(failed.message, "@acme/not-installed")
      assert.include(failed.message, `npm install --prefix ${dir}/plugins @acme/not-installed`)
      const old = fileURLToPath(new URL("./fixtures/undefined-plugin.mjs", import.meta.url))
      const undefinedPlugin = yield* Effect.gen(function*() {
        return yield* (yield* ProfileStore).list()
      }).pipe(Effect.provide(live([old])), Effect.flip)
      assert.strictEqual(
        undefinedPlugin.message,
        `profile plugin "${old}": not a repoman profile plugin: it exports no \`plugin\`; ` +
          "export `plugin = ProfilePlugin.define({ ... })`"
      )
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))
})
