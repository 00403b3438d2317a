import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { assert, describe, it } from "@effect/vitest"
import { ContainerRuntime, InstanceSpec } from "@repoman/core/ContainerRuntime"
import * as RuntimeMemory from "@repoman/core/ContainerRuntimeMemory"
import { ImageRef, ProjectName } from "@repoman/core/Ids"
import { InvalidDocument, make as makeRegistry, Registry, RegistryError } from "@repoman/core/Registry"
import { emptyDocument } from "@repoman/core/RegistryDocument"
import { MemorySize, type ResourceLimits } from "@repoman/core/ResourceLimits"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { fileURLToPath } from "node:url"
import { documentFrom, home, overrideFrom, runCli } from "./harness.ts"

const document = documentFrom({
  schema: 3,
  project: [
    {
      name: "isurus",
      repo: "isurus",
      image: "images:ubuntu/26.04/cloud",
      profiles: ["default", "rust"],
      created: "2026-04-28T15:00:00Z",
      last_sync: "2026-05-01T08:30:00Z"
    },
    {
      name: "lamna",
      repo: "lamna-web",
      image: "images:debian/12",
      profiles: ["default"],
      created: "2026-04-29T09:00:00Z",
      backup: false
    }
  ]
})

const usageHint = (command: string) => `Run '${command} --help' for usage.`

/** A memory engine where isurus runs, lamna's container is gone, and "stray" is not repoman's. */
const engine = Layer.effect(
  ContainerRuntime,
  Effect.gen(function*() {
    const runtime = yield* RuntimeMemory.make({ namespace: "repoman" })
    const spec = (name: string, limits: ResourceLimits = {}) =>
      new InstanceSpec({
        name: ProjectName.make(name),
        image: ImageRef.make("images:ubuntu/26.04/cloud"),
        profiles: [],
        limits
      })
    yield* runtime.create(spec("isurus", { cpu: 2, memory: MemorySize.make("4GiB") }))
    // A container repoman did not make.
    yield* runtime.createForeign(spec("stray"))
    return runtime
  }).pipe(Effect.orDie)
)

describe("repoman list", () => {
  it.effect("prints a table with the repo path expanded from ~/repos", () =>
    Effect.gen(function*() {
      const out = yield* runCli(["list"], { memory: { document }, runtime: engine })
      assert.strictEqual(out.code, 0)
      assert.deepStrictEqual(out.stderr, [])
      assert.deepStrictEqual(out.stdout, [
        "NAME    STATE                REPO                       IMAGE                      CREATED               LAST SYNC             BACKUP  LIMITS",
        `isurus  Running              ${home}/repos/isurus     images:ubuntu/26.04/cloud  2026-04-28T15:00:00Z  2026-05-01T08:30:00Z  yes     cpu 2, memory 4GiB`,
        `lamna   Missing              ${home}/repos/lamna-web  images:debian/12           2026-04-29T09:00:00Z  never                 no      -`,
        `stray   Running (unmanaged)  -                          -                          -                     -                     -       none`
      ])
    }))

  it.effect("uses an absolute repos_root as is", () =>
    Effect.gen(function*() {
      const out = yield* runCli(["list", "--json"], {
        memory: { document: { ...document, defaults: { ...document.defaults, reposRoot: "/srv/repos" } } }
      })
      assert.strictEqual(out.code, 0)
      assert.include(out.stdout.join("\n"), `"repoPath": "/srv/repos/isurus"`)
    }))

  it.effect("--json prints every project with its fields", () =>
    Effect.gen(function*() {
      const out = yield* runCli(["list", "--json"], { memory: { document }, runtime: engine })
      assert.strictEqual(out.code, 0)
      assert.deepStrictEqual(out.stderr, [])
      const parsed = yield* Schema.decodeUnknownEffect(Schema.fromJsonString(Schema.Unknown))(out.stdout.join("\n"))
      assert.deepStrictEqual(parsed, [
        {
          name: "isurus",
          kind: "managed",
          state: "Running",
          repoPath: `${home}/repos/isurus`,
          image: "images:ubuntu/26.04/cloud",
          profiles: ["default", "rust"],
          created: "2026-04-28T15:00:00Z",
          lastSync: "2026-05-01T08:30:00Z",
          backup: true,
          limits: { cpu: "2", memory: "4GiB", processes: null, disk: null, inotifyInstances: null },
          location: null
        },
        {
          name: "lamna",
          kind: "missing",
          state: "Missing",
          repoPath: `${home}/repos/lamna-web`,
          image: "images:debian/12",
          profiles: ["default"],
          created: "2026-04-29T09:00:00Z",
          lastSync: null,
          backup: false,
          limits: null,
          location: null
        },
        {
          name: "stray",
          kind: "unmanaged",
          state: "Running",
          repoPath: null,
          image: null,
          profiles: [],
          created: null,
          lastSync: null,
          backup: null,
          limits: { cpu: null, memory: null, processes: null, disk: null, inotifyInstances: null },
          location: null
        }
      ])
    }))

  it.effect("an empty registry says how to create a project; --json prints []", () =>
    Effect.gen(function*() {
      const table = yield* runCli(["list"], { memory: { document: emptyDocument } })
      assert.deepStrictEqual(table, {
        code: 0,
        stdout: ["No projects. Create one with 'repoman new NAME'."],
        stderr: []
      })
      const json = yield* runCli(["list", "--json"], { memory: { document: emptyDocument } })
      assert.deepStrictEqual(json, { code: 0, stdout: ["[]"], stderr: [] })
    }))

  it.effect("without a registry hints at setup on stderr and exits 0", () =>
    Effect.gen(function*() {
      const out = yield* runCli(["list"])
      assert.deepStrictEqual(out, {
        code: 0,
        stdout: [],
        stderr: ["No projects yet: there is no registry at memory:repoman.toml. Run 'repoman setup'."]
      })
    }))

  it.effect("without a registry --json prints [] and nothing on stderr", () =>
    Effect.gen(function*() {
      const out = yield* runCli(["list", "--json"])
      assert.deepStrictEqual(out, { code: 0, stdout: ["[]"], stderr: [] })
    }))

  it.effect("warns on stderr about an override whose project is not registered", () =>
    Effect.gen(function*() {
      const overrides = new Map([
        [ProjectName.make("isurus"), overrideFrom({})],
        [ProjectName.make("ghost"), overrideFrom({ container: { profiles: ["gpu"] } })]
      ])
      const out = yield* runCli(["list", "--json"], { memory: { document, overrides } })
      assert.strictEqual(out.code, 0)
      assert.deepStrictEqual(out.stderr, [
        "warning: memory:repos.d/ghost.toml overrides project ghost, which is not registered"
      ])
      assert.include(out.stdout.join("\n"), `"name": "lamna"`)
    }))

  it.effect("a registry failure is one line on stderr and exit 1", () =>
    Effect.gen(function*() {
      const reason = new InvalidDocument({
        path: "/cfg/repoman.toml",
        key: "project[1].name",
        line: 11,
        detail: "bad name"
      })
      const failing = Effect.fail(new RegistryError({ reason }))
      const registry = Layer.succeed(
        Registry,
        makeRegistry({
          location: "/cfg/repoman.toml",
          load: failing,
          modify: () => failing,
          initialize: () => failing,
          overrides: failing,
          getOverride: () => failing
        })
      )
      const out = yield* runCli(["list"], { registry })
      assert.deepStrictEqual(out, {
        code: 1,
        stdout: [],
        stderr: ["repoman: /cfg/repoman.toml:11: key project[1].name: bad name"]
      })
    }))
})

describe("repoman usage errors", () => {
  it.effect("an unknown subcommand is exit 2, one line and a --help pointer, no help dump", () =>
    Effect.gen(function*() {
      const out = yield* runCli(["frobnicate"], { memory: { document } })
      assert.deepStrictEqual(out, {
        code: 2,
        stdout: [],
        stderr: [`repoman: Unknown subcommand "frobnicate" for "repoman"`, usageHint("repoman")]
      })
    }))

  it.effect("a mistyped subcommand gets its suggestion on the same line", () =>
    Effect.gen(function*() {
      const out = yield* runCli(["lsit"], { memory: { document } })
      assert.deepStrictEqual(out, {
        code: 2,
        stdout: [],
        stderr: [`repoman: Unknown subcommand "lsit" for "repoman" (did you mean list?)`, usageHint("repoman")]
      })
    }))

  it.effect("an unknown flag is exit 2 and points at the subcommand's help", () =>
    Effect.gen(function*() {
      const out = yield* runCli(["list", "--bogus"], { memory: { document } })
      assert.deepStrictEqual(out, {
        code: 2,
        stdout: [],
        stderr: ["repoman: Unrecognized flag: --bogus in command repoman list", usageHint("repoman list")]
      })
    }))

  it.effect("a mistyped flag is still one line", () =>
    Effect.gen(function*() {
      const out = yield* runCli(["list", "--jsno"], { memory: { document } })
      assert.deepStrictEqual(out, {
        code: 2,
        stdout: [],
        stderr: [
          "repoman: Unrecognized flag: --jsno in command repoman list (did you mean --json?)",
          usageHint("repoman list")
        ]
      })
    }))
})

const PackageJson = Schema.fromJsonString(Schema.Struct({ version: Schema.String }))

describe("repoman built-ins", () => {
  it.effect("--version prints the version of packages/cli/package.json", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const text = yield* fs.readFileString(fileURLToPath(new URL("../package.json", import.meta.url)))
      const { version } = yield* Schema.decodeUnknownEffect(PackageJson)(text)
      const out = yield* runCli(["--version"])
      assert.deepStrictEqual(out, { code: 0, stdout: [`repoman v${version}`], stderr: [] })
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.effect("--help prints help on stdout and exits 0", () =>
    Effect.gen(function*() {
      const out = yield* runCli(["--help"])
      assert.strictEqual(out.code, 0)
      assert.deepStrictEqual(out.stderr, [])
      const text = out.stdout.join("\n")
      assert.include(text, "Run AI coding agents in per-project Incus containers")
      assert.match(text, /^\s+list\b.*List the managed projects/m)
    }))

  it.effect("no subcommand prints the help on stdout and exits 0", () =>
    Effect.gen(function*() {
      const out = yield* runCli([])
      assert.strictEqual(out.code, 0)
      assert.deepStrictEqual(out.stderr, [])
      assert.include(out.stdout.join("\n"), "repoman <subcommand>")
    }))

  it.effect("list --help describes --json and exits 0", () =>
    Effect.gen(function*() {
      const out = yield* runCli(["list", "--help"])
      assert.strictEqual(out.code, 0)
      assert.include(out.stdout.join("\n"), "--json")
    }))
})
