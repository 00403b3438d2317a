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
import { afterAll, assert, layer } from "@effect/vitest"
import { ContainerRuntime, InstanceSpec, NamespaceSpec } from "@repoman/core/ContainerRuntime"
import type { IdMapping } from "@repoman/core/IdMapping"
import { ImageRef, MemberName, ProfileName, ProjectName } from "@repoman/core/Ids"
import { ContainerRuntimeSuite } from "@repoman/core/testing/ContainerRuntimeSuite"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as IncusClient from "../src/IncusClient.ts"
import * as IncusContainerRuntime from "../src/IncusContainerRuntime.ts"

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

const hostDir = (label: string) => fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `repoman-cl-${label}-`)))
const allowedRoot = hostDir("allowed")
const extraRoot = hostDir("extra")
afterAll(() => {
  for (const dir of [allowedRoot, extraRoot]) fs.rmSync(dir, { recursive: true, force: true })
})

const hostUser: IdMapping = { _tag: "HostUser", uid: process.getuid?.() ?? 1000, gid: process.getgid?.() ?? 1000 }

/** A fresh project `cluster-<label>-<random>` on the daemon at `socketPath`, made as `repoman setup` makes it. */
const throwawayProject = (label: string, socketPath: string) => {
  const project = `cluster-${label}-${randomBytes(3).toString("hex")}`
  const lifecycle = Layer.effectDiscard(Effect.gen(function*() {
    const runtime = yield* ContainerRuntime
    const client = yield* IncusClient.IncusClient
    yield* Effect.acquireRelease(
      runtime.ensureNamespace(
        new NamespaceSpec({
          name: project,
          description: "repoman cluster integration test (safe to delete)",
          allowedPaths: [allowedRoot],
          idMapping: hostUser,
          rootDiskPool: pool
        })
      ),
      () => Effect.ignore(client.deleteProject(project, { force: true }))
    )
  }))
  return {
    project,
    layer: lifecycle.pipe(
      Layer.provideMerge(IncusContainerRuntime.layer({ project })),
      Layer.provideMerge(IncusClient.layer({ socketPath }))
    )
  }
}

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
        const error = yield* Effect.flip(client.createInstance(clustered.project, {
          name,
          type: "container",
          source: { type: "image", alias: image },
          profiles: ["default"],
          config: {},
          devices: {},
          start: false
        }, { target: forged }))
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
        const raw = yield* Effect.flip(client.createInstance(standalone.project, {
          name,
          type: "container",
          source: { type: "image", alias: image },
          profiles: ["default"],
          config: {},
          devices: {},
          start: false
        }, { target: member }))
        assert.include(raw.message, "Target only allowed when clustered")
        assert.isFalse((yield* client.listInstances(standalone.project)).some((i) => i.name === name))
        const plain = uid("plain")
        yield* Effect.acquireRelease(runtime.create(spec(plain)), () => Effect.ignore(runtime.remove(plain)))
        assert.isTrue(Option.isNone((yield* runtime.get(plain)).location))
      }).pipe(Effect.scoped),
    timeout
  )
})
