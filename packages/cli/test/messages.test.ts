/**
 * The messages of issue 18, in-process: each a one-line error with the right
 * exit code, nothing made. (Unknown profiles: profile.test.ts; missing agent
 * installs: agents.test.ts; the sync mount check: sync.test.ts.)
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { ContainerRuntime, StoragePool } from "@repoman/core/ContainerRuntime"
import * as RuntimeMemory from "@repoman/core/ContainerRuntimeMemory"
import { Registry } from "@repoman/core/Registry"
import { emptyDocument } from "@repoman/core/RegistryDocument"
import * as RegistryMemory from "@repoman/core/RegistryMemory"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import { runCli } from "./harness.ts"

const memory = { document: emptyDocument }

describe("messages", () => {
  it.effect("a --git value that starts with '-' is refused as an option, exit 2, before any parsing or work", () =>
    Effect.gen(function*() {
      const runtime = yield* RuntimeMemory.make({ namespace: "repoman" })
      for (const argv of [["new", "foo", "--git", "-uhelp"], ["new", "foo", "--git=-uhelp"]]) {
        const out = yield* runCli(argv, { memory, runtime: Layer.succeed(ContainerRuntime, runtime) })
        assert.strictEqual(out.code, 2)
        assert.deepStrictEqual(out.stdout, [], "no help page")
        assert.deepStrictEqual(out.stderr, [
          `repoman: --git "-uhelp": that looks like an option, not a git URL (it starts with '-'); nothing was done`
        ])
      }
      assert.deepStrictEqual(yield* runtime.list(), [])
      const image = yield* runCli(["setup", "--image", "-h"], { memory })
      assert.strictEqual(image.code, 2)
      assert.deepStrictEqual(image.stdout, [], "no help page")
      // Another command's arguments are its own: `exec NAME cmd --image -x` is not looked at.
      const exec = yield* runCli(["exec", "isurus", "cmd", "--image", "-x"], { memory })
      assert.notInclude(exec.stderr.join("\n"), "looks like an option")
      // After `--` it is an argument, not a flag's value: the parser decides.
      const after = yield* runCli(["new", "foo", "--", "--git", "-x"], { memory })
      assert.notInclude(after.stderr.join("\n"), "looks like an option")
    }))

  it.effect("new Bad_Name says what a valid name is, not 'Schema validation failed'", () =>
    Effect.gen(function*() {
      const out = yield* runCli(["new", "Bad_Name"], { memory })
      assert.strictEqual(out.code, 2)
      assert.deepStrictEqual(out.stderr, [
        "repoman: Invalid value for argument <name>: \"Bad_Name\": a project name is 1-63 ASCII letters, digits " +
        "and hyphens, starts with a letter and does not end with a hyphen",
        "Run 'repoman new --help' for usage."
      ])
    }))

  it.effect("profile list before setup says to run repoman setup", () =>
    Effect.gen(function*() {
      const runtime = RuntimeMemory.layer({ namespace: "repoman", namespaceExists: false })
      const out = yield* runCli(["profile", "list"], { memory, runtime })
      assert.strictEqual(out.code, 1)
      assert.deepStrictEqual(out.stderr, [
        "repoman: namespace \"repoman\" does not exist: run 'repoman setup' first (it makes the Incus project, " +
        "or says what an admin must do)"
      ])
    }))

  it.effect("setup --help shows the default image; --wizard is not a repoman flag", () =>
    Effect.gen(function*() {
      const help = yield* runCli(["setup", "--help"], { memory })
      assert.strictEqual(help.code, 0)
      assert.isTrue(
        help.stdout.some((l) =>
          /--image string +The image new containers are made from \(default images:ubuntu\/26\.04\/cloud\)$/.test(l)
        ),
        help.stdout.join("\n")
      )
      assert.notInclude(help.stdout.join("\n"), "--wizard")
      const wizard = yield* runCli(["setup", "--wizard"], { memory })
      assert.strictEqual(wizard.code, 2)
      assert.include(wizard.stderr.join("\n"), "Unrecognized flag: --wizard")
    }))
})

describe("setup run again", () => {
  it.effect("without --storage-pool it reports the pool the project uses, not the default one", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const home = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-setup-pool-" })
      yield* fs.makeDirectory(`${home}/repos`)
      const runtime = yield* RuntimeMemory.make({
        namespace: "repoman",
        namespaceExists: false,
        storagePools: [
          new StoragePool({ name: "default", driver: "dir" }),
          new StoragePool({ name: "fast", driver: "btrfs" })
        ]
      })
      const registry = yield* RegistryMemory.make({})
      const setup = (...extra: ReadonlyArray<string>) =>
        runCli(["setup", "--non-interactive", "--uid-mode", "shift", "--repos-root", `${home}/repos`, ...extra], {
          home,
          registry: Layer.succeed(Registry, registry),
          runtime: Layer.succeed(ContainerRuntime, runtime)
        })
      const first = yield* setup("--storage-pool", "fast")
      assert.strictEqual(first.code, 0, first.stderr.join("\n"))
      assert.include(first.stdout, "pool        fast (btrfs)")
      const again = yield* setup()
      assert.strictEqual(again.code, 0, again.stderr.join("\n"))
      assert.include(again.stdout, "pool        fast (btrfs)")
      assert.notInclude(again.stderr.join("\n"), "uses the dir driver")
      // Asking for another pool once containers' root disks come from one: said, not silently ignored.
      const other = yield* setup("--storage-pool", "default")
      assert.strictEqual(other.code, 0, other.stderr.join("\n"))
      assert.include(other.stdout, "pool        fast (btrfs)")
      assert.include(other.stderr.join("\n"), "keeps storage pool fast")
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))
})
