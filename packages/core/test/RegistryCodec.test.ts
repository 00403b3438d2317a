/**
 * Property tests of the registry codec: rendering then decoding is the
 * identity on valid documents, and no input whatever produces anything but a
 * document or a typed RegistryError.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as fc from "fast-check"
import { parse } from "smol-toml"
import { ImageRef, ProfileName, ProjectName, RepoDir } from "../src/Ids.ts"
import { Timestamp } from "../src/Project.ts"
import { decodeRegistryText, encodeRegistryText } from "../src/RegistryCodec.ts"
import type { RegistryDocument } from "../src/RegistryDocument.ts"

const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".split("")
const word = (min: number, max: number) =>
  fc.array(fc.constantFrom(...alnum), { minLength: min, maxLength: max }).map((a) => a.join(""))

const projectName = fc.tuple(fc.constantFrom(..."abcXYZ".split("")), word(0, 20), fc.boolean())
  .map(([a, b, dash]) => ProjectName.make(dash && b.length > 1 ? `${a}${b.slice(0, 1)}-${b.slice(1)}` : `${a}${b}`))
const repoDir = fc.tuple(word(1, 30), fc.constantFrom("", "-x", "_y", ".git", " space", "ü"))
  .map(([a, b]) => RepoDir.make(a + b))
const image = fc.tuple(
  fc.constantFrom("", "images:", "local:"),
  word(1, 10),
  fc.constantFrom("", "/12/cloud", "/26.04")
)
  .map(([r, a, b]) => ImageRef.make(r + a + b))
const profile = fc.tuple(word(1, 12), fc.constantFrom("", "-share", ".v2", "_ro")).map(([a, b]) =>
  ProfileName.make(a + b)
)
const timestamp = fc.date({
  min: new Date("2000-01-01T00:00:00Z"),
  max: new Date("2099-12-31T23:59:59Z"),
  noInvalidDate: true
})
  .map((d) => Timestamp.make(d.toISOString().replace(/\.\d{3}Z$/, "Z")))
const path = fc.tuple(fc.constantFrom("~", "/srv", "/nfs/backup", "~/a b"), word(0, 8)).map(([a, b]) =>
  b === "" ? a : `${a}/${b}`
)

const project = fc.record({
  name: projectName,
  repo: repoDir,
  image,
  profiles: fc.array(profile, { maxLength: 4 }),
  created: timestamp,
  lastSync: fc.option(timestamp, { nil: undefined }),
  backup: fc.boolean(),
  // Where the repo lives (absent: a host directory).
  storage: fc.option(fc.constantFrom("host" as const, "volume" as const), { nil: undefined }),
  // What `repoman config` records.
  config: fc.option(
    fc.record({
      mounts: fc.array(
        fc.record({ source: path, path: word(1, 8).map((w) => `/srv/${w}`), readOnly: fc.boolean() }),
        { maxLength: 3 }
      ),
      env: fc.dictionary(word(1, 6).map((w) => `K${w}`), fc.string({ maxLength: 12 }), { maxKeys: 3 }),
      limits: fc.record({ processes: fc.integer({ min: 1, max: 10_000 }) })
    }),
    { nil: undefined }
  )
}).map(({ config, lastSync, storage, ...p }) => ({
  ...p,
  ...(lastSync === undefined ? {} : { lastSync }),
  ...(storage === undefined ? {} : { storage }),
  ...(config === undefined ? {} : config)
}))

const document: fc.Arbitrary<RegistryDocument> = fc.record({
  schema: fc.constant(3 as const),
  repoman: fc.record({ output: fc.constantFrom("quiet" as const, "normal" as const, "verbose" as const) }),
  host: fc.option(fc.ipV4(), { nil: undefined }).map((ip) => ip === undefined ? {} : { lanIp: ip }),
  defaults: fc.record({
    reposRoot: path,
    backupRoot: path,
    logdir: path,
    incusProject: word(1, 16),
    defaultImage: image,
    profiles: fc.array(profile, { maxLength: 3 }),
    uidMode: fc.constantFrom("idmap" as const, "shift" as const)
  }),
  incus: fc.option(fc.constantFrom("lab", "local", "home-lab.v2", "café"), { nil: undefined }).map((r) =>
    r === undefined ? {} : { remote: r }
  ),
  agents: fc.option(path, { nil: undefined }).map((p) => p === undefined ? {} : { claude: p }),
  backup: fc.record({
    target: fc.constantFrom("rsync", "@acme/repoman-restic", "./plugin.js"),
    requireMount: fc.boolean(),
    lastSyncWarningHours: fc.integer({ min: 1, max: 10_000 }),
    deleteGuardPercent: fc.integer({ min: 0, max: 100 }),
    deleteGuardMinFiles: fc.integer({ min: 0, max: 1000 }),
    options: fc.dictionary(word(1, 8), fc.oneof(word(0, 8), fc.boolean(), fc.integer()), { maxKeys: 3 })
  }),
  checkpoints: fc.record({
    enabled: fc.boolean(),
    dir: fc.option(fc.constantFrom("~/ckpt", "/srv/checkpoints"), { nil: undefined }),
    layout: fc.constantFrom("auto" as const, "objects" as const, "btrfs-snapshot" as const),
    keep: fc.integer({ min: 1, max: 500 }),
    keepDays: fc.integer({ min: 1, max: 365 }),
    maxFileMb: fc.integer({ min: 1, max: 4096 }),
    maxNewMb: fc.integer({ min: 1, max: 65536 }),
    maxEntries: fc.integer({ min: 1, max: 10_000_000 }),
    volumeSchedule: fc.constantFrom("@daily", "", "0 */6 * * *"),
    volumeExpiry: fc.constantFrom("2w", "", "1d 12H")
  }).map(({ dir, ...c }) => dir === undefined ? c : { ...c, dir }),
  plugins: fc.record({
    profiles: fc.array(fc.constantFrom("@acme/repoman-profiles", "./plugin.ts"), { maxLength: 2 })
  }),
  projects: fc.uniqueArray(project, { selector: (p) => p.name, maxLength: 6 })
})

describe("registry codec properties", () => {
  it.effect("encode then decode is the identity on valid documents", () =>
    Effect.sync(() =>
      fc.assert(
        fc.property(document, (doc) => {
          const text = encodeRegistryText(doc)
          const back = Effect.runSync(decodeRegistryText("/r/repoman.toml", text))
          assert.deepStrictEqual(back.document, doc)
          assert.strictEqual(back.from, 3)
          assert.deepStrictEqual(back.unknown, {})
        }),
        { numRuns: 300 }
      )
    ))

  it.effect("unknown keys ride along through a round trip", () =>
    Effect.sync(() =>
      fc.assert(
        fc.property(document, word(1, 8), fc.string(), (doc, key, value) => {
          const text = encodeRegistryText(doc) + `\n[zz_${key}]\nvalue = ${JSON.stringify(value)}\n`
          const decoded = Effect.runSync(decodeRegistryText("/r/repoman.toml", text))
          const again = parse(encodeRegistryText(decoded.document, decoded.unknown)) as Record<string, unknown>
          assert.deepStrictEqual(again[`zz_${key}`], { value })
        }),
        { numRuns: 100 }
      )
    ))

  it.effect("arbitrary bytes give a document or a typed RegistryError, never a defect", () =>
    Effect.sync(() => {
      const tomlish = fc.array(
        fc.oneof(
          fc.constantFrom("schema = 3\n", "schema = 2\n", "[[project]]\n", "[defaults]\n", "name = \"x\"\n", "= =\n"),
          fc.string({ unit: "binary", maxLength: 40 })
        ),
        { maxLength: 12 }
      ).map((parts) => parts.join(""))
      const bytes = fc.uint8Array({ maxLength: 200 }).map((b) => new TextDecoder().decode(b))
      fc.assert(
        fc.property(fc.oneof(tomlish, bytes, fc.string()), (text) => {
          const exit = Effect.runSyncExit(decodeRegistryText("/r/repoman.toml", text))
          if (Exit.isFailure(exit)) {
            const error = exit.cause.reasons[0]
            assert.strictEqual(error?._tag, "Fail", "a decode failure must be a typed failure, not a defect")
            if (error?._tag === "Fail") assert.strictEqual(error.error._tag, "RegistryError")
          }
        }),
        { numRuns: 1000 }
      )
    }))
})

describe("duplicate project names", () => {
  it.effect("are an InvalidDocument naming the second entry's line and the first, and nothing is decoded", () =>
    Effect.gen(function*() {
      const text = [
        "schema = 3",
        "",
        "[[project]]",
        "name = \"isurus\"",
        "repo = \"isurus\"",
        "image = \"img\"",
        "profiles = [\"default\"]",
        "created = \"2026-01-01T00:00:00Z\"",
        "",
        "[[project]]",
        "name = \"isurus\"",
        "repo = \"other\"",
        "image = \"img\"",
        "profiles = [\"default\"]",
        "created = \"2026-01-01T00:00:00Z\"",
        ""
      ].join("\n")
      const error = yield* Effect.flip(decodeRegistryText("/cfg/repoman.toml", text))
      assert.strictEqual(error.reason._tag, "InvalidDocument")
      assert.strictEqual(error.message.split("\n").length, 1)
      assert.include(error.message, "/cfg/repoman.toml:11")
      assert.include(error.message, "project[1].name")
      assert.include(error.message, "used twice (first at line 4)")
    }))
})

describe("[incus] remote", () => {
  it.effect("is read, written back, and keeps the keys repoman does not know in its table", () =>
    Effect.gen(function*() {
      const text = "schema = 3\n\n[incus]\nremote = \"lab\"\nfuture_key = 7\n"
      const decoded = yield* decodeRegistryText("/r/repoman.toml", text)
      assert.deepStrictEqual(decoded.document.incus, { remote: "lab" })
      const again = parse(encodeRegistryText(decoded.document, decoded.unknown)) as Record<string, unknown>
      assert.deepStrictEqual(again["incus"], { remote: "lab", future_key: 7 })
    }))

  it.effect("absent: no remote (the unix socket), and nothing written for it", () =>
    Effect.gen(function*() {
      const decoded = yield* decodeRegistryText("/r/repoman.toml", "schema = 3\n")
      assert.deepStrictEqual(decoded.document.incus, {})
      const again = parse(encodeRegistryText(decoded.document)) as Record<string, Record<string, unknown>>
      assert.strictEqual(again["incus"]?.["remote"], undefined)
    }))

  it.effect("a name with a colon, a slash, a blank or a control character is an InvalidDocument at its line", () =>
    Effect.gen(function*() {
      for (const bad of ["lab:", "a/b", "my lab", "", "x\\u001b[2J"]) {
        const text = `schema = 3\n\n[incus]\nremote = "${bad}"\n`
        const error = yield* Effect.flip(decodeRegistryText("/r/repoman.toml", text))
        assert.strictEqual(error.reason._tag, "InvalidDocument", bad)
        if (error.reason._tag === "InvalidDocument") {
          assert.strictEqual(error.reason.key, "incus.remote")
          assert.strictEqual(error.reason.line, 4)
        }
      }
    }))
})
