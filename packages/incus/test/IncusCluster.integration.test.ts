/**
 * The Incus runtime against a clustered incusd (REPOMAN_INTEGRATION=1): the
 * second daemon scripts/ci/cluster.sh starts, a single-member cluster
 * (REPOMAN_CI_CLUSTER_SOCKET, member REPOMAN_CI_CLUSTER_MEMBER). The core
 * conformance suite runs there too (its placement test then takes the
 * clustered branch: every member targeted, an unknown one refused), then
 * what is particular to Incus: the `?target=` on the wire and the
 * `location` Incus records, and the main (standalone) daemon refusing a
 * target with nothing made.
 *
 * Each block works in its own throwaway Incus project, deleted with
 * `?force=true` afterwards.
 */
import { assert, layer } from "@effect/vitest"
import { ContainerRuntime, InstanceSpec } from "@repoman/core/ContainerRuntime"
import { ImageRef, MemberName, ProfileName, ProjectName } from "@repoman/core/Ids"
import { ContainerRuntimeSuite } from "@repoman/core/testing/ContainerRuntimeSuite"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { randomBytes } from "node:crypto"
import * as IncusClient from "../src/IncusClient.ts"
import { hostDir, hostUser, throwawayProject as throwaway } from "./throwaway.ts"

/** What scripts/ci/cluster.sh recorded; the tests cannot run without it. */
const env = (name: string) => {
  const value = process.env[name]
  if (value === undefined || value === "") {
    throw new Error(`${name} is not set: run scripts/ci/cluster.sh (as root) to start the clustered incusd`)
  }
  return value
}
const clusterSocket = env("REPOMAN_CI_CLUSTER_SOCKET")
const member = MemberName.make(env("REPOMAN_CI_CLUSTER_MEMBER"))
const image = process.env["REPOMAN_CI_BUSYBOX_ALIAS"] ?? "repoman-busybox"
const pool = process.env["REPOMAN_CI_CLUSTER_POOL"] ?? "default"
const timeout = 120_000

const allowedRoot = hostDir("repoman-cl", "allowed")
const extraRoot = hostDir("repoman-cl", "extra")

/** A fresh project `cluster-<label>-<random>` on the daemon at `socketPath`, made as `repoman setup` makes it. */
const throwawayProject = (label: string, socketPath: string) =>
  throwaway(label, {
    prefix: "cluster",
    allowedRoot,
    pool,
    socketPath,
    description: "repoman cluster integration test (safe to delete)"
  })

ContainerRuntimeSuite("incus, clustered", throwawayProject("suite", clusterSocket).layer, {
  image,
  timeout,
  allowedPath: allowedRoot,
  extraPath: extraRoot,
  idMapping: hostUser
})

const spec = (name: ProjectName, target?: MemberName) =>
  new InstanceSpec({
    name,
    image: ImageRef.make(image),
    profiles: [ProfileName.make("default")],
    ...(target === undefined ? {} : { target })
  })
/** A create request as Incus takes it, straight to the client (what repoman would never send). */
const rawBody = (name: string) => ({
  name,
  type: "container" as const,
  source: { type: "image", alias: image },
  profiles: ["default"],
  config: {},
  devices: {},
  start: false
})
const uid = (label: string) => ProjectName.make(`cl-${label}-${randomBytes(2).toString("hex")}`)

const clustered = throwawayProject("incus", clusterSocket)
layer(clustered.layer, { excludeTestServices: true, timeout })("IncusContainerRuntime on a cluster", (it) => {
  it.effect(
    "the member list is the daemon's, and a targeted instance is recorded on that member by Incus",
    () =>
      Effect.gen(function*() {
        const runtime = yield* ContainerRuntime
        const client = yield* IncusClient.IncusClient
        const members = yield* runtime.clusterMembers()
        assert.deepStrictEqual(Option.map(members, (ms) => ms.map((m) => m.name)), Option.some([member]))
        const name = uid("placed")
        yield* Effect.acquireRelease(runtime.create(spec(name, member)), () => Effect.ignore(runtime.remove(name)))
        // Incus's own record, not repoman's reading of it.
        const { value } = yield* client.getInstance(clustered.project, name)
        assert.strictEqual(value.location, member)
        assert.strictEqual(value.status, "Running")
      }).pipe(Effect.scoped),
    timeout
  )

  it.effect(
    "a member name with query tricks is refused by the schema, and stays one parameter on the wire",
    () =>
      Effect.gen(function*() {
        const client = yield* IncusClient.IncusClient
        const name = uid("trick")
        const forged = `${member}&project=default`
        assert.throws(() => spec(name, forged as MemberName))
        // Had one reached the client, it is one (encoded) `target`, not a second `project`.
        const error = yield* Effect.flip(client.createInstance(clustered.project, rawBody(name), { target: forged }))
        assert.include(error.message, "not found")
        assert.isFalse((yield* client.listInstances("default")).some((i) => i.name === name))
        assert.isFalse((yield* client.listInstances(clustered.project)).some((i) => i.name === name))
      }),
    timeout
  )
})

const standalone = throwawayProject("standalone", process.env["INCUS_SOCKET"] || "/var/lib/incus/unix.socket")
layer(standalone.layer, { excludeTestServices: true, timeout })("IncusContainerRuntime on one machine", (it) => {
  it.effect(
    "is not a cluster: no members, a target is refused with nothing made, nothing has a location",
    () =>
      Effect.gen(function*() {
        const runtime = yield* ContainerRuntime
        const client = yield* IncusClient.IncusClient
        assert.isTrue(Option.isNone(yield* runtime.clusterMembers()))
        const name = uid("refused")
        const error = yield* Effect.flip(runtime.create(spec(name, member)))
        assert.strictEqual(error.reason._tag, "OperationFailed")
        assert.include(error.message, "not a cluster")
        assert.isFalse((yield* client.listInstances(standalone.project)).some((i) => i.name === name))
        // What Incus says to a target on one machine, had repoman sent it anyway.
        const raw = yield* Effect.flip(client.createInstance(standalone.project, rawBody(name), { target: member }))
        assert.include(raw.message, "Target only allowed when clustered")
        assert.isFalse((yield* client.listInstances(standalone.project)).some((i) => i.name === name))
        const plain = uid("plain")
        yield* Effect.acquireRelease(runtime.create(spec(plain)), () => Effect.ignore(runtime.remove(plain)))
        assert.isTrue(Option.isNone((yield* runtime.get(plain)).location))
      }).pipe(Effect.scoped),
    timeout
  )
})
