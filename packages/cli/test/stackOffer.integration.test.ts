/**
 * `new` suggests the stack's profiles before it creates the container, and
 * not those given with `-p`: in a real terminal (tmux) it offers each
 * installed one (y/N, default no) and adds the accepted ones; without a
 * terminal it only says them. Against the real incusd, as a non-root user.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import { busybox, IntegrationLayer, sandbox } from "./integration.ts"
import { repomanScript, tmux } from "./terminal.ts"

const profile = (description: string) => `description: ${description}\nconfig: {}\ndevices: {}\n`

describe("new offers the stack's profiles", () => {
  it.live(
    "at a terminal it asks for each installed one before creating; without one it only says them",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const box = yield* sandbox
        const home = `${box.dir}/home`
        yield* fs.makeDirectory(home, { recursive: true })
        const repoman = box.repomanIn({ HOME: home })
        assert.strictEqual((yield* repoman(box.setupArgs)).code, 0)
        yield* fs.makeDirectory(`${box.dir}/config/profiles.d`, { recursive: true })
        yield* fs.writeFileString(`${box.dir}/config/profiles.d/rust.yaml`, profile("rust, mine"))
        yield* fs.writeFileString(`${box.dir}/config/profiles.d/rust-extra.yaml`, profile("rust extras, mine"))
        const installed = yield* repoman(["profile", "install", "rust", "rust-extra"])
        assert.strictEqual(installed.code, 0, installed.stderr)
        for (const name of ["crab", "shrimp", "quiet"]) {
          yield* fs.makeDirectory(`${box.reposRoot}/${name}/src`, { recursive: true })
          yield* fs.writeFileString(`${box.reposRoot}/${name}/Cargo.toml`, "[package]\nname = \"x\"\n")
          yield* fs.writeFileString(`${box.reposRoot}/${name}/src/main.rs`, "fn main() {}\n")
        }
        const profilesOf = (name: string) =>
          Effect.map(box.client.getInstance(box.project, name), (i) => i.value.profiles)

        // A terminal: the suggestion (without the profile given with -p) and a question, before the container exists.
        const script = repomanScript(box.dir, { ...box.env, HOME: home, PATH: process.env["PATH"] ?? "" })
        const t = yield* tmux(box.dir, { width: 160, height: 40 })
        t.line("PS1='host$ '")
        t.line(`clear; ${script} new crab --image ${busybox} -p rust-extra; echo EXIT=$?`)
        const asked = yield* t.waitFor(/Add profile rust \(for rust\)\?/)
        assert.match(asked, /library profiles for rust: rust \(add with --profile NAME\)/)
        assert.notMatch(asked, /library profiles for rust: .*rust-extra/)
        assert.notMatch(asked, /created crab/)
        assert.isTrue(
          (yield* Effect.exit(box.client.getInstance(box.project, "crab")))._tag === "Failure",
          "nothing is created while it asks"
        )
        t.send("y", "Enter")
        yield* t.waitFor(/^EXIT=0$/m, 120_000)
        assert.deepStrictEqual(yield* profilesOf("crab"), ["default", "rust-extra", "rust"])

        // Enter takes the default: no.
        t.line(`clear; ${script} new shrimp --image ${busybox}; echo EXIT=$?`)
        yield* t.waitFor(/Add profile rust \(for rust\)\?/)
        t.send("Enter")
        yield* t.waitFor(/Add profile rust-extra \(for rust\)\?/)
        t.send("Enter")
        yield* t.waitFor(/^EXIT=0$/m, 120_000)
        assert.deepStrictEqual(yield* profilesOf("shrimp"), ["default"])

        // No terminal: said, not asked, not added.
        const quiet = yield* repoman(["new", "quiet", "--image", busybox])
        assert.strictEqual(quiet.code, 0, quiet.stderr)
        assert.include(quiet.stdout, "library profiles for rust: rust, rust-extra (add with --profile NAME)")
        assert.isBelow(
          quiet.stdout.indexOf("library profiles for rust"),
          quiet.stdout.indexOf("created quiet"),
          "said before it is created"
        )
        assert.notInclude(quiet.stdout + quiet.stderr, "Add profile")
        assert.deepStrictEqual(yield* profilesOf("quiet"), ["default"])
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    300_000
  )
})
