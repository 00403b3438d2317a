/**
 * `repoman config` in process, over the memory runtime and registry: flag
 * parsing (usage errors exit 2, nothing changed), `--json` staying JSON,
 * and the restart question at a terminal (asked before anything changes;
 * the default is no).
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
import * as Schema from "effect/Schema"
import { parseEnv, parseMount } from "../src/commands/config.ts"
import { documentFrom, runCli } from "./harness.ts"

const document = documentFrom({ schema: 3, defaults: { profiles: ["default"], default_image: "img" } })
const isurus = ProjectName.make("isurus")

/** A home with repos/isurus, a project made by `new`, and `repoman ARGS` over the same registry and runtime. */
const world = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const home = yield* fs.realPath(yield* fs.makeTempDirectoryScoped({ prefix: "repoman-config-cli-" }))
  yield* fs.makeDirectory(`${home}/repos/isurus`, { recursive: true })
  yield* fs.makeDirectory(`${home}/data`, { recursive: true })
  const registry = yield* RegistryMemory.make({ document })
  const runtime = yield* RuntimeMemory.make({ namespace: "repoman" })
  const layers = {
    registry: Layer.succeed(Registry, registry),
    runtime: Layer.succeed(ContainerRuntime, runtime),
    home
  }
  const repoman = (args: ReadonlyArray<string>, keys?: ReadonlyArray<string>) =>
    runCli(args, { ...layers, ...(keys === undefined ? {} : { keys }) })
  const created = yield* repoman(["new", "isurus"])
  assert.strictEqual(created.code, 0, created.stderr.join("\n"))
  return { home, registry, runtime, repoman }
})

describe("repoman config", () => {
  it("parses SRC:DST[:ro] and K=V, and says what is wrong otherwise", () => {
    assert.deepStrictEqual(parseMount("~/data:/srv/data"), { source: "~/data", path: "/srv/data", readOnly: false })
    assert.deepStrictEqual(parseMount("/a:b:/srv/x:ro"), { source: "/a:b", path: "/srv/x", readOnly: true })
    assert.deepStrictEqual(parseMount("/a:/b:rw"), { source: "/a", path: "/b", readOnly: false })
    assert.isString(parseMount("nocolon"))
    assert.isString(parseMount("/a:relative"))
    assert.deepStrictEqual(parseEnv("A=b=c"), ["A", "b=c"])
    assert.deepStrictEqual(parseEnv("EMPTY="), ["EMPTY", ""])
    assert.isString(parseEnv("NOEQ"))
    assert.isString(parseEnv("=v"))
  })

  it.effect("shows the settings (text and pure JSON); a live change prints JSON only", () =>
    Effect.gen(function*() {
      const { home, repoman, runtime } = yield* world
      const shown = yield* repoman(["config", "isurus"])
      assert.strictEqual(shown.code, 0, shown.stderr.join("\n"))
      assert.include(shown.stdout.join("\n"), "profiles: default")
      const json = yield* repoman(["config", "isurus", "--json"])
      const decoded = Schema.decodeUnknownSync(Schema.fromJsonString(Schema.Struct({ name: Schema.String })))(
        json.stdout.join("\n")
      )
      assert.strictEqual(decoded.name, "isurus")
      const changed = yield* repoman(["config", "isurus", "--env", "A=1", "--mount", "~/data:/srv/data:ro", "--json"])
      assert.strictEqual(changed.code, 0, changed.stderr.join("\n"))
      const result = Schema.decodeUnknownSync(
        Schema.fromJsonString(Schema.Struct({ changed: Schema.Boolean, restarted: Schema.Boolean }))
      )(changed.stdout.join("\n"))
      assert.deepStrictEqual([result.changed, result.restarted], [true, false])
      const instance = yield* runtime.get(isurus)
      assert.deepStrictEqual(instance.env, { A: "1" })
      assert.deepStrictEqual(instance.mounts.map((m) => [m.source, m.path, m.readOnly]), [
        [`${home}/data`, "/srv/data", true]
      ])
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("bad flags and an unknown project are one line and a non-zero exit, nothing changed", () =>
    Effect.gen(function*() {
      const { registry, repoman } = yield* world
      const before = yield* registry.load
      for (
        const [args, code] of [
          [["config", "isurus", "--mount", "nocolon"], 2],
          [["config", "isurus", "--env", "NOEQ"], 2],
          [["config", "isurus", "--env", "BAD-KEY=1"], 2],
          [["config", "isurus", "--memory", "lots"], 2],
          [["config", "isurus", "--cpu", "0"], 2],
          [["config", "isurus", "--unmount", "/nothing/there"], 2],
          [["config", "nope", "--env", "A=1"], 1]
        ] as const
      ) {
        const out = yield* repoman(args)
        assert.strictEqual(out.code, code, `${args.join(" ")}: ${out.stderr.join("\n")}`)
        assert.isFalse(out.stderr.some((l) => l.includes("    at ")), out.stderr.join("\n"))
      }
      assert.deepStrictEqual(yield* registry.load, before)
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("a restart: refused without a terminal, asked at one (default no), made when accepted", () =>
    Effect.gen(function*() {
      const { repoman, runtime } = yield* world
      const args = ["config", "isurus", "--inotify-instances", "64"]
      const refused = yield* repoman(args)
      assert.strictEqual(refused.code, 2)
      assert.include(refused.stderr.join("\n"), "this change restarts isurus")
      assert.include(refused.stderr.join("\n"), "--restart")
      // With --json the answer cannot be asked for: as without a terminal.
      const asJson = yield* repoman([...args, "--json"], ["y", "enter"])
      assert.strictEqual(asJson.code, 2)
      assert.deepStrictEqual(asJson.stdout.filter((l) => l.length > 0), [])
      const declined = yield* repoman(args, ["enter"])
      assert.strictEqual(declined.code, 0, declined.stderr.join("\n"))
      assert.include(declined.stderr.join("\n"), "nothing was changed")
      assert.strictEqual((yield* runtime.get(isurus)).limits.inotifyInstances, 32)
      const accepted = yield* repoman(args, ["y", "enter"])
      assert.strictEqual(accepted.code, 0, accepted.stderr.join("\n"))
      assert.include(accepted.stdout.join("\n"), "restarted")
      assert.strictEqual((yield* runtime.get(isurus)).limits.inotifyInstances, 64)
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))
})
