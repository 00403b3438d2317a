/**
 * Invariant 7: the sensitive-path check, pure and through real symlinks.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import { checkSource, exposure } from "../src/SensitivePaths.ts"

const home = "/home/ada"

describe("exposure", () => {
  it("flags credentials, browser profiles, shell rc files and the home dir itself", () => {
    const flagged = [
      "/home/ada/.ssh",
      "/home/ada/.ssh/id_ed25519",
      "/home/ada/.gnupg",
      "/home/ada/.aws/credentials",
      "/home/ada/.kube",
      "/home/ada/.docker/config.json",
      "/home/ada/.config/gh",
      "/home/ada/.config/gh/hosts.yml",
      "/home/ada/.mozilla/firefox",
      "/home/ada/.config/google-chrome",
      "/home/ada/.config/chromium/Default",
      "/home/ada/.bashrc",
      "/home/ada/.zshrc",
      "/home/ada/.profile",
      "/home/ada/.config/fish",
      "/home/ada",
      "/home/ada/",
      "/home",
      "/",
      "/home/ada/.config" // contains ~/.config/gh
    ]
    for (const p of flagged) assert.isDefined(exposure(p, home), p)
  })

  it("lets agent state and unrelated paths through", () => {
    const fine = [
      "/home/ada/.claude",
      "/home/ada/.claude.json",
      "/home/ada/.codex",
      "/home/ada/.gitconfig",
      "/home/ada/.sshx", // a prefix of .ssh is not .ssh
      "/home/ada/repos/isurus",
      "/home/adam",
      "/srv/models"
    ]
    for (const p of fine) assert.isUndefined(exposure(p, home), p)
  })

  it("says what is exposed", () => {
    assert.include(exposure("/home/ada/.ssh/id_rsa", home)?.exposes ?? "", "~/.ssh")
    assert.include(exposure("/home/ada", home)?.exposes ?? "", "home directory")
    assert.include(exposure("/home/ada/.config", home)?.exposes ?? "", "~/.config/gh")
  })
})

describe("checkSource", () => {
  it.effect("resolves symlinks before checking", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-sens-" })
      yield* fs.makeDirectory(`${dir}/.ssh`)
      yield* fs.makeDirectory(`${dir}/.claude`)
      yield* fs.symlink(`${dir}/.ssh`, `${dir}/agent-state`)
      yield* fs.symlink(dir, `${dir}/.claude/home-again`)
      const viaLink = yield* checkSource(`${dir}/agent-state`, dir)
      assert.isDefined(viaLink)
      assert.include(viaLink?.exposes ?? "", "resolves to")
      assert.isDefined(yield* checkSource(`${dir}/.claude/home-again`, dir))
      assert.isUndefined(yield* checkSource(`${dir}/.claude`, dir))
      // A missing source is checked as written.
      assert.isDefined(yield* checkSource(`${dir}/.gnupg`, dir))
    }).pipe(Effect.provide(NodeServices.layer)))
})
