/**
 * Invariant 7: the sensitive-path list, pure and through real symlinks.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import { allowedBy, checkSource, exposure } from "../src/SensitivePaths.ts"

const context = { home: "/home/ada" }

describe("exposure", () => {
  it("flags credentials, keyrings, browser profiles, shell rc files, the home dir and what holds them", () => {
    const flagged = [
      "/home/ada/.ssh",
      "/home/ada/.ssh/id_ed25519",
      "/home/ada/.gnupg",
      "/home/ada/.password-store",
      "/home/ada/.local/share/keyrings/login.keyring",
      "/home/ada/.aws/credentials",
      "/home/ada/.config/gcloud",
      "/home/ada/.azure",
      "/home/ada/.kube",
      "/home/ada/.docker/config.json",
      "/home/ada/.config/gh",
      "/home/ada/.config/gh/hosts.yml",
      "/home/ada/.netrc",
      "/home/ada/.npmrc",
      "/home/ada/.config/incus",
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
      "/home/ada/.config", // holds ~/.config/gh
      "/home/ada/.local/share" // holds the keyrings
    ]
    for (const p of flagged) {
      assert.isDefined(exposure(p, context), p)
      // Read-only does not make a secret safe to share.
      assert.isDefined(exposure(p, context, { readOnly: true }), `${p} read-only`)
    }
  })

  it("flags the host's sockets, services and configuration, read-only too", () => {
    const flagged = [
      "/run/user/1500",
      "/run/user/1500/gnupg/S.gpg-agent",
      "/run/user/1500/bus",
      "/run",
      "/var/run/docker.sock",
      "/tmp",
      "/tmp/.X11-unix",
      "/tmp/ssh-XXXX/agent.42",
      "/var/tmp",
      "/etc",
      "/etc/shadow",
      "/var/lib/incus",
      "/var/lib/incus/unix.socket",
      "/var/lib/docker",
      "/var/lib/containers",
      "/root",
      "/proc/1",
      "/sys",
      "/dev",
      "/var"
    ]
    for (const p of flagged) assert.isDefined(exposure(p, context, { readOnly: true }), p)
  })

  it("flags other users' homes, but not a name that only starts like the home", () => {
    assert.include(exposure("/home/bob/.claude", context)?.exposes ?? "", "another user's home")
    assert.include(exposure("/home/bob", context, { readOnly: true })?.exposes ?? "", "another user's home")
    assert.isDefined(exposure("/home/adam/work", context))
  })

  it("repoman's own dirs beside the home are not another user's home; their ssh keys and a writable config are", () => {
    const own = { home: "/srv/t/home", stateDir: "/srv/t/state", configDir: "/srv/t/config" }
    assert.isUndefined(exposure("/srv/t/state/agents/claude-auth", own))
    assert.isUndefined(exposure("/srv/t/config/profiles.d", own, { readOnly: true }))
    assert.include(exposure("/srv/t/state/ssh", own)?.exposes ?? "", "ssh keys")
    assert.include(exposure("/srv/t/config", own)?.exposes ?? "", "repoman's own configuration")
    assert.include(exposure("/srv/t/other", own)?.exposes ?? "", "another user's home")
    assert.include(exposure("/srv/t", own)?.exposes ?? "", "home directory")
  })

  it("refuses what the host runs only when mounted writable", () => {
    const writableOnly = [
      "/home/ada/.local/bin",
      "/home/ada/.local/lib/node_modules/@anthropic-ai/claude-code",
      "/home/ada/.gitconfig",
      "/home/ada/.config/git",
      "/home/ada/.config/autostart",
      "/home/ada/.config/systemd/user",
      "/home/ada/.config/repoman/profiles.d"
    ]
    for (const p of writableOnly) {
      assert.isDefined(exposure(p, context), p)
      assert.isUndefined(exposure(p, context, { readOnly: true, exists: () => false }), `${p} read-only`)
    }
    // ~/.local as a whole holds the keyrings: refused read-only too.
    assert.include(exposure("/home/ada/.local", context, { readOnly: true })?.exposes ?? "", "keyrings")
  })

  it("lets agent state, repoman's own state and unrelated paths through", () => {
    const fine = [
      "/home/ada/.claude",
      "/home/ada/.claude.json",
      "/home/ada/.codex",
      "/home/ada/.sshx", // a prefix of .ssh is not .ssh
      "/home/ada/repos/isurus",
      "/home/ada/.local/state/repoman/projects/isurus/claude",
      "/home/ada/.local/state/repoman/agents/claude-auth",
      "/usr/lib/node_modules/@openai/codex",
      "/opt/node",
      "/srv/models"
    ]
    for (const p of fine) assert.isUndefined(exposure(p, context), p)
    // repoman's ssh keys are not shared, and a moved state dir is still the exception.
    assert.isDefined(exposure("/home/ada/.local/state/repoman/ssh/isurus", context, { readOnly: true }))
    assert.isDefined(exposure("/home/ada/.local/state/repoman", context, { readOnly: true }))
    const moved = { home: "/home/ada", stateDir: "/home/ada/.local/share/rm-state" }
    assert.isUndefined(exposure("/home/ada/.local/share/rm-state/projects/x", moved))
    assert.isDefined(exposure("/home/ada/.local/state/repoman/projects/x", moved))
  })

  it("counts an ifPresent credential file as held only when it exists", () => {
    assert.isDefined(exposure("/home/ada/.config/git", context, { readOnly: true }))
    assert.isUndefined(exposure("/home/ada/.config/git", context, { readOnly: true, exists: () => false }))
    assert.isDefined(exposure("/home/ada/.config/git/credentials", context, { readOnly: true, exists: () => false }))
  })

  it("a home under /tmp (tests) is judged by what else /tmp holds", () => {
    const tmpHome = { home: "/tmp/box/home" }
    assert.isUndefined(exposure("/tmp/box/home/.claude", tmpHome))
    assert.isDefined(exposure("/tmp/box/home/.ssh", tmpHome))
    assert.isDefined(exposure("/tmp/box/other", tmpHome))
  })

  it("says what is exposed", () => {
    assert.include(exposure("/home/ada/.ssh/id_rsa", context)?.exposes ?? "", "~/.ssh")
    assert.include(exposure("/home/ada", context)?.exposes ?? "", "home directory")
    assert.include(exposure("/home/ada/.config", context)?.exposes ?? "", "which is inside /home/ada/.config")
    assert.include(exposure("/run/user/1500", context)?.exposes ?? "", "/run/user/UID")
  })

  it("--allow-sensitive names the source or the listed path it touches, never a parent", () => {
    const found = exposure("/home/ada/.ssh/config", context)
    assert.isDefined(found)
    if (found === undefined) return
    assert.isTrue(allowedBy(found, ["/home/ada/.ssh/config"]))
    assert.isTrue(allowedBy(found, ["/home/ada/.ssh/"]))
    assert.isFalse(allowedBy(found, ["/home/ada"]))
    assert.isFalse(allowedBy(found, ["/"]))
    assert.isFalse(allowedBy(found, []))
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
      yield* fs.symlink("/etc", `${dir}/.claude/etc-link`)
      const home = { home: dir }
      const viaLink = yield* checkSource(`${dir}/agent-state`, home)
      assert.isDefined(viaLink)
      assert.include(viaLink?.exposes ?? "", "resolves to")
      assert.isDefined(yield* checkSource(`${dir}/.claude/home-again`, home))
      assert.isDefined(yield* checkSource(`${dir}/.claude/etc-link`, home, { readOnly: true }))
      assert.isUndefined(yield* checkSource(`${dir}/.claude`, home))
      // A missing source is checked as written.
      assert.isDefined(yield* checkSource(`${dir}/.gnupg`, home))
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("a read-only ~/.config/git is fine until a credentials file appears in it", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-sens-" })
      yield* fs.makeDirectory(`${dir}/.config/git`, { recursive: true })
      const home = { home: dir }
      assert.isUndefined(yield* checkSource(`${dir}/.config/git`, home, { readOnly: true }))
      assert.isDefined(yield* checkSource(`${dir}/.config/git`, home))
      yield* fs.writeFileString(`${dir}/.config/git/credentials`, "https://ada:token@github.com\n")
      const found = yield* checkSource(`${dir}/.config/git`, home, { readOnly: true })
      assert.include(found?.exposes ?? "", "credentials")
    }).pipe(Effect.provide(NodeServices.layer)))
})
