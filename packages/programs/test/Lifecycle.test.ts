/**
 * The lifecycle programs (setup, new, list, status, remove, shell) against
 * the memory runtime and registry, with real directories for the repos.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { BackupTarget } from "@repoman/core/BackupTarget"
import * as BackupTargetMemory from "@repoman/core/BackupTargetMemory"
import * as CheckpointsMemory from "@repoman/core/CheckpointsMemory"
import { ConfigPaths } from "@repoman/core/ConfigPaths"
import {
  ContainerRuntime,
  ContainerRuntimeError,
  EngineAccess,
  ExecResult,
  HostPath,
  InstanceSpec,
  ProfileSpec,
  StoragePool,
  Unavailable
} from "@repoman/core/ContainerRuntime"
import * as RuntimeMemory from "@repoman/core/ContainerRuntimeMemory"
import * as HostInfo from "@repoman/core/HostInfo"
import { ImageRef, ProfileName, ProjectName, RepoDir } from "@repoman/core/Ids"
import * as ProfileStoreMemory from "@repoman/core/ProfileStoreMemory"
import { Registry } from "@repoman/core/Registry"
import { emptyDocument, type RegistryDocument } from "@repoman/core/RegistryDocument"
import * as RegistryMemory from "@repoman/core/RegistryMemory"
import * as NodeHostFiles from "@repoman/node/NodeHostFiles"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { listProjects } from "../src/ListProjects.ts"
import { newProject } from "../src/NewProject.ts"
import { openShell } from "../src/OpenShell.ts"
import { projectStatus } from "../src/ProjectStatus.ts"
import { planRemoval, removeProject } from "../src/RemoveProject.ts"
import { setup } from "../src/Setup.ts"

const uid = process.getuid?.() ?? 1000
const gid = process.getgid?.() ?? 1000

/** The services over a registry and a runtime, for the user `ada` with home `home` (this process's ids). */
const layerOver = (
  registry: Registry["Service"],
  runtime: ContainerRuntime["Service"],
  home: string
) =>
  Layer.mergeAll(
    Layer.succeed(Registry, registry),
    Layer.succeed(ContainerRuntime, runtime),
    HostInfo.layerTest({ home, uid, gid, user: "ada" }),
    ConfigPaths.layerFrom({ home, configDir: `${home}/.config/repoman` }),
    ProfileStoreMemory.layer(),
    BackupTargetMemory.layer(),
    CheckpointsMemory.layer(),
    NodeHostFiles.layer
  )

/** A home dir with ~/repos and fake /etc/subuid files, plus the layers over it. */
const world = (
  options: { readonly document?: RegistryDocument; readonly runtime?: RuntimeMemory.MemoryOptions } = {}
) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const home = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-life-" })
    yield* fs.makeDirectory(`${home}/repos/isurus/src`, { recursive: true })
    yield* fs.writeFileString(`${home}/repos/isurus/README`, "hello\n")
    // The namespace as setup leaves it: made by repoman for this user (ids mapped, the repos root allowed).
    const runtime = yield* RuntimeMemory.make({
      namespace: "repoman",
      owner: uid,
      restrictions: { allowedPaths: [`${home}/repos`], idMapping: { _tag: "HostUser", uid, gid } },
      ...options.runtime
    })
    if (options.runtime?.namespaceExists !== false) {
      yield* runtime.putProfile(
        ProfileName.make("default"),
        new ProfileSpec({ description: "", config: {}, devices: {} })
      )
    }
    const document = options.document ??
      { ...emptyDocument, defaults: { ...emptyDocument.defaults, reposRoot: "~/repos" } }
    const registry = yield* RegistryMemory.make({ document })
    return { home, runtime, layer: layerOver(registry, runtime, home) }
  })

const isurus = ProjectName.make("isurus")

/**
 * An engine that runs `touch` on the host: uid 1000 as the host user, root
 * refused; any other command exits with `otherExit`.
 */
const touchOnHost = (fs: FileSystem.FileSystem, otherExit: number): RuntimeMemory.ExecHandler => (req) =>
  req.argv[0] === "touch" && req.options.user === 1000
    ? fs.writeFileString(req.argv[1] ?? "", "").pipe(
      Effect.orDie,
      Effect.as(new ExecResult({ exitCode: 0, stdout: "", stderr: "" }))
    )
    : Effect.succeed(new ExecResult({ exitCode: req.argv[0] === "touch" ? 1 : otherExit, stdout: "", stderr: "" }))

describe("new", () => {
  it.effect("creates and starts one container with the repo at the same path, mapped ids, and registers it", () =>
    Effect.gen(function*() {
      const { home, runtime, layer } = yield* world()
      const { project } = yield* newProject({ name: isurus }).pipe(Effect.provide(layer))
      const instance = yield* runtime.get(isurus)
      assert.strictEqual(instance.status, "Running")
      assert.deepStrictEqual(
        instance.repo,
        Option.some(
          new HostPath({
            source: yield* (yield* FileSystem.FileSystem).realPath(`${home}/repos/isurus`),
            path: `${home}/repos/isurus`,
            readOnly: false
          })
        )
      )
      assert.deepStrictEqual(instance.idMapping, Option.some({ _tag: "HostUser", uid, gid } as const))
      assert.isTrue(instance.managed)
      // What sessions need is recorded once, as labels: the login shell (from /etc/passwd).
      assert.deepStrictEqual(instance.labels, {
        project: "isurus",
        repo: `${home}/repos/isurus`,
        "login-shell": "/bin/sh"
      })
      assert.strictEqual(project.repo, "isurus")
      const stored = yield* Registry.use((r) => r.getProject(isurus)).pipe(Effect.provide(layer))
      assert.deepStrictEqual(stored, project)
      // The container user's home is the host home path, owned by uid/gid 1000.
      const homeInfo = Option.getOrThrow(yield* runtime.fileInfo(isurus, home))
      assert.deepStrictEqual([homeInfo.type, homeInfo.uid, homeInfo.gid], ["directory", 1000, 1000])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("all or nothing: when the home cannot be made, the new container is deleted again", () =>
    Effect.gen(function*() {
      const { runtime, layer } = yield* world()
      const failing = Layer.succeed(
        ContainerRuntime,
        ContainerRuntime.of({
          ...runtime,
          makeDirectory: (name) => runtime.makeDirectory(name, "/etc/passwd", { uid: 0, gid: 0 })
        })
      )
      const error = yield* Effect.flip(newProject({ name: isurus }).pipe(Effect.provide(Layer.merge(layer, failing))))
      assert.strictEqual(error._tag, "LifecycleError")
      assert.include(error.message, "cannot prepare the home directory")
      assert.deepStrictEqual(yield* runtime.list(), [])
      assert.deepStrictEqual(yield* Registry.use((r) => r.projects).pipe(Effect.provide(layer)), [])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("when the container cannot be deleted again either, the error says it may be left and how to remove it", () =>
    Effect.gen(function*() {
      const { runtime, layer } = yield* world()
      const gone = new ContainerRuntimeError({
        reason: new Unavailable({ kind: "instance", name: "isurus", detail: "ECONNRESET", hint: "start incusd" })
      })
      const failing = Layer.succeed(
        ContainerRuntime,
        ContainerRuntime.of({ ...runtime, makeDirectory: () => Effect.fail(gone), remove: () => Effect.fail(gone) })
      )
      const error = yield* Effect.flip(newProject({ name: isurus }).pipe(Effect.provide(Layer.merge(layer, failing))))
      assert.strictEqual(error._tag === "LifecycleError" ? error.reason._tag : error._tag, "LeftBehind")
      assert.include(error.message, "not reachable")
      assert.include(error.message, "'repoman remove isurus' deletes it")
      assert.deepStrictEqual(yield* Registry.use((r) => r.projects).pipe(Effect.provide(layer)), [])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("a missing repo dir is refused naming the path; nothing is created", () =>
    Effect.gen(function*() {
      const { home, runtime, layer } = yield* world()
      const error = yield* Effect.flip(newProject({ name: ProjectName.make("ghost") }).pipe(Effect.provide(layer)))
      assert.strictEqual(error._tag, "LifecycleError")
      assert.include(error.message, `${home}/repos/ghost`)
      assert.deepStrictEqual(yield* runtime.list(), [])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("a repo symlinked out of the repos root is refused", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { home, runtime, layer } = yield* world()
      yield* fs.makeDirectory(`${home}/outside`)
      yield* fs.symlink(`${home}/outside`, `${home}/repos/sneaky`)
      const error = yield* Effect.flip(newProject({ name: ProjectName.make("sneaky") }).pipe(Effect.provide(layer)))
      assert.include(error.message, "outside the repos root")
      assert.deepStrictEqual(yield* runtime.list(), [])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("all or nothing: when the registry write fails, the new container is deleted again", () =>
    Effect.gen(function*() {
      const { runtime, layer } = yield* world()
      const registry = yield* Registry.useSync((r) => r).pipe(Effect.provide(layer))
      const failing = Layer.succeed(
        Registry,
        Registry.of({ ...registry, addProject: () => Effect.asVoid(registry.getProject(ProjectName.make("nobody"))) })
      )
      const error = yield* Effect.flip(newProject({ name: isurus }).pipe(Effect.provide(Layer.merge(layer, failing))))
      assert.strictEqual(error._tag, "RegistryError")
      assert.deepStrictEqual(yield* runtime.list(), [])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("an unknown profile fails and leaves neither container nor registry entry", () =>
    Effect.gen(function*() {
      const { runtime, layer } = yield* world()
      const error = yield* Effect.flip(
        newProject({ name: isurus, profiles: [ProfileName.make("nope")] }).pipe(Effect.provide(layer))
      )
      // Checked before anything is made: the profile is neither installed nor in the library.
      assert.deepInclude(error._tag === "ProfileInstallError" ? error.reason : {}, {
        _tag: "UnknownProfile",
        profile: "nope"
      })
      assert.deepStrictEqual(yield* runtime.list(), [])
      const projects = yield* Registry.use((r) => r.projects).pipe(Effect.provide(layer))
      assert.deepStrictEqual(projects, [])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("--repo, --profile and the project's override file add up", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { home, runtime, layer } = yield* world()
      yield* runtime.putProfile(
        ProfileName.make("extra"),
        new ProfileSpec({ description: "", config: {}, devices: {} })
      )
      yield* runtime.putProfile(ProfileName.make("cli"), new ProfileSpec({ description: "", config: {}, devices: {} }))
      yield* fs.makeDirectory(`${home}/repos/data`)
      const registry = yield* RegistryMemory.make({
        document: { ...emptyDocument, defaults: { ...emptyDocument.defaults, reposRoot: "~/repos" } },
        overrides: new Map([[ProjectName.make("shark"), {
          container: { profiles: [ProfileName.make("extra")], image: ImageRef.make("local:custom") },
          mounts: [{ source: "~/repos/data", path: "/data" }],
          env: { FOO: "bar" }
        }]])
      })
      const withOverride = Layer.merge(layer, Layer.succeed(Registry, registry))
      const { project } = yield* newProject({
        name: ProjectName.make("shark"),
        repo: RepoDir.make("isurus"),
        profiles: [ProfileName.make("cli")]
      }).pipe(Effect.provide(withOverride))
      assert.deepStrictEqual<unknown>(project.profiles, ["default", "extra", "cli"])
      assert.strictEqual(project.image, "local:custom")
      const instance = yield* runtime.get(ProjectName.make("shark"))
      assert.strictEqual(Option.getOrUndefined(instance.repo)?.path, `${home}/repos/isurus`)
      assert.deepStrictEqual(instance.mounts.map((m) => [m.name, m.source, m.path, m.readOnly]), [
        ["mount0", yield* (yield* FileSystem.FileSystem).realPath(`${home}/repos/data`), "/data", false]
      ])
      assert.deepStrictEqual(instance.env, { FOO: "bar" })
    }).pipe(Effect.provide(NodeServices.layer)))
})

describe("setup", () => {
  it.effect("refuses when the ids are not delegated, changing nothing", () =>
    Effect.gen(function*() {
      const { runtime, layer } = yield* world({ runtime: { namespaceExists: false } })
      const error = yield* Effect.flip(
        setup({}).pipe(
          Effect.provide(Layer.merge(layer, HostInfo.layerTest({ uid: 4_000_123_456, gid: 4_000_123_456 })))
        )
      )
      assert.strictEqual(error._tag, "LifecycleError")
      assert.include(error.message, "root:4000123456:1")
      assert.isTrue(Option.isNone(yield* runtime.getNamespace("repoman").pipe(Effect.option)))
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("shift mode: creates the restricted project on the pool, warns on dir, and is idempotent", () =>
    Effect.gen(function*() {
      const { runtime, layer } = yield* world({
        runtime: { namespaceExists: false, storagePools: [new StoragePool({ name: "default", driver: "dir" })] }
      })
      const uninitialized = Layer.merge(layer, Layer.succeed(Registry, yield* RegistryMemory.make()))
      const first = yield* setup({ uidMode: "shift", incusProject: "repoman" }).pipe(Effect.provide(uninitialized))
      assert.strictEqual(first.registry, "created")
      assert.strictEqual(Option.getOrThrow(first.pool).driver, "dir")
      assert.isTrue(first.warnings.some((w) => w.includes("copy-on-write")))
      assert.isTrue(first.warnings.some((w) => w.includes("host root")))
      const ns = yield* runtime.getNamespace("repoman")
      assert.isTrue(ns.managed)
      assert.deepStrictEqual(ns.idMapping, Option.some({ _tag: "Shift" } as const))
      assert.deepStrictEqual(ns.allowedPaths, [])
      // Again, with the same answers: nothing changes.
      const second = yield* setup({ uidMode: "shift", incusProject: "repoman" }).pipe(Effect.provide(uninitialized))
      assert.strictEqual(second.registry, "unchanged")
      assert.deepStrictEqual(yield* runtime.getNamespace("repoman"), ns)
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("setup with a remote records it as [incus] remote; \"local\" takes it out; none keeps it", () =>
    Effect.gen(function*() {
      const { layer } = yield* world({
        runtime: { namespaceExists: false, storagePools: [new StoragePool({ name: "default", driver: "btrfs" })] }
      })
      const registry = yield* RegistryMemory.make()
      const provided = Layer.merge(layer, Layer.succeed(Registry, registry))
      const options = { uidMode: "shift", incusProject: "repoman" } as const
      assert.strictEqual(
        (yield* setup({ ...options, remote: "lab" }).pipe(Effect.provide(provided))).registry,
        "created"
      )
      assert.deepStrictEqual((yield* registry.load).incus, { remote: "lab" })
      assert.strictEqual((yield* setup(options).pipe(Effect.provide(provided))).registry, "unchanged")
      assert.deepStrictEqual((yield* registry.load).incus, { remote: "lab" })
      assert.strictEqual(
        (yield* setup({ ...options, remote: "local" }).pipe(Effect.provide(provided))).registry,
        "updated"
      )
      assert.deepStrictEqual((yield* registry.load).incus, {})
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("idmap mode: disk paths limited to the repos root, idmap to the host ids; paths others added are kept", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { runtime, layer, home } = yield* world({ runtime: { namespaceExists: false } })
      const subuid = `${home}/subuid`
      yield* fs.writeFileString(subuid, `root:1000000:1000000000\nroot:${uid}:1\n`)
      yield* fs.writeFileString(`${home}/subgid`, `root:1000000:1000000000\nroot:${gid}:1\n`)
      const registry = Layer.succeed(Registry, yield* RegistryMemory.make())
      const run = setup({ incusProject: "repoman" }, { subuid, subgid: `${home}/subgid` }).pipe(
        Effect.provide(Layer.merge(layer, registry))
      )
      const report = yield* run
      assert.strictEqual(report.uidMode, "idmap")
      const real = yield* fs.realPath(`${home}/repos`)
      let ns = yield* runtime.getNamespace("repoman")
      assert.deepStrictEqual(ns.allowedPaths, [real])
      assert.deepStrictEqual(ns.idMapping, Option.some({ _tag: "HostUser", uid, gid } as const))
      // A profile install allowed one more path; setup again keeps it.
      yield* runtime.allowPaths(["/home/ada/.claude"])
      yield* run
      ns = yield* runtime.getNamespace("repoman")
      assert.deepStrictEqual(ns.allowedPaths, [real, "/home/ada/.claude"])
    }).pipe(Effect.provide(NodeServices.layer)))
})

describe("setup against a remote engine (no host paths)", () => {
  it.effect("does not ask this host's /etc/subuid, and its project allows no host path", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { home, layer, runtime } = yield* world({ runtime: { namespaceExists: false, hostPaths: false } })
      // No delegation at all on this host: a local engine would refuse (IdmapNotDelegated).
      yield* fs.writeFileString(`${home}/subuid`, "")
      yield* fs.writeFileString(`${home}/subgid`, "")
      const registry = Layer.succeed(Registry, yield* RegistryMemory.make())
      const report = yield* setup({ incusProject: "repoman" }, { subuid: `${home}/subuid`, subgid: `${home}/subgid` })
        .pipe(Effect.provide(Layer.merge(layer, registry)))
      assert.strictEqual(report.namespace, "repoman")
      assert.deepStrictEqual((yield* runtime.getNamespace("repoman")).allowedPaths, [])
    }).pipe(Effect.provide(NodeServices.layer)))
})

describe("setup with restricted access (incus-user)", () => {
  it.effect("works in the project an admin granted, or lists the admin's steps and changes nothing", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const home = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-rs-" })
      yield* fs.makeDirectory(`${home}/repos`)
      const subuid = `${home}/subuid`
      yield* fs.writeFileString(subuid, `root:1000000:1000000000\nroot:${uid}:1\n`)
      yield* fs.writeFileString(`${home}/subgid`, `root:1000000:1000000000\nroot:${gid}:1\n`)
      const access = new EngineAccess({
        identity: "incus-user-1500",
        via: "incus-user at /var/lib/incus/unix.socket.user",
        restricted: true,
        namespaces: [`user-${uid}`],
        defaultNamespace: Option.some(`user-${uid}`)
      })
      const run = (allowed: ReadonlyArray<string>) =>
        Effect.gen(function*() {
          const runtime = yield* RuntimeMemory.make({
            namespace: `user-${uid}`,
            owner: uid,
            access,
            namespaceOrigin: { managed: false, owner: Option.some(uid) },
            restrictions: { allowedPaths: allowed, idMapping: { _tag: "HostUser", uid, gid } }
          })
          const registry = yield* RegistryMemory.make()
          const layer = layerOver(registry, runtime, home)
          const report = yield* setup({ reposRoot: `${home}/repos` }, { subuid, subgid: `${home}/subgid` }).pipe(
            Effect.provide(layer),
            Effect.result
          )
          return { report, registry, runtime }
        })
      // The admin allowed the user's home: setup records the granted project, pool left to the project.
      const ok = yield* run([home])
      assert.strictEqual(ok.report._tag, "Success")
      if (ok.report._tag === "Success") {
        assert.strictEqual(ok.report.success.namespace, `user-${uid}`)
        assert.isTrue(ok.report.success.access.restricted)
        assert.isTrue(Option.isNone(ok.report.success.pool))
        assert.isTrue(ok.report.success.warnings.some((w) => w.startsWith("not checked: storage pools")))
      }
      assert.strictEqual((yield* ok.registry.load).defaults.incusProject, `user-${uid}`)
      // Not allowed: the admin's steps, one per problem with its command; no registry written.
      const missing = yield* run(["/elsewhere"])
      assert.strictEqual(missing.report._tag, "Failure")
      if (missing.report._tag === "Failure") {
        const error = missing.report.failure
        assert.strictEqual(error._tag === "LifecycleError" ? error.reason._tag : error._tag, "AdminStepsNeeded")
        assert.include(error.message, "an admin must do this once")
        assert.include(error.message, "memory: allow")
      }
      const unwritten = yield* Effect.flip(missing.registry.load)
      assert.strictEqual(unwritten.reason._tag, "NotInitialized")
      assert.deepStrictEqual((yield* missing.runtime.getNamespace(`user-${uid}`)).allowedPaths, ["/elsewhere"])
    }).pipe(Effect.provide(NodeServices.layer)))
})

describe("list, status, remove, shell", () => {
  it.effect("list merges live state: managed, missing, unregistered and unmanaged", () =>
    Effect.gen(function*() {
      const { runtime, layer } = yield* world()
      yield* newProject({ name: isurus }).pipe(Effect.provide(layer))
      yield* runtime.remove(isurus)
      yield* runtime.createForeign(
        new InstanceSpec({
          name: ProjectName.make("stray"),
          image: ImageRef.make("debian"),
          profiles: [ProfileName.make("default")]
        })
      )
      // Made by repoman (managed), never registered: a `new` cut short.
      const halfMade = ProjectName.make("halfmade")
      yield* runtime.create(
        new InstanceSpec({
          name: halfMade,
          image: ImageRef.make("debian"),
          profiles: [ProfileName.make("default")],
          labels: { repo: "/home/ada/repos/halfmade" }
        })
      )
      const { rows } = yield* listProjects.pipe(Effect.provide(layer))
      assert.deepStrictEqual(rows.map((r) => [r.name, r.kind, r.state]), [
        ["isurus", "missing", "Missing"],
        ["stray", "unmanaged", "Running"],
        ["halfmade", "unregistered", "Running"]
      ])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("remove deletes a container repoman made but never registered; never one it did not make", () =>
    Effect.gen(function*() {
      const { runtime, layer } = yield* world()
      const spec = (name: string, labels: Record<string, string>) =>
        new InstanceSpec({
          name: ProjectName.make(name),
          image: ImageRef.make("debian"),
          profiles: [ProfileName.make("default")],
          labels
        })
      yield* runtime.create(spec("halfmade", { repo: "/r/halfmade" }))
      yield* runtime.createForeign(spec("stray", {}))
      const plan = yield* planRemoval(ProjectName.make("halfmade"), { keepIncus: false }).pipe(Effect.provide(layer))
      assert.isTrue(Option.isNone(plan.project))
      assert.strictEqual(plan.repoPath, "/r/halfmade")
      yield* removeProject(plan).pipe(Effect.provide(layer))
      assert.deepStrictEqual((yield* runtime.list()).map((i) => i.name), ["stray"])

      for (const [name, keepIncus] of [["stray", false], ["halfmade", false], ["stray", true]] as const) {
        const refused = yield* Effect.flip(
          planRemoval(ProjectName.make(name), { keepIncus }).pipe(Effect.provide(layer))
        )
        assert.strictEqual(refused._tag, "RegistryError", name)
      }
      assert.deepStrictEqual((yield* runtime.list()).map((i) => i.name), ["stray"])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("status probes: uid 1000 lands as the host user; root is refused", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { layer, home } = yield* world({ runtime: { exec: touchOnHost(fs, 0) } })
      yield* newProject({ name: isurus }).pipe(Effect.provide(layer))
      const [s] = yield* projectStatus(isurus).pipe(Effect.provide(layer))
      assert.strictEqual(s?.state, "Running")
      assert.isTrue(s?.mountPresent)
      assert.strictEqual(s?.userProbe?.ok, true)
      assert.strictEqual(s?.userProbe?.hostUid, uid)
      assert.deepStrictEqual([s?.rootProbe?.ok, s?.rootProbe?.wrote], [true, false])
      assert.isTrue(s?.healthy)
      // The probes leave nothing behind (the .git is new's: a sealed project needs one).
      assert.deepStrictEqual((yield* fs.readDirectory(`${home}/repos/isurus`)).sort(), [".git", "README", "src"])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("status: one truth: a backup FAIL is unhealthy; the mount check runs nothing in the container", () =>
    Effect.gen(function*() {
      // The image has `touch` (the probes) and nothing else: `test` would be exit 127.
      const { layer, runtime } = yield* world({ runtime: { exec: touchOnHost(yield* FileSystem.FileSystem, 127) } })
      yield* newProject({ name: isurus }).pipe(Effect.provide(layer))
      const [ok] = yield* projectStatus(isurus).pipe(Effect.provide(layer))
      assert.isTrue(ok?.mountPresent)
      assert.isTrue(ok?.backup?.ok)
      assert.isTrue(ok?.healthy)
      assert.notInclude((yield* runtime.calls).map((c) => c.argv[0]), "test")
      // The backup target is not reachable: the report says FAIL, so the project is not healthy.
      const unreachable = Layer.succeed(BackupTarget, yield* BackupTargetMemory.make({ reachable: false }))
      const [failing] = yield* projectStatus(isurus).pipe(Effect.provide(Layer.merge(layer, unreachable)))
      assert.isFalse(failing?.backup?.ok)
      assert.isFalse(failing?.healthy)
      // Stopped, the same truth.
      yield* runtime.stop(isurus)
      const [stopped] = yield* projectStatus(isurus).pipe(Effect.provide(Layer.merge(layer, unreachable)))
      assert.strictEqual(stopped?.state, "Stopped")
      assert.isFalse(stopped?.healthy)
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("remove deletes the container and the entry, and leaves the repo alone", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { runtime, layer, home } = yield* world()
      yield* newProject({ name: isurus }).pipe(Effect.provide(layer))
      const plan = yield* planRemoval(isurus, { keepIncus: false }).pipe(Effect.provide(layer))
      assert.strictEqual(plan.repoPath, `${home}/repos/isurus`)
      assert.isTrue(Option.isSome(plan.container))
      yield* removeProject(plan).pipe(Effect.provide(layer))
      assert.deepStrictEqual(yield* runtime.list(), [])
      assert.strictEqual(yield* fs.readFileString(`${home}/repos/isurus/README`), "hello\n")
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("remove --keep-incus only forgets the project", () =>
    Effect.gen(function*() {
      const { runtime, layer } = yield* world()
      yield* newProject({ name: isurus }).pipe(Effect.provide(layer))
      const plan = yield* planRemoval(isurus, { keepIncus: true }).pipe(Effect.provide(layer))
      yield* removeProject(plan).pipe(Effect.provide(layer))
      assert.strictEqual((yield* runtime.list()).length, 1)
      assert.deepStrictEqual(yield* Registry.use((r) => r.projects).pipe(Effect.provide(layer)), [])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("shell runs as the container's uid-1000 user with HOME, in the repo dir, after a checkpoint", () =>
    Effect.gen(function*() {
      const exec: RuntimeMemory.ExecHandler = (req) =>
        Effect.succeed(
          new ExecResult({
            exitCode: req.interactive ? 7 : 0,
            stdout: req.argv.join(" ") === "cat /etc/passwd"
              ? "root:x:0:0::/root:/bin/sh\nubuntu:x:1000:1000::/home/ubuntu:/bin/sh\n"
              : "",
            stderr: ""
          })
        )
      const { layer, home } = yield* world()
      const mem = yield* RuntimeMemory.make({
        namespace: "repoman",
        exec,
        owner: uid,
        restrictions: { allowedPaths: [`${home}/repos`], idMapping: { _tag: "HostUser", uid, gid } }
      })
      yield* mem.putProfile(ProfileName.make("default"), new ProfileSpec({ description: "", config: {}, devices: {} }))
      const checkpoints = CheckpointsMemory.makeState()
      checkpoints.trees.set(`${home}/repos/isurus`, new Map([["README", { type: "file", content: "x", mode: 0o644 }]]))
      const withMem = Layer.mergeAll(layer, Layer.succeed(ContainerRuntime, mem), CheckpointsMemory.layer(checkpoints))
      yield* newProject({ name: isurus }).pipe(Effect.provide(withMem))
      const code = yield* openShell(isurus, { argv: ["id"] }).pipe(Effect.provide(withMem))
      assert.strictEqual(code, 7)
      assert.deepStrictEqual(checkpoints.taken.get(isurus)?.map((c) => [c.info.kind, c.info.label, c.info.entries]), [
        ["session", "id", 1]
      ])
      // Without a repo to checkpoint, the session does not start.
      checkpoints.trees.clear()
      const refused = yield* Effect.flip(openShell(isurus, { argv: ["id"] }).pipe(Effect.provide(withMem)))
      assert.strictEqual(refused._tag, "NoCheckpoint")
      assert.match(refused.message, /--no-checkpoint/)
      assert.strictEqual((yield* mem.calls).filter((c) => c.interactive).length, 1)
      assert.strictEqual(yield* openShell(isurus, { argv: ["id"], checkpoint: false }).pipe(Effect.provide(withMem)), 7)
      const calls = yield* mem.calls
      const shell = calls.find((c) => c.interactive)
      assert.deepStrictEqual(shell?.argv, ["id"])
      assert.deepStrictEqual(shell?.options, {
        user: 1000,
        group: 1000,
        cwd: `${home}/repos/isurus`,
        env: { HOME: home, USER: "ada", LOGNAME: "ada" }
      })
    }).pipe(Effect.provide(NodeServices.layer)))
})
