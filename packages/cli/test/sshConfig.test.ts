import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { ConfigPaths } from "@repoman/core/ConfigPaths"
import { ProjectName } from "@repoman/core/Ids"
import { hostBlock, installSshConfig, withBlock } from "@repoman/programs/SshAccess"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"

const name = ProjectName.make("isurus")
/** What the Incus runtime's attach command is for project `repoman`. */
const attach = ["incus", "exec", "local:isurus", "--project", "repoman", "--"]
const block = hostBlock({
  name,
  attach,
  user: "ubuntu",
  identityFile: "/s/ssh/isurus/id_ed25519",
  knownHostsFile: "/s/ssh/isurus/known_hosts",
  home: "/home/ada"
})

describe("ssh-config", () => {
  it("the Host block proxies through incus exec to sshd in inetd mode", () => {
    assert.strictEqual(
      block,
      [
        "Host repoman-isurus",
        "  HostName isurus",
        "  User ubuntu",
        "  IdentityFile /s/ssh/isurus/id_ed25519",
        "  IdentitiesOnly yes",
        "  UserKnownHostsFile /s/ssh/isurus/known_hosts",
        "  StrictHostKeyChecking accept-new",
        "  ProxyCommand incus exec local:isurus --project repoman -- /bin/sh -c 'mkdir -p /run/sshd && exec /usr/sbin/sshd -i -o SetEnv=HOME=/home/ada'"
      ].join("\n")
    )
  })

  it("a home that would need quoting is left out of the ProxyCommand (sessions keep the passwd home)", () => {
    for (const home of ["/home/a b", "/home/o'brien", "/home/$(x)"]) {
      assert.include(
        hostBlock({ name, attach, user: "u", identityFile: "/k", knownHostsFile: "/h", home }),
        "sshd -i'"
      )
    }
  })

  it("withBlock appends a marked block once and replaces it later, keeping the rest", () => {
    const first = withBlock("Host other\n  User me", name, "Host repoman-isurus\n  User a")
    assert.strictEqual(
      first,
      "Host other\n  User me\n# >>> repoman isurus >>>\nHost repoman-isurus\n  User a\n# <<< repoman isurus <<<\n"
    )
    const second = withBlock(`${first}Host after\n`, name, "Host repoman-isurus\n  User b")
    assert.strictEqual(
      second,
      "Host other\n  User me\n# >>> repoman isurus >>>\nHost repoman-isurus\n  User b\n# <<< repoman isurus <<<\nHost after\n"
    )
    const other = withBlock(second, ProjectName.make("lamna"), "Host repoman-lamna")
    assert.include(other, "User b")
    assert.include(other, "# >>> repoman lamna >>>\nHost repoman-lamna\n# <<< repoman lamna <<<\n")
  })

  it.effect("--install writes ~/.ssh/config (mode 600) and a second install replaces the block", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const home = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-ssh-" })
      const layer = ConfigPaths.layerFrom({ home, configDir: `${home}/.config/repoman` })
      const file = yield* installSshConfig(name, block).pipe(Effect.provide(layer))
      assert.strictEqual(file, `${home}/.ssh/config`)
      assert.strictEqual((yield* fs.stat(file)).mode & 0o777, 0o600)
      yield* installSshConfig(name, block.replace("User ubuntu", "User dev")).pipe(Effect.provide(layer))
      const text = yield* fs.readFileString(file)
      assert.strictEqual(text.split("# >>> repoman isurus >>>").length, 2, "one block")
      assert.include(text, "User dev")
      assert.notInclude(text, "User ubuntu")
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))
})
