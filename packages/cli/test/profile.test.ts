/**
 * `repoman profile ...` and the profile checks of `new`, in-process against
 * the memory runtime and registry, a memory library and a real temp home.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { ContainerRuntime, InstanceSpec, ProfileSpec } from "@repoman/core/ContainerRuntime"
import * as RuntimeMemory from "@repoman/core/ContainerRuntimeMemory"
import { ImageRef, ProfileName, ProjectName } from "@repoman/core/Ids"
import { emptyDocument } from "@repoman/core/RegistryDocument"
import * as ProfileLibrary from "@repoman/profiles/ProfileLibrary"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { runCli } from "./harness.ts"

const claude =
  "description: claude\ndevices:\n  d:\n    type: disk\n    source: ${HOME}/.claude\n    path: ${HOME}/.claude\n"
const ssh = "devices:\n  k:\n    type: disk\n    source: ${HOME}/.ssh\n    path: ${HOME}/.ssh\n"

const world = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const home = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-cli-prof-" })
  yield* fs.makeDirectory(`${home}/.claude`)
  yield* fs.makeDirectory(`${home}/.ssh`)
  yield* fs.makeDirectory(`${home}/repos/isurus`, { recursive: true })
  // The namespace as setup leaves it in uid mode idmap: the repos root allowed.
  const runtime = yield* RuntimeMemory.make({
    namespace: "repoman",
    restrictions: { allowedPaths: [`${home}/repos`], idMapping: { _tag: "HostUser", uid: 1000, gid: 1000 } }
  })
  yield* runtime.putProfile(ProfileName.make("default"), new ProfileSpec({ description: "", config: {}, devices: {} }))
  const memory = { document: { ...emptyDocument, defaults: { ...emptyDocument.defaults, reposRoot: "~/repos" } } }
  const repoman = (
    argv: ReadonlyArray<string>,
    texts: Record<string, string> = { "claude-state": claude, ssh },
    keys?: ReadonlyArray<string>
  ) =>
    runCli(argv, {
      home,
      memory,
      runtime: Layer.succeed(ContainerRuntime, runtime),
      profiles: ProfileLibrary.layerMemory(texts, { _tag: "Vendor" }),
      ...(keys === undefined ? {} : { keys })
    })
  return { home, runtime, repoman }
})

const Rows = Schema.Array(Schema.Struct({
  name: Schema.String,
  origin: Schema.String,
  installed: Schema.Boolean,
  inSync: Schema.NullOr(Schema.Boolean)
}))

const claudeLinked = claude.replace(
  "description: claude\n",
  "description: claude\nconfig:\n  user.repoman.link.j: ${HOME}/.claude.json -> ${HOME}/.claude/.claude.json\n"
) + "    readonly: \"true\"\n"

describe("repoman profile install and shared files", () => {
  it.effect("at a terminal it asks before moving ~/.claude.json (no: left alone, with a note); --link-files moves it", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { home, repoman } = yield* world
      yield* fs.writeFileString(`${home}/.claude.json`, "{}\n")
      const texts = { "claude-state": claudeLinked }
      const declined = yield* repoman(["profile", "install", "claude-state"], texts, ["n", "enter"])
      assert.strictEqual(declined.code, 0, declined.stderr.join("\n"))
      assert.include(declined.stdout.join("\n"), `${home}/.claude.json -> ${home}/.claude/.claude.json`)
      assert.include(declined.stdout.join("\n"), "--link-files")
      assert.isFalse(yield* fs.exists(`${home}/.claude/.claude.json`))

      const accepted = yield* repoman(["profile", "install", "claude-state"], texts, ["y", "enter"])
      assert.strictEqual(accepted.code, 0, accepted.stderr.join("\n"))
      assert.include(accepted.stdout.join("\n"), `moved ${home}/.claude.json`)
      assert.strictEqual(yield* fs.readLink(`${home}/.claude.json`), `${home}/.claude/.claude.json`)

      // Nothing left to move: no question; a plain run (no terminal) reports it shared.
      const again = yield* repoman(["profile", "install", "claude-state"], texts)
      assert.include(again.stdout.join("\n"), `${home}/.claude.json is shared`)
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))
})

describe("repoman profile", () => {
  it.effect("install, list, diff equal; the library changes, diff shows it and exits 1; reinstall", () =>
    Effect.gen(function*() {
      const { home, repoman } = yield* world
      const before = yield* repoman(["profile", "list", "--json"])
      assert.strictEqual(before.code, 0, before.stderr.join("\n"))
      const rows = Schema.decodeUnknownSync(Schema.fromJsonString(Rows))(before.stdout.join("\n"))
      assert.deepStrictEqual(rows.map((r) => [r.name, r.origin, r.installed, r.inSync]), [
        ["claude-state", "vendor", false, null],
        ["ssh", "vendor", false, null]
      ])

      const i = yield* repoman(["profile", "install", "claude-state"])
      assert.strictEqual(i.code, 0, i.stderr.join("\n"))
      assert.include(i.stdout.join("\n"), `installed claude-state (shares ${home}/.claude)`)
      assert.include(i.stdout.join("\n"), `allowed in the project's disk paths: ${home}/.claude`)

      const same = yield* repoman(["profile", "diff", "claude-state"])
      assert.deepStrictEqual([same.code, same.stdout], [0, []])
      const table = yield* repoman(["profile", "list"])
      assert.match(table.stdout[1] ?? "", /^claude-state\s+vendor\s+no\s+yes\s+yes$/)

      const edited = { "claude-state": claude.replace("description: claude", "description: edited"), ssh }
      const changed = yield* repoman(["profile", "diff", "claude-state"], edited)
      assert.strictEqual(changed.code, 1)
      assert.deepStrictEqual(changed.stdout.filter((l) => /^[-+][^-+]/.test(l)), [
        "-description: claude",
        "+description: edited"
      ])
      const drifted = yield* repoman(["profile", "list", "--json"], edited)
      assert.strictEqual(
        Schema.decodeUnknownSync(Schema.fromJsonString(Rows))(drifted.stdout.join("\n"))[0]?.inSync,
        false
      )

      const again = yield* repoman(["profile", "install", "claude-state"], edited)
      assert.strictEqual(again.code, 0)
      assert.strictEqual((yield* repoman(["profile", "diff", "claude-state"], edited)).code, 0)
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("diff of a profile that is not installed exits 1; show prints the rendered YAML", () =>
    Effect.gen(function*() {
      const { home, repoman } = yield* world
      const d = yield* repoman(["profile", "diff", "claude-state"])
      assert.strictEqual(d.code, 1)
      assert.include(d.stdout[0] ?? "", "not installed")
      const s = yield* repoman(["profile", "show", "claude-state"])
      assert.strictEqual(s.code, 0)
      assert.include(s.stdout, `    source: ${home}/.claude`)
      const missing = yield* repoman(["profile", "show", "nope"])
      assert.strictEqual(missing.code, 1)
      assert.include(missing.stderr.join("\n"), "no profile \"nope\"")
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("a sensitive source is refused without --allow-sensitive, and installed with it, with a warning", () =>
    Effect.gen(function*() {
      const { home, runtime, repoman } = yield* world
      const refused = yield* repoman(["profile", "install", "ssh"])
      assert.strictEqual(refused.code, 1)
      assert.include(refused.stderr.join("\n"), `${home}/.ssh`)
      assert.include(refused.stderr.join("\n"), "--allow-sensitive")
      assert.isTrue((yield* runtime.getProfile(ProfileName.make("ssh")).pipe(Effect.option))._tag === "None")
      assert.include(refused.stderr.join("\n"), `--allow-sensitive ${home}/.ssh`)
      // Naming another path (or a parent of it) does not let it through.
      for (const other of [`${home}/.gnupg`, home]) {
        const wrong = yield* repoman(["profile", "install", "--allow-sensitive", other, "ssh"])
        assert.strictEqual(wrong.code, 1, other)
        assert.isTrue((yield* runtime.getProfile(ProfileName.make("ssh")).pipe(Effect.option))._tag === "None")
      }
      const allowed = yield* repoman(["profile", "install", "--allow-sensitive", "~/.ssh", "ssh"])
      assert.strictEqual(allowed.code, 0, allowed.stderr.join("\n"))
      assert.include(allowed.stderr.join("\n"), `warning: ssh exposes ${home}/.ssh`)
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("a missing source is refused, naming its path", () =>
    Effect.gen(function*() {
      const { home, repoman } = yield* world
      const codex = "devices:\n  c:\n    type: disk\n    source: ${HOME}/.codex\n    path: ${HOME}/.codex\n"
      const r = yield* repoman(["profile", "install", "codex-state"], { "codex-state": codex })
      assert.strictEqual(r.code, 1)
      assert.include(r.stderr.join("\n"), `${home}/.codex`)
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("remove refuses while a container uses the profile, naming it", () =>
    Effect.gen(function*() {
      const { runtime, repoman } = yield* world
      assert.strictEqual((yield* repoman(["profile", "install", "claude-state"])).code, 0)
      yield* runtime.create(
        new InstanceSpec({
          name: ProjectName.make("isurus"),
          image: ImageRef.make("busybox"),
          profiles: [ProfileName.make("claude-state")]
        })
      )
      const refused = yield* repoman(["profile", "remove", "claude-state"])
      assert.strictEqual(refused.code, 1)
      assert.include(refused.stderr.join("\n"), "isurus")
      yield* runtime.remove(ProjectName.make("isurus"))
      const removed = yield* repoman(["profile", "remove", "claude-state"])
      assert.strictEqual(removed.code, 0, removed.stderr.join("\n"))
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("new refuses a profile that is not installed or has drifted, naming the fix", () =>
    Effect.gen(function*() {
      const { runtime, repoman } = yield* world
      const notInstalled = yield* repoman(["new", "isurus", "--profile", "claude-state"])
      assert.strictEqual(notInstalled.code, 1)
      assert.include(notInstalled.stderr.join("\n"), "repoman profile install claude-state")
      assert.strictEqual((yield* repoman(["profile", "install", "claude-state"])).code, 0)
      const edited = { "claude-state": claude.replace("claude\n", "newer\n"), ssh }
      const drifted = yield* repoman(["new", "isurus", "--profile", "claude-state"], edited)
      assert.strictEqual(drifted.code, 1)
      assert.include(drifted.stderr.join("\n"), "repoman profile install claude-state")
      assert.deepStrictEqual(yield* runtime.list(), [])
      const ok = yield* repoman(["new", "isurus", "--profile", "claude-state"])
      assert.strictEqual(ok.code, 0, ok.stderr.join("\n"))
      assert.deepStrictEqual((yield* runtime.get(ProjectName.make("isurus"))).profiles.map(String), [
        "default",
        "claude-state"
      ])
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("every missing source of every profile is named at once; nothing is installed", () =>
    Effect.gen(function*() {
      const { home, runtime, repoman } = yield* world
      const fs = yield* FileSystem.FileSystem
      yield* fs.remove(`${home}/.claude`, { recursive: true })
      yield* fs.remove(`${home}/.ssh`, { recursive: true })
      const out = yield* repoman(["profile", "install", "claude-state", "ssh", "--allow-sensitive", `${home}/.ssh`])
      assert.strictEqual(out.code, 1)
      assert.deepStrictEqual(out.stderr, [
        `repoman: profile claude-state: the source ${home}/.claude of device "d" does not exist on this host ` +
        `(create it, or shadow the profile with your own in profiles.d/); profile ssh: the source ${home}/.ssh of ` +
        `device "k" does not exist on this host (create it, or shadow the profile with your own in profiles.d/)`
      ])
      assert.deepStrictEqual((yield* runtime.listProfiles()).map((p) => p.name), ["default"])
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("an unknown profile names the real ones and the closest; nothing is made", () =>
    Effect.gen(function*() {
      const { runtime, repoman } = yield* world
      const texts = { "claude-state": claude, ssh, "gemini-share": ssh }
      const out = yield* repoman(["new", "isurus", "--profile", "gemini"], texts)
      assert.strictEqual(out.code, 1)
      assert.deepStrictEqual(out.stderr, [
        "repoman: there is no profile gemini, installed or in the library: did you mean gemini-share? " +
        "the profiles are claude-state, gemini-share, ssh"
      ])
      const shown = yield* repoman(["profile", "show", "clade-state"], texts)
      assert.strictEqual(shown.code, 1)
      assert.deepStrictEqual(shown.stderr, [
        "repoman: there is no profile \"clade-state\" in the profile library: did you mean claude-state? " +
        "the profiles are claude-state, gemini-share, ssh"
      ])
      // Nothing close: the names alone.
      const far = yield* repoman(["profile", "install", "zzz"], texts)
      assert.strictEqual(far.code, 1)
      assert.include(far.stderr.join("\n"), ": the profiles are claude-state, gemini-share, ssh")
      assert.deepStrictEqual(yield* runtime.list(), [])
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("install needs at least one name (usage error, exit 2)", () =>
    Effect.gen(function*() {
      const { repoman } = yield* world
      assert.strictEqual((yield* repoman(["profile", "install"])).code, 2)
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))
})
