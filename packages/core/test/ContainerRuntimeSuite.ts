/**
 * The conformance suite every {@link ContainerRuntime} implementation must
 * pass: the memory one in the unit tests, the Incus one in the integration
 * tests. Each test makes its own instances and profiles under names with a
 * random suffix and removes them when it ends, so the suite can run against a
 * shared Incus.
 *
 * The suite runs with the live clock (implementations may poll), and runs the
 * commands in {@link SuiteCommands} inside instances. A runtime that does not
 * run processes (the memory one) answers them with {@link emulateSuiteCommands}.
 *
 * @since 0.1.0
 */
import { assert, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { randomBytes } from "node:crypto"
import {
  ContainerRuntime,
  type ContainerRuntimeError,
  ExecResult,
  InstanceSpec,
  ProfileSpec
} from "../src/ContainerRuntime.ts"
import type { ExecRequest } from "../src/ContainerRuntimeMemory.ts"
import { ImageRef, ProfileName, ProjectName } from "../src/Ids.ts"

/**
 * Options of {@link ContainerRuntimeSuite}.
 */
export interface SuiteOptions {
  /** The image instances are created from. */
  readonly image: string
  /** Profiles every instance gets (root disk, network). Default `["default"]`. */
  readonly baseProfiles?: ReadonlyArray<string>
  /** Timeout of each test and of building the layer, in ms. Default 120 s. */
  readonly timeout?: number
}

/**
 * The commands the suite runs, and what they must print.
 */
export const SuiteCommands = {
  /** Output on both streams and a non-zero exit code. */
  streams: ["sh", "-c", "echo out; echo err >&2; exit 3"],
  /** Prints uid, gid, working directory and `$REPOMAN_SUITE`, one per line. */
  identity: ["sh", "-c", "id -u; id -g; pwd; printf '%s\\n' \"$REPOMAN_SUITE\""]
} as const

const sameArgv = (a: ReadonlyArray<string>, b: ReadonlyArray<string>) =>
  a.length === b.length && a.every((s, i) => s === b[i])

/**
 * An exec handler for runtimes that run nothing: answers the
 * {@link SuiteCommands} the way a real `sh` would, and anything else with
 * exit code 127.
 */
export const emulateSuiteCommands = (request: ExecRequest): Effect.Effect<ExecResult, ContainerRuntimeError> => {
  if (sameArgv(request.argv, SuiteCommands.streams)) {
    return Effect.succeed(new ExecResult({ exitCode: 3, stdout: "out\n", stderr: "err\n" }))
  }
  if (sameArgv(request.argv, SuiteCommands.identity)) {
    const { cwd = "/root", env = {}, group = 0, user = 0 } = request.options
    const stdout = `${user}\n${group}\n${cwd}\n${env["REPOMAN_SUITE"] ?? ""}\n`
    return Effect.succeed(new ExecResult({ exitCode: 0, stdout, stderr: "" }))
  }
  return Effect.succeed(new ExecResult({ exitCode: 127, stdout: "", stderr: `${request.argv[0]}: not found\n` }))
}

const runId = randomBytes(3).toString("hex")

/** A fresh instance name: valid, unique per run and per call. */
const uniqueName = (() => {
  let n = 0
  return (label: string) => ProjectName.make(`rmsuite-${runId}-${label}-${n++}`)
})()

const uniqueProfile = (label: string) => ProfileName.make(uniqueName(label))

/** The reason tag of a failed runtime call, or `"Success"`. */
const outcome = <A>(effect: Effect.Effect<A, ContainerRuntimeError>): Effect.Effect<string> =>
  Effect.match(effect, { onFailure: (error) => error.reason._tag, onSuccess: () => "Success" })

/**
 * Registers the conformance tests for a runtime.
 *
 * @example
 * ```ts
 * ContainerRuntimeSuite("memory", ContainerRuntimeMemory.layerMemory({ exec: emulateSuiteCommands }), {
 *   image: "images:debian/12"
 * })
 * ```
 */
export const ContainerRuntimeSuite = <E>(
  name: string,
  runtimeLayer: Layer.Layer<ContainerRuntime, E>,
  options: SuiteOptions
): void => {
  const image = ImageRef.make(options.image)
  const baseProfiles = (options.baseProfiles ?? ["default"]).map((p) => ProfileName.make(p))
  const timeout = options.timeout ?? 120_000

  const specFor = (instance: ProjectName, extraProfiles: ReadonlyArray<ProfileName> = []) =>
    new InstanceSpec({
      name: instance,
      image,
      profiles: [...baseProfiles, ...extraProfiles],
      devices: {},
      config: { "user.repoman.suite": runId }
    })

  /** Creates an instance that is removed when the test's scope closes. */
  const scopedInstance = (label: string, extraProfiles: ReadonlyArray<ProfileName> = []) =>
    Effect.gen(function*() {
      const runtime = yield* ContainerRuntime
      const instance = uniqueName(label)
      return yield* Effect.acquireRelease(
        runtime.create(specFor(instance, extraProfiles)),
        () => Effect.ignore(runtime.remove(instance))
      )
    })

  /** Puts a profile that is deleted when the test's scope closes. */
  const scopedProfile = (label: string, spec: ProfileSpec) =>
    Effect.gen(function*() {
      const runtime = yield* ContainerRuntime
      const profile = uniqueProfile(label)
      return yield* Effect.acquireRelease(
        runtime.putProfile(profile, spec).pipe(Effect.as(profile)),
        () => Effect.ignore(runtime.deleteProfile(profile))
      )
    })

  const profileSpec = new ProfileSpec({
    description: "repoman conformance suite",
    config: { "user.repoman.suite": runId },
    devices: { masked: { type: "none" } }
  })

  layer(runtimeLayer, { excludeTestServices: true, timeout })(`ContainerRuntime conformance: ${name}`, (it) => {
    it.effect("the runtime's own namespace exists; an unknown one is NotFound", () =>
      Effect.gen(function*() {
        const runtime = yield* ContainerRuntime
        const namespace = yield* runtime.getNamespace(runtime.namespace)
        assert.strictEqual(namespace.name, runtime.namespace)
        assert.strictEqual(yield* outcome(runtime.getNamespace(`rmsuite-${runId}-none`)), "NotFound")
      }), timeout)

    it.effect("create starts the instance, and get and list report it Running", () =>
      Effect.gen(function*() {
        const runtime = yield* ContainerRuntime
        const created = yield* scopedInstance("create")
        assert.strictEqual(created.status, "Running")
        const got = yield* runtime.get(created.name)
        assert.strictEqual(got.name, created.name)
        assert.strictEqual(got.status, "Running")
        assert.deepStrictEqual(got.profiles, baseProfiles)
        assert.strictEqual(got.config["user.repoman.suite"], runId)
        const listed = (yield* runtime.list()).find((i) => i.name === created.name)
        assert.strictEqual(listed?.status, "Running")
      }), timeout)

    it.effect("create of an existing name fails with AlreadyExists", () =>
      Effect.gen(function*() {
        const runtime = yield* ContainerRuntime
        const created = yield* scopedInstance("dup")
        assert.strictEqual(yield* outcome(runtime.create(specFor(created.name))), "AlreadyExists")
      }), timeout)

    it.effect("a missing instance is NotFound for every operation", () =>
      Effect.gen(function*() {
        const runtime = yield* ContainerRuntime
        const missing = uniqueName("missing")
        assert.strictEqual(yield* outcome(runtime.get(missing)), "NotFound")
        assert.strictEqual(yield* outcome(runtime.start(missing)), "NotFound")
        assert.strictEqual(yield* outcome(runtime.stop(missing)), "NotFound")
        assert.strictEqual(yield* outcome(runtime.restart(missing)), "NotFound")
        assert.strictEqual(yield* outcome(runtime.remove(missing)), "NotFound")
        assert.strictEqual(yield* outcome(runtime.exec(missing, ["true"])), "NotFound")
        assert.strictEqual(yield* outcome(runtime.fileInfo(missing, "/")), "NotFound")
        assert.strictEqual(yield* outcome(runtime.makeDirectory(missing, "/srv/x", { uid: 0, gid: 0 })), "NotFound")
      }), timeout)

    it.effect(
      "stop, start and restart move the instance between states, and refuse the wrong state",
      () =>
        Effect.gen(function*() {
          const runtime = yield* ContainerRuntime
          const { name: instance } = yield* scopedInstance("states")
          assert.strictEqual(yield* outcome(runtime.start(instance)), "Conflict")
          yield* runtime.stop(instance, { force: true })
          assert.strictEqual((yield* runtime.get(instance)).status, "Stopped")
          assert.strictEqual(yield* outcome(runtime.stop(instance)), "Conflict")
          assert.strictEqual(yield* outcome(runtime.restart(instance)), "Conflict")
          assert.strictEqual(yield* outcome(runtime.exec(instance, SuiteCommands.streams)), "Conflict")
          assert.strictEqual(yield* outcome(runtime.makeDirectory(instance, "/srv/x", { uid: 0, gid: 0 })), "Conflict")
          yield* runtime.start(instance)
          assert.strictEqual((yield* runtime.get(instance)).status, "Running")
          yield* runtime.restart(instance)
          assert.strictEqual((yield* runtime.get(instance)).status, "Running")
        }),
      timeout
    )

    it.effect("exec captures stdout, stderr and the exit code", () =>
      Effect.gen(function*() {
        const runtime = yield* ContainerRuntime
        const { name: instance } = yield* scopedInstance("exec")
        const result = yield* runtime.exec(instance, SuiteCommands.streams)
        assert.deepStrictEqual(
          { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr },
          { exitCode: 3, stdout: "out\n", stderr: "err\n" }
        )
      }), timeout)

    it.effect(
      "exec runs as the given user and group, in the given directory, with the given environment",
      () =>
        Effect.gen(function*() {
          const runtime = yield* ContainerRuntime
          const { name: instance } = yield* scopedInstance("identity")
          const result = yield* runtime.exec(instance, SuiteCommands.identity, {
            user: 1000,
            group: 1000,
            cwd: "/tmp",
            env: { REPOMAN_SUITE: "hello suite" }
          })
          assert.strictEqual(result.exitCode, 0)
          assert.strictEqual(result.stdout, "1000\n1000\n/tmp\nhello suite\n")
        }),
      timeout
    )

    it.effect(
      "makeDirectory makes the missing parents (root, 0755) and the directory with its owner, as fileInfo shows",
      () =>
        Effect.gen(function*() {
          const runtime = yield* ContainerRuntime
          const { name: instance } = yield* scopedInstance("mkdir")
          const info = (path: string) =>
            runtime.fileInfo(instance, path).pipe(
              Effect.map(Option.map(({ gid, mode, type, uid }) => ({ type, uid, gid, mode })))
            )
          assert.isTrue(Option.isNone(yield* info("/srv/suite")))
          yield* runtime.makeDirectory(instance, "/srv/suite/a/b", { uid: 1000, gid: 1000, mode: 0o750 })
          const root = { type: "directory", uid: 0, gid: 0, mode: 0o755 } as const
          assert.deepStrictEqual(yield* info("/srv/suite"), Option.some(root))
          assert.deepStrictEqual(yield* info("/srv/suite/a"), Option.some(root))
          const made = Option.some({ type: "directory", uid: 1000, gid: 1000, mode: 0o750 } as const)
          assert.deepStrictEqual(yield* info("/srv/suite/a/b"), made)
          // Again: nothing changes.
          yield* runtime.makeDirectory(instance, "/srv/suite/a/b", { uid: 1000, gid: 1000, mode: 0o700 })
          assert.deepStrictEqual(yield* info("/srv/suite/a/b"), made)
          // An existing directory gets the owner and keeps its mode.
          yield* runtime.makeDirectory(instance, "/srv/suite/a", { uid: 1000, gid: 1000 })
          assert.deepStrictEqual(yield* info("/srv/suite/a"), Option.some({ ...root, uid: 1000, gid: 1000 }))
          // A file is in the way: Conflict, and nothing is made.
          assert.strictEqual(
            (yield* runtime.fileInfo(instance, "/etc/passwd")).pipe(Option.map((i) => i.type), Option.getOrNull),
            "file"
          )
          assert.strictEqual(
            yield* outcome(runtime.makeDirectory(instance, "/etc/passwd/x", { uid: 1000, gid: 1000 })),
            "Conflict"
          )
          assert.strictEqual(
            yield* outcome(runtime.makeDirectory(instance, "/etc/passwd", { uid: 0, gid: 0 })),
            "Conflict"
          )
          assert.strictEqual(
            yield* outcome(runtime.makeDirectory(instance, "srv/relative", { uid: 0, gid: 0 })),
            "OperationFailed"
          )
          assert.isTrue(Option.isNone(yield* info("/srv/relative")))
        }),
      timeout
    )

    it.effect(
      "makeSymlink makes a link that fileInfo reads back; an existing path is a Conflict",
      () =>
        Effect.gen(function*() {
          const runtime = yield* ContainerRuntime
          const { name: instance } = yield* scopedInstance("symlink")
          yield* runtime.makeDirectory(instance, "/srv/links", { uid: 1000, gid: 1000 })
          yield* runtime.makeSymlink(instance, "/srv/links/config.json", "/srv/shared/config.json")
          const info = Option.getOrThrow(yield* runtime.fileInfo(instance, "/srv/links/config.json"))
          assert.deepStrictEqual([info.type, info.target], ["symlink", "/srv/shared/config.json"])
          assert.strictEqual(
            yield* outcome(runtime.makeSymlink(instance, "/srv/links/config.json", "/elsewhere")),
            "Conflict"
          )
          assert.strictEqual(yield* outcome(runtime.makeSymlink(instance, "/etc/passwd", "/elsewhere")), "Conflict")
          assert.strictEqual(
            (yield* runtime.fileInfo(instance, "/etc/passwd")).pipe(Option.map((i) => i.type), Option.getOrNull),
            "file"
          )
        }),
      timeout
    )

    it.effect("remove deletes a running instance", () =>
      Effect.gen(function*() {
        const runtime = yield* ContainerRuntime
        const instance = uniqueName("remove")
        yield* runtime.create(specFor(instance))
        yield* runtime.remove(instance)
        assert.strictEqual(yield* outcome(runtime.get(instance)), "NotFound")
        assert.isFalse((yield* runtime.list()).some((i) => i.name === instance))
      }), timeout)

    it.effect(
      "create with an unknown profile fails with NotFound and leaves no instance",
      () =>
        Effect.gen(function*() {
          const runtime = yield* ContainerRuntime
          const instance = uniqueName("noprofile")
          const created = yield* outcome(runtime.create(specFor(instance, [uniqueProfile("absent")])))
          yield* Effect.ignore(runtime.remove(instance))
          assert.strictEqual(created, "NotFound")
          assert.strictEqual(yield* outcome(runtime.get(instance)), "NotFound")
        }),
      timeout
    )

    it.effect("profiles can be put, read, listed, replaced and deleted", () =>
      Effect.gen(function*() {
        const runtime = yield* ContainerRuntime
        const profile = yield* scopedProfile("profile", profileSpec)
        const got = yield* runtime.getProfile(profile)
        assert.strictEqual(got.name, profile)
        assert.strictEqual(got.description, profileSpec.description)
        assert.deepStrictEqual(got.config, profileSpec.config)
        assert.deepStrictEqual(got.devices, profileSpec.devices)
        assert.deepStrictEqual(got.usedBy, [])
        assert.isTrue((yield* runtime.listProfiles()).some((p) => p.name === profile))

        const replaced = new ProfileSpec({
          description: "replaced",
          config: { "environment.REPOMAN_SUITE": "yes" },
          devices: {}
        })
        yield* runtime.putProfile(profile, replaced)
        const after = yield* runtime.getProfile(profile)
        assert.strictEqual(after.description, "replaced")
        assert.deepStrictEqual(after.config, replaced.config)
        assert.deepStrictEqual(after.devices, {})

        yield* runtime.deleteProfile(profile)
        assert.strictEqual(yield* outcome(runtime.getProfile(profile)), "NotFound")
        assert.strictEqual(yield* outcome(runtime.deleteProfile(profile)), "NotFound")
        assert.isFalse((yield* runtime.listProfiles()).some((p) => p.name === profile))
      }), timeout)

    it.effect("a profile in use cannot be deleted until its instance is gone", () =>
      Effect.gen(function*() {
        const runtime = yield* ContainerRuntime
        const profile = yield* scopedProfile("inuse", profileSpec)
        const instance = uniqueName("inuse")
        yield* Effect.acquireRelease(
          runtime.create(specFor(instance, [profile])),
          () => Effect.ignore(runtime.remove(instance))
        )
        assert.deepStrictEqual((yield* runtime.getProfile(profile)).usedBy, [instance])
        assert.deepStrictEqual((yield* runtime.get(instance)).profiles, [...baseProfiles, profile])
        assert.strictEqual(yield* outcome(runtime.deleteProfile(profile)), "Conflict")
        yield* runtime.remove(instance)
        yield* runtime.deleteProfile(profile)
        assert.strictEqual(yield* outcome(runtime.getProfile(profile)), "NotFound")
      }), timeout)
    it.effect("listManaged names the instances and profiles repoman made, never default", () =>
      Effect.gen(function*() {
        const runtime = yield* ContainerRuntime
        const profile = yield* scopedProfile("managed", profileSpec)
        const instance = yield* scopedInstance("managed")
        const managed = yield* runtime.listManaged()
        assert.isTrue(managed.instances.includes(instance.name))
        assert.isTrue(managed.profiles.includes(profile))
        assert.isFalse(managed.profiles.includes(ProfileName.make("default")))
      }), timeout)

    it.effect(
      "deleteNamespace: an unknown namespace is NotFound, a non-empty one is Conflict",
      () =>
        Effect.gen(function*() {
          const runtime = yield* ContainerRuntime
          assert.strictEqual(yield* outcome(runtime.deleteNamespace(`rmsuite-${runId}-none`)), "NotFound")
          yield* scopedInstance("nsbusy")
          assert.strictEqual(yield* outcome(runtime.deleteNamespace(runtime.namespace)), "Conflict")
          assert.strictEqual((yield* runtime.getNamespace(runtime.namespace)).name, runtime.namespace)
        }),
      timeout
    )
  })
}
