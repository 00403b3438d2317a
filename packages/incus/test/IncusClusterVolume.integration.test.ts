/**
 * A repo volume and its container stay on the same cluster member
 * (REPOMAN_INTEGRATION=1), against the cluster daemon of scripts/ci/cluster.sh
 * as a remote engine sees it (`local: false`: the repo is a volume).
 *
 * CI's cluster has one member; with a second (`scripts/ci/cluster.sh --join
 * member2`) the same test also proves that a volume kept on one member
 * refuses a new instance of its name on another (checked that way by hand).
 */
import { assert, layer } from "@effect/vitest"
import { ContainerRuntime, InstanceSpec, NamespaceSpec, Volume } from "@repoman/core/ContainerRuntime"
import { ImageRef, MemberName, ProfileName, ProjectName } from "@repoman/core/Ids"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { randomBytes } from "node:crypto"
import * as IncusClient from "../src/IncusClient.ts"
import * as IncusContainerRuntime from "../src/IncusContainerRuntime.ts"

const socketPath = process.env["REPOMAN_CI_CLUSTER_SOCKET"] ?? ""
const image = process.env["REPOMAN_CI_BUSYBOX_ALIAS"] ?? "repoman-busybox"
const project = `cluster-vol-${randomBytes(3).toString("hex")}`
const lifecycle = Layer.effectDiscard(Effect.gen(function*() {
  const runtime = yield* ContainerRuntime
  const client = yield* IncusClient.IncusClient
  yield* Effect.acquireRelease(
    runtime.ensureNamespace(
      new NamespaceSpec({
        name: project,
        description: "repoman volume placement test",
        allowedPaths: [],
        idMapping: { _tag: "Shift" },
        rootDiskPool: "default"
      })
    ),
    () => Effect.ignore(client.deleteProject(project, { force: true }))
  )
}))
const live = lifecycle.pipe(
  Layer.provideMerge(IncusContainerRuntime.layer({ project })),
  Layer.provideMerge(IncusClient.layer({ socketPath, local: false }))
)
const spec = (name: ProjectName, target?: MemberName) =>
  new InstanceSpec({
    name,
    image: ImageRef.make(image),
    profiles: [ProfileName.make("default")],
    repo: new Volume({ path: "/home/dev/repo" }),
    ...(target === undefined ? {} : { target })
  })

layer(live, { excludeTestServices: true, timeout: 300_000 })("repo volumes on a cluster", (it) => {
  it.effect("untargeted: every instance runs where its volume landed; targeted: both on the target", () =>
    Effect.gen(function*() {
      const runtime = yield* ContainerRuntime
      const client = yield* IncusClient.IncusClient
      const members = Option.getOrElse(yield* runtime.clusterMembers(), () => [])
      assert.isAtLeast(members.length, 1, "needs the cluster daemon of scripts/ci/cluster.sh")
      const check = (name: ProjectName) =>
        Effect.gen(function*() {
          const instance = (yield* client.getInstance(project, name)).value
          const volume = (yield* client.getStorageVolume(project, "default", name)).value
          assert.strictEqual(instance.status, "Running")
          assert.strictEqual(instance.location, volume.location)
          return instance.location
        })
      for (let i = 0; i < 2; i++) {
        const name = ProjectName.make(`u${i}-${randomBytes(2).toString("hex")}`)
        yield* runtime.create(spec(name))
        const at = yield* check(name)
        assert.isTrue(members.some((m) => m.name === at), `${name} runs on ${at}, which is no member`)
      }
      for (const m of members) {
        const name = ProjectName.make(`t-${m.name}-${randomBytes(2).toString("hex")}`)
        const made = yield* runtime.create(spec(name, m.name))
        assert.deepStrictEqual(made.location, Option.some(m.name))
        assert.strictEqual(yield* check(name), m.name)
        // The volume stays when the instance goes; a new instance of that name on another member is refused.
        yield* runtime.remove(name)
        const other = members.find((o) => o.name !== m.name)
        if (other !== undefined) {
          const error = yield* Effect.flip(runtime.create(spec(name, other.name)))
          assert.strictEqual(error.reason._tag, "Conflict", error.message)
          assert.include(error.message, `on cluster member ${m.name}`)
        }
      }
    }))
})
