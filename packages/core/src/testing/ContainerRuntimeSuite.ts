/**
 * The conformance suite every {@link ContainerRuntime} implementation must
 * pass: the memory one in core's unit tests, the Incus one in its
 * integration tests, and a third runtime the same way. It registers
 * `@effect/vitest` tests, so run it from a vitest test file:
 *
 * ```ts
 * import { ContainerRuntimeSuite } from "@repoman/core/testing/ContainerRuntimeSuite"
 * ContainerRuntimeSuite("my engine", MyRuntime.layer({ namespace: "suite" }), {
 *   image: "debian/12",
 *   allowedPath: "/srv/suite/allowed",
 *   extraPath: "/srv/suite/extra"
 * })
 * ```
 *
 * Each test makes its own instances and profiles under names with a random
 * suffix and removes them when it ends, so the suite can run against a
 * shared engine. It runs with the live clock (implementations may poll), and
 * runs the commands in {@link SuiteCommands} inside instances; a runtime
 * that does not run processes (the memory one) answers them with
 * {@link emulateSuiteCommands}.
 *
 * The runtime's namespace must exist, map ids as `idMapping` (the host user
 * by default) and allow host paths from `allowedPath`; `allowedPath` and
 * `extraPath` must be existing directories of the host where the engine
 * checks that (Incus does).
 *
 * @since 0.1.0
 * @module
 */
import { assert, layer, type Vitest } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import {
  ContainerRuntime,
  type ContainerRuntimeError,
  ExecResult,
  GitCover,
  HostPath,
  InstanceChange,
  InstanceSpec,
  Mount,
  NamespaceSpec,
  ProfileSpec,
  SnapshotPolicy,
  Volume
} from "../ContainerRuntime.ts"
import type { ExecRequest } from "../ContainerRuntimeMemory.ts"
import type { IdMapping } from "../IdMapping.ts"
import { ImageRef, MemberName, ProfileName, ProjectName } from "../Ids.ts"
import { DiskSize, MemorySize } from "../ResourceLimits.ts"

/**
 * Options of {@link ContainerRuntimeSuite}.
 *
 * @since 0.1.0
 * @category models
 */
export interface SuiteOptions {
  /** The image instances are created from. */
  readonly image: string
  /** Profiles every instance gets (root disk, network). Default `["default"]`. */
  readonly baseProfiles?: ReadonlyArray<string>
  /** A host directory the runtime's namespace allows instances to mount (mounts of the suite come from it). */
  readonly allowedPath: string
  /** A host directory outside the allowed ones, for `allowPaths` (given back when the test ends). */
  readonly extraPath: string
  /** How the namespace maps ids, and the instances the suite makes. Default: the host user 1000:1000. */
  readonly idMapping?: IdMapping
  /** Timeout of each test and of building the layer, in ms. Default 120 s. */
  readonly timeout?: number
  /**
   * Host directories under `allowedPath` for the git seal's test: a repo
   * with a `.git` directory, and a gitdir to cover it with. Without them the
   * seal's round trip is not tested.
   */
  readonly sealPaths?: { readonly repo: string; readonly gitDir: string }
  /**
   * Whether the engine can mount this host's paths (`ContainerRuntime.hostPaths`;
   * default true). When false (a remote engine), the test of a host-path repo
   * and mounts read back is not registered (give no `sealPaths` either): such
   * an engine refuses them by design, which its own tests prove.
   */
  readonly hostPaths?: boolean
}

/**
 * The commands the suite runs, and what they must print.
 *
 * @since 0.1.0
 * @category models
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
 *
 * @since 0.1.0
 * @category emulation
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

const runId = Math.floor(Math.random() * 0xffffff).toString(16).padStart(6, "0")

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
 * import * as ContainerRuntimeMemory from "@repoman/core/ContainerRuntimeMemory"
 * import { ContainerRuntimeSuite, emulateSuiteCommands } from "@repoman/core/testing/ContainerRuntimeSuite"
 * ContainerRuntimeSuite(
 *   "memory",
 *   ContainerRuntimeMemory.layer({
 *     exec: emulateSuiteCommands,
 *     restrictions: { allowedPaths: ["/srv/allowed"], idMapping: { _tag: "HostUser", uid: 1000, gid: 1000 } }
 *   }),
 *   { image: "images:debian/12", allowedPath: "/srv/allowed", extraPath: "/srv/extra" }
 * )
 * ```
 *
 * @since 0.1.0
 * @category suite
 */
export const ContainerRuntimeSuite = <E>(
  name: string,
  runtimeLayer: Layer.Layer<ContainerRuntime, E>,
  options: SuiteOptions
): void => {
  const image = ImageRef.make(options.image)
  const baseProfiles = (options.baseProfiles ?? ["default"]).map((p) => ProfileName.make(p))
  const timeout = options.timeout ?? 120_000
  const idMapping: IdMapping = options.idMapping ?? { _tag: "HostUser", uid: 1000, gid: 1000 }

  const specFor = (instance: ProjectName, extraProfiles: ReadonlyArray<ProfileName> = []) =>
    new InstanceSpec({
      name: instance,
      image,
      profiles: [...baseProfiles, ...extraProfiles],
      labels: { suite: runId }
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

  /** A profile document as the profile library ships them (Incus profile YAML, rendered). */
  const libraryProfile = (config: Record<string, string>, devices: Record<string, Record<string, string>>) =>
    new ProfileSpec({ description: "repoman conformance suite", config, devices })

  layer(runtimeLayer, { excludeTestServices: true, timeout })(`ContainerRuntime conformance: ${name}`, (it) => {
    repoVolumeTests(it, { image: options.image, baseProfiles: options.baseProfiles ?? ["default"], timeout })

    it.effect(
      "the runtime's own namespace exists; an unknown one is NotFound (Forbidden with restricted access)",
      () =>
        Effect.gen(function*() {
          const runtime = yield* ContainerRuntime
          const namespace = yield* runtime.getNamespace(runtime.namespace)
          assert.strictEqual(namespace.name, runtime.namespace)
          // A restricted client cannot tell a missing namespace from one it was not granted.
          const { restricted } = yield* runtime.access()
          assert.strictEqual(
            yield* outcome(runtime.getNamespace(`rmsuite-${runId}-none`)),
            restricted ? "Forbidden" : "NotFound"
          )
        }),
      timeout
    )

    it.effect("create starts the instance, and get and list report it Running", () =>
      Effect.gen(function*() {
        const runtime = yield* ContainerRuntime
        const created = yield* scopedInstance("create")
        assert.strictEqual(created.status, "Running")
        const got = yield* runtime.get(created.name)
        assert.strictEqual(got.name, created.name)
        assert.strictEqual(got.status, "Running")
        assert.deepStrictEqual(got.profiles, baseProfiles)
        assert.deepStrictEqual(got.labels, { suite: runId })
        assert.isTrue(got.managed)
        assert.deepStrictEqual(got.image, Option.some(image))
        const listed = (yield* runtime.list()).find((i) => i.name === created.name)
        assert.strictEqual(listed?.status, "Running")
      }), timeout)

    it.effect(
      "placement: a target must be a member of the engine's cluster, and the instance lands there",
      () =>
        Effect.gen(function*() {
          const runtime = yield* ContainerRuntime
          const members = yield* runtime.clusterMembers()
          const refused = uniqueName("target")
          const nobody = MemberName.make(`rmsuite-${runId}-nobody`)
          const listed = () => runtime.list().pipe(Effect.map((is) => is.some((i) => i.name === refused)))
          if (Option.isNone(members)) {
            // One machine: a target is refused before anything is made, and nothing has a location.
            const error = yield* Effect.flip(runtime.create(new InstanceSpec({ ...specFor(refused), target: nobody })))
            assert.deepInclude(error.reason, { _tag: "OperationFailed", kind: "instance", name: refused })
            assert.isFalse(yield* listed())
            const created = yield* scopedInstance("placed")
            assert.isTrue(Option.isNone(created.location))
            assert.isTrue(Option.isNone((yield* runtime.get(created.name)).location))
            return
          }
          assert.isAbove(members.value.length, 0)
          // An unknown member is NotFound, nothing made.
          const error = yield* Effect.flip(runtime.create(new InstanceSpec({ ...specFor(refused), target: nobody })))
          assert.deepInclude(error.reason, { _tag: "NotFound", kind: "cluster member", name: nobody })
          assert.isFalse(yield* listed())
          // Each member takes an instance targeted at it; get and list say where it is.
          for (const member of members.value.filter((m) => m.status === "Online")) {
            const placed = uniqueName("placed")
            const created = yield* Effect.acquireRelease(
              runtime.create(new InstanceSpec({ ...specFor(placed), target: member.name })),
              () => Effect.ignore(runtime.remove(placed))
            )
            assert.deepStrictEqual(created.location, Option.some(member.name))
            assert.deepStrictEqual((yield* runtime.get(placed)).location, Option.some(member.name))
            const inList = (yield* runtime.list()).find((i) => i.name === placed)
            assert.deepStrictEqual(inList?.location, Option.some(member.name))
          }
          // Without a target the engine chooses a member, and says which.
          const chosen = yield* scopedInstance("chosen")
          const location = (yield* runtime.get(chosen.name)).location
          assert.isTrue(Option.isSome(location) && members.value.some((m) => m.name === location.value))
          // What mounts this host's paths runs on the member that is this host, and nowhere else.
          const here = members.value.find((m) => m.thisHost)
          if (here === undefined) return
          const mounting = (instance: ProjectName, target?: MemberName) =>
            new InstanceSpec({
              ...specFor(instance),
              mounts: [new Mount({ name: "data", source: options.allowedPath, path: "/mnt/data", readOnly: true })],
              ...(target === undefined ? {} : { target })
            })
          const local = uniqueName("here")
          const placedHere = yield* Effect.acquireRelease(
            runtime.create(mounting(local)),
            () => Effect.ignore(runtime.remove(local))
          )
          assert.deepStrictEqual(placedHere.location, Option.some(here.name))
          assert.deepStrictEqual((yield* runtime.get(local)).location, Option.some(here.name))
          for (const other of members.value.filter((m) => !m.thisHost)) {
            const away = uniqueName("away")
            const refusal = yield* Effect.flip(runtime.create(mounting(away, other.name)))
            assert.deepInclude(refusal.reason, { _tag: "OperationFailed", kind: "instance", name: away })
            assert.isFalse((yield* runtime.list()).some((i) => i.name === away))
          }
        }),
      timeout
    )

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
        const error = yield* Effect.flip(runtime.get(missing))
        assert.deepInclude(error.reason, { _tag: "NotFound", kind: "instance", name: missing })
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
          // The files of a stopped instance can be prepared; changing an owner needs it running.
          yield* runtime.makeDirectory(instance, "/srv/stopped", { uid: 0, gid: 0 })
          assert.deepStrictEqual(
            (yield* runtime.fileInfo(instance, "/srv/stopped")).pipe(Option.map((i) => [i.type, i.uid, i.gid])),
            Option.some(["directory", 0, 0])
          )
          assert.strictEqual(
            yield* outcome(runtime.makeDirectory(instance, "/srv/stopped", { uid: 1000, gid: 1000 })),
            "Conflict"
          )
          yield* runtime.start(instance)
          assert.strictEqual((yield* runtime.get(instance)).status, "Running")
          yield* runtime.restart(instance)
          assert.strictEqual((yield* runtime.get(instance)).status, "Running")
        }),
      timeout
    )

    it.effect(
      "readTextFile reads a file of the instance; a directory or a missing path is None",
      () =>
        Effect.gen(function*() {
          const runtime = yield* ContainerRuntime
          const { name: instance } = yield* scopedInstance("read")
          const passwd = yield* runtime.readTextFile(instance, "/etc/passwd")
          assert.isTrue(Option.isSome(passwd) && passwd.value.startsWith("root:"), String(passwd))
          assert.deepStrictEqual(yield* runtime.readTextFile(instance, "/etc"), Option.none())
          assert.deepStrictEqual(yield* runtime.readTextFile(instance, "/etc/no-such-file"), Option.none())
          assert.strictEqual(
            yield* outcome(runtime.readTextFile(instance, "/etc/passwd", { maxBytes: 4 })),
            "OperationFailed"
          )
          assert.strictEqual(yield* outcome(runtime.readTextFile(uniqueName("missing"), "/etc/passwd")), "NotFound")
        }),
      timeout
    )

    it.effect(
      "setLabels adds, replaces and removes labels, keeps the others, and refuses reserved keys",
      () =>
        Effect.gen(function*() {
          const runtime = yield* ContainerRuntime
          const { name: instance } = yield* scopedInstance("labels")
          yield* runtime.setLabels(instance, { "login-shell": "/bin/sh", extra: "1" })
          yield* runtime.setLabels(instance, { "login-shell": "/bin/bash", extra: "" })
          assert.deepStrictEqual((yield* runtime.get(instance)).labels, { suite: runId, "login-shell": "/bin/bash" })
          assert.strictEqual(yield* outcome(runtime.setLabels(instance, { managed: "false" })), "OperationFailed")
          assert.strictEqual(yield* outcome(runtime.setLabels(instance, { "Bad Key": "x" })), "OperationFailed")
          assert.isTrue((yield* runtime.get(instance)).managed)
          assert.strictEqual(yield* outcome(runtime.setLabels(uniqueName("missing"), { a: "1" })), "NotFound")
        }),
      timeout
    )

    it.effect(
      "update changes mounts, env and limits live; a start-time limit needs a restart; a refusal changes nothing",
      () =>
        Effect.gen(function*() {
          const runtime = yield* ContainerRuntime
          const { name: instance } = yield* scopedInstance("update")
          const mount = new Mount({ name: "extra", source: options.allowedPath, path: "/srv/extra", readOnly: true })
          const limits = { memory: MemorySize.make("256MiB"), processes: 500, disk: DiskSize.make("5GiB") }
          const live = new InstanceChange({ mounts: [mount], env: { REPOMAN_SUITE: runId }, limits })
          assert.deepStrictEqual(yield* runtime.planUpdate(instance, live), [])
          const applied = yield* runtime.update(instance, live)
          assert.deepStrictEqual([applied.restarted, applied.restartReasons], [false, []])
          const after = yield* runtime.get(instance)
          assert.deepStrictEqual(after.mounts, [mount])
          assert.deepStrictEqual(after.env, { REPOMAN_SUITE: runId })
          assert.deepStrictEqual(after.limits, limits)
          assert.deepStrictEqual(after.profiles, baseProfiles)
          assert.strictEqual(after.status, "Running")

          // Refused, each leaving the instance as it was.
          const refused = [
            new InstanceChange({
              env: { REPOMAN_SUITE: runId, OTHER: "1" },
              mounts: [new Mount({ ...mount, name: "repo" })]
            }),
            new InstanceChange({ limits: { ...limits, cpu: 1 }, profiles: [...baseProfiles, uniqueProfile("absent")] }),
            ...(idMapping._tag === "HostUser"
              ? [
                new InstanceChange({
                  limits: { ...limits, cpu: 1 },
                  mounts: [new Mount({ ...mount, source: options.extraPath })]
                })
              ]
              : [])
          ]
          const outcomes = yield* Effect.forEach(refused, (change) => outcome(runtime.update(instance, change)))
          assert.deepStrictEqual(
            outcomes,
            ["OperationFailed", "NotFound", ...(idMapping._tag === "HostUser" ? ["Forbidden"] : [])]
          )
          const unchanged = yield* runtime.get(instance)
          assert.deepStrictEqual([unchanged.mounts, unchanged.env], [[mount], { REPOMAN_SUITE: runId }])
          assert.deepStrictEqual(unchanged.limits, limits)

          // A variable taken away would stay in sessions: a restart.
          assert.isAbove((yield* runtime.planUpdate(instance, new InstanceChange({ env: {} }))).length, 0)

          // The inotify limit is set when the instance starts: a restart, only when allowed.
          const atStart = new InstanceChange({ limits: { ...limits, inotifyInstances: 77 } })
          assert.isAbove((yield* runtime.planUpdate(instance, atStart)).length, 0)
          assert.strictEqual(yield* outcome(runtime.update(instance, atStart)), "Conflict")
          assert.deepStrictEqual((yield* runtime.get(instance)).limits, limits)
          const restarted = yield* runtime.update(instance, atStart, { restart: true })
          assert.isTrue(restarted.restarted)
          const final = yield* runtime.get(instance)
          assert.deepStrictEqual([final.status, final.limits.inotifyInstances], ["Running", 77])

          // A stopped instance takes any change at its next start.
          yield* runtime.stop(instance, { force: true })
          const later = new InstanceChange({ limits: { ...limits, inotifyInstances: 88 } })
          assert.deepStrictEqual(yield* runtime.planUpdate(instance, later), [])
          assert.isFalse((yield* runtime.update(instance, later)).restarted)
          assert.strictEqual((yield* runtime.get(instance)).status, "Stopped")
          assert.strictEqual(yield* outcome(runtime.update(uniqueName("missing"), later)), "NotFound")
        }),
      timeout
    )

    it.effect(
      "freeze stops a running instance's processes until unfreeze, and refuses the wrong state",
      () =>
        Effect.gen(function*() {
          const runtime = yield* ContainerRuntime
          const { name: instance } = yield* scopedInstance("frozen")
          assert.strictEqual(yield* outcome(runtime.unfreeze(instance)), "Conflict")
          yield* runtime.freeze(instance)
          assert.strictEqual((yield* runtime.get(instance)).status, "Frozen")
          assert.strictEqual(yield* outcome(runtime.freeze(instance)), "Conflict")
          yield* runtime.unfreeze(instance)
          assert.strictEqual((yield* runtime.get(instance)).status, "Running")
          assert.strictEqual((yield* runtime.exec(instance, SuiteCommands.streams)).exitCode, 3)
          yield* runtime.stop(instance, { force: true })
          assert.strictEqual(yield* outcome(runtime.freeze(instance)), "Conflict")
          assert.strictEqual(yield* outcome(runtime.freeze(uniqueName("missing"))), "NotFound")
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
      "a command that cannot be started is exit code 127, never a missing instance",
      () =>
        Effect.gen(function*() {
          const runtime = yield* ContainerRuntime
          const { name: instance } = yield* scopedInstance("nocmd")
          const result = yield* runtime.exec(instance, ["/no/such/program"])
          assert.strictEqual(result.exitCode, 127)
          assert.strictEqual((yield* runtime.get(instance)).status, "Running")
        }),
      timeout
    )

    if (options.hostPaths !== false) {
      it.effect(
        "an instance reads back as specified: repo, mounts, environment, limits, id mapping, labels",
        () =>
          Effect.gen(function*() {
            const runtime = yield* ContainerRuntime
            const instance = uniqueName("spec")
            const spec = new InstanceSpec({
              ...specFor(instance),
              repo: new HostPath({ source: options.allowedPath, path: options.allowedPath, readOnly: false }),
              mounts: [
                new Mount({ name: "data", source: options.allowedPath, path: "/srv/suite-data", readOnly: true })
              ],
              env: { REPOMAN_SUITE_ENV: "yes" },
              limits: {
                cpu: 1,
                memory: MemorySize.make("256MiB"),
                processes: 300,
                disk: DiskSize.make("1GiB"),
                inotifyInstances: 16
              },
              idMapping,
              labels: { suite: runId, repo: options.allowedPath, "link.suite": "a -> b" }
            })
            const created = yield* Effect.acquireRelease(
              runtime.create(spec),
              () => Effect.ignore(runtime.remove(instance))
            )
            const expected = {
              repo: Option.some(spec.repo),
              mounts: spec.mounts,
              env: spec.env,
              limits: spec.limits,
              idMapping: Option.some(idMapping),
              labels: spec.labels,
              managed: true,
              owner: Option.some(runtime.owner)
            }
            const view = (i: typeof created) => ({
              repo: i.repo,
              mounts: i.mounts,
              env: i.env,
              limits: i.limits,
              idMapping: i.idMapping,
              labels: i.labels,
              managed: i.managed,
              owner: i.owner
            })
            assert.deepStrictEqual(view(created), expected)
            assert.deepStrictEqual(view(yield* runtime.get(instance)), expected)
            const listed = (yield* runtime.list()).find((i) => i.name === instance)
            assert.deepStrictEqual(listed === undefined ? undefined : view(listed), expected)
          }),
        timeout
      )
    }

    it.effect(
      "readFile streams a regular file, and refuses one past its cap, a directory and a missing path",
      () =>
        Effect.gen(function*() {
          const runtime = yield* ContainerRuntime
          const { name: instance } = yield* scopedInstance("readfile")
          const drain = (path: string, maxBytes: number) =>
            outcome(runtime.readFile(instance, path, { maxBytes }).pipe(Stream.runDrain))
          const text = yield* runtime.readFile(instance, "/etc/passwd", { maxBytes: 1 << 20 }).pipe(
            Stream.decodeText,
            Stream.mkString
          )
          assert.match(text, /^root:/)
          assert.strictEqual(yield* drain("/etc/passwd", 4), "OperationFailed")
          assert.strictEqual(yield* drain("/etc", 1 << 20), "OperationFailed")
          assert.strictEqual(yield* drain("/no/such/file", 1 << 20), "OperationFailed")
        }),
      timeout
    )

    it.effect(
      "every instance has a host id range of its own, and what the runtime makes records its owner",
      () =>
        Effect.gen(function*() {
          const runtime = yield* ContainerRuntime
          const a = yield* scopedInstance("range")
          const b = yield* scopedInstance("range")
          const ranges = [yield* runtime.get(a.name), yield* runtime.get(b.name)].map((i) => {
            assert.deepStrictEqual(i.owner, Option.some(runtime.owner))
            assert.isTrue(i.managed)
            return Option.getOrThrow(i.idRange)
          })
          const [first, second] = ranges
          assert.isTrue(first !== undefined && second !== undefined && first.base > 0 && first.size > 0)
          if (first !== undefined && second !== undefined) {
            const disjoint = first.base + first.size <= second.base || second.base + second.size <= first.base
            assert.isTrue(disjoint, `${first.base}+${first.size} and ${second.base}+${second.size} overlap`)
          }
          const profile = yield* scopedProfile("owned", profileSpec)
          const got = yield* runtime.getProfile(profile)
          assert.isTrue(got.managed)
          assert.deepStrictEqual(got.owner, Option.some(runtime.owner))
          assert.deepStrictEqual(got.config, profileSpec.config)
        }),
      timeout
    )

    if (options.sealPaths !== undefined) {
      const seal = options.sealPaths
      it.effect(
        "a sealed instance reads back its git cover and locked mounts; a live mount table shows the cover",
        () =>
          Effect.gen(function*() {
            const runtime = yield* ContainerRuntime
            const instance = uniqueName("seal")
            const spec = new InstanceSpec({
              ...specFor(instance),
              repo: new HostPath({ source: seal.repo, path: seal.repo, readOnly: false }),
              idMapping,
              gitCover: new GitCover({ gitDir: seal.gitDir }),
              lockMounts: true
            })
            const created = yield* Effect.acquireRelease(runtime.create(spec), () =>
              Effect.ignore(runtime.remove(instance)))
            const view = (i: typeof created) => ({ gitCover: i.gitCover, lockMounts: i.lockMounts, mounts: i.mounts })
            const expected = {
              gitCover: Option.some(new GitCover({ gitDir: seal.gitDir })),
              lockMounts: true,
              mounts: []
            }
            assert.deepStrictEqual(view(created), expected)
            assert.deepStrictEqual(view(yield* runtime.get(instance)), expected)
            const table = yield* runtime.mountTable(instance)
            if (Option.isSome(table)) {
              const repo = table.value.filter((e) =>
                e.mountPoint === seal.repo
              ).at(-1)
              const cover = table.value.filter((e) => e.mountPoint === `${seal.repo}/.git`).at(-1)
              assert.isDefined(repo)
              assert.strictEqual(cover?.parentId, repo?.id)
            }
            yield* runtime.stop(instance, { force: true })
            assert.deepStrictEqual(yield* runtime.mountTable(instance), Option.none())
          }),
        timeout
      )
    }
    it.effect(
      "access covers the runtime's namespace, and checkNamespace asks nothing of an admin for it",
      () =>
        Effect.gen(function*() {
          const runtime = yield* ContainerRuntime
          const access = yield* runtime.access()
          assert.isTrue(access.identity.length > 0)
          if (access.restricted) assert.include(access.namespaces, runtime.namespace)
          const ns = yield* runtime.getNamespace(runtime.namespace)
          const check = yield* runtime.checkNamespace(
            new NamespaceSpec({
              name: runtime.namespace,
              description: ns.description,
              allowedPaths: [options.allowedPath],
              idMapping,
              rootDiskPool: "default"
            }),
            image
          )
          assert.strictEqual(check.name, runtime.namespace)
          assert.deepStrictEqual(check.adminSteps, [])
          assert.deepStrictEqual(check.notes, [])
        }),
      timeout
    )

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
          const { restricted } = yield* runtime.access()
          if (!restricted) {
            assert.strictEqual(yield* outcome(runtime.deleteNamespace(`rmsuite-${runId}-none`)), "NotFound")
          }
          yield* scopedInstance("nsbusy")
          assert.strictEqual(
            yield* outcome(runtime.deleteNamespace(runtime.namespace)),
            restricted ? "Forbidden" : "Conflict"
          )
          assert.strictEqual((yield* runtime.getNamespace(runtime.namespace)).name, runtime.namespace)
        }),
      timeout
    )

    it.effect(
      "the namespace allows host paths; allowPaths widens it (covered paths skipped), disallowPaths narrows it",
      () =>
        Effect.gen(function*() {
          const runtime = yield* ContainerRuntime
          const before = yield* runtime.getNamespace(runtime.namespace)
          assert.isTrue(before.allowedPaths.some((p) => options.allowedPath.startsWith(p)))
          assert.deepStrictEqual(before.idMapping, Option.some(idMapping))
          if ((yield* runtime.access()).restricted) {
            // Only an admin can widen it: refused, and nothing changes.
            const refused = yield* runtime.allowPaths([options.extraPath])
            assert.deepStrictEqual(refused.added, [])
            assert.deepStrictEqual(refused.refused.map((r) => r.path), [options.extraPath])
            yield* runtime.disallowPaths([options.extraPath])
            assert.deepStrictEqual((yield* runtime.getNamespace(runtime.namespace)).allowedPaths, before.allowedPaths)
            return
          }
          assert.include(before.allowedPaths, options.allowedPath)
          assert.isTrue(before.managed)
          yield* Effect.addFinalizer(() => Effect.ignore(runtime.disallowPaths([options.extraPath])))
          const added = yield* runtime.allowPaths([options.extraPath, options.allowedPath])
          assert.deepStrictEqual(added, { added: [options.extraPath], refused: [] })
          assert.deepStrictEqual(
            (yield* runtime.getNamespace(runtime.namespace)).allowedPaths,
            [...before.allowedPaths, options.extraPath]
          )
          assert.deepStrictEqual(yield* runtime.allowPaths([options.extraPath]), { added: [], refused: [] })
          yield* runtime.disallowPaths([options.extraPath])
          assert.deepStrictEqual((yield* runtime.getNamespace(runtime.namespace)).allowedPaths, before.allowedPaths)
        }),
      timeout
    )

    it.effect(
      "inspectProfile reads a library profile: host mounts, environment, labels, nothing refused",
      () =>
        Effect.gen(function*() {
          const runtime = yield* ContainerRuntime
          const info = runtime.inspectProfile(
            libraryProfile(
              { "environment.SUITE": "1", "user.repoman.link.suite": "/a -> /srv/s/a", "limits.cpu": "1" },
              {
                data: { type: "disk", source: "/srv/s", path: "/srv/s", readonly: "true" },
                vol: { type: "disk", source: "cache", pool: "default", path: "/var/cache/suite" }
              }
            ),
            idMapping
          )
          assert.deepStrictEqual(info.mounts, [
            new Mount({ name: "data", source: "/srv/s", path: "/srv/s", readOnly: true })
          ])
          assert.deepStrictEqual(info.env, { SUITE: "1" })
          assert.deepStrictEqual(info.labels, { "link.suite": "/a -> /srv/s/a" })
          assert.isTrue(Option.isNone(info.refusal))
        }),
      timeout
    )

    it.effect("inspectProfile says what a restricted namespace refuses, and why", () =>
      Effect.gen(function*() {
        const runtime = yield* ContainerRuntime
        const hostUser: IdMapping = { _tag: "HostUser", uid: 1000, gid: 1000 }
        const privileged = runtime.inspectProfile(libraryProfile({ "security.privileged": "true" }, {}), hostUser)
        assert.isTrue(Option.isSome(privileged.refusal))
        // An allow list: anything not known to be safe is refused, naming what.
        const refusedConfig = [
          "security.syscalls.intercept.mknod",
          "boot.host_shutdown_timeout",
          "raw.lxc",
          "linux.kernel_modules",
          "volatile.idmap.base",
          "user.repoman.owner",
          "some.unknown.key"
        ]
        for (const key of refusedConfig) {
          const info = runtime.inspectProfile(libraryProfile({ [key]: "1" }, {}), hostUser)
          assert.include(Option.getOrElse(info.refusal, () => "(nothing refused)"), key)
        }
        const refusedDevices: ReadonlyArray<Record<string, string>> = [
          { type: "proxy", listen: "unix:/tmp/s", connect: "unix:/run/user/1000/bus" },
          { type: "unix-char", source: "/dev/kvm" },
          { type: "gpu" },
          { type: "disk", source: "/srv/s", path: "/srv/s", "raw.mount.options": "rbind" },
          // The root disk is the namespace's default profile's (sized by the limits).
          { type: "disk", path: "/", pool: "default", size: "1PiB" }
        ]
        for (const device of refusedDevices) {
          const info = runtime.inspectProfile(libraryProfile({}, { d: device }), hostUser)
          assert.isTrue(Option.isSome(info.refusal), JSON.stringify(device))
        }
        const shifted = libraryProfile({}, { d: { type: "disk", source: "/srv/s", path: "/x", shift: "true" } })
        assert.isTrue(Option.isSome(runtime.inspectProfile(shifted, hostUser).refusal))
        assert.isTrue(Option.isNone(runtime.inspectProfile(shifted, { _tag: "Shift" }).refusal))
      }), timeout)

    it.effect(
      "resolveProfile puts real paths in, and maps mounts as the id mapping requires",
      () =>
        Effect.gen(function*() {
          const runtime = yield* ContainerRuntime
          const hostUser: IdMapping = { _tag: "HostUser", uid: 1000, gid: 1000 }
          const library = libraryProfile({}, { d: { type: "disk", source: "/srv/link", path: "/srv/s" } })
          const realPaths = new Map([["/srv/link", "/srv/real"]])
          const forHostUser = runtime.resolveProfile(library, { realPaths, idMapping: hostUser })
          const mounted = runtime.inspectProfile(forHostUser, hostUser)
          assert.deepStrictEqual(mounted.mounts.map((m) => m.source), ["/srv/real"])
          assert.isTrue(Option.isNone(mounted.refusal))
          const forShift = runtime.resolveProfile(library, { realPaths, idMapping: { _tag: "Shift" } })
          assert.deepStrictEqual(runtime.inspectProfile(forShift, { _tag: "Shift" }).mounts.map((m) => m.source), [
            "/srv/real"
          ])
          // Shifted mounts are what a namespace mapping the host user refuses.
          assert.isTrue(Option.isSome(runtime.inspectProfile(forShift, hostUser).refusal))
        }),
      timeout
    )
  })
}

/**
 * Options of {@link RepoVolumeSuite}.
 *
 * @since 0.1.0
 * @category models
 */
export interface RepoVolumeSuiteOptions {
  /** The image instances are created from. */
  readonly image: string
  /** Profiles every instance gets (root disk, network). Default `["default"]`. */
  readonly baseProfiles?: ReadonlyArray<string>
  /** Timeout of each test and of building the layer, in ms. Default 120 s. */
  readonly timeout?: number
}

/**
 * Registers only the conformance tests of repo volumes (see
 * `ContainerRuntime` `Volume`), which {@link ContainerRuntimeSuite} runs
 * too: for a runtime that cannot mount host paths (`hostPaths: false`), where
 * the rest of the suite does not apply. The runtime's namespace must exist.
 *
 * @since 0.1.0
 * @category suite
 */
export const RepoVolumeSuite = <E>(
  name: string,
  runtimeLayer: Layer.Layer<ContainerRuntime, E>,
  options: RepoVolumeSuiteOptions
): void => {
  const timeout = options.timeout ?? 120_000
  layer(runtimeLayer, { excludeTestServices: true, timeout })(`ContainerRuntime repo volumes: ${name}`, (it) => {
    repoVolumeTests(it, { image: options.image, baseProfiles: options.baseProfiles ?? ["default"], timeout })
  })
}

const bytes = (text: string) => new TextEncoder().encode(text)

/** The volume tests, registered in the caller's layer. */
const repoVolumeTests = (
  it: Vitest.MethodsNonLive<ContainerRuntime>,
  options: { readonly image: string; readonly baseProfiles: ReadonlyArray<string>; readonly timeout: number }
) => {
  const { timeout } = options
  const repoPath = "/srv/rmsuite/repo"
  const volumeSpec = (instance: ProjectName) =>
    new InstanceSpec({
      name: instance,
      image: ImageRef.make(options.image),
      profiles: options.baseProfiles.map((p) => ProfileName.make(p)),
      repo: new Volume({ path: repoPath }),
      labels: { suite: runId }
    })

  /** A name whose instance and repo volume are deleted when the test's scope closes. */
  const scopedVolumeName = (label: string) =>
    Effect.gen(function*() {
      const runtime = yield* ContainerRuntime
      const instance = uniqueName(label)
      yield* Effect.addFinalizer(() =>
        Effect.ignore(runtime.remove(instance)).pipe(Effect.andThen(Effect.ignore(runtime.deleteRepoVolume(instance))))
      )
      return instance
    })

  const readText = (instance: ProjectName, path: string) =>
    Effect.gen(function*() {
      const runtime = yield* ContainerRuntime
      return yield* runtime.readFile(instance, path, { maxBytes: 1 << 20 }).pipe(Stream.decodeText, Stream.mkString)
    })

  it.effect(
    "a volume repo: its mount point is the container user's, a file written there stays when the instance is removed",
    () =>
      Effect.gen(function*() {
        const runtime = yield* ContainerRuntime
        const instance = yield* scopedVolumeName("vol")
        const created = yield* runtime.create(volumeSpec(instance))
        assert.deepStrictEqual(created.repo, Option.some(new Volume({ path: repoPath })))
        const got = yield* runtime.get(instance)
        assert.deepStrictEqual(got.repo, Option.some(new Volume({ path: repoPath })))
        const root = yield* runtime.fileInfo(instance, repoPath)
        assert.deepStrictEqual(
          root.pipe(Option.map((i) => [i.type, i.uid, i.gid])),
          Option.some(["directory", 1000, 1000])
        )
        yield* runtime.writeFile(instance, `${repoPath}/README`, bytes("kept\n"), { uid: 1000, gid: 1000, mode: 0o640 })
        const info = yield* runtime.fileInfo(instance, `${repoPath}/README`)
        assert.deepStrictEqual(
          info.pipe(Option.map((i) => [i.type, i.uid, i.gid, i.mode & 0o7777])),
          Option.some(["file", 1000, 1000, 0o640])
        )
        const volume = yield* runtime.getRepoVolume(instance)
        assert.deepStrictEqual([volume.name, volume.usedBy, volume.managed, volume.owner], [
          instance,
          [instance],
          true,
          Option.some(runtime.owner)
        ])
        // remove never deletes the repo: the volume stays, unused, and a new instance takes it up.
        yield* runtime.remove(instance)
        const kept = yield* runtime.getRepoVolume(instance)
        assert.deepStrictEqual(kept.usedBy, [])
        assert.isTrue((yield* runtime.listRepoVolumes()).some((v) => v.name === instance))
        yield* runtime.create(volumeSpec(instance))
        assert.strictEqual(yield* readText(instance, `${repoPath}/README`), "kept\n")
        // Deleting it is explicit, and refused while an instance uses it.
        assert.strictEqual(yield* outcome(runtime.deleteRepoVolume(instance)), "Conflict")
        yield* runtime.remove(instance)
        yield* runtime.deleteRepoVolume(instance)
        assert.strictEqual(yield* outcome(runtime.getRepoVolume(instance)), "NotFound")
        assert.strictEqual(yield* outcome(runtime.deleteRepoVolume(instance)), "NotFound")
      }),
    timeout
  )

  it.effect(
    "writeFile makes and replaces a file, streamed or not, replaces a symlink without following it, refuses a directory",
    () =>
      Effect.gen(function*() {
        const runtime = yield* ContainerRuntime
        const instance = yield* scopedVolumeName("write")
        yield* runtime.create(volumeSpec(instance))
        const owner = { uid: 1000, gid: 1000, mode: 0o644 }
        yield* runtime.writeFile(instance, `${repoPath}/a`, bytes("one"), owner)
        yield* runtime.writeFile(instance, `${repoPath}/a`, Stream.make(bytes("tw"), bytes("o")), owner)
        assert.strictEqual(yield* readText(instance, `${repoPath}/a`), "two")
        yield* runtime.writeFile(instance, `${repoPath}/empty`, new Uint8Array(), owner)
        assert.strictEqual(yield* readText(instance, `${repoPath}/empty`), "")
        // A symlink at the path is replaced by the file; what it pointed to is untouched.
        yield* runtime.writeFile(instance, `${repoPath}/target`, bytes("target"), owner)
        yield* runtime.makeSymlink(instance, `${repoPath}/link`, `${repoPath}/target`)
        yield* runtime.writeFile(instance, `${repoPath}/link`, bytes("file"), owner)
        assert.strictEqual(yield* readText(instance, `${repoPath}/target`), "target")
        const link = yield* runtime.fileInfo(instance, `${repoPath}/link`)
        assert.deepStrictEqual(link.pipe(Option.map((i) => i.type)), Option.some("file"))
        assert.strictEqual(yield* readText(instance, `${repoPath}/link`), "file")
        yield* runtime.makeDirectory(instance, `${repoPath}/dir`, { uid: 1000, gid: 1000 })
        assert.strictEqual(
          yield* outcome(runtime.writeFile(instance, `${repoPath}/dir`, bytes("x"), owner)),
          "Conflict"
        )
        assert.strictEqual(
          yield* outcome(runtime.writeFile(instance, `${repoPath}/no/such/parent`, bytes("x"), owner)),
          "OperationFailed"
        )
        assert.strictEqual(
          yield* outcome(runtime.writeFile(instance, "relative", bytes("x"), owner)),
          "OperationFailed"
        )
        assert.strictEqual(
          yield* outcome(runtime.writeFile(instance, `${repoPath}/suid`, bytes("x"), { ...owner, mode: 0o4755 })),
          "OperationFailed"
        )
        // listDirectory: the names, sorted; a file is not a directory; nothing there fails.
        assert.deepStrictEqual(yield* runtime.listDirectory(instance, repoPath), [
          "a",
          "dir",
          "empty",
          "link",
          "target"
        ])
        assert.deepStrictEqual(yield* runtime.listDirectory(instance, `${repoPath}/dir`), [])
        assert.strictEqual(yield* outcome(runtime.listDirectory(instance, `${repoPath}/a`)), "Conflict")
        assert.strictEqual(yield* outcome(runtime.listDirectory(instance, `${repoPath}/none`)), "OperationFailed")
        assert.strictEqual(yield* outcome(runtime.listDirectory(uniqueName("missing"), "/")), "NotFound")
        // The volume is mounted only while the instance runs: its paths are refused while it is stopped.
        yield* runtime.stop(instance, { force: true })
        assert.strictEqual(yield* outcome(runtime.writeFile(instance, `${repoPath}/a`, bytes("x"), owner)), "Conflict")
        assert.strictEqual(yield* outcome(runtime.listDirectory(instance, repoPath)), "Conflict")
        assert.strictEqual(
          yield* outcome(runtime.readFile(instance, `${repoPath}/a`, { maxBytes: 1024 }).pipe(Stream.runDrain)),
          "Conflict"
        )
      }),
    timeout
  )

  it.effect(
    "snapshots: take, list, restore the old content (running instance), delete; names are checked",
    () =>
      Effect.gen(function*() {
        const runtime = yield* ContainerRuntime
        const instance = yield* scopedVolumeName("snap")
        yield* runtime.create(volumeSpec(instance))
        const owner = { uid: 1000, gid: 1000, mode: 0o644 }
        yield* runtime.writeFile(instance, `${repoPath}/f`, bytes("before"), owner)
        const taken = yield* runtime.snapshotRepoVolume(instance, "s1")
        assert.strictEqual(taken.name, "s1")
        assert.strictEqual(yield* outcome(runtime.snapshotRepoVolume(instance, "s1")), "AlreadyExists")
        assert.strictEqual(yield* outcome(runtime.snapshotRepoVolume(instance, "../x")), "OperationFailed")
        assert.strictEqual(yield* outcome(runtime.snapshotRepoVolume(instance, "a/b")), "OperationFailed")
        yield* runtime.writeFile(instance, `${repoPath}/f`, bytes("after"), owner)
        yield* runtime.writeFile(instance, `${repoPath}/new`, bytes("new"), owner)
        yield* runtime.snapshotRepoVolume(instance, "s2")
        assert.deepStrictEqual((yield* runtime.listRepoVolumeSnapshots(instance)).map((s) => s.name), ["s1", "s2"])
        yield* runtime.restoreRepoVolume(instance, "s1")
        assert.strictEqual((yield* runtime.get(instance)).status, "Running")
        assert.strictEqual(yield* readText(instance, `${repoPath}/f`), "before")
        assert.deepStrictEqual(yield* runtime.fileInfo(instance, `${repoPath}/new`), Option.none())
        assert.strictEqual(yield* outcome(runtime.restoreRepoVolume(instance, "none")), "NotFound")
        yield* runtime.deleteRepoVolumeSnapshot(instance, "s2")
        assert.strictEqual(yield* outcome(runtime.deleteRepoVolumeSnapshot(instance, "s2")), "NotFound")
        assert.deepStrictEqual((yield* runtime.listRepoVolumeSnapshots(instance)).map((s) => s.name), ["s1"])
        // Automatic snapshots are a setting of the volume.
        yield* runtime.setRepoVolumeSnapshots(instance, new SnapshotPolicy({ schedule: "@daily", expiry: "2w" }))
        const volume = yield* runtime.getRepoVolume(instance)
        assert.deepStrictEqual([volume.snapshotSchedule, volume.snapshotExpiry], [
          Option.some("@daily"),
          Option.some("2w")
        ])
        yield* runtime.setRepoVolumeSnapshots(instance, undefined)
        assert.deepStrictEqual((yield* runtime.getRepoVolume(instance)).snapshotSchedule, Option.none())
        assert.strictEqual(yield* outcome(runtime.listRepoVolumeSnapshots(uniqueName("missing"))), "NotFound")
      }),
    timeout
  )

  it.effect(
    "export then import into another name gives the same tree; a taken name and a cap are refused",
    () =>
      Effect.gen(function*() {
        const runtime = yield* ContainerRuntime
        const source = yield* scopedVolumeName("exp")
        const copy = yield* scopedVolumeName("imp")
        yield* runtime.create(volumeSpec(source))
        yield* runtime.makeDirectory(source, `${repoPath}/src`, { uid: 1000, gid: 1000, mode: 0o750 })
        yield* runtime.writeFile(source, `${repoPath}/src/main.ts`, bytes("export {}\n"), {
          uid: 1000,
          gid: 1000,
          mode: 0o755
        })
        yield* runtime.makeSymlink(source, `${repoPath}/link`, "src/main.ts")
        const archive = runtime.exportRepoVolume(source, { maxBytes: 256 << 20 })
        const imported = yield* runtime.importRepoVolume(copy, archive, { maxBytes: 256 << 20 })
        assert.deepStrictEqual([imported.name, imported.managed, imported.owner, imported.usedBy], [
          copy,
          true,
          Option.some(runtime.owner),
          []
        ])
        yield* runtime.create(volumeSpec(copy))
        assert.deepStrictEqual(yield* runtime.listDirectory(copy, repoPath), ["link", "src"])
        assert.strictEqual(yield* readText(copy, `${repoPath}/src/main.ts`), "export {}\n")
        const view = (i: Option.Option<{ readonly type: string; readonly uid: number; readonly mode: number }>) =>
          Option.map(i, (x) => [x.type, x.uid, x.mode & 0o7777])
        assert.deepStrictEqual(
          view(yield* runtime.fileInfo(copy, `${repoPath}/src/main.ts`)),
          Option.some(["file", 1000, 0o755])
        )
        assert.deepStrictEqual(
          view(yield* runtime.fileInfo(copy, `${repoPath}/src`)),
          Option.some(["directory", 1000, 0o750])
        )
        assert.deepStrictEqual(
          (yield* runtime.fileInfo(copy, `${repoPath}/link`)).pipe(Option.map((i) => i.target)),
          Option.some("src/main.ts")
        )
        // Onto a name that has a volume: refused, the volume untouched.
        assert.strictEqual(
          yield* outcome(runtime.importRepoVolume(copy, runtime.exportRepoVolume(source, { maxBytes: 256 << 20 }), {
            maxBytes: 256 << 20
          })),
          "AlreadyExists"
        )
        // Past the cap, either way: refused, and no volume is left by the import.
        assert.strictEqual(
          yield* outcome(runtime.exportRepoVolume(source, { maxBytes: 16 }).pipe(Stream.runDrain)),
          "OperationFailed"
        )
        const third = yield* scopedVolumeName("cap")
        assert.strictEqual(
          yield* outcome(
            runtime.importRepoVolume(third, runtime.exportRepoVolume(source, { maxBytes: 256 << 20 }), { maxBytes: 16 })
          ),
          "OperationFailed"
        )
        assert.strictEqual(yield* outcome(runtime.getRepoVolume(third)), "NotFound")
        // Not an archive at all.
        assert.strictEqual(
          yield* outcome(runtime.importRepoVolume(third, Stream.make(bytes("not an archive")), { maxBytes: 1 << 20 })),
          "OperationFailed"
        )
        assert.strictEqual(yield* outcome(runtime.getRepoVolume(third)), "NotFound")
      }),
    timeout
  )
}
