import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { ContainerRuntime } from "@repoman/core/ContainerRuntime"
import * as RuntimeMemory from "@repoman/core/ContainerRuntimeMemory"
import { ProjectName } from "@repoman/core/Ids"
import { Registry } from "@repoman/core/Registry"
import * as RegistryMemory from "@repoman/core/RegistryMemory"
import * as ProfileLibrary from "@repoman/profiles/ProfileLibrary"
import { detectStacks, profilesFor } from "@repoman/programs/StackDetection"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import { documentFrom, runCli } from "./harness.ts"

const document = documentFrom({ schema: 3, defaults: { profiles: ["default"], default_image: "img" } })

const profile = (description: string) => `description: ${description}\nconfig: {}\ndevices: {}\n`

/** A temp home with `repos/<name>` holding `files` (path -> content). */
const repoWith = (name: string, files: Readonly<Record<string, string>>) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const home = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-stack-" })
    for (const [file, content] of Object.entries(files)) {
      const full = `${home}/repos/${name}/${file}`
      yield* fs.makeDirectory(full.slice(0, full.lastIndexOf("/")), { recursive: true })
      yield* fs.writeFileString(full, content)
    }
    yield* fs.makeDirectory(`${home}/repos/${name}`, { recursive: true })
    return home
  })

describe("stack detection", () => {
  it.effect("finds every marked stack, counting source files outside dependency dirs", () =>
    Effect.gen(function*() {
      const home = yield* repoWith("mixed", {
        "Cargo.toml": "",
        "package.json": "{}",
        "src/a.rs": "",
        "src/b.rs": "",
        "src/c.rs": "",
        "web/app.ts": "",
        "node_modules/x/1.js": "",
        "node_modules/x/2.js": "",
        "node_modules/x/3.js": "",
        "node_modules/x/4.js": "",
        "requirements.txt": "",
        "setup.py": ""
      })
      const found = yield* detectStacks(`${home}/repos/mixed`)
      assert.deepStrictEqual(found, [
        { stack: "rust", markers: ["Cargo.toml"], files: 3 },
        // A tie (setup.py is a Python file too) keeps the order of Stack.
        { stack: "node", markers: ["package.json"], files: 1 },
        { stack: "python", markers: ["requirements.txt", "setup.py"], files: 1 }
      ])
      assert.deepStrictEqual(yield* detectStacks(`${home}/repos/absent`), [])
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it("profilesFor matches the stack's name and its prefix only", () => {
    assert.deepStrictEqual(profilesFor("go", ["go", "go-tools", "golang", "rust", "gopher"]), ["go", "go-tools"])
  })

  it.effect("new prints the one stack and the library's matching profiles", () =>
    Effect.gen(function*() {
      const home = yield* repoWith("isurus", { "Cargo.toml": "", "src/main.rs": "" })
      const out = yield* runCli(["new", "isurus"], {
        memory: { document },
        home,
        profiles: ProfileLibrary.layerMemory({
          "rust": profile("rust"),
          "rust-nightly": profile("n"),
          "go": profile("go")
        })
      })
      assert.strictEqual(out.code, 0, out.stderr.join("\n"))
      assert.deepStrictEqual(out.stdout.slice(0, 2), [
        "stack: rust (found Cargo.toml)",
        "library profiles for rust: rust, rust-nightly (add with --profile NAME)"
      ])
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("new picks the dominant of several stacks and says so; --stack overrides", () =>
    Effect.gen(function*() {
      const home = yield* repoWith("web", {
        "Cargo.toml": "",
        "package.json": "{}",
        "a.ts": "",
        "b.ts": "",
        "c.rs": ""
      })
      const out = yield* runCli(["new", "web"], { memory: { document }, home })
      assert.strictEqual(out.code, 0, out.stderr.join("\n"))
      assert.strictEqual(
        out.stdout[0],
        "stacks found: node (2 files), rust (1 files); using node, the dominant one by file count (--stack to choose)"
      )
      const chosen = yield* runCli(["new", "web2", "--repo", "web", "--stack", "rust"], { memory: { document }, home })
      assert.strictEqual(chosen.code, 0, chosen.stderr.join("\n"))
      assert.strictEqual(chosen.stdout[0], "stack: rust (from --stack)")
      const bad = yield* runCli(["new", "web3", "--repo", "web", "--stack", "cobol"], { memory: { document }, home })
      assert.strictEqual(bad.code, 2)
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("a repo without markers prints nothing about stacks", () =>
    Effect.gen(function*() {
      const home = yield* repoWith("plain", { "notes.txt": "" })
      const out = yield* runCli(["new", "plain"], { memory: { document }, home })
      assert.strictEqual(out.code, 0, out.stderr.join("\n"))
      assert.isFalse(out.stdout.some((l) => l.startsWith("stack")), out.stdout.join("\n"))
      assert.strictEqual(out.stdout[0], "created plain: img, profiles default")
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("at a terminal new offers each installed stack profile not given, default no; --yes does not ask", () =>
    Effect.gen(function*() {
      const home = yield* repoWith("isurus", { "Cargo.toml": "", "src/main.rs": "" })
      const runtime = yield* RuntimeMemory.make({ namespace: "repoman" })
      const layers = {
        registry: Layer.succeed(Registry, yield* RegistryMemory.make({ document })),
        runtime: Layer.succeed(ContainerRuntime, runtime),
        profiles: ProfileLibrary.layerMemory({ "rust": profile("rust"), "rust-extra": profile("x") }),
        home
      }
      const install = yield* runCli(["profile", "install", "rust", "rust-extra"], layers)
      assert.strictEqual(install.code, 0, install.stderr.join("\n"))
      const profilesOf = (name: string) =>
        Effect.map(runtime.get(ProjectName.make(name)), (i) => i.profiles as ReadonlyArray<string>)
      // (The test terminal types the same keys at every question: mixed answers are the tmux test's.)
      // Enter: the default, no.
      const declined = yield* runCli(["new", "isurus"], { ...layers, keys: ["enter"] })
      assert.strictEqual(declined.code, 0, declined.stderr.join("\n"))
      assert.include(
        declined.stdout.join("\n"),
        "library profiles for rust: rust, rust-extra (add with --profile NAME)"
      )
      assert.deepStrictEqual(yield* profilesOf("isurus"), ["default"])
      // y: each is added.
      const accepted = yield* runCli(["new", "shrimp", "--repo", "isurus"], { ...layers, keys: ["y"] })
      assert.strictEqual(accepted.code, 0, accepted.stderr.join("\n"))
      assert.deepStrictEqual(yield* profilesOf("shrimp"), ["default", "rust", "rust-extra"])
      // Given with -p: not suggested; --yes asks nothing (a "y" would otherwise add rust-extra).
      const given = yield* runCli(["new", "crab", "--repo", "isurus", "-p", "rust", "--yes"], {
        ...layers,
        keys: ["y"]
      })
      assert.strictEqual(given.code, 0, given.stderr.join("\n"))
      assert.include(given.stdout.join("\n"), "library profiles for rust: rust-extra (add with --profile NAME)")
      assert.deepStrictEqual(yield* profilesOf("crab"), ["default", "rust"])
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))
})
