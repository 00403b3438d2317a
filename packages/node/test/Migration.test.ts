import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { ProjectName } from "@repoman/core/Ids"
import type { Project } from "@repoman/core/Project"
import { Timestamp } from "@repoman/core/Project"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import { parse } from "smol-toml"
import { configDir, fixture, readText, registryAt } from "./registryHarness.ts"

const seeded = (name: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const original = yield* fs.readFileString(fixture(name))
    const { dir, file } = yield* configDir(original)
    return { dir, file, original, registry: yield* registryAt(dir) }
  })

const newProject: Project = {
  name: ProjectName.make("newcomer"),
  repo: "newcomer" as Project["repo"],
  image: "images:debian/12/cloud" as Project["image"],
  profiles: [],
  created: Timestamp.make("2026-11-22T10:00:00Z"),
  backup: true
}

type Table = Record<string, unknown>
const table = (u: unknown): Table => u as Table
const projectsOf = (raw: Table) => raw["project"] as ReadonlyArray<Table>

describe("migration from schema 1", () => {
  it.effect("every field arrives, defaults fill the missing profile lists", () =>
    Effect.gen(function*() {
      const { registry } = yield* seeded("schema1.toml")
      const doc = yield* registry.load
      assert.strictEqual(doc.schema, 3)
      assert.strictEqual(doc.repoman.output, "normal")
      assert.deepStrictEqual<unknown>(doc.host, {})
      assert.deepStrictEqual<unknown>(doc.defaults, {
        reposRoot: "~/repos",
        backupRoot: "/nfs/repos",
        logdir: "~/.local/state/repoman",
        incusProject: "repoman",
        defaultImage: "images:ubuntu/24.04/cloud",
        profiles: ["default"],
        uidMode: "idmap"
      })
      assert.deepStrictEqual<unknown>(doc.projects, [
        {
          name: "isurus",
          repo: "isurus-project",
          image: "images:ubuntu/24.04/cloud",
          profiles: ["default"],
          created: "2025-01-10T09:00:00Z",
          lastSync: "2025-02-01T20:17:03Z",
          backup: true
        },
        {
          name: "mako",
          repo: "mako",
          image: "images:debian/12/cloud",
          profiles: ["default"],
          created: "2025-03-05T12:30:00Z",
          backup: false
        }
      ])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("a read never rewrites the file", () =>
    Effect.gen(function*() {
      const { registry, file, original } = yield* seeded("schema1.toml")
      yield* registry.load
      yield* registry.projects
      assert.strictEqual(yield* readText(file), original)
      const fs = yield* FileSystem.FileSystem
      assert.isFalse(yield* fs.exists(`${file}.bak`))
      assert.isFalse(yield* fs.exists(`${file}.schema1.bak`))
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("the first write stores schema 3, keeps unknown keys and the original as .schema1.bak", () =>
    Effect.gen(function*() {
      const { registry, file, original } = yield* seeded("schema1.toml")
      yield* registry.addProject(newProject)
      assert.strictEqual(yield* readText(`${file}.schema1.bak`), original)
      assert.strictEqual(yield* readText(`${file}.bak`), original)
      const raw = table(parse(yield* readText(file)))
      assert.strictEqual(raw["schema"], 3)
      assert.strictEqual(table(raw["repoman"])["editor"], "vim")
      assert.deepStrictEqual(raw["extras"], { note: "kept" })
      const [isurus, mako, added] = projectsOf(raw)
      assert.strictEqual(isurus?.["color"], "blue")
      assert.deepStrictEqual(isurus?.["profiles"], ["default"])
      assert.strictEqual(mako?.["backup"], false)
      assert.strictEqual(added?.["name"], "newcomer")
      // A second write keeps the first original, not the already-migrated file.
      yield* registry.removeProject(ProjectName.make("newcomer"))
      assert.strictEqual(yield* readText(`${file}.schema1.bak`), original)
    }).pipe(Effect.provide(NodeServices.layer)))
})

describe("migration from schema 2", () => {
  it.effect("the LAN IP moves from the llm URL into [host]; the URL and unknown keys stay", () =>
    Effect.gen(function*() {
      const { registry, file, original } = yield* seeded("schema2.toml")
      const doc = yield* registry.load
      assert.deepStrictEqual<unknown>(doc.host, { lanIp: "192.168.1.42" })
      assert.deepStrictEqual<unknown>(doc.defaults, {
        reposRoot: "/srv/repos",
        backupRoot: "/mnt/backup/repos",
        logdir: "~/.local/state/repoman",
        incusProject: "agents",
        defaultImage: "images:ubuntu/26.04/cloud",
        profiles: ["default", "claude-share"],
        uidMode: "idmap"
      })
      assert.deepStrictEqual<unknown>(doc.projects.map((p) => [p.name, p.profiles, p.lastSync, p.backup, p.created]), [
        ["isurus", ["default", "claude-share", "llm-share"], "2026-04-28T20:17:03Z", true, "2026-04-28T15:00:00Z"],
        ["porbeagle", ["default", "claude-share"], undefined, true, "2026-05-01T08:00:00Z"]
      ])

      yield* registry.addProject(newProject)
      assert.strictEqual(yield* readText(`${file}.schema2.bak`), original)
      const raw = table(parse(yield* readText(file)))
      assert.strictEqual(raw["schema"], 3)
      assert.deepStrictEqual(raw["host"], { lan_ip: "192.168.1.42" })
      assert.strictEqual(table(raw["defaults"])["llm"], "http://192.168.1.42:11434")
      assert.strictEqual(table(raw["defaults"])["shell"], "zsh")
      assert.strictEqual(projectsOf(raw).length, 3)
    }).pipe(Effect.provide(NodeServices.layer)))
})

describe("schema 3", () => {
  it.effect("loads the design's example and writes nothing when nothing changes", () =>
    Effect.gen(function*() {
      const { registry, file, original } = yield* seeded("schema3.toml")
      const doc = yield* registry.load
      assert.deepStrictEqual<unknown>(doc.host, { lanIp: "192.168.1.42" })
      assert.deepStrictEqual<unknown>(doc.projects[0]?.profiles, ["default", "claude-share"])
      yield* registry.modify((d) => Effect.succeed([undefined, d] as const))
      const fs = yield* FileSystem.FileSystem
      assert.isFalse(yield* fs.exists(`${file}.bak`))
      assert.strictEqual(yield* readText(file), original)
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("unknown tables survive writes, and a removed project takes its unknown keys along", () =>
    Effect.gen(function*() {
      const { registry, file } = yield* seeded("schema3.toml")
      yield* registry.addProject(newProject)
      let raw = table(parse(yield* readText(file)))
      assert.deepStrictEqual(raw["plugins"], { profiles: ["@acme/repoman-profiles"] })
      yield* registry.removeProject(ProjectName.make("isurus"))
      raw = table(parse(yield* readText(file)))
      assert.deepStrictEqual(projectsOf(raw).map((p) => p["name"]), ["newcomer"])
      assert.deepStrictEqual(raw["plugins"], { profiles: ["@acme/repoman-profiles"] })
    }).pipe(Effect.provide(NodeServices.layer)))
})
