/**
 * `${NAME}` rendering: values only, escapes, unknown names are typed errors.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { placeholders, renderProfile, substitute } from "../src/Placeholders.ts"

const variables = { HOME: "/home/ada", USER: "ada", HOST_LAN_IP: "192.168.1.42", UID: "1000", GID: "1000" }

describe("substitute", () => {
  it("replaces known placeholders, keeps escaped ones literal, reports the first unknown", () => {
    assert.deepStrictEqual(substitute("${HOME}/.claude", variables), { value: "/home/ada/.claude" })
    assert.deepStrictEqual(substitute("http://${HOST_LAN_IP}:11434", variables), { value: "http://192.168.1.42:11434" })
    assert.deepStrictEqual(substitute("$${HOME} and ${USER}", variables), { value: "${HOME} and ada" })
    assert.deepStrictEqual(substitute("$HOME {HOME}", variables), { value: "$HOME {HOME}" })
    assert.deepStrictEqual(substitute("${NOPE}/${ALSO}", variables), { missing: "NOPE" })
    assert.deepStrictEqual(substitute("${toString}", variables), { missing: "toString" })
    assert.deepStrictEqual(placeholders("${A} $${B} ${C}"), ["A", "C"])
  })
})

describe("renderProfile", () => {
  it.effect("renders every value, never keys", () =>
    Effect.gen(function*() {
      const spec = yield* renderProfile("p.yaml", {
        description: "for ${USER}",
        config: { "environment.X_${USER}": "${UID}:${GID}" },
        devices: { "d${USER}": { source: "${HOME}/.codex", path: "${HOME}/.codex", type: "disk" } }
      }, variables)
      assert.strictEqual(spec.description, "for ada")
      assert.deepStrictEqual(spec.config, { "environment.X_${USER}": "1000:1000" })
      assert.deepStrictEqual(spec.devices["d${USER}"], {
        source: "/home/ada/.codex",
        path: "/home/ada/.codex",
        type: "disk"
      })
    }))

  it.effect("a value with YAML syntax stays one value", () =>
    Effect.gen(function*() {
      const spec = yield* renderProfile("p.yaml", {
        description: "",
        config: { "environment.H": "${HOME}" },
        devices: {}
      }, {
        HOME: "/x\nraw.lxc: evil"
      })
      assert.deepStrictEqual(Object.keys(spec.config), ["environment.H"])
    }))

  it.effect("an unknown placeholder is UnknownVariable naming the file and the placeholder", () =>
    Effect.gen(function*() {
      const e = yield* renderProfile("/u/profiles.d/llm.yaml", {
        description: "",
        config: { "environment.OLLAMA_HOST": "http://${HOST_LAN_IP}:11434" },
        devices: {}
      }, { HOME: "/home/ada" }).pipe(Effect.flip)
      assert.strictEqual(e.reason._tag, "UnknownVariable")
      assert.include(e.message, "/u/profiles.d/llm.yaml")
      assert.include(e.message, "${HOST_LAN_IP}")
    }))
})
