/**
 * What one `new` costs, counted against the real incusd and registry file:
 * the registry is read once (plus the read under the lock of the one write
 * that registers the project), the override file once, and the instance is
 * asked for once (is the name free?), however many profiles, shared files
 * and hermetic steps there are. The requests are counted by a proxy on the
 * socket, as incusd sees them.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { ConfigPaths } from "@repoman/core/ConfigPaths"
import { type ImageRef, ProfileName, ProjectName, type RepoDir } from "@repoman/core/Ids"
import * as Registry from "@repoman/core/Registry"
import * as IncusClient from "@repoman/incus/IncusClient"
import * as IncusContainerRuntime from "@repoman/incus/IncusContainerRuntime"
import * as NodeHostFiles from "@repoman/node/NodeHostFiles"
import * as NodeHostInfo from "@repoman/node/NodeHostInfo"
import * as RegistryFile from "@repoman/node/RegistryFile"
import * as ProfileLibrary from "@repoman/profiles/ProfileLibrary"
import { newProject } from "@repoman/programs/NewProject"
import { installProfiles } from "@repoman/programs/ProfileInstall"
import { setup } from "@repoman/programs/Setup"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as ChildProcess from "effect/process/ChildProcess"
import { randomBytes } from "node:crypto"
import { busybox, countingProxy, debian, outcome } from "./integration.ts"

/** Counts of the registry primitives. */
interface Counts {
  readonly registry: Record<"load" | "overrides" | "getOverride" | "modify", number>
}

/** The live stack (registry file, Incus runtime, profile library) with counters on the registry, over `socketPath`. */
const countedStack = (dir: string, project: string, counts: Counts, socketPath: string) => {
  const count = <A, E>(key: keyof Counts["registry"], effect: Effect.Effect<A, E>) =>
    Effect.suspend(() => {
      counts.registry[key]++
      return effect
    })
  const registry = Layer.effect(
    Registry.Registry,
    Effect.gen(function*() {
      const file = yield* Registry.Registry
      return Registry.make({
        location: file.location,
        initialize: file.initialize,
        load: count("load", file.load),
        overrides: count("overrides", file.overrides),
        getOverride: (name) => count("getOverride", file.getOverride(name)),
        modify: (f) => count("modify", file.modify(f))
      })
    })
  ).pipe(Layer.provide(RegistryFile.layer()))
  return Layer.mergeAll(
    IncusContainerRuntime.layer({ project }),
    NodeHostInfo.layer,
    NodeHostFiles.layer,
    ProfileLibrary.layer
  ).pipe(
    Layer.provideMerge(registry),
    Layer.provideMerge(IncusClient.layer({ socketPath })),
    Layer.provideMerge(ConfigPaths.layerFrom({
      home: process.env["HOME"] ?? dir,
      configDir: `${dir}/config`,
      stateDir: `${dir}/state`
    })),
    Layer.provideMerge(NodeServices.layer)
  )
}

describe("new against a real Incus", () => {
  it.live(
    "reads the registry once and asks for the instance once, with a profile, an override and hermetic",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const dir = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-new-count-" })
        const project = `rmit-count-${randomBytes(3).toString("hex")}`
        const repo = `${dir}/repos/isurus`
        yield* fs.makeDirectory(repo, { recursive: true })
        // A repo with one commit, for the hermetic clone inside.
        for (
          const args of [["init", "-q"], [
            "-c",
            "user.email=a@b",
            "-c",
            "user.name=a",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "x"
          ]]
        ) {
          assert.strictEqual((yield* outcome(ChildProcess.make("git", ["-C", repo, ...args]))).code, 0)
        }
        const proxy = yield* countingProxy(`${dir}/incus.socket`)
        const counts: Counts = { registry: { load: 0, overrides: 0, getOverride: 0, modify: 0 } }
        let seen = 0
        const requests = () => proxy.requests().slice(seen)
        const reset = () => {
          seen = proxy.requests().length
          for (const key of Object.keys(counts.registry) as Array<keyof Counts["registry"]>) counts.registry[key] = 0
        }
        yield* Effect.gen(function*() {
          const client = yield* IncusClient.IncusClient
          yield* Effect.addFinalizer(() => Effect.ignore(client.deleteProject(project, { force: true })))
          yield* setup({ incusProject: project, reposRoot: `${dir}/repos` })
          yield* fs.makeDirectory(`${dir}/config/repos.d`, { recursive: true })
          yield* fs.writeFileString(`${dir}/config/profiles.d/counted.yaml`, "config:\n  environment.COUNTED: \"1\"\n")
          yield* installProfiles([ProfileName.make("counted")], { allowSensitive: [] })

          for (const [name, image, hermetic] of [["plain", busybox, false], ["herm", debian, true]] as const) {
            yield* fs.writeFileString(`${dir}/config/repos.d/${name}.toml`, "[env]\nFOO = \"bar\"\n")
            reset()
            yield* newProject({
              name: ProjectName.make(name),
              repo: "isurus" as RepoDir,
              image: image as ImageRef,
              profiles: [ProfileName.make("counted")],
              hermetic
            })
            const label = `${name}: ${requests().join(", ")}`
            assert.deepStrictEqual(counts.registry, { load: 1, overrides: 0, getOverride: 1, modify: 1 }, label)
            const gets = (path: string) => requests().filter((r) => r === `GET ${path}`).length
            assert.strictEqual(gets(`/1.0/instances/${name}`), 1, label)
            assert.strictEqual(gets("/1.0/profiles/counted"), 1, label)
          }
        }).pipe(Effect.provide(countedStack(dir, project, counts, proxy.path)))
      }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)),
    300_000
  )
})
