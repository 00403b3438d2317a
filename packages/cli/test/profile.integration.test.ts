/**
 * `repoman profile` against the real incusd, as a non-root user, through the
 * real `repoman` executable, with HOME a temp dir: install/diff/edit/
 * reinstall, shadowing, a writable user profile under the uid mapping,
 * remove while in use, sensitive and missing sources, and the restricted
 * disk paths. The agent profiles: agents.integration.test.ts.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Schema from "effect/Schema"
import { assertDisksForbidden, busybox, IntegrationLayer, sandbox, shellScript } from "./integration.ts"

const Rows = Schema.fromJsonString(Schema.Array(Schema.Struct({
  name: Schema.String,
  origin: Schema.String,
  shadows: Schema.Boolean,
  installed: Schema.Boolean,
  inSync: Schema.NullOr(Schema.Boolean)
})))

/** The sandbox, plus a `repoman` that runs with HOME set to a temp home inside it. */
const world = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const box = yield* sandbox
  const home = `${box.dir}/home`
  yield* fs.makeDirectory(`${home}/.claude`, { recursive: true })
  yield* fs.writeFileString(`${home}/.claude/from-host`, "written on the host\n")
  yield* fs.writeFileString(`${home}/.claude.json`, "{}\n")
  const repoman = box.repomanIn({ HOME: home })
  const setup = yield* repoman(box.setupArgs)
  assert.strictEqual(setup.code, 0, setup.stderr)
  const rows = Effect.flatMap(
    repoman(["profile", "list", "--json"]),
    (out) => Schema.decodeUnknownEffect(Rows)(out.stdout).pipe(Effect.orDie)
  )
  const diskPaths = Effect.map(
    box.client.getProject(box.project),
    (p) => (p.value.config["restricted.devices.disk.paths"] ?? "").split(",")
  )
  return { ...box, home, repoman, rows, diskPaths }
})

const mine = (extra: string) =>
  [
    "description: my node",
    "config:",
    "  environment.MINE: \"yes\"",
    extra,
    "devices:",
    "  claude-dir: { type: disk, source: \"${HOME}/.claude\", path: \"${HOME}/.claude\" }",
    ""
  ].join("\n")

/** A profile the user wrote: ~/.claude shared read-write (their choice; the vendor library shares no agent state). */
const stateShare =
  "description: my state\ndevices:\n  state: { type: disk, source: \"${HOME}/.claude\", path: \"${HOME}/.claude\" }\n"

describe("repoman profile against a real Incus", () => {
  it.live(
    "install, diff equal, edit the user file, diff shows it, reinstall; the user file shadows the vendor one",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const { dir, repoman, rows, diskPaths, reposRoot } = yield* world

        const vendor = yield* repoman(["profile", "install", "node"])
        assert.strictEqual(vendor.code, 0, vendor.stderr)
        assert.strictEqual((yield* repoman(["profile", "diff", "node"])).code, 0)
        const paths = yield* diskPaths
        assert.includeMembers(paths, [reposRoot, `${dir}/state/repoman/agents/bin/node`])

        // A user file of the same name shadows the vendor one (and differs from what is installed).
        yield* fs.makeDirectory(`${dir}/config/profiles.d`, { recursive: true })
        yield* fs.writeFileString(`${dir}/config/profiles.d/node.yaml`, mine(""))
        const shadowed = (yield* rows).find((r) => r.name === "node")
        assert.deepStrictEqual(
          [shadowed?.origin, shadowed?.shadows, shadowed?.installed, shadowed?.inSync],
          ["user", true, true, false]
        )
        assert.strictEqual((yield* repoman(["profile", "install", "node"])).code, 0)
        const equal = yield* repoman(["profile", "diff", "node"])
        assert.deepStrictEqual([equal.code, equal.stdout], [0, ""])

        yield* fs.writeFileString(`${dir}/config/profiles.d/node.yaml`, mine("  environment.EDITED: \"1\""))
        const changed = yield* repoman(["profile", "diff", "node"])
        assert.strictEqual(changed.code, 1, changed.stderr)
        assert.include(changed.stdout, "--- incus/node")
        assert.include(changed.stdout, "+++ library/node")
        assert.include(changed.stdout, "\n+  environment.EDITED: \"1\"\n")

        assert.strictEqual((yield* repoman(["profile", "install", "node"])).code, 0)
        assert.strictEqual((yield* repoman(["profile", "diff", "node"])).code, 0)
        assert.deepStrictEqual(
          (yield* rows).filter((r) => r.installed).map((r) => [r.name, r.inSync]),
          [["node", true]]
        )
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    300_000
  )

  it.live(
    "a writable user profile in a container: uid 1000 writes into ~/.claude and the host user owns the file; remove refuses while in use",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const { dir, home, reposRoot, repoman, client, project } = yield* world
        yield* fs.makeDirectory(`${reposRoot}/isurus`)
        yield* fs.makeDirectory(`${dir}/config/profiles.d`, { recursive: true })
        yield* fs.writeFileString(`${dir}/config/profiles.d/state.yaml`, stateShare)
        const installed = yield* repoman(["profile", "install", "state"])
        assert.strictEqual(installed.code, 0, installed.stderr)
        const created = yield* repoman(["new", "isurus", "--image", busybox, "--profile", "state"])
        assert.strictEqual(created.code, 0, created.stderr)

        const sh = yield* shellScript(
          repoman,
          "isurus",
          `id -u; cat ${home}/.claude/from-host; echo agent > ${home}/.claude/from-container`
        )
        assert.strictEqual(sh.code, 0, sh.stderr)
        assert.deepStrictEqual(sh.stdout.trim().split("\n"), ["1000", "written on the host"])
        const written = yield* fs.stat(`${home}/.claude/from-container`)
        assert.strictEqual(written.uid._tag === "Some" ? written.uid.value : -1, process.getuid?.())
        assert.strictEqual(written.gid._tag === "Some" ? written.gid.value : -1, process.getgid?.())
        assert.strictEqual(yield* fs.readFileString(`${home}/.claude/from-container`), "agent\n")

        const refused = yield* repoman(["profile", "remove", "state"])
        assert.strictEqual(refused.code, 1)
        assert.include(refused.stderr, "isurus")
        assert.isTrue((yield* client.getProfile(project, "state")).value.used_by.length > 0)

        assert.strictEqual((yield* repoman(["remove", "isurus", "--yes"])).code, 0)
        const removed = yield* repoman(["profile", "remove", "state"])
        assert.strictEqual(removed.code, 0, removed.stderr)
        // Host files stay.
        assert.strictEqual(yield* fs.readFileString(`${home}/.claude/from-container`), "agent\n")
        assert.isTrue(yield* fs.exists(`${home}/.claude/from-host`))
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    300_000
  )

  it.live(
    "gitconfig-ro --link-files: ~/.gitconfig moves into ~/.config/git (made for it), the container reads it and cannot write it",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const { home, reposRoot, repoman } = yield* world
        yield* fs.makeDirectory(`${reposRoot}/isurus`)
        yield* fs.writeFileString(`${home}/.gitconfig`, "[user]\n\tname = Ada\n")
        const plain = yield* repoman(["profile", "install", "gitconfig-ro"])
        assert.strictEqual(plain.code, 1)
        assert.include(plain.stderr, `${home}/.config/git`)
        assert.include(plain.stderr, "--link-files")
        const installed = yield* repoman(["profile", "install", "gitconfig-ro", "--link-files"])
        assert.strictEqual(installed.code, 0, installed.stderr)
        assert.strictEqual(yield* fs.readLink(`${home}/.gitconfig`), `${home}/.config/git/gitconfig`)
        const created = yield* repoman(["new", "isurus", "--image", busybox, "--profile", "gitconfig-ro"])
        assert.strictEqual(created.code, 0, created.stderr)
        const sh = yield* shellScript(
          repoman,
          "isurus",
          `cat ${home}/.gitconfig; echo evil >> ${home}/.gitconfig && echo wrote || echo refused`
        )
        assert.deepStrictEqual(sh.stdout.trim().split("\n"), ["[user]", "\tname = Ada", "refused"])
        assert.strictEqual(yield* fs.readFileString(`${home}/.gitconfig`), "[user]\n\tname = Ada\n")
        assert.strictEqual((yield* repoman(["remove", "isurus", "--yes"])).code, 0)
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    300_000
  )

  it.live(
    "sensitive and missing sources are refused; after install other paths are still refused by Incus",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const { dir, home, repoman, diskPaths, client, project } = yield* world
        yield* fs.makeDirectory(`${home}/.ssh`)
        yield* fs.makeDirectory(`${dir}/config/profiles.d`, { recursive: true })
        yield* fs.writeFileString(
          `${dir}/config/profiles.d/keys.yaml`,
          "devices:\n  k: { type: disk, source: \"${HOME}/.ssh\", path: /mnt/keys }\n"
        )
        yield* fs.symlink(`${home}/.ssh`, `${home}/agent-state`)
        yield* fs.writeFileString(
          `${dir}/config/profiles.d/sneaky.yaml`,
          "devices:\n  k: { type: disk, source: \"${HOME}/agent-state\", path: /mnt/state }\n"
        )
        const before = yield* diskPaths
        for (const name of ["keys", "sneaky"]) {
          const refused = yield* repoman(["profile", "install", name])
          assert.strictEqual(refused.code, 1, name)
          assert.include(refused.stderr, "--allow-sensitive")
          assert.include(refused.stderr, name === "keys" ? `${home}/.ssh` : `${home}/agent-state`)
        }
        // A file source: Incus refuses to start a container with a file as an allowed path; refused up front.
        yield* fs.writeFileString(
          `${dir}/config/profiles.d/claude-json.yaml`,
          "devices:\n  j: { type: disk, source: \"${HOME}/.claude.json\", path: \"${HOME}/.claude.json\" }\n"
        )
        const file = yield* repoman(["profile", "install", "claude-json"])
        assert.strictEqual(file.code, 1)
        assert.include(file.stderr, `${home}/.claude.json`)
        assert.include(file.stderr, "is a file")
        yield* fs.writeFileString(
          `${dir}/config/profiles.d/codex-state.yaml`,
          "devices:\n  c: { type: disk, source: \"${HOME}/.codex\", path: \"${HOME}/.codex\" }\n"
        )
        const missing = yield* repoman(["profile", "install", "codex-state"])
        assert.strictEqual(missing.code, 1)
        assert.include(missing.stderr, `${home}/.codex`)
        assert.deepStrictEqual(yield* diskPaths, before)
        const profiles = yield* client.listProfiles(project)
        assert.deepStrictEqual(profiles.map((p) => p.name), ["default"])

        assert.strictEqual((yield* repoman(["profile", "install", "node", "llm-share"])).code, 0)
        yield* fs.makeDirectory(`${home}/.claude-evil`)
        yield* assertDisksForbidden(project, [
          "/etc",
          home,
          `${home}/.ssh`,
          `${home}/.claude-evil`,
          `${home}/.claude/../.ssh`
        ])
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    300_000
  )
})
