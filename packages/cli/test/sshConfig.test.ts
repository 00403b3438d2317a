import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { ConfigPaths } from "@repoman/core/ConfigPaths"
import { ContainerRuntime, InstanceSpec, ProfileSpec } from "@repoman/core/ContainerRuntime"
import * as ContainerRuntimeMemory from "@repoman/core/ContainerRuntimeMemory"
import { layer as runtimeMemory } from "@repoman/core/ContainerRuntimeMemory"
import * as HostInfo from "@repoman/core/HostInfo"
import { ImageRef, ProfileName, ProjectName, RepoDir } from "@repoman/core/Ids"
import { timestampFromDate } from "@repoman/core/Project"
import { Registry } from "@repoman/core/Registry"
import { emptyDocument } from "@repoman/core/RegistryDocument"
import * as RegistryMemory from "@repoman/core/RegistryMemory"
import * as NodeHostFiles from "@repoman/node/NodeHostFiles"
import {
  forceCommand,
  hasMarkedBlock,
  hostBlock,
  installSshConfig,
  namesHost,
  proxyCommand,
  proxyWord,
  removeSshAccess,
  setEnvValue,
  sshAccessOf,
  sshConfig,
  sshdArgv,
  sshSessionEnv,
  withBlock,
  withoutBlock
} from "@repoman/programs/SshAccess"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"

const name = ProjectName.make("isurus")
const proxy = proxyCommand({
  name,
  self: ["/opt/node/bin/node", "/opt/repoman/bin/repoman.js"],
  home: "/home/ada",
  configDir: "/home/ada/.config/repoman",
  stateDir: "/home/ada/.local/state/repoman"
})
const block = hostBlock({
  name,
  proxy,
  user: "ubuntu",
  identityFile: "/s/ssh/isurus/id_ed25519",
  knownHostsFile: "/s/ssh/isurus/known_hosts"
})

const uid = process.getuid?.() ?? 1000

/** The memory registry, runtime and host, with real files under `home`. */
const layersFor = (home: string, runtime: Layer.Layer<ContainerRuntime>) =>
  Layer.mergeAll(
    ConfigPaths.layerFrom({ home, configDir: `${home}/.config/repoman`, stateDir: `${home}/state/repoman` }),
    HostInfo.layerTest({ home, uid, user: "ada" }),
    RegistryMemory.layer({ document: emptyDocument }),
    runtime,
    NodeHostFiles.layer
  )

/** Runs `f` with a temporary home (see {@link layersFor}). */
const withHome = <A, E>(
  f: (
    home: string
  ) => Effect.Effect<A, E, Layer.Success<ReturnType<typeof layersFor>> | NodeServices.NodeServices>,
  runtime: Layer.Layer<ContainerRuntime> = runtimeMemory({ namespace: "repoman" })
) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const home = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-ssh-" })
    return yield* f(home).pipe(Effect.provide(layersFor(home, runtime)))
  }).pipe(Effect.scoped, Effect.provide(NodeServices.layer))

describe("ssh-config", () => {
  it("the Host block proxies through `repoman ssh-proxy NAME`, under this run's home, config and state dirs", () => {
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
        "  ProxyCommand env HOME=/home/ada REPOMAN_CONFIG_DIR=/home/ada/.config/repoman " +
        "XDG_STATE_HOME=/home/ada/.local/state /opt/node/bin/node /opt/repoman/bin/repoman.js ssh-proxy isurus"
      ].join("\n")
    )
  })

  it("a ProxyCommand word the shell or ssh would read otherwise is quoted, % doubled", () => {
    assert.strictEqual(proxyWord("/home/a b/x"), "'/home/a b/x'")
    assert.strictEqual(proxyWord("/home/o'brien"), `'/home/o'\\''brien'`)
    assert.strictEqual(proxyWord("/home/$(x)"), "'/home/$(x)'")
    assert.strictEqual(proxyWord("/home/100%"), "'/home/100%%'")
  })

  it("sshd gets the environment as one SetEnv line of quoted words, and a ForceCommand into the repo", () => {
    assert.strictEqual(
      setEnvValue({ PATH: "/a:/b", ODD: "say \"hi\" \\ there", "BAD-NAME": "x", NL: "a\nb" }),
      `"PATH=/a:/b" "ODD=say \\"hi\\" \\\\ there"`
    )
    assert.strictEqual(
      forceCommand("/home/ada/repos/isurus"),
      `cd '/home/ada/repos/isurus' || exit 1; if [ -n "$SSH_ORIGINAL_COMMAND" ]; then exec "$SHELL" -c ` +
        `"$SSH_ORIGINAL_COMMAND"; fi; exec "$SHELL" -l`
    )
    // A path that would unbalance sshd's quotes is not put there (the session starts in the home).
    assert.notInclude(forceCommand("/home/o'brien/repo"), "cd ")
    const argv = sshdArgv({ HOME: "/home/ada" }, "/r")
    assert.deepStrictEqual(argv.slice(0, 4), [
      "/bin/sh",
      "-c",
      "mkdir -p /run/sshd && exec /usr/sbin/sshd -i \"$@\"",
      "sshd"
    ])
    assert.deepStrictEqual(argv.slice(4, 6), ["-o", `SetEnv="HOME=/home/ada"`])
  })

  it("withBlock appends a marked block once and replaces it later, keeping the rest; withoutBlock takes it out", () => {
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
    assert.strictEqual(withoutBlock(second, name), "Host other\n  User me\nHost after\n")
    assert.strictEqual(withoutBlock("Host other\n", name), "Host other\n")
  })

  it("namesHost finds the alias on a Host line, pasted or marked, and nothing else", () => {
    assert.isTrue(namesHost("Host repoman-isurus\n  User u\n", name))
    assert.isTrue(namesHost("host   a repoman-isurus b\n", name))
    assert.isTrue(namesHost("Host=repoman-isurus\n", name))
    assert.isFalse(namesHost("Host repoman-isurus2\n", name))
    assert.isFalse(namesHost("  HostName repoman-isurus\n", name))
    assert.isFalse(namesHost("# Host repoman-isurus\n", name))
  })

  it.effect("--install writes ~/.ssh/config (mode 600) and a second install replaces the block", () =>
    withHome((home) =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const file = yield* installSshConfig(name, block)
        assert.strictEqual(file, `${home}/.ssh/config`)
        assert.strictEqual((yield* fs.stat(file)).mode & 0o777, 0o600)
        yield* installSshConfig(name, block.replace("User ubuntu", "User dev"))
        const text = yield* fs.readFileString(file)
        assert.strictEqual(text.split("# >>> repoman isurus >>>").length, 2, "one block")
        assert.include(text, "User dev")
        assert.notInclude(text, "User ubuntu")
        assert.deepStrictEqual(yield* fs.readDirectory(`${home}/.ssh`), ["config"], "no temporary file left")
      })
    ))

  it.effect("--install keeps a symlinked ~/.ssh/config a symlink, and its target's mode", () =>
    withHome((home) =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        yield* fs.makeDirectory(`${home}/.ssh`, { mode: 0o700 })
        yield* fs.makeDirectory(`${home}/dotfiles`)
        yield* fs.writeFileString(`${home}/dotfiles/ssh_config`, "Host mine\n  User me\n")
        yield* fs.chmod(`${home}/dotfiles/ssh_config`, 0o640)
        yield* fs.symlink("../dotfiles/ssh_config", `${home}/.ssh/config`)
        yield* installSshConfig(name, block)
        assert.strictEqual(yield* fs.readLink(`${home}/.ssh/config`), "../dotfiles/ssh_config", "still the symlink")
        const text = yield* fs.readFileString(`${home}/dotfiles/ssh_config`)
        assert.isTrue(text.startsWith("Host mine\n  User me\n"))
        assert.isTrue(hasMarkedBlock(text, name))
        assert.strictEqual((yield* fs.stat(`${home}/dotfiles/ssh_config`)).mode & 0o777, 0o640)
        assert.deepStrictEqual(yield* fs.readDirectory(`${home}/dotfiles`), ["ssh_config"])
        // And remove edits the target too.
        const removed = yield* removeSshAccess(name, yield* sshAccessOf(name))
        assert.deepStrictEqual(removed.block, Option.some(`${home}/.ssh/config`))
        assert.strictEqual(yield* fs.readLink(`${home}/.ssh/config`), "../dotfiles/ssh_config")
        assert.strictEqual(yield* fs.readFileString(`${home}/dotfiles/ssh_config`), "Host mine\n  User me\n")
      })
    ))

  it.effect("attack: a ~/.ssh/config that leads into the repos root (a container can write there) is not edited", () =>
    withHome((home) =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        // The registry's repos root is ~/repos; a container mounts its repo from there.
        yield* fs.makeDirectory(`${home}/repos/isurus`, { recursive: true })
        yield* fs.makeDirectory(`${home}/.ssh`, { mode: 0o700 })
        // The user's dotfiles repo is a project; ~/.ssh/config is a symlink into it.
        yield* fs.writeFileString(`${home}/repos/isurus/ssh_config`, "Host mine\n")
        yield* fs.symlink(`${home}/repos/isurus/ssh_config`, `${home}/.ssh/config`)
        // The container replaced the file with a symlink to something of the host's.
        yield* fs.writeFileString(`${home}/.bashrc`, "echo hi\n")
        yield* fs.remove(`${home}/repos/isurus/ssh_config`)
        yield* fs.symlink(`${home}/.bashrc`, `${home}/repos/isurus/ssh_config`)
        // The chain ends in ~/.bashrc, outside; but a link of it is inside the repo.
        const refused = yield* Effect.flip(installSshConfig(name, block))
        assert.include(refused.message, "which a container can write")
        assert.strictEqual(yield* fs.readFileString(`${home}/.bashrc`), "echo hi\n", "untouched")
        assert.strictEqual(yield* fs.readLink(`${home}/repos/isurus/ssh_config`), `${home}/.bashrc`)
        // A plain file in the repo is refused as well (the container could swap it at any time).
        yield* fs.remove(`${home}/repos/isurus/ssh_config`)
        yield* fs.writeFileString(`${home}/repos/isurus/ssh_config`, "Host mine\n")
        const again = yield* Effect.flip(installSshConfig(name, block))
        assert.include(again.message, "which a container can write")
        assert.strictEqual(yield* fs.readFileString(`${home}/repos/isurus/ssh_config`), "Host mine\n")
        // remove then leaves the config alone (it cannot tell what is there) and still takes the key.
        yield* fs.makeDirectory(`${home}/state/repoman/ssh/isurus`, { recursive: true })
        const found = yield* sshAccessOf(name)
        assert.isTrue(Option.isNone(found.block))
        assert.include(found.unchecked, "which a container can write")
        yield* removeSshAccess(name, found)
        assert.isFalse(yield* fs.exists(`${home}/state/repoman/ssh/isurus`))
        assert.strictEqual(yield* fs.readFileString(`${home}/repos/isurus/ssh_config`), "Host mine\n")
      })
    ))

  it.effect("remove takes out repoman's block and the key dir, and leaves a block the user wrote", () =>
    withHome((home) =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        yield* fs.makeDirectory(`${home}/state/repoman/ssh/isurus`, { recursive: true })
        yield* fs.writeFileString(`${home}/state/repoman/ssh/isurus/id_ed25519`, "key")
        yield* fs.makeDirectory(`${home}/.ssh`, { mode: 0o700 })
        yield* fs.writeFileString(`${home}/.ssh/config`, "Host repoman-lamna\n  User mine\n", { mode: 0o600 })
        yield* installSshConfig(name, block)
        const before = yield* sshAccessOf(name)
        assert.deepStrictEqual(before.block, Option.some(`${home}/.ssh/config`))
        assert.deepStrictEqual(before.keyDir, Option.some(`${home}/state/repoman/ssh/isurus`))
        yield* removeSshAccess(name, before)
        assert.strictEqual(yield* fs.readFileString(`${home}/.ssh/config`), "Host repoman-lamna\n  User mine\n")
        assert.isFalse(yield* fs.exists(`${home}/state/repoman/ssh/isurus`))
        const after = yield* sshAccessOf(name)
        assert.isTrue(Option.isNone(after.block) && Option.isNone(after.keyDir))
        // Nothing there: nothing to do, no file made.
        yield* fs.remove(`${home}/.ssh/config`)
        yield* removeSshAccess(name, yield* sshAccessOf(name))
        assert.isFalse(yield* fs.exists(`${home}/.ssh/config`))
      })
    ))

  it.effect("attack: a uid-1000 user name the container made up never reaches the ssh config", () =>
    Effect.gen(function*() {
      const memory = yield* ContainerRuntimeMemory.make({ namespace: "repoman" })
      const layer = Layer.succeed(ContainerRuntime, memory)
      yield* withHome(
        (home) =>
          Effect.gen(function*() {
            const registry = yield* Registry
            yield* registry.addProject({
              name,
              repo: RepoDir.make("isurus"),
              image: ImageRef.make("img"),
              profiles: [],
              created: timestampFromDate(new Date(0)),
              backup: true,
              git: "sealed"
            })
            yield* memory.create(new InstanceSpec({ name, image: ImageRef.make("img"), profiles: [] }))
            yield* memory.writeFile(
              name,
              "/etc/passwd",
              "root:x:0:0::/root:/bin/sh\nx ProxyCommand sh -c evil:x:1000:1000::/home/x:/bin/sh\n"
            )
            const refused = yield* Effect.flip(sshConfig(name, ["/opt/node/bin/node", "/opt/repoman.js"]))
            assert.include(refused.message, "odd name")
            assert.isFalse(yield* (yield* FileSystem.FileSystem).exists(`${home}/.ssh/config`))
          }),
        layer
      )
    }))

  it.effect("a session's environment: the profiles' in order, the instance's, then HOME, USER and LOGNAME", () =>
    withHome((home) =>
      Effect.gen(function*() {
        const runtime = yield* ContainerRuntime
        yield* runtime.putProfile(
          ProfileName.make("a"),
          new ProfileSpec({ description: "", config: { "environment.PATH": "/a", "environment.X": "a" }, devices: {} })
        )
        yield* runtime.putProfile(
          ProfileName.make("b"),
          new ProfileSpec({
            description: "",
            config: { "environment.PATH": "/b:/a", "environment.HOME": "/x" },
            devices: {}
          })
        )
        const instance = yield* runtime.create(
          new InstanceSpec({
            name,
            image: ImageRef.make("img"),
            profiles: [ProfileName.make("a"), ProfileName.make("b")],
            env: { X: "mine" }
          })
        )
        const env = yield* sshSessionEnv(instance)
        assert.deepStrictEqual(env, { PATH: "/b:/a", X: "mine", HOME: home, USER: "ada", LOGNAME: "ada" })
      })
    ))
})
