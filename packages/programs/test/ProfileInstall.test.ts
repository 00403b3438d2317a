/**
 * The profile use cases against the memory runtime and registry, with a
 * fake library and real host directories (sources must exist).
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { ConfigPaths } from "@repoman/core/ConfigPaths"
import { ContainerRuntime, InstanceSpec, ProfileSpec } from "@repoman/core/ContainerRuntime"
import * as RuntimeMemory from "@repoman/core/ContainerRuntimeMemory"
import * as HostInfo from "@repoman/core/HostInfo"
import { idMappingFor } from "@repoman/core/IdMapping"
import { ImageRef, ProfileName, ProjectName } from "@repoman/core/Ids"
import type { ProfileVariables } from "@repoman/core/ProfileStore"
import * as ProfileStoreMemory from "@repoman/core/ProfileStoreMemory"
import { Registry } from "@repoman/core/Registry"
import { emptyDocument } from "@repoman/core/RegistryDocument"
import * as RegistryMemory from "@repoman/core/RegistryMemory"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { newProject } from "../src/NewProject.ts"
import { profileVariables } from "../src/PreparedProfile.ts"
import { installProfiles } from "../src/ProfileInstall.ts"
import { removeProfile } from "../src/ProfileRemove.ts"
import { compareProfile, profileStatuses, requireProfiles } from "../src/ProfileStatuses.ts"

type Template = (v: ProfileVariables) => ProfileSpec

const share = (dir: string, readonly = false): Template => (v) =>
  new ProfileSpec({
    description: `share ${dir}`,
    config: {},
    devices: {
      d: {
        type: "disk",
        source: `${v["HOME"]}/${dir}`,
        path: `${v["HOME"]}/${dir}`,
        ...(readonly ? { readonly: "true" } : {})
      }
    }
  })

const world = (
  templates: Record<string, Template>,
  uidMode: "idmap" | "shift" = "idmap",
  options: Pick<RuntimeMemory.MemoryOptions, "refusePath"> = {}
) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const home = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-prof-" })
    yield* fs.makeDirectory(`${home}/.claude`)
    yield* fs.makeDirectory(`${home}/.ssh`)
    yield* fs.makeDirectory(`${home}/repos/isurus`, { recursive: true })
    // The namespace as setup leaves it: the repos root allowed, ids mapped as the uid mode says.
    const runtime = yield* RuntimeMemory.make({
      namespace: "repoman",
      restrictions: { allowedPaths: [`${home}/repos`], idMapping: idMappingFor(uidMode, { uid: 1000, gid: 1000 }) },
      ...options
    })
    yield* runtime.putProfile(
      ProfileName.make("default"),
      new ProfileSpec({ description: "", config: {}, devices: { root: { type: "disk", path: "/", pool: "fast" } } })
    )
    const registry = yield* RegistryMemory.make({
      document: {
        ...emptyDocument,
        host: { lanIp: "192.168.1.42" },
        defaults: { ...emptyDocument.defaults, reposRoot: "~/repos", uidMode }
      }
    })
    const library = new Map(Object.entries(templates))
    const layer = Layer.mergeAll(
      Layer.succeed(Registry, registry),
      Layer.succeed(ContainerRuntime, runtime),
      ProfileStoreMemory.layer({ profiles: library }),
      HostInfo.layerTest({ home, user: "ada" }),
      ConfigPaths.layerFrom({ home, configDir: `${home}/.config/repoman` })
    )
    return { home, runtime, layer, library }
  })

const name = ProfileName.make

describe("profileVariables", () => {
  it("takes the LAN IP from the registry, else the host, else leaves it out", () => {
    const host = {
      user: "ada",
      uid: 1234,
      gid: 999,
      home: "/home/ada",
      lanIp: Option.some("10.0.0.2"),
      environment: {}
    }
    assert.deepStrictEqual(profileVariables(host, emptyDocument), {
      USER: "ada",
      HOME: "/home/ada",
      UID: "1234",
      GID: "999",
      HOST_LAN_IP: "10.0.0.2"
    })
    assert.strictEqual(
      profileVariables(host, { ...emptyDocument, host: { lanIp: "192.168.1.42" } })["HOST_LAN_IP"],
      "192.168.1.42"
    )
    assert.notProperty(profileVariables({ ...host, lanIp: Option.none() }, emptyDocument), "HOST_LAN_IP")
  })
})

describe("installProfiles", () => {
  it.effect("puts the rendered profile and extends the namespace's allowed paths", () =>
    Effect.gen(function*() {
      const { home, runtime, layer } = yield* world({ "claude-share": share(".claude") })
      const result = yield* installProfiles([name("claude-share")], { allowSensitive: false }).pipe(
        Effect.provide(layer)
      )
      assert.deepStrictEqual(result.addedPaths, [`${home}/.claude`])
      const ns = yield* runtime.getNamespace("repoman")
      assert.deepStrictEqual(ns.allowedPaths, [`${home}/repos`, `${home}/.claude`])
      assert.deepStrictEqual(ns.idMapping, Option.some({ _tag: "HostUser", uid: 1000, gid: 1000 } as const))
      const installed = yield* runtime.getProfile(name("claude-share"))
      assert.deepStrictEqual(installed.devices["d"], {
        type: "disk",
        source: `${home}/.claude`,
        path: `${home}/.claude`
      })
      // Again: nothing more to allow, the profile is in sync.
      const again = yield* installProfiles([name("claude-share")], { allowSensitive: false }).pipe(
        Effect.provide(layer)
      )
      assert.deepStrictEqual(again.addedPaths, [])
      const rows = yield* profileStatuses().pipe(Effect.provide(layer))
      assert.deepStrictEqual(rows.map((r) => [String(r.name), r.installed, r.inSync]), [["claude-share", true, true]])
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("in uid mode shift, host disks get shift=true and no path list is added", () =>
    Effect.gen(function*() {
      const { home, runtime, layer } = yield* world({ "claude-share": share(".claude") }, "shift")
      const result = yield* installProfiles([name("claude-share")], { allowSensitive: false }).pipe(
        Effect.provide(layer)
      )
      assert.deepStrictEqual(result.addedPaths, [])
      assert.deepStrictEqual((yield* runtime.getNamespace("repoman")).allowedPaths, [])
      assert.deepStrictEqual((yield* runtime.getProfile(name("claude-share"))).devices["d"], {
        type: "disk",
        source: `${home}/.claude`,
        path: `${home}/.claude`,
        shift: "true"
      })
      assert.isTrue((yield* compareProfile(name("claude-share")).pipe(Effect.provide(layer))).equal)
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("refuses a missing source, naming it, and changes nothing", () =>
    Effect.gen(function*() {
      const { home, runtime, layer } = yield* world({
        "claude-share": share(".claude"),
        "codex-share": share(".codex")
      })
      const error = yield* installProfiles([name("claude-share"), name("codex-share")], { allowSensitive: false }).pipe(
        Effect.provide(layer),
        Effect.flip
      )
      assert.strictEqual(error._tag, "ProfileInstallError")
      assert.include(error.message, `${home}/.codex`)
      assert.include(error.message, "does not exist")
      assert.deepStrictEqual((yield* runtime.getNamespace("repoman")).allowedPaths, [`${home}/repos`])
      const profiles = (yield* runtime.listProfiles()).map((p) => p.name)
      assert.deepStrictEqual(profiles, ["default"])
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("refuses a sensitive source without allowSensitive, installs it with, reporting the exposure", () =>
    Effect.gen(function*() {
      const { home, runtime, layer } = yield* world({ "ssh-share": share(".ssh", true) })
      const error = yield* installProfiles([name("ssh-share")], { allowSensitive: false }).pipe(
        Effect.provide(layer),
        Effect.flip
      )
      assert.include(error.message, `${home}/.ssh`)
      assert.include(error.message, "--allow-sensitive")
      assert.isTrue(Option.isNone(yield* runtime.getProfile(name("ssh-share")).pipe(Effect.option)))
      const ok = yield* installProfiles([name("ssh-share")], { allowSensitive: true }).pipe(Effect.provide(layer))
      assert.strictEqual(ok.profiles[0]?.exposures[0]?.path, `${home}/.ssh`)
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("refuses a symlink into a sensitive dir", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { home, layer } = yield* world({ sneaky: share("agent-state") })
      yield* fs.symlink(`${home}/.ssh`, `${home}/agent-state`)
      const error = yield* installProfiles([name("sneaky")], { allowSensitive: false }).pipe(
        Effect.provide(layer),
        Effect.flip
      )
      assert.include(error.message, "resolves to")
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("refuses a source the namespace cannot allow (Incus: a file), naming it, and changes nothing", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { home, runtime, layer } = yield* world(
        { json: share(".claude.json"), inner: share(".claude/settings.json") },
        "idmap",
        { refusePath: (p) => p.endsWith(".json") ? "it is a file: the engine allows only directories" : undefined }
      )
      yield* fs.writeFileString(`${home}/.claude.json`, "{}")
      yield* fs.writeFileString(`${home}/.claude/settings.json`, "{}")
      const error = yield* installProfiles([name("json")], { allowSensitive: false }).pipe(
        Effect.provide(layer),
        Effect.flip
      )
      assert.deepInclude(error._tag === "ProfileInstallError" ? error.reason : {}, {
        _tag: "NotAllowed",
        profile: "json"
      })
      assert.include(error.message, `${home}/.claude.json`)
      assert.include(error.message, "is a file")
      assert.deepStrictEqual((yield* runtime.getNamespace("repoman")).allowedPaths, [`${home}/repos`])
      assert.isTrue(Option.isNone(yield* runtime.getProfile(name("json")).pipe(Effect.option)))
      // A file inside an allowed directory is fine.
      yield* runtime.allowPaths([`${home}/.claude`])
      const ok = yield* installProfiles([name("inner")], { allowSensitive: false }).pipe(Effect.provide(layer))
      assert.deepStrictEqual(ok.addedPaths, [])
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("refuses a profile the restrictions forbid before putting anything", () =>
    Effect.gen(function*() {
      const { runtime, layer } = yield* world({
        evil: () => new ProfileSpec({ description: "", config: { "security.privileged": "true" }, devices: {} })
      })
      const error = yield* installProfiles([name("evil")], { allowSensitive: false }).pipe(
        Effect.provide(layer),
        Effect.flip
      )
      assert.include(error.message, "privileged")
      assert.isTrue(Option.isNone(yield* runtime.getProfile(name("evil")).pipe(Effect.option)))
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("refuses a library profile named default: it would replace the project's root disk", () =>
    Effect.gen(function*() {
      const { runtime, layer } = yield* world({
        default: () => new ProfileSpec({ description: "mine", config: {}, devices: {} })
      })
      const before = yield* runtime.getProfile(name("default"))
      const error = yield* installProfiles([name("default")], { allowSensitive: false }).pipe(
        Effect.provide(layer),
        Effect.flip
      )
      assert.include(error.message, "root disk")
      assert.deepStrictEqual(yield* runtime.getProfile(name("default")), before)
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))
})

/** claude-share's shape: ~/.claude shared, ~/.claude.json kept inside it. */
const claudeWithLink: Template = (v) =>
  new ProfileSpec({
    description: "claude",
    config: { "user.repoman.link.claude-json": `${v["HOME"]}/.claude.json -> ${v["HOME"]}/.claude/.claude.json` },
    devices: { d: { type: "disk", source: `${v["HOME"]}/.claude`, path: `${v["HOME"]}/.claude` } }
  })

describe("shared files", () => {
  it.effect("without --link-files the host file is left alone and reported movable; with it, it moves and a symlink stays", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { home, layer } = yield* world({ "claude-share": claudeWithLink })
      yield* fs.writeFileString(`${home}/.claude.json`, "{\"numStartups\": 7}\n")
      const first = yield* installProfiles([name("claude-share")], { allowSensitive: false }).pipe(
        Effect.provide(layer)
      )
      assert.deepStrictEqual(first.profiles[0]?.links.map((l) => l.state), ["Movable"])
      assert.isFalse(yield* fs.exists(`${home}/.claude/.claude.json`))
      assert.isTrue(Option.isNone(yield* fs.readLink(`${home}/.claude.json`).pipe(Effect.option)))

      const second = yield* installProfiles([name("claude-share")], { allowSensitive: false, linkFiles: true }).pipe(
        Effect.provide(layer)
      )
      assert.deepStrictEqual(second.profiles[0]?.links.map((l) => l.state), ["Moved"])
      assert.strictEqual(yield* fs.readLink(`${home}/.claude.json`), `${home}/.claude/.claude.json`)
      assert.strictEqual(yield* fs.readFileString(`${home}/.claude.json`), "{\"numStartups\": 7}\n")
      // A writer that saves atomically through the link (temp file next to the target, rename) keeps it shared.
      yield* fs.writeFileString(`${home}/.claude/.claude.json.tmp`, "{\"numStartups\": 8}\n")
      yield* fs.rename(`${home}/.claude/.claude.json.tmp`, `${home}/.claude/.claude.json`)
      assert.strictEqual(yield* fs.readFileString(`${home}/.claude.json`), "{\"numStartups\": 8}\n")

      const third = yield* installProfiles([name("claude-share")], { allowSensitive: false, linkFiles: true }).pipe(
        Effect.provide(layer)
      )
      assert.deepStrictEqual(third.profiles[0]?.links.map((l) => l.state), ["Linked"])
      assert.isFalse(yield* fs.exists(`${home}/.claude.json.repoman-link`))
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("when both files exist, or the file is a symlink elsewhere, nothing is touched and install says why", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { home, layer } = yield* world({ "claude-share": claudeWithLink })
      yield* fs.writeFileString(`${home}/.claude.json`, "host\n")
      yield* fs.writeFileString(`${home}/.claude/.claude.json`, "containers\n")
      const both = yield* installProfiles([name("claude-share")], { allowSensitive: false, linkFiles: true }).pipe(
        Effect.provide(layer)
      )
      assert.strictEqual(both.profiles[0]?.links[0]?.state, "Blocked")
      assert.include(both.profiles[0]?.links[0]?.detail ?? "", "both")
      assert.strictEqual(yield* fs.readFileString(`${home}/.claude.json`), "host\n")
      assert.strictEqual(yield* fs.readFileString(`${home}/.claude/.claude.json`), "containers\n")

      yield* fs.remove(`${home}/.claude.json`)
      yield* fs.writeFileString(`${home}/elsewhere.json`, "x\n")
      yield* fs.symlink(`${home}/elsewhere.json`, `${home}/.claude.json`)
      const elsewhere = yield* installProfiles([name("claude-share")], { allowSensitive: false, linkFiles: true }).pipe(
        Effect.provide(layer)
      )
      assert.include(elsewhere.profiles[0]?.links[0]?.detail ?? "", "elsewhere.json")
      assert.strictEqual(yield* fs.readLink(`${home}/.claude.json`), `${home}/elsewhere.json`)
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("a shared file under ~/.ssh is refused like a sensitive source, and nothing moves", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { home, layer } = yield* world({
        sneaky: (v) =>
          new ProfileSpec({
            description: "",
            config: { "user.repoman.link.k": `${v["HOME"]}/.ssh/config -> ${v["HOME"]}/.claude/ssh-config` },
            devices: { d: { type: "disk", source: `${v["HOME"]}/.claude`, path: `${v["HOME"]}/.claude` } }
          })
      })
      yield* fs.writeFileString(`${home}/.ssh/config`, "Host *\n")
      const error = yield* installProfiles([name("sneaky")], { allowSensitive: false, linkFiles: true }).pipe(
        Effect.provide(layer),
        Effect.flip
      )
      assert.include(error.message, ".ssh")
      assert.isTrue(Option.isNone(yield* fs.readLink(`${home}/.ssh/config`).pipe(Effect.option)))
      assert.isFalse(yield* fs.exists(`${home}/.claude/ssh-config`))
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("new makes the shared file a symlink into the shared directory inside the container", () =>
    Effect.gen(function*() {
      const { home, layer, runtime } = yield* world({ "claude-share": claudeWithLink })
      yield* installProfiles([name("claude-share")], { allowSensitive: false }).pipe(Effect.provide(layer))
      const isurus = ProjectName.make("isurus")
      yield* newProject({ name: isurus, profiles: [name("claude-share")] }).pipe(Effect.provide(layer))
      const link = Option.getOrThrow(yield* runtime.fileInfo(isurus, `${home}/.claude.json`))
      assert.deepStrictEqual([link.type, link.target], ["symlink", `${home}/.claude/.claude.json`])
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))
})

describe("compare, require, remove", () => {
  it.effect("drift is seen by compare, list and new; reinstall fixes it", () =>
    Effect.gen(function*() {
      const { layer, library } = yield* world({ "claude-share": share(".claude") })
      const document = yield* Registry.use((r) => r.load).pipe(Effect.provide(layer))
      const missing = yield* requireProfiles([name("claude-share")], document).pipe(Effect.provide(layer), Effect.flip)
      assert.include(missing.message, "repoman profile install claude-share")
      const notInstalled = yield* compareProfile(name("claude-share")).pipe(Effect.provide(layer))
      assert.isFalse(notInstalled.equal)
      assert.isTrue(Option.isNone(notInstalled.installed))

      yield* installProfiles([name("claude-share")], { allowSensitive: false }).pipe(Effect.provide(layer))
      assert.isTrue((yield* compareProfile(name("claude-share")).pipe(Effect.provide(layer))).equal)
      yield* requireProfiles([name("default"), name("claude-share")], document).pipe(Effect.provide(layer))

      library.set("claude-share", share(".claude", true))
      assert.isFalse((yield* compareProfile(name("claude-share")).pipe(Effect.provide(layer))).equal)
      const drifted = yield* requireProfiles([name("claude-share")], document).pipe(Effect.provide(layer), Effect.flip)
      assert.include(drifted.message, "repoman profile install claude-share")
      assert.include(drifted.message, "differs")
      const rows = yield* profileStatuses().pipe(Effect.provide(layer))
      assert.strictEqual(rows[0]?.inSync, false)

      yield* installProfiles([name("claude-share")], { allowSensitive: false }).pipe(Effect.provide(layer))
      assert.isTrue((yield* compareProfile(name("claude-share")).pipe(Effect.provide(layer))).equal)
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("new refuses a profile that is not installed, naming the fix, and creates nothing", () =>
    Effect.gen(function*() {
      const { runtime, layer } = yield* world({ "claude-share": share(".claude") })
      const error = yield* newProject({ name: ProjectName.make("isurus"), profiles: [name("claude-share")] }).pipe(
        Effect.provide(layer),
        Effect.flip
      )
      assert.include(error.message, "repoman profile install claude-share")
      assert.deepStrictEqual(yield* runtime.list(), [])
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("remove refuses while instances use the profile, naming them; then removes it", () =>
    Effect.gen(function*() {
      const { home, runtime, layer } = yield* world({ "claude-share": share(".claude") })
      yield* installProfiles([name("claude-share")], { allowSensitive: false }).pipe(Effect.provide(layer))
      yield* runtime.create(
        new InstanceSpec({
          name: ProjectName.make("isurus"),
          image: ImageRef.make("busybox"),
          profiles: [name("default"), name("claude-share")]
        })
      )
      const error = yield* removeProfile(name("claude-share")).pipe(Effect.provide(layer), Effect.flip)
      assert.include(error.message, "isurus")
      yield* runtime.remove(ProjectName.make("isurus"))
      yield* removeProfile(name("claude-share")).pipe(Effect.provide(layer))
      assert.isTrue(Option.isNone(yield* runtime.getProfile(name("claude-share")).pipe(Effect.option)))
      // Host files stay.
      assert.isTrue(yield* (yield* FileSystem.FileSystem).exists(`${home}/.claude`))
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))
})
