import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { ProjectName } from "@repoman/core/Ids"
import type { Project } from "@repoman/core/Project"
import { Timestamp } from "@repoman/core/Project"
import type { RegistryErrorReason } from "@repoman/core/Registry"
import { emptyDocument } from "@repoman/core/RegistryDocument"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import { spawnSync } from "node:child_process"
import { hostname } from "node:os"
import { configDir, readText, registryAt } from "./registryHarness.ts"

const project = (name: string): Project => ({
  name: ProjectName.make(name),
  repo: name as Project["repo"],
  image: "images:debian/12/cloud" as Project["image"],
  profiles: [],
  created: Timestamp.make("2026-11-22T10:00:00Z"),
  backup: true
})

const VALID = `schema = 3
[defaults]
repos_root = "~/repos"

[[project]]
name = "alpha"
repo = "alpha"
image = "images:debian/12/cloud"
profiles = ["default"]
created = "2026-01-01T00:00:00Z"
`

/** The failure reason of `effect`, which must fail with a RegistryError. */
const reasonOf = <A>(
  effect: Effect.Effect<A, { readonly _tag: "RegistryError"; readonly reason: RegistryErrorReason }>
) => Effect.map(Effect.flip(effect), (e) => e.reason)

/** A pid that belongs to no running process: one of a child that has exited. */
const deadPid = (): number => {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" })
  return Number(child.stdout)
}

describe("RegistryFile reads", () => {
  it.effect("a second load of an unchanged file gives the same document; a changed file is read anew", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { dir, file } = yield* configDir(VALID)
      const registry = yield* registryAt(dir)
      const first = yield* registry.load
      assert.strictEqual(yield* registry.load, first, "not parsed again")
      yield* fs.writeFileString(file, VALID.replace(`name = "alpha"`, `name = "beta"`))
      const changed = yield* registry.load
      assert.deepStrictEqual(changed.projects.map((p) => p.name), ["beta"])
      // Written through the registry: the next load sees it too.
      yield* registry.addProject(project("gamma"))
      assert.deepStrictEqual((yield* registry.load).projects.map((p) => p.name), ["beta", "gamma"])
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))
})

describe("RegistryFile errors", () => {
  it.effect("no file: NotInitialized naming the path", () =>
    Effect.gen(function*() {
      const { dir, file } = yield* configDir()
      const registry = yield* registryAt(dir)
      const reason = yield* reasonOf(registry.load)
      assert.strictEqual(reason._tag, "NotInitialized")
      assert.include(reason.message, file)
      assert.strictEqual((yield* reasonOf(registry.addProject(project("x"))))._tag, "NotInitialized")
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("invalid TOML: file, line and column; a write is refused and the bytes stay", () =>
    Effect.gen(function*() {
      const text = VALID.replace(`repo = "alpha"`, `repo = "alpha`)
      const { dir, file } = yield* configDir(text)
      const registry = yield* registryAt(dir)
      const reason = yield* reasonOf(registry.addProject(project("beta")))
      assert.strictEqual(reason._tag, "InvalidToml")
      if (reason._tag !== "InvalidToml") return
      assert.strictEqual(reason.path, file)
      assert.strictEqual(reason.line, 7)
      assert.match(reason.message, new RegExp(`^${file}:7:\\d+: not valid TOML`))
      assert.strictEqual(yield* readText(file), text)
      const fs = yield* FileSystem.FileSystem
      assert.isFalse(yield* fs.exists(`${file}.bak`))
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("schema violation: names the key and its line", () =>
    Effect.gen(function*() {
      const text = VALID.replace(`name = "alpha"`, `name = "Alpha_1"`)
      const { dir, file } = yield* configDir(text)
      const registry = yield* registryAt(dir)
      const reason = yield* reasonOf(registry.removeProject(ProjectName.make("alpha")))
      assert.strictEqual(reason._tag, "InvalidDocument")
      if (reason._tag !== "InvalidDocument") return
      assert.strictEqual(reason.key, "project[0].name")
      assert.strictEqual(reason.line, 6)
      assert.include(reason.message, `${file}:6: key project[0].name:`)
      assert.strictEqual(yield* readText(file), text)
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("a missing required key points at its table", () =>
    Effect.gen(function*() {
      const { dir } = yield* configDir(VALID.replace(`image = "images:debian/12/cloud"\n`, ""))
      const reason = yield* reasonOf((yield* registryAt(dir)).load)
      assert.strictEqual(reason._tag, "InvalidDocument")
      if (reason._tag !== "InvalidDocument") return
      assert.strictEqual(reason.key, "project[0].image")
      assert.strictEqual(reason.line, 5)
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("a schema from the future is refused, untouched", () =>
    Effect.gen(function*() {
      const text = "schema = 4\n"
      const { dir, file } = yield* configDir(text)
      const reason = yield* reasonOf((yield* registryAt(dir)).addProject(project("x")))
      assert.strictEqual(reason._tag, "UnsupportedSchema")
      assert.strictEqual(yield* readText(file), text)
    }).pipe(Effect.provide(NodeServices.layer)))
})

describe("RegistryFile projects", () => {
  it.effect("add, duplicate, update, remove, and .bak holds the previous file", () =>
    Effect.gen(function*() {
      const { dir, file } = yield* configDir(VALID)
      const registry = yield* registryAt(dir)
      yield* registry.addProject(project("beta"))
      assert.strictEqual(yield* readText(`${file}.bak`), VALID)
      assert.strictEqual((yield* reasonOf(registry.addProject(project("beta"))))._tag, "ProjectExists")
      const before = yield* readText(file)
      const updated = yield* registry.updateProject(
        ProjectName.make("beta"),
        (p) => ({ ...p, lastSync: Timestamp.make("2026-11-22T11:00:00Z") })
      )
      assert.strictEqual(updated.lastSync, "2026-11-22T11:00:00Z")
      assert.strictEqual(yield* readText(`${file}.bak`), before)
      assert.strictEqual((yield* registry.getProject(ProjectName.make("beta"))).lastSync, "2026-11-22T11:00:00Z")
      const removed = yield* registry.removeProject(ProjectName.make("alpha"))
      assert.strictEqual(removed.name, "alpha")
      assert.deepStrictEqual((yield* registry.projects).map((p) => p.name), ["beta"])
      assert.strictEqual((yield* reasonOf(registry.removeProject(ProjectName.make("alpha"))))._tag, "ProjectNotFound")
      assert.strictEqual((yield* reasonOf(registry.getProject(ProjectName.make("alpha"))))._tag, "ProjectNotFound")
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("initialize creates the config dir and file once", () =>
    Effect.gen(function*() {
      const { dir } = yield* configDir()
      const nested = `${dir}/a/b/repoman`
      const registry = yield* registryAt(nested)
      assert.isTrue(yield* registry.initialize(emptyDocument))
      assert.isFalse(yield* registry.initialize({ ...emptyDocument, projects: [project("zed")] }))
      assert.deepStrictEqual(yield* registry.projects, [])
      const fs = yield* FileSystem.FileSystem
      assert.strictEqual((yield* fs.stat(nested)).mode & 0o777, 0o700)
    }).pipe(Effect.provide(NodeServices.layer)))
})

describe("RegistryFile overrides", () => {
  it.effect("valid overrides by project; an override of no registered project is an orphan", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { dir } = yield* configDir(VALID)
      yield* fs.makeDirectory(`${dir}/repos.d`)
      yield* fs.writeFileString(
        `${dir}/repos.d/alpha.toml`,
        `[container]\nprofiles = ["gitconfig-ro"]\n[[mount]]\nsource = "~/data"\npath = "/data"\n[env]\nFOO = "bar"\n`
      )
      yield* fs.writeFileString(`${dir}/repos.d/ghost.toml`, `[container]\nimage = "debian"\n`)
      const registry = yield* registryAt(dir)
      const overrides = yield* registry.overrides
      assert.deepStrictEqual<unknown>(overrides.byProject.get(ProjectName.make("alpha")), {
        container: { profiles: ["gitconfig-ro"] },
        mounts: [{ source: "~/data", path: "/data" }],
        env: { FOO: "bar" }
      })
      assert.deepStrictEqual(overrides.orphans, [{ name: "ghost", path: `${dir}/repos.d/ghost.toml` }])
      // Still readable by name: `new ghost` would apply it.
      assert.deepStrictEqual<unknown>(overrides.byProject.get(ProjectName.make("ghost")), {
        container: { image: "debian", profiles: [] },
        mounts: [],
        env: {}
      })
      assert.isTrue(Option.isSome(yield* registry.getOverride(ProjectName.make("alpha"))))
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("an invalid override is an error naming its file and key", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { dir } = yield* configDir(VALID)
      yield* fs.makeDirectory(`${dir}/repos.d`)
      yield* fs.writeFileString(`${dir}/repos.d/alpha.toml`, `[[mount]]\nsource = "relative/path"\npath = "/x"\n`)
      const reason = yield* reasonOf((yield* registryAt(dir)).overrides)
      assert.strictEqual(reason._tag, "InvalidDocument")
      if (reason._tag !== "InvalidDocument") return
      assert.strictEqual(reason.path, `${dir}/repos.d/alpha.toml`)
      assert.strictEqual(reason.key, "mount[0].source")
      assert.strictEqual(reason.line, 2)
    }).pipe(Effect.provide(NodeServices.layer)))
})

describe("RegistryFile lock", () => {
  it.effect("a stale lock left by a dead process is recovered", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { dir, file } = yield* configDir(VALID)
      yield* fs.writeFileString(`${file}.lock`, `${deadPid()}\n${hostname()}\n`)
      const registry = yield* registryAt(dir, { lockTimeout: "2 seconds" })
      yield* registry.addProject(project("beta"))
      assert.deepStrictEqual((yield* registry.projects).map((p) => p.name), ["alpha", "beta"])
      assert.isFalse(yield* fs.exists(`${file}.lock`))
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("a lock held by a live process makes a writer wait, then fail naming the holder", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { dir, file } = yield* configDir(VALID)
      yield* fs.writeFileString(`${file}.lock`, `${process.ppid}\n${hostname()}\n`)
      const registry = yield* registryAt(dir, { lockTimeout: "300 millis" })
      const reason = yield* reasonOf(registry.addProject(project("beta")))
      assert.strictEqual(reason._tag, "LockTimeout")
      assert.include(reason.message, `process ${process.ppid}`)
      assert.strictEqual(yield* readText(file), VALID)
      // The other holder's lock is left alone.
      assert.isTrue(yield* fs.exists(`${file}.lock`))
    }).pipe(Effect.provide(NodeServices.layer)))
})
