import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { ContainerRuntime, InstanceSpec, NamespaceSpec, ProfileSpec } from "@repoman/core/ContainerRuntime"
import * as RuntimeMemory from "@repoman/core/ContainerRuntimeMemory"
import { ImageRef, ProfileName, ProjectName } from "@repoman/core/Ids"
import { Registry } from "@repoman/core/Registry"
import * as RegistryMemory from "@repoman/core/RegistryMemory"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { documentFrom, runCli } from "./harness.ts"

const document = documentFrom({
  schema: 3,
  project: [{ name: "isurus", repo: "isurus", image: "img", profiles: [], created: "2026-04-28T15:00:00Z" }]
})

/** repoman's namespace with two containers and one profile of its own. */
const engine = (managedNamespace = true) =>
  Effect.gen(function*() {
    // Made by setup (managed), or an existing project repoman only uses.
    const runtime = yield* RuntimeMemory.make({
      namespace: "repoman",
      ...(managedNamespace ? {} : { namespaceOrigin: { managed: false, owner: Option.none() } })
    })
    if (managedNamespace) {
      yield* runtime.ensureNamespace(
        new NamespaceSpec({
          name: "repoman",
          description: "",
          allowedPaths: [],
          idMapping: { _tag: "Shift" },
          rootDiskPool: "default"
        })
      )
    }
    yield* runtime.putProfile(ProfileName.make("rust"), new ProfileSpec({ description: "", config: {}, devices: {} }))
    for (const name of ["isurus", "lamna"]) {
      yield* runtime.create(
        new InstanceSpec({
          name: ProjectName.make(name),
          image: ImageRef.make("img"),
          profiles: [ProfileName.make("default"), ProfileName.make("rust")]
        })
      )
    }
    return runtime
  }).pipe(Effect.orDie)

describe("repoman uninstall", () => {
  it.effect("without --yes and no terminal it prints the exact list and removes nothing", () =>
    Effect.gen(function*() {
      const runtime = yield* engine()
      const out = yield* runCli(["uninstall"], {
        memory: { document },
        runtime: Layer.succeed(ContainerRuntime, runtime)
      })
      assert.strictEqual(out.code, 1)
      assert.deepStrictEqual(out.stdout, [
        "This removes from Incus project repoman:",
        "  - container isurus, stopped and deleted",
        "  - container lamna, stopped and deleted",
        "  - the registry entry of isurus",
        "  - profile rust",
        "  - the Incus project repoman itself",
        "The registry is kept. No repo is touched."
      ])
      assert.include(out.stderr.join("\n"), "pass --yes")
      assert.strictEqual((yield* runtime.list()).length, 2)
    }))

  it.effect("--yes removes the containers, the profile and the empty project", () =>
    Effect.gen(function*() {
      const runtime = yield* engine()
      const out = yield* runCli(["uninstall", "--yes"], {
        memory: { document },
        runtime: Layer.succeed(ContainerRuntime, runtime)
      })
      assert.strictEqual(out.code, 0, out.stderr.join("\n"))
      assert.strictEqual(out.stdout.at(-1), "uninstalled")
      const gone = yield* Effect.flip(runtime.getNamespace("repoman"))
      assert.strictEqual(gone.reason._tag, "NotFound")
      // Run again: nothing left to do, and it says so.
      const again = yield* runCli(["uninstall", "--yes"], {
        memory: { document },
        runtime: Layer.succeed(ContainerRuntime, runtime)
      })
      assert.strictEqual(again.code, 0, again.stderr.join("\n"))
      assert.deepStrictEqual(again.stdout, ["Nothing to remove: Incus project repoman does not exist."])
    }))

  it.effect("the registry entries of the containers it deletes go with them; others stay", () =>
    Effect.gen(function*() {
      const runtime = yield* engine()
      const registry = yield* RegistryMemory.make({
        document: documentFrom({
          schema: 3,
          project: [
            { name: "isurus", repo: "isurus", image: "img", profiles: [], created: "2026-04-28T15:00:00Z" },
            { name: "elsewhere", repo: "elsewhere", image: "img", profiles: [], created: "2026-04-28T15:00:00Z" }
          ]
        })
      })
      const out = yield* runCli(["uninstall", "--yes"], {
        registry: Layer.succeed(Registry, registry),
        runtime: Layer.succeed(ContainerRuntime, runtime)
      })
      assert.strictEqual(out.code, 0, out.stderr.join("\n"))
      assert.include(out.stdout, "  - the registry entry of isurus")
      assert.notInclude(out.stdout.join("\n"), "registry entry of elsewhere")
      // isurus can be made again; elsewhere (no container of this namespace) is still registered.
      assert.deepStrictEqual((yield* registry.projects).map((p) => p.name), ["elsewhere"])
    }))

  it.effect("with nothing to remove it says so and exits 0, without --yes and without a terminal", () =>
    Effect.gen(function*() {
      const runtime = yield* engine()
      const first = yield* runCli(["uninstall", "--yes"], {
        memory: { document },
        runtime: Layer.succeed(ContainerRuntime, runtime)
      })
      assert.strictEqual(first.code, 0, first.stderr.join("\n"))
      const empty = yield* runCli(["uninstall"], {
        memory: { document },
        runtime: Layer.succeed(ContainerRuntime, runtime)
      })
      assert.strictEqual(empty.code, 0, empty.stderr.join("\n"))
      assert.deepStrictEqual(empty.stdout, ["Nothing to remove: Incus project repoman does not exist."])
      // A project repoman did not make, emptied already: nothing of yours, and it stays.
      const kept = yield* runCli(["uninstall"], {
        memory: { document },
        runtime: Layer.succeed(
          ContainerRuntime,
          yield* engine(false).pipe(
            Effect.tap((r) =>
              Effect.all([
                r.remove(ProjectName.make("isurus")),
                r.remove(ProjectName.make("lamna")),
                r.deleteProfile(ProfileName.make("rust"))
              ]).pipe(Effect.orDie)
            )
          )
        )
      })
      assert.strictEqual(kept.code, 0, kept.stderr.join("\n"))
      assert.deepStrictEqual(kept.stdout, ["Nothing to remove: repoman has nothing of yours in Incus project repoman."])
    }))

  it.effect("a project repoman did not make is emptied of repoman's objects but kept", () =>
    Effect.gen(function*() {
      const runtime = yield* engine(false)
      const out = yield* runCli(["uninstall", "--yes"], {
        memory: { document },
        runtime: Layer.succeed(ContainerRuntime, runtime)
      })
      assert.strictEqual(out.code, 0, out.stderr.join("\n"))
      assert.notInclude(out.stdout.join("\n"), "itself")
      assert.deepStrictEqual(yield* runtime.list(), [])
      assert.deepStrictEqual((yield* runtime.listProfiles()).map((p) => p.name), ["default"])
    }))

  it.effect("the registry file goes only with --purge-registry; repos are untouched", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const home = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-uninstall-" })
      const registryFile = `${home}/.config/repoman/repoman.toml`
      yield* fs.makeDirectory(`${home}/.config/repoman`, { recursive: true })
      yield* fs.makeDirectory(`${home}/repos/isurus`, { recursive: true })
      yield* fs.writeFileString(registryFile, "schema = 3\n")
      yield* fs.writeFileString(`${home}/repos/isurus/file`, "keep\n")

      const kept = yield* runCli(["uninstall", "--yes"], {
        memory: { document },
        runtime: Layer.succeed(ContainerRuntime, yield* engine()),
        home
      })
      assert.strictEqual(kept.code, 0, kept.stderr.join("\n"))
      assert.isTrue(yield* fs.exists(registryFile))

      const purged = yield* runCli(["uninstall", "--yes", "--purge-registry"], {
        memory: { document },
        runtime: Layer.succeed(ContainerRuntime, yield* engine()),
        home
      })
      assert.strictEqual(purged.code, 0, purged.stderr.join("\n"))
      assert.include(purged.stdout.join("\n"), `  - the registry file ${registryFile}`)
      assert.isFalse(yield* fs.exists(registryFile))
      assert.strictEqual(yield* fs.readFileString(`${home}/repos/isurus/file`), "keep\n")
    }).pipe(Effect.provide(NodeServices.layer)))
})
