/**
 * The git seal through the command, on the memory runtime and real git
 * repos: new seals by default and says how to get the agent's commits,
 * shared mode warns, the flags that do not go together are a usage error,
 * status and patches print container text escaped.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { ContainerRuntime } from "@repoman/core/ContainerRuntime"
import * as RuntimeMemory from "@repoman/core/ContainerRuntimeMemory"
import { ProjectName } from "@repoman/core/Ids"
import { Registry } from "@repoman/core/Registry"
import * as RegistryMemory from "@repoman/core/RegistryMemory"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { documentFrom, runCli } from "./harness.ts"

const document = documentFrom({ schema: 3, defaults: { profiles: ["default"], default_image: "img" } })
const ESC = "\x1b"

const world = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const home = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-seal-cli-" })
  yield* fs.makeDirectory(`${home}/repos/isurus`, { recursive: true })
  yield* fs.writeFileString(`${home}/repos/isurus/README`, "one\n")
  const runtime = yield* RuntimeMemory.make({
    namespace: "repoman",
    restrictions: { allowedPaths: [`${home}/repos`], idMapping: { _tag: "HostUser", uid: 1000, gid: 1000 } }
  })
  const registry = yield* RegistryMemory.make({ document })
  const run = (argv: ReadonlyArray<string>) =>
    runCli(argv, {
      registry: Layer.succeed(Registry, registry),
      runtime: Layer.succeed(ContainerRuntime, runtime),
      home
    })
  return { fs, home, runtime, registry, run }
})

describe("repoman new and the git seal", () => {
  it.effect("seals by default: a git repo made for it, a cover and locked mounts, status says sealed", () =>
    Effect.gen(function*() {
      const { fs, home, registry, run, runtime } = yield* world
      const out = yield* run(["new", "isurus"])
      assert.strictEqual(out.code, 0, out.stderr.join("\n"))
      assert.include(out.stdout.join("\n"), "initialized an empty git repo")
      assert.include(out.stdout.join("\n"), "repoman fetch isurus")
      assert.isTrue(yield* fs.exists(`${home}/repos/isurus/.git/HEAD`))
      const instance = yield* runtime.get(ProjectName.make("isurus"))
      assert.isTrue(instance.lockMounts)
      assert.strictEqual(
        Option.map(instance.gitCover, (c) => c.gitDir).pipe(Option.getOrNull),
        yield* fs.realPath(`${home}/.local/state/repoman/git/isurus`)
      )
      assert.strictEqual((yield* registry.load).projects[0]?.git, "sealed")
      const st = yield* run(["status", "isurus", "--json"])
      const [row] = JSON.parse(st.stdout.join("\n")) as ReadonlyArray<{ readonly seal: { readonly state: string } }>
      assert.strictEqual(row?.seal.state, "sealed")
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("--git-mode shared warns on stderr, records shared, and status warns; with --hermetic it is a usage error", () =>
    Effect.gen(function*() {
      const { registry, run, runtime } = yield* world
      const both = yield* run(["new", "isurus", "--hermetic", "--git-mode", "shared"])
      assert.strictEqual(both.code, 2)
      assert.deepStrictEqual(yield* runtime.list(), [])
      const out = yield* run(["new", "isurus", "--git-mode", "shared"])
      assert.strictEqual(out.code, 0, out.stderr.join("\n"))
      assert.include(out.stderr.join("\n"), "the container can write this repo's .git")
      const instance = yield* runtime.get(ProjectName.make("isurus"))
      assert.isFalse(instance.lockMounts)
      assert.isTrue(Option.isNone(instance.gitCover))
      assert.strictEqual((yield* registry.load).projects[0]?.git, "shared")
      const st = yield* run(["status", "isurus"])
      assert.include(st.stdout.join("\n"), "git seal     WARN  shared")
      assert.include(st.stdout.join("\n"), "shares git")
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("patches prints names from the container escaped, and lists a symlink as refused", () =>
    Effect.gen(function*() {
      const { fs, home, run } = yield* world
      assert.strictEqual((yield* run(["new", "isurus", "--hermetic"])).code, 0)
      const dir = `${home}/.local/state/repoman/patches/isurus`
      yield* fs.writeFileString(`${dir}/0001-${ESC}]0;owned${ESC}[2K.patch`, "From x\n")
      yield* fs.symlink("/etc/passwd", `${dir}/0002-link.patch`)
      const out = yield* run(["patches", "isurus"])
      assert.strictEqual(out.code, 0, out.stderr.join("\n"))
      const text = out.stdout.join("\n")
      assert.notInclude(text, ESC)
      assert.include(text, `${dir}/0001-\\x1b]0;owned\\x1b[2K.patch`)
      assert.include(text, `refused ${dir}/0002-link.patch: a symlink, not a regular file`)
      const apply = yield* run(["patches", "isurus", "--apply"])
      assert.strictEqual(apply.code, 1)
      assert.notInclude(apply.stderr.join("\n"), ESC)
      assert.include(apply.stderr.join("\n"), "0002-link.patch is a symlink")
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))
})
