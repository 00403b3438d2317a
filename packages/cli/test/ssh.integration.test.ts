/**
 * Issue 18's ssh and home items against the real incusd, through the real
 * `repoman` executable and a real `ssh` client, with HOME a temp dir: ssh
 * sessions get shell's environment and working directory, ssh starts a
 * stopped container, `--install` keeps a symlinked ~/.ssh/config a symlink
 * and refuses one a container could have planted, `remove` / `uninstall`
 * take the Host block and the key with them, `new` installs the key again
 * for a Host the config still names; and the directories Incus made above
 * mounts under the home belong to the container user, while the mounts
 * themselves are never changed on the host.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as ChildProcess from "effect/process/ChildProcess"
import * as Stream from "effect/Stream"
import { statSync } from "node:fs"
import { debian, IntegrationLayer, outcome, sandbox } from "./integration.ts"

const profiles: ReadonlyArray<readonly [string, string]> = [
  [
    "envy",
    [
      "description: agent environment",
      "config:",
      "  environment.PATH: \"/opt/envy/bin:/usr/local/bin:/usr/bin:/bin\"",
      "  environment.CLAUDE_CONFIG_DIR: \"${HOME}/.claude\"",
      "  environment.CODEX_HOME: \"${HOME}/.codex\"",
      "devices: {}",
      ""
    ].join("\n")
  ],
  [
    "gitcfg",
    [
      "description: git settings, read-only",
      "devices:",
      "  gitconfig: { type: disk, source: \"${HOME}/.config/git\", path: \"${HOME}/.config/git\", readonly: \"true\" }",
      "  notes: { type: disk, source: \"${HOME}/.local/share/notes\", path: \"${HOME}/.local/share/notes\", readonly: \"true\" }",
      ""
    ].join("\n")
  ]
]

/** The change time of a host path, in nanoseconds: a chown, even to the same owner, moves it. */
const ctime = (path: string) => statSync(path, { bigint: true }).ctimeNs

describe("issue 18: ssh and the home's directories against a real Incus", () => {
  it.live(
    "ssh through the generated config: shell's env and cwd, a stopped container starts, remove+new keeps the Host working",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const box = yield* sandbox
        const { client, dir, project, reposRoot } = box
        const home = `${dir}/home`
        const repo = `${reposRoot}/sshp`
        const keyDir = `${dir}/state/repoman/ssh/sshp`
        yield* fs.makeDirectory(repo)
        yield* fs.makeDirectory(`${home}/.claude`, { recursive: true })
        yield* fs.makeDirectory(`${home}/.config/git`, { recursive: true })
        yield* fs.writeFileString(`${home}/.config/git/config`, "[user]\n  name = Ada\n")
        yield* fs.makeDirectory(`${home}/.local/share/notes`, { recursive: true })
        yield* fs.writeFileString(`${home}/.bashrc`, "# host rc\n")
        yield* fs.makeDirectory(`${dir}/config/profiles.d`, { recursive: true })
        for (const [name, text] of profiles) yield* fs.writeFileString(`${dir}/config/profiles.d/${name}.yaml`, text)
        const repoman = box.repomanIn({ HOME: home })
        const ok = (out: { code: number; stdout: string; stderr: string }, what: string) =>
          assert.strictEqual(out.code, 0, `${what}: ${out.stdout}${out.stderr}`)
        ok(yield* repoman(box.setupArgs), "setup")
        ok(yield* repoman(["profile", "install", "envy", "gitcfg"]), "profile install")

        const hostCtimes = () => [`${home}/.config/git`, `${home}/.local/share/notes`, `${home}/.config`].map(ctime)
        const before = hostCtimes()
        ok(yield* repoman(["new", "sshp", "--image", debian, "-p", "envy", "-p", "gitcfg"]), "new")

        // The home's directories Incus made for the mounts are the container user's; tools can make their own.
        const owners = yield* repoman([
          "exec",
          "sshp",
          "--",
          "sh",
          "-c",
          "stat -c %u ~/.config ~/.local ~/.local/share && mkdir ~/.config/gh ~/.local/bin && echo made"
        ])
        ok(owners, "owners")
        assert.deepStrictEqual(owners.stdout.trim().split("\n"), ["1000", "1000", "1000", "made"])
        // The mounts (and the host's ~/.config) were not touched on the host: not even their change time moved.
        assert.deepStrictEqual(hostCtimes(), before)
        // A mount added later by `config` gets the same: its new parents are the container user's.
        yield* fs.makeDirectory(`${home}/data`)
        ok(yield* repoman(["config", "sshp", "--mount", `~/data:${home}/.cache/tools/data:ro`]), "config --mount")
        const later = yield* repoman([
          "exec",
          "sshp",
          "--",
          "stat",
          "-c",
          "%u",
          `${home}/.cache`,
          `${home}/.cache/tools`
        ])
        ok(later, "owners after config")
        assert.deepStrictEqual(later.stdout.trim().split("\n"), ["1000", "1000"])

        // --install into a ~/.ssh/config that is a symlink into the user's dotfiles: it stays one.
        yield* fs.makeDirectory(`${home}/.ssh`, { mode: 0o700 })
        yield* fs.makeDirectory(`${home}/dotfiles`)
        yield* fs.writeFileString(`${home}/dotfiles/ssh_config`, "Host elsewhere\n  User me\n", { mode: 0o600 })
        yield* fs.symlink("../dotfiles/ssh_config", `${home}/.ssh/config`)
        const installed = yield* repoman(["ssh-config", "sshp", "--install"])
        ok(installed, "ssh-config --install")
        assert.strictEqual(yield* fs.readLink(`${home}/.ssh/config`), "../dotfiles/ssh_config")
        const config = yield* fs.readFileString(`${home}/dotfiles/ssh_config`)
        assert.isTrue(config.startsWith("Host elsewhere\n  User me\n# >>> repoman sshp >>>\nHost repoman-sshp\n"))
        assert.include(config, "ssh-proxy sshp")

        const ssh = (script: string) =>
          outcome(
            ChildProcess.make(
              "ssh",
              ["-F", `${home}/.ssh/config`, "-o", "BatchMode=yes", "repoman-sshp", "--", script],
              {
                env: { HOME: home },
                extendEnv: true,
                stdin: "ignore"
              }
            )
          ).pipe(Effect.orDie)
        const probe = "pwd; echo \"$HOME\"; echo \"$PATH\"; echo \"$CLAUDE_CONFIG_DIR\"; echo \"$CODEX_HOME\"; id -u"
        const session = yield* ssh(probe)
        ok(session, "ssh")
        assert.deepStrictEqual(session.stdout.trim().split("\n"), [
          repo,
          home,
          "/opt/envy/bin:/usr/local/bin:/usr/bin:/bin",
          `${home}/.claude`,
          `${home}/.codex`,
          "1000"
        ])
        // What `exec` (shell's environment) says is what ssh says.
        const viaExec = yield* repoman(["exec", "sshp", "--", "sh", "-c", probe])
        ok(viaExec, "exec")
        assert.strictEqual(viaExec.stdout, session.stdout)

        // A stopped container: ssh starts it, as exec and run do.
        yield* client.updateInstanceState(project, "sshp", { action: "stop", force: true })
        assert.strictEqual((yield* client.getInstance(project, "sshp")).value.status, "Stopped")
        const woke = yield* ssh("echo awake")
        ok(woke, "ssh to a stopped container")
        assert.strictEqual(woke.stdout, "awake\n")

        // An interactive session (a terminal, a login shell) starts in the repo too, with the profiles' variables.
        const interactive = yield* outcome(
          ChildProcess.make("ssh", ["-tt", "-F", `${home}/.ssh/config`, "-o", "BatchMode=yes", "repoman-sshp"], {
            env: { HOME: home },
            extendEnv: true,
            stdin: Stream.make(new TextEncoder().encode("pwd; echo \"$CLAUDE_CONFIG_DIR\"; exit\n"))
          })
        ).pipe(Effect.orDie)
        ok(interactive, "ssh -tt")
        assert.include(interactive.stdout, `${repo}\r\n`)
        assert.include(interactive.stdout, `${home}/.claude\r\n`)

        // Attack: the user's config leads into a repo, where the container put a symlink to ~/.bashrc.
        const exec = (script: string) => repoman(["exec", "sshp", "--", "sh", "-c", script])
        ok(yield* exec(`ln -s ${home}/.bashrc ${repo}/ssh_config`), "plant")
        yield* fs.remove(`${home}/.ssh/config`)
        yield* fs.symlink(`${repo}/ssh_config`, `${home}/.ssh/config`)
        const refused = yield* repoman(["ssh-config", "sshp", "--install"])
        assert.strictEqual(refused.code, 1)
        assert.include(refused.stderr, "which a container can write")
        assert.strictEqual(yield* fs.readFileString(`${home}/.bashrc`), "# host rc\n")
        // So is the planted symlink's own directory for a plain file there (the container can swap it any time).
        yield* fs.remove(`${home}/.ssh/config`)
        yield* fs.symlink("../dotfiles/ssh_config", `${home}/.ssh/config`)

        // remove takes repoman's Host block and the key with it, and says so.
        const printed = yield* repoman(["ssh-config", "sshp"])
        ok(printed, "ssh-config")
        const removed = yield* repoman(["remove", "sshp", "--yes"])
        ok(removed, "remove")
        assert.include(removed.stdout, `the ssh Host repoman-sshp in ${home}/.ssh/config`)
        assert.include(removed.stdout, `the ssh key pair and known_hosts of sshp in ${keyDir}`)
        assert.strictEqual(yield* fs.readFileString(`${home}/dotfiles/ssh_config`), "Host elsewhere\n  User me\n")
        assert.strictEqual(yield* fs.readLink(`${home}/.ssh/config`), "../dotfiles/ssh_config")
        assert.isFalse(yield* fs.exists(keyDir))

        // A Host block the user pasted stays; a new project of that name gets the key, and ssh works again.
        yield* fs.writeFileString(`${home}/dotfiles/ssh_config`, `Host elsewhere\n  User me\n${printed.stdout}`)
        const again = yield* repoman(["new", "sshp", "--image", debian, "-p", "envy", "-p", "gitcfg"])
        ok(again, "new again")
        assert.include(again.stdout, `ssh: installed the key for Host repoman-sshp (named in ${home}/.ssh/config)`)
        const back = yield* ssh("pwd")
        ok(back, "ssh after remove+new")
        assert.strictEqual(back.stdout, `${repo}\n`)

        // uninstall: repoman's block and the key go with the containers; the pasted block stays.
        ok(yield* repoman(["ssh-config", "sshp", "--install"]), "install again")
        const uninstalled = yield* repoman(["uninstall", "--yes"])
        ok(uninstalled, "uninstall")
        assert.include(uninstalled.stdout, `the ssh Host repoman-sshp in ${home}/.ssh/config`)
        assert.include(uninstalled.stdout, `the ssh key pair and known_hosts of sshp in ${keyDir}`)
        const left = yield* fs.readFileString(`${home}/dotfiles/ssh_config`)
        assert.notInclude(left, "# >>> repoman sshp >>>")
        assert.strictEqual(left, `Host elsewhere\n  User me\n${printed.stdout}`)
        assert.isFalse(yield* fs.exists(keyDir))
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    600_000
  )
})
