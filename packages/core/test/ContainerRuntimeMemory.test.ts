import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as TestClock from "effect/testing/TestClock"
import {
  ClusterMember,
  ExecResult,
  HostPath,
  InstanceSpec,
  Mount,
  NamespaceSpec,
  Volume
} from "../src/ContainerRuntime.ts"
import * as ContainerRuntimeMemory from "../src/ContainerRuntimeMemory.ts"
import { ImageRef, MemberName, ProfileName, ProjectName } from "../src/Ids.ts"
import { ContainerRuntimeSuite, emulateSuiteCommands, RepoVolumeSuite } from "../src/testing/ContainerRuntimeSuite.ts"

ContainerRuntimeSuite(
  "memory",
  ContainerRuntimeMemory.layer({
    exec: emulateSuiteCommands,
    restrictions: { allowedPaths: ["/srv/suite-allowed"], idMapping: { _tag: "HostUser", uid: 1000, gid: 1000 } }
  }),
  {
    image: "images:debian/12",
    allowedPath: "/srv/suite-allowed",
    extraPath: "/srv/suite-extra",
    sealPaths: { repo: "/srv/suite-allowed/repo", gitDir: "/srv/suite-allowed/gitdir" }
  }
)

RepoVolumeSuite("memory without host paths", ContainerRuntimeMemory.layer({ hostPaths: false }), {
  image: "images:debian/12"
})

// The same, on a clustered engine (two members, one of them down).
ContainerRuntimeSuite(
  "memory, clustered",
  ContainerRuntimeMemory.layer({
    exec: emulateSuiteCommands,
    restrictions: { allowedPaths: ["/srv/suite-allowed"], idMapping: { _tag: "HostUser", uid: 1000, gid: 1000 } },
    cluster: [
      new ClusterMember({
        name: MemberName.make("member1"),
        status: "Online",
        message: "Fully operational",
        thisHost: true
      }),
      new ClusterMember({
        name: MemberName.make("member2"),
        status: "Online",
        message: "Fully operational",
        thisHost: false
      }),
      new ClusterMember({
        name: MemberName.make("member3"),
        status: "Offline",
        message: "No heartbeat",
        thisHost: false
      })
    ]
  }),
  {
    image: "images:debian/12",
    allowedPath: "/srv/suite-allowed",
    extraPath: "/srv/suite-extra",
    sealPaths: { repo: "/srv/suite-allowed/repo", gitDir: "/srv/suite-allowed/gitdir" }
  }
)

const spec = (name: string, profiles: ReadonlyArray<string> = ["default"]) =>
  new InstanceSpec({
    name: ProjectName.make(name),
    image: ImageRef.make("images:debian/12"),
    profiles: profiles.map((p) => ProfileName.make(p))
  })

const reasonOf = <A, E extends { readonly reason: { readonly _tag: string } }>(effect: Effect.Effect<A, E>) =>
  Effect.match(effect, { onFailure: (e) => e.reason._tag, onSuccess: () => "Success" })

describe("ContainerRuntimeMemory", () => {
  it.effect("without host paths, create refuses a host repo, host mounts, a git cover and a host id mapping", () =>
    Effect.gen(function*() {
      const runtime = yield* ContainerRuntimeMemory.make({ hostPaths: false })
      assert.isFalse(runtime.hostPaths)
      const base = spec("remote")
      const refused = [
        new InstanceSpec({ ...base, repo: new HostPath({ source: "/srv/r", path: "/srv/r", readOnly: false }) }),
        new InstanceSpec({
          ...base,
          mounts: [new Mount({ name: "m", source: "/srv/m", path: "/srv/m", readOnly: true })]
        }),
        new InstanceSpec({ ...base, repo: new Volume({ path: "/srv/r" }), gitCover: { gitDir: "/srv/g" } }),
        new InstanceSpec({ ...base, idMapping: { _tag: "HostUser", uid: 1000, gid: 1000 } })
      ]
      for (const s of refused) assert.strictEqual(yield* reasonOf(runtime.create(s)), "OperationFailed")
      assert.deepStrictEqual(yield* runtime.list(), [])
      assert.deepStrictEqual(yield* runtime.listRepoVolumes(), [])
    }))

  it.effect("a volume another owner's repoman (or no repoman) made is not taken up, written or deleted", () =>
    Effect.gen(function*() {
      const runtime = yield* ContainerRuntimeMemory.make()
      const theirs = ProjectName.make("theirs")
      const foreign = ProjectName.make("foreign")
      yield* runtime.putForeignVolume(theirs, { managed: true, owner: Option.some(1001) })
      yield* runtime.putForeignVolume(foreign)
      for (const name of [theirs, foreign]) {
        const s = new InstanceSpec({ ...spec(name), repo: new Volume({ path: "/srv/r" }) })
        assert.strictEqual(yield* reasonOf(runtime.create(s)), "Conflict")
        assert.strictEqual(yield* reasonOf(runtime.deleteRepoVolume(name)), "Conflict")
        assert.strictEqual(yield* reasonOf(runtime.snapshotRepoVolume(name, "s")), "Conflict")
        assert.strictEqual(yield* reasonOf(runtime.restoreRepoVolume(name, "s")), "Conflict")
      }
      assert.strictEqual(yield* reasonOf(runtime.get(theirs)), "NotFound")
      assert.deepStrictEqual((yield* runtime.getRepoVolume(theirs)).owner, Option.some(1001))
    }))

  it.effect("records exec and shell calls and answers them with the handler", () =>
    Effect.gen(function*() {
      const runtime = yield* ContainerRuntimeMemory.make({
        exec: ({ argv, interactive }) =>
          Effect.succeed(new ExecResult({ exitCode: interactive ? 7 : 0, stdout: argv.join(" "), stderr: "" }))
      })
      const name = ProjectName.make("box")
      yield* runtime.create(spec("box"))
      const result = yield* runtime.exec(name, ["echo", "hi"], { user: 1000 })
      assert.strictEqual(result.stdout, "echo hi")
      assert.strictEqual(yield* runtime.shell(name, { cwd: "/tmp" }), 7)
      assert.deepStrictEqual(yield* runtime.calls, [
        { name, argv: ["echo", "hi"], options: { user: 1000 }, interactive: false },
        { name, argv: ContainerRuntimeMemory.defaultShell, options: { cwd: "/tmp" }, interactive: true }
      ])
    }))

  it.effect("shell refuses a cwd that is not a directory of the instance (NotFound), and runs nothing", () =>
    Effect.gen(function*() {
      const runtime = yield* ContainerRuntimeMemory.make()
      const name = ProjectName.make("box")
      yield* runtime.create(spec("box"))
      const error = yield* Effect.flip(runtime.shell(name, { cwd: "/srv/none", argv: ["pwd"] }))
      assert.deepInclude(error.reason, { _tag: "NotFound", kind: "directory", name: "/srv/none" })
      assert.deepStrictEqual(yield* runtime.calls, [])
    }))

  it.effect("readTextFile reads what an instance holds; setLabels adds, replaces and (with \"\") removes labels", () =>
    Effect.gen(function*() {
      const runtime = yield* ContainerRuntimeMemory.make()
      const name = ProjectName.make("box")
      yield* runtime.create(spec("box"))
      assert.deepStrictEqual(
        yield* runtime.readTextFile(name, "/etc/passwd"),
        Option.some(ContainerRuntimeMemory.initialPasswd)
      )
      assert.deepStrictEqual(yield* runtime.readTextFile(name, "/etc"), Option.none())
      assert.deepStrictEqual(yield* runtime.readTextFile(name, "/nope"), Option.none())
      yield* runtime.writeFile(name, "/etc/big", "x".repeat(100))
      assert.strictEqual(
        (yield* Effect.flip(runtime.readTextFile(name, "/etc/big", { maxBytes: 10 }))).reason._tag,
        "OperationFailed"
      )
      const before = (yield* runtime.get(name)).labels
      yield* runtime.setLabels(name, { "login-shell": "/bin/zsh", extra: "1" })
      yield* runtime.setLabels(name, { extra: "" })
      assert.deepStrictEqual((yield* runtime.get(name)).labels, { ...before, "login-shell": "/bin/zsh" })
      assert.strictEqual(
        (yield* Effect.flip(runtime.setLabels(name, { managed: "false" }))).reason._tag,
        "OperationFailed"
      )
    }))

  it.effect("defaults to exit code 0 with no output", () =>
    Effect.gen(function*() {
      const runtime = yield* ContainerRuntimeMemory.make()
      yield* runtime.create(spec("box"))
      const result = yield* runtime.exec(ProjectName.make("box"), ["anything"])
      assert.deepStrictEqual([result.exitCode, result.stdout, result.stderr], [0, "", ""])
    }))

  it.effect("a missing namespace fails every instance operation until ensureNamespace creates it", () =>
    Effect.gen(function*() {
      const runtime = yield* ContainerRuntimeMemory.make({ namespace: "repoman", namespaceExists: false })
      assert.strictEqual(yield* reasonOf(runtime.list()), "NotFound")
      assert.strictEqual(yield* reasonOf(runtime.create(spec("box"))), "NotFound")
      const nsSpec = new NamespaceSpec({
        name: "repoman",
        description: "repoman projects",
        allowedPaths: ["/home/dev/repos"],
        idMapping: { _tag: "HostUser", uid: 1500, gid: 1500 },
        rootDiskPool: "default"
      })
      const created = yield* runtime.ensureNamespace(nsSpec)
      assert.deepStrictEqual([created.name, created.description, created.allowedPaths, created.idMapping], [
        "repoman",
        "repoman projects",
        ["/home/dev/repos"],
        Option.some({ _tag: "HostUser", uid: 1500, gid: 1500 } as const)
      ])
      assert.isTrue(created.managed)
      const root = yield* runtime.getProfile(ProfileName.make("default"))
      assert.deepStrictEqual(root.devices, { root: { type: "disk", path: "/", pool: "default" } })
      const again = yield* runtime.ensureNamespace(new NamespaceSpec({ ...nsSpec, description: "changed" }))
      assert.strictEqual(again.description, "changed")
      assert.strictEqual((yield* runtime.create(spec("box"))).status, "Running")
    }))

  it.effect("errors carry a one-line message from their reason", () =>
    Effect.gen(function*() {
      const runtime = yield* ContainerRuntimeMemory.make()
      const error = yield* Effect.flip(runtime.get(ProjectName.make("nope")))
      assert.strictEqual(error.message, "instance \"nope\" does not exist")
      yield* runtime.create(spec("box"))
      const conflict = yield* Effect.flip(runtime.start(ProjectName.make("box")))
      assert.strictEqual(conflict.message, "instance \"box\": is already running")
    }))

  it.effect("the default profile cannot be deleted", () =>
    Effect.gen(function*() {
      const runtime = yield* ContainerRuntimeMemory.make()
      assert.strictEqual(yield* reasonOf(runtime.deleteProfile(ProfileName.make("default"))), "Conflict")
    }))

  it.effect("instances are created at the current time", () =>
    Effect.gen(function*() {
      const runtime = yield* ContainerRuntimeMemory.make()
      yield* TestClock.adjust("1 hour")
      const created = yield* runtime.create(spec("box"))
      assert.strictEqual(created.createdAt.epochMilliseconds, 3_600_000)
    }))
})
