/**
 * The fast path of `bin.ts` reads exactly the plain forms of `exec`, `run`,
 * `shell` and `list`, checks them with the commands' own schemas, and
 * leaves everything else (help, other spellings, bad values) to the whole
 * CLI, which answers it as always (see exec.test.ts for those answers).
 */
import { assert, describe, it } from "@effect/vitest"
import { ProjectName } from "@repoman/core/Ids"
import { parse } from "../src/internal/entry/fast.ts"

const box = ProjectName.make("box")

describe("fast path", () => {
  it("reads the plain forms, flags anywhere before --, everything after -- as the command", () => {
    assert.deepStrictEqual(parse(["exec", "box", "--", "ls", "-l", "--help"]), {
      _tag: "exec",
      name: box,
      cwd: undefined,
      env: {},
      argv: ["ls", "-l", "--help"],
      checkpoint: undefined
    })
    assert.deepStrictEqual(parse(["exec", "--env", "A=1", "box", "-e", "B=x=y", "--cwd", "/srv", "--", "make"]), {
      _tag: "exec",
      name: box,
      cwd: "/srv",
      env: { A: "1", B: "x=y" },
      argv: ["make"],
      checkpoint: undefined
    })
    assert.deepStrictEqual(parse(["run", "-e", "A=", "--", "claude", "--", "x"]), {
      _tag: "run",
      env: { A: "" },
      argv: ["claude", "--", "x"],
      checkpoint: undefined
    })
    assert.deepStrictEqual(parse(["run", "--no-checkpoint", "--", "true"]), {
      _tag: "run",
      env: {},
      argv: ["true"],
      checkpoint: false
    })
    assert.deepStrictEqual(parse(["shell", "box"]), {
      _tag: "shell",
      name: box,
      cwd: undefined,
      argv: undefined,
      checkpoint: undefined
    })
    assert.deepStrictEqual(parse(["shell", "box", "--checkpoint", "--cwd", "/tmp", "--", "make", "test"]), {
      _tag: "shell",
      name: box,
      cwd: "/tmp",
      argv: ["make", "test"],
      checkpoint: true
    })
    assert.deepStrictEqual(parse(["list"]), { _tag: "list", json: false })
    assert.deepStrictEqual(parse(["list", "--json"]), { _tag: "list", json: true })
    // ssh's ProxyCommand (see ssh-config): exactly a name.
    assert.deepStrictEqual(parse(["ssh-proxy", "box"]), { _tag: "ssh-proxy", name: box })
    for (const argv of [["ssh-proxy"], ["ssh-proxy", "box", "x"], ["ssh-proxy", "-bad-"], ["ssh-proxy", "--help"]]) {
      assert.isUndefined(parse(argv), argv.join(" "))
    }
  })

  it("leaves everything else to the whole CLI", () => {
    for (
      const argv of [
        ["exec", "box", "ls"], // no --
        ["exec", "box", "--"], // no command
        ["exec", "--", "ls"], // no name
        ["exec", "--help"],
        ["exec", "box", "--help", "--", "ls"],
        ["exec", "box", "--cwd", "rel/dir", "--", "ls"], // not absolute
        ["exec", "box", "--cwd", "/a", "--cwd", "/b", "--", "ls"],
        ["exec", "box", "--no-checkpoint", "--checkpoint", "--", "ls"],
        ["exec", "box", "--env", "NOEQUALS", "--", "ls"],
        ["exec", "box", "--env", "1A=x", "--", "ls"],
        ["exec", "box", "--env=A=1", "--", "ls"],
        ["exec", "-bad-", "--", "ls"],
        ["exec", "box", "other", "--", "ls"],
        ["exec", "box", "--log-level", "debug", "--", "ls"],
        ["run", "box", "--", "ls"], // run takes no name
        ["run", "--cwd", "/x", "--", "ls"],
        ["run", "--"],
        ["shell", "box", "--env", "A=1"],
        ["shell", "box", "--cwd", "relative"],
        ["shell"],
        ["list", "--json", "--json"],
        ["list", "--help"],
        ["new", "box"],
        []
      ]
    ) {
      assert.isUndefined(parse(argv), argv.join(" "))
    }
  })
})
