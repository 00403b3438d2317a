/**
 * `config` (ConfigureProject) against the memory runtime and registry, with
 * real directories for the repo and the mount sources: what it changes,
 * what it records, what it refuses (the way an agent steering the user
 * would try: the seal, sensitive paths), and that a refusal half-way
 * leaves the container, the registry and the namespace as they were.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { ConfigPaths } from "@repoman/core/ConfigPaths"
import {
  ContainerRuntime,
  ContainerRuntimeError,
  InstanceSpec,
  OperationFailed,
  ProfileSpec
} from "@repoman/core/ContainerRuntime"
import * as RuntimeMemory from "@repoman/core/ContainerRuntimeMemory"
import * as HostInfo from "@repoman/core/HostInfo"
import { ImageRef, ProfileName, ProjectName, RepoDir } from "@repoman/core/Ids"
import * as ProfileStoreMemory from "@repoman/core/ProfileStoreMemory"
import { timestampFromDate } from "@repoman/core/Project"
import { Registry } from "@repoman/core/Registry"
import { emptyDocument } from "@repoman/core/RegistryDocument"
import * as RegistryMemory from "@repoman/core/RegistryMemory"
import { MemorySize, PositiveInt } from "@repoman/core/ResourceLimits"
import * as NodeHostFiles from "@repoman/node/NodeHostFiles"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { type ConfigureInput, configureProject, projectSettings } from "../src/ConfigureProject.ts"
import { newProject } from "../src/NewProject.ts"

const uid = process.getuid?.() ?? 1000
const gid = process.getgid?.() ?? 1000
const isurus = ProjectName.make("isurus")

/** The services `config` needs, over a registry and a runtime, for the user `ada` with home `home`. */
const layerOver = (registry: Registry["Service"], runtime: ContainerRuntime["Service"], home: string) =>
  Layer.mergeAll(
    Layer.succeed(Registry, registry),
    Layer.succeed(ContainerRuntime, runtime),
    HostInfo.layerTest({ home, uid, gid, user: "ada" }),
    ConfigPaths.layerFrom({ home, configDir: `${home}/.config/repoman` }),
    ProfileStoreMemory.layer(),
    NodeHostFiles.layer
  )

/** A home with ~/repos/isurus, a project made by `new` in the memory runtime, and the layers. */
const world = (
  runtimeOptions: RuntimeMemory.MemoryOptions = {},
  newOptions: { readonly hermetic?: boolean } = {},
  /** The namespace allows the agents' per-project state (as `profile install` of an agent's profile makes it). */
  agents = false
) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const home = yield* fs.realPath(yield* fs.makeTempDirectoryScoped({ prefix: "repoman-config-" }))
    yield* fs.makeDirectory(`${home}/repos/isurus/src`, { recursive: true })
    yield* fs.makeDirectory(`${home}/data/cache`, { recursive: true })
    yield* fs.makeDirectory(`${home}/.ssh`, { recursive: true })
    const runtime = yield* RuntimeMemory.make({
      namespace: "repoman",
      owner: uid,
      restrictions: {
        allowedPaths: [`${home}/repos`, ...(agents ? [`${home}/.local/state/repoman/projects`] : [])],
        idMapping: { _tag: "HostUser", uid, gid }
      },
      ...runtimeOptions
    })
    yield* runtime.putProfile(
      ProfileName.make("default"),
      new ProfileSpec({ description: "", config: {}, devices: {} })
    )
    const registry = yield* RegistryMemory.make({
      document: { ...emptyDocument, defaults: { ...emptyDocument.defaults, reposRoot: "~/repos" } }
    })
    const layer = layerOver(registry, runtime, home)
    yield* newProject({ name: isurus, ...newOptions }).pipe(Effect.provide(layer))
    const configure = (input: Omit<ConfigureInput, "name">) =>
      configureProject({ name: isurus, ...input }).pipe(Effect.provide(layer))
    /** The container, the registry entry and the namespace's allowed paths: what must not move on a refusal. */
    const snapshot = Effect.gen(function*() {
      const instance = yield* runtime.get(isurus)
      const entry = yield* registry.getProject(isurus)
      const namespace = yield* runtime.getNamespace("repoman")
      return {
        profiles: instance.profiles,
        mounts: instance.mounts,
        env: instance.env,
        limits: instance.limits,
        status: instance.status,
        entry,
        allowed: namespace.allowedPaths
      }
    })
    return { home, runtime, registry, layer, configure, snapshot }
  })

/** The reason tag of a failure (`ConfigureError`, `ProfileInstallError`, ... by reason), or "Success". */
const outcome = <A, E extends { readonly _tag: string; readonly reason?: { readonly _tag: string } }, R>(
  effect: Effect.Effect<A, E, R>
) => Effect.match(effect, { onFailure: (e) => e.reason?._tag ?? e._tag, onSuccess: () => "Success" })

const tagOf = (e: { readonly _tag: string }): string =>
  "reason" in e && typeof e.reason === "object" && e.reason !== null && "_tag" in e.reason
    ? String(e.reason._tag)
    : e._tag

describe("config", () => {
  it.effect("with nothing to change, changes and writes nothing", () =>
    Effect.gen(function*() {
      const { configure, snapshot } = yield* world()
      const before = yield* snapshot
      const result = yield* configure({})
      assert.isFalse(result.changed)
      // Asking for what is there already is no change either.
      assert.isFalse((yield* configure({ addProfiles: [ProfileName.make("default")] })).changed)
      assert.deepStrictEqual(yield* snapshot, before)
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("changes env, limits and mounts live, records them in the registry entry, and shows them", () =>
    Effect.gen(function*() {
      const { home, layer, configure, runtime, registry } = yield* world()
      const result = yield* configure({
        env: { EDITOR: "vi", LANG: "C.UTF-8" },
        limits: { memory: MemorySize.make("2GiB"), cpu: PositiveInt.make(2) },
        mounts: [{ source: "~/data/cache", path: "/srv/cache", readOnly: true }]
      })
      assert.isTrue(result.changed)
      assert.isFalse(result.restarted)
      const instance = yield* runtime.get(isurus)
      assert.deepStrictEqual(instance.env, { EDITOR: "vi", LANG: "C.UTF-8" })
      assert.strictEqual(instance.limits.memory, "2GiB")
      assert.strictEqual(instance.limits.cpu, 2)
      // The defaults `new` set stay.
      assert.strictEqual(instance.limits.processes, 2000)
      const mount = instance.mounts.find((m) => m.path === "/srv/cache")
      assert.deepStrictEqual([mount?.source, mount?.readOnly], [`${home}/data/cache`, true])
      // The namespace now lets the container mount the source.
      assert.include((yield* runtime.getNamespace("repoman")).allowedPaths, `${home}/data/cache`)
      const entry = yield* registry.getProject(isurus)
      assert.deepStrictEqual(entry.env, { EDITOR: "vi", LANG: "C.UTF-8" })
      assert.strictEqual(entry.limits?.memory, "2GiB")
      assert.isTrue(entry.mounts?.some((m) => m.path === "/srv/cache" && m.readOnly))
      const shown = yield* projectSettings(isurus).pipe(Effect.provide(layer))
      assert.deepStrictEqual(shown.settings.env, { EDITOR: "vi", LANG: "C.UTF-8" })
      assert.strictEqual(shown.settings.limits.memory, "2GiB")

      // Then taken away again: a variable taken away needs a restart (it would stay in sessions).
      assert.strictEqual(yield* outcome(configure({ unsetEnv: ["EDITOR"], unmounts: ["/srv/cache"] })), "RestartNeeded")
      assert.isTrue((yield* runtime.get(isurus)).mounts.some((m) => m.path === "/srv/cache"))
      yield* configure({ unsetEnv: ["EDITOR"], unmounts: ["/srv/cache"], restart: true })
      const later = yield* runtime.get(isurus)
      assert.deepStrictEqual(later.env, { LANG: "C.UTF-8" })
      assert.isFalse(later.mounts.some((m) => m.path === "/srv/cache"))
      assert.deepStrictEqual((yield* registry.getProject(isurus)).env, { LANG: "C.UTF-8" })
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("adds and removes an installed profile; a missing one, default and an absent one are refused", () =>
    Effect.gen(function*() {
      const { configure, runtime, registry, snapshot } = yield* world()
      const tools = ProfileName.make("tools")
      yield* runtime.putProfile(
        tools,
        new ProfileSpec({ description: "", config: { "environment.X": "1" }, devices: {} })
      )
      yield* configure({ addProfiles: [tools] })
      assert.deepStrictEqual((yield* runtime.get(isurus)).profiles as ReadonlyArray<string>, ["default", "tools"])
      assert.deepStrictEqual((yield* registry.getProject(isurus)).profiles as ReadonlyArray<string>, [
        "default",
        "tools"
      ])
      const before = yield* snapshot
      assert.strictEqual(yield* outcome(configure({ addProfiles: [ProfileName.make("nosuch")] })), "UnknownProfile")
      assert.strictEqual(yield* outcome(configure({ removeProfiles: [ProfileName.make("default")] })), "ProfileRefused")
      assert.strictEqual(yield* outcome(configure({ removeProfiles: [ProfileName.make("other")] })), "ProfileRefused")
      assert.deepStrictEqual(yield* snapshot, before)
      yield* configure({ removeProfiles: [tools] })
      assert.deepStrictEqual((yield* runtime.get(isurus)).profiles as ReadonlyArray<string>, ["default"])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("adds an agent's profile as `new` would (seeded state mounted, store parent); removing it takes them away", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { configure, home, registry, runtime } = yield* world({}, {}, true)
      const stateDir = `${home}/.local/state/repoman`
      yield* fs.makeDirectory(`${home}/.claude`, { recursive: true })
      yield* fs.writeFileString(`${home}/.claude/CLAUDE.md`, "be brief\n")
      const agent = ProfileName.make("agentish")
      yield* runtime.putProfile(
        agent,
        new ProfileSpec({ description: "", config: { "user.repoman.agent": "claude" }, devices: {} })
      )
      const linking = ProfileName.make("linking")
      yield* fs.makeDirectory(`${home}/repos/gitcfg`)
      yield* runtime.putProfile(
        linking,
        new ProfileSpec({
          description: "",
          config: { "user.repoman.link.gitconfig": `${home}/.gitconfig -> ${home}/repos/gitcfg/config` },
          devices: {
            gitcfg: { type: "disk", source: `${home}/repos/gitcfg`, path: `${home}/repos/gitcfg`, readonly: "true" }
          }
        })
      )
      const added = yield* configure({ addProfiles: [agent, linking] })
      const instance = yield* runtime.get(isurus)
      assert.deepStrictEqual(instance.profiles as ReadonlyArray<string>, ["default", "agentish", "linking"])
      assert.deepStrictEqual((yield* registry.getProject(isurus)).profiles as ReadonlyArray<string>, [
        "default",
        "agentish",
        "linking"
      ])
      const state = instance.mounts.find((m) => m.name === "agent-claude")
      assert.isDefined(state)
      assert.strictEqual(state?.path, `${home}/.claude`)
      assert.isTrue(state?.source.startsWith(`${stateDir}/projects/isurus-`))
      assert.include(added.notes[0], `agent state of this project: ${stateDir}/projects/isurus-`)
      // Seeded from the host's state, as `new` seeds it.
      assert.strictEqual(yield* fs.readFileString(`${state?.source}/CLAUDE.md`), "be brief\n")
      // The directory above the shared credential store is the container user's; the shared file is linked.
      const store = yield* runtime.fileInfo(isurus, `${stateDir}/agents`)
      assert.strictEqual(Option.getOrUndefined(store)?.uid, 1000)
      const link = yield* runtime.fileInfo(isurus, `${home}/.gitconfig`)
      assert.strictEqual(Option.getOrUndefined(link)?.target, `${home}/repos/gitcfg/config`)

      // Removing them: the state mount goes and its directory with it; the link stays (and adding again keeps it).
      const removed = yield* configure({ removeProfiles: [agent, linking] })
      assert.deepStrictEqual(removed.notes, [`agent state deleted: ${state?.source}`])
      const after = yield* runtime.get(isurus)
      assert.deepStrictEqual(after.profiles as ReadonlyArray<string>, ["default"])
      assert.isFalse(after.mounts.some((m) => m.name === "agent-claude"))
      assert.isFalse(yield* fs.exists(state?.source ?? "/nonexistent"))
      assert.deepStrictEqual(yield* fs.readDirectory(`${stateDir}/projects`), [])
      assert.deepStrictEqual((yield* registry.getProject(isurus)).profiles as ReadonlyArray<string>, ["default"])
      yield* configure({ addProfiles: [linking] })
      assert.deepStrictEqual((yield* runtime.get(isurus)).profiles as ReadonlyArray<string>, ["default", "linking"])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("attacker: a symlink or file planted where an agent's profile mounts or links is refused, nothing changed", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { configure, home, runtime, snapshot } = yield* world({}, {}, true)
      const stateDir = `${home}/.local/state/repoman`
      yield* fs.makeDirectory(`${home}/repos/gitcfg`)
      const agent = ProfileName.make("agentish")
      yield* runtime.putProfile(
        agent,
        new ProfileSpec({ description: "", config: { "user.repoman.agent": "claude" }, devices: {} })
      )
      // An agent's profile mounting its commands under the home, as the vendor profiles do.
      const binned = ProfileName.make("binned")
      yield* runtime.putProfile(
        binned,
        new ProfileSpec({
          description: "",
          config: { "user.repoman.agent": "codex" },
          devices: {
            bin: {
              type: "disk",
              source: `${home}/repos/gitcfg`,
              path: `${stateDir}/agents/bin/codex`,
              readonly: "true"
            }
          }
        })
      )
      const before = yield* snapshot
      const refused = (p: ProfileName, what: string) =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(configure({ addProfiles: [p] }))
          assert.strictEqual(tagOf(error), "ProfileRefused")
          assert.include(error.message, what)
          assert.deepStrictEqual(yield* snapshot, before)
          // No agent state was left on the host.
          const left = yield* fs.readDirectory(`${stateDir}/projects`).pipe(Effect.orElseSucceed(() => []))
          assert.deepStrictEqual(left, [])
        })
      // The agent's state path, a symlink to steer the mount (onto the seal, the root, ...).
      yield* runtime.makeSymlink(isurus, `${home}/.claude`, "/etc")
      yield* refused(agent, `${home}/.claude is a symlink`)
      // A parent of a profile's mount target.
      yield* runtime.makeSymlink(isurus, `${home}/.local`, "/")
      yield* refused(binned, `${home}/.local is a symlink`)
      // The shared file's own place: a symlink elsewhere (or a file) is neither followed nor replaced.
      const linkOnly = ProfileName.make("linkonly")
      yield* runtime.putProfile(
        linkOnly,
        new ProfileSpec({
          description: "",
          config: { "user.repoman.link.npmrc": `${home}/.npmrc -> ${home}/repos/gitcfg/npmrc` },
          devices: {
            gitcfg: { type: "disk", source: `${home}/repos/gitcfg`, path: `${home}/repos/gitcfg`, readonly: "true" }
          }
        })
      )
      yield* runtime.makeSymlink(isurus, `${home}/.npmrc`, "/etc/shadow")
      yield* refused(linkOnly, `${home}/.npmrc is a symlink in the container`)
      // A stopped container: nothing is prepared there.
      yield* runtime.stop(isurus)
      const stopped = yield* snapshot
      const error = yield* Effect.flip(configure({ addProfiles: [ProfileName.make("agentish")] }))
      assert.strictEqual(tagOf(error), "ProfileRefused")
      assert.include(error.message, "repoman start isurus")
      assert.deepStrictEqual(yield* snapshot, stopped)
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("a change that needs a restart is refused without restart (nothing changed) and restarts with it", () =>
    Effect.gen(function*() {
      const { configure, runtime, registry, snapshot } = yield* world()
      const before = yield* snapshot
      const change = { limits: { inotifyInstances: PositiveInt.make(64) }, env: { A: "1" } }
      assert.strictEqual(yield* outcome(configure(change)), "RestartNeeded")
      assert.deepStrictEqual(yield* snapshot, before)
      const result = yield* configure({ ...change, restart: true })
      assert.isTrue(result.restarted)
      assert.isAbove(result.restartReasons.length, 0)
      assert.strictEqual((yield* runtime.get(isurus)).limits.inotifyInstances, 64)
      assert.strictEqual((yield* registry.getProject(isurus)).limits?.inotifyInstances, 64)
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("all or nothing: the engine refusing half-way leaves the container, the registry and the namespace", () =>
    Effect.gen(function*() {
      const { configure, snapshot } = yield* world({
        refuseUpdate: (_, change) =>
          change.mounts?.some((m) => m.path === "/proc/repoman") === true ? "cannot make /proc/repoman" : undefined
      })
      const before = yield* snapshot
      const error = yield* Effect.flip(configure({
        env: { A: "1" },
        limits: { memory: MemorySize.make("1GiB") },
        addProfiles: [],
        mounts: [{ source: "~/data/cache", path: "/proc/repoman", readOnly: false }]
      }))
      assert.include(error.message, "cannot make /proc/repoman")
      assert.deepStrictEqual(yield* snapshot, before)
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("a change the engine took before a later step failed (a restart) stays recorded as the container has it", () =>
    Effect.gen(function*() {
      const { home, registry, runtime } = yield* world()
      const failingRestart = ContainerRuntime.of({
        ...runtime,
        update: (name, change, options) =>
          runtime.update(name, change, options).pipe(
            Effect.andThen(Effect.fail(
              new ContainerRuntimeError({
                reason: new OperationFailed({ kind: "instance", name, operation: "restart", detail: "did not start" })
              })
            ))
          )
      })
      const error = yield* Effect.flip(
        configureProject({ name: isurus, env: { KEPT: "1" } }).pipe(
          Effect.provide(layerOver(registry, failingRestart, home))
        )
      )
      assert.include(error.message, "did not start")
      assert.deepStrictEqual((yield* runtime.get(isurus)).env, { KEPT: "1" })
      assert.deepStrictEqual((yield* registry.getProject(isurus)).env, { KEPT: "1" })
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("attacker: the repo and its git seal can be neither unmounted, covered nor shared around the seal", () =>
    Effect.gen(function*() {
      const { home, configure, runtime, snapshot } = yield* world()
      const repo = `${home}/repos/isurus`
      const instance = yield* runtime.get(isurus)
      assert.isTrue(Option.isSome(instance.gitCover))
      const before = yield* snapshot
      const attempts: ReadonlyArray<Omit<ConfigureInput, "name">> = [
        { unmounts: [repo] },
        { unmounts: [`${repo}/.git`] },
        { unmounts: [`${repo}/.git/`] },
        { mounts: [{ source: "~/data/cache", path: `${repo}/.git`, readOnly: false }] },
        { mounts: [{ source: "~/data/cache", path: repo, readOnly: false }] },
        { mounts: [{ source: "~/data/cache", path: `${repo}/src/../.git`, readOnly: false }] },
        { mounts: [{ source: "~/data/cache", path: `/srv/../${repo}//.git/`, readOnly: false }] },
        { unmounts: [`${repo}/./.git`] },
        // A parent of the repo would cover it, seal and all.
        { mounts: [{ source: "~/data/cache", path: home, readOnly: false }] },
        { mounts: [{ source: "~/data/cache", path: "/var/lib/repoman-git", readOnly: false }] },
        // The host's own .git, the repo, or what holds it, mounted elsewhere.
        { mounts: [{ source: `${repo}/.git`, path: "/srv/git", readOnly: false }] },
        { mounts: [{ source: repo, path: "/srv/repo", readOnly: true }] },
        { mounts: [{ source: "~/repos", path: "/srv/repos", readOnly: true }] },
        // The sealed gitdirs of every project.
        { mounts: [{ source: `${home}/.local/state/repoman/git`, path: "/srv/gitdirs", readOnly: true }] }
      ]
      for (const attempt of attempts) {
        if (attempt === attempts[0]) {
          // Steered through a symlink the agent planted inside.
          yield* runtime.makeDirectory(isurus, "/srv", { uid: 0, gid: 0 })
          yield* runtime.makeSymlink(isurus, "/srv/link", repo)
          const steered = yield* Effect.flip(
            configure({ mounts: [{ source: "~/data/cache", path: "/srv/link/.git", readOnly: false }] })
          )
          assert.include(steered.message, "/srv/link is a symlink in the container")
        }
        const error = yield* Effect.flip(configure(attempt))
        assert.strictEqual(tagOf(error), "MountRefused", JSON.stringify(attempt))
        // Refused for what it would do to the seal, not for a missing path.
        assert.match(error.message, /repo and its git seal|repo or its git seal/, error.message)
      }
      assert.deepStrictEqual(yield* snapshot, before)
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("attacker: a hermetic project's read-only origin and /patches can be neither unmounted nor shared", () =>
    Effect.gen(function*() {
      const { home, configure, runtime, snapshot } = yield* world({}, { hermetic: true })
      const instance = yield* runtime.get(isurus)
      assert.isTrue(instance.mounts.some((m) => m.path === "/patches"))
      const before = yield* snapshot
      for (
        const attempt of [
          { unmounts: ["/patches"] },
          { unmounts: ["/srv/repoman/origin"] },
          { mounts: [{ source: "~/data/cache", path: "/patches", readOnly: false }] },
          // The repo itself, writable, around the read-only origin.
          { mounts: [{ source: `${home}/repos/isurus`, path: "/srv/rw", readOnly: false }] }
        ] satisfies ReadonlyArray<Omit<ConfigureInput, "name">>
      ) {
        assert.strictEqual(yield* outcome(configure(attempt)), "MountRefused", JSON.stringify(attempt))
      }
      assert.deepStrictEqual(yield* snapshot, before)
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("attacker: a sensitive host path is refused unless named with allowSensitive; bad env is refused", () =>
    Effect.gen(function*() {
      const { home, configure, runtime, snapshot } = yield* world()
      const before = yield* snapshot
      const ssh = yield* Effect.flip(configure({ mounts: [{ source: "~/.ssh", path: "/srv/ssh", readOnly: true }] }))
      assert.include(ssh.message, "--allow-sensitive")
      assert.strictEqual(
        yield* outcome(configure({ mounts: [{ source: "~/no-such-dir", path: "/srv/x", readOnly: true }] })),
        "MountRefused"
      )
      assert.strictEqual(
        yield* outcome(configure({ mounts: [{ source: "~/data/cache", path: "relative", readOnly: true }] })),
        "MountRefused"
      )
      assert.strictEqual(yield* outcome(configure({ env: { "BAD-KEY": "x" } })), "EnvRefused")
      assert.strictEqual(yield* outcome(configure({ env: { A: "x\0y" } })), "EnvRefused")
      assert.strictEqual(yield* outcome(configure({ unsetEnv: ["NOT_SET"] })), "EnvRefused")
      assert.strictEqual(yield* outcome(configure({ unmounts: ["/srv/none"] })), "MountRefused")
      // A file in the container would be replaced by the mount.
      yield* runtime.writeFile(isurus, "/etc/hostname", "isurus\n")
      const onFile = yield* Effect.flip(
        configure({ mounts: [{ source: "~/data/cache", path: "/etc/hostname", readOnly: true }] })
      )
      assert.include(onFile.message, "not a directory")
      assert.deepStrictEqual(yield* snapshot, before)
      // Named by the user, it passes.
      yield* configure({
        mounts: [{ source: "~/.ssh", path: "/srv/ssh", readOnly: true }],
        allowSensitive: [`${home}/.ssh`]
      })
      assert.isTrue((yield* runtime.get(isurus)).mounts.some((m) => m.path === "/srv/ssh"))
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("a container that is another user's is refused, nothing changed", () =>
    Effect.gen(function*() {
      const { home, runtime, registry } = yield* world()
      const other = ProjectName.make("other")
      yield* runtime.createForeign(
        new InstanceSpec({
          name: other,
          image: ImageRef.make("repoman-busybox"),
          profiles: [ProfileName.make("default")]
        }),
        { managed: true, owner: Option.some(uid + 4242) }
      )
      yield* registry.addProject({
        name: other,
        repo: RepoDir.make("other"),
        image: ImageRef.make("repoman-busybox"),
        profiles: [ProfileName.make("default")],
        created: timestampFromDate(new Date()),
        backup: true
      })
      const error = yield* Effect.flip(
        configureProject({ name: other, env: { A: "1" } }).pipe(
          Effect.provide(layerOver(registry, runtime, home))
        )
      )
      assert.strictEqual(tagOf(error), "NotYours")
      assert.deepStrictEqual((yield* runtime.get(other)).env, {})
    }).pipe(Effect.provide(NodeServices.layer)))
})
