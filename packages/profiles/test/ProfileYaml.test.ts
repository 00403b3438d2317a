/**
 * Profile files: `incus profile show` output works as it is; malformed files
 * are typed errors naming the file and line.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { formatProfile, MAX_PROFILE_BYTES, parseProfile } from "../src/ProfileYaml.ts"

/** A "billion laughs" alias bomb: each level doubles nine times over the one before. */
const aliasBomb = [
  "a: &a [x, x, x, x, x, x, x, x, x]",
  "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]",
  "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]",
  "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]",
  "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]",
  "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]",
  "config:",
  "  environment.BOMB: *f",
  ""
].join("\n")

const incusShow = `config:
  environment.EDITOR: vim
  limits.cpu: "2"
description: Editor settings
devices:
  share:
    path: /mnt/share
    source: /srv/share
    type: disk
name: editor
used_by:
- /1.0/instances/isurus?project=repoman
project: repoman
`

describe("parseProfile", () => {
  it.effect("reads `incus profile show` output as it is", () =>
    Effect.gen(function*() {
      const p = yield* parseProfile("editor.yaml", incusShow)
      assert.deepStrictEqual(p, {
        description: "Editor settings",
        config: { "environment.EDITOR": "vim", "limits.cpu": "2" },
        devices: { share: { path: "/mnt/share", source: "/srv/share", type: "disk" } }
      })
    }))

  it.effect("reads numbers and booleans as strings, and empty sections as empty", () =>
    Effect.gen(function*() {
      const p = yield* parseProfile(
        "x.yaml",
        "config:\n  limits.cpu: 2\ndevices:\n  d:\n    type: disk\n    readonly: true\n"
      )
      assert.deepStrictEqual(p.config, { "limits.cpu": "2" })
      assert.deepStrictEqual(p.devices, { d: { type: "disk", readonly: "true" } })
      assert.deepStrictEqual(yield* parseProfile("e.yaml", ""), { description: "", config: {}, devices: {} })
      assert.deepStrictEqual(yield* parseProfile("e.yaml", "config:\ndevices:\n"), {
        description: "",
        config: {},
        devices: {}
      })
    }))

  it.effect("a YAML syntax error names the file and the line", () =>
    Effect.gen(function*() {
      const e = yield* parseProfile("/p/bad.yaml", "description: ok\nconfig:\n  a: [unclosed\n").pipe(Effect.flip)
      assert.strictEqual(e.reason._tag, "Malformed")
      if (e.reason._tag === "Malformed") {
        assert.strictEqual(e.reason.file, "/p/bad.yaml")
        assert.isDefined(e.reason.line)
      }
      assert.include(e.message, "/p/bad.yaml:")
    }))

  it.effect("a value of the wrong shape names the file, the key and its line", () =>
    Effect.gen(function*() {
      const e = yield* parseProfile(
        "/p/shape.yaml",
        "description: x\ndevices:\n  d:\n    type: disk\n    source:\n      - a\n"
      )
        .pipe(Effect.flip)
      assert.strictEqual(e.reason._tag, "Malformed")
      if (e.reason._tag === "Malformed") assert.strictEqual(e.reason.line, 6)
      assert.include(e.message, "devices.d.source")
      const dup = yield* parseProfile("/p/dup.yaml", "config:\n  a: 1\n  a: 2\n").pipe(Effect.flip)
      assert.include(dup.message, "/p/dup.yaml:3")
      const list = yield* parseProfile("/p/list.yaml", "- a\n- b\n").pipe(Effect.flip)
      assert.include(list.message, "not an Incus profile")
    }))
})

describe("formatProfile", () => {
  it.effect("an alias bomb is one Malformed line naming the file, never expanded", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(parseProfile("bomb.yaml", aliasBomb))
      assert.strictEqual(error.reason._tag, "Malformed")
      assert.include(error.message, "bomb.yaml")
      assert.include(error.message, "alias")
      assert.notInclude(error.message, "\n")
    }))

  it.effect("a file larger than a profile may be is Malformed before it is parsed", () =>
    Effect.gen(function*() {
      const huge = `description: "${"x".repeat(MAX_PROFILE_BYTES)}"\n`
      const error = yield* Effect.flip(parseProfile("huge.yaml", huge))
      assert.strictEqual(error.reason._tag, "Malformed")
      assert.include(error.message, "larger than a profile may be")
    }))

  it.effect("a few aliases are fine", () =>
    Effect.gen(function*() {
      const p = yield* parseProfile(
        "ok.yaml",
        "x: &path /srv/share\ndevices:\n  d:\n    type: disk\n    source: *path\n    path: *path\n"
      )
      assert.deepStrictEqual(p.devices, { d: { type: "disk", source: "/srv/share", path: "/srv/share" } })
    }))

  it.effect("is canonical: sorted keys, and parses back to the same profile", () =>
    Effect.gen(function*() {
      const p = yield* parseProfile("editor.yaml", incusShow)
      const text = formatProfile(p)
      assert.strictEqual(
        text,
        "description: Editor settings\nconfig:\n  environment.EDITOR: vim\n  limits.cpu: \"2\"\ndevices:\n  share:\n    path: /mnt/share\n    source: /srv/share\n    type: disk\n"
      )
      assert.deepStrictEqual(yield* parseProfile("again.yaml", text), p)
    }))
})
