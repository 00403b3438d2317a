/**
 * Clusters (issue 19) through the real `repoman`, as the non-root test user:
 * against the second incusd scripts/ci/cluster.sh started (a single-member
 * cluster, REPOMAN_CI_CLUSTER_SOCKET / REPOMAN_CI_CLUSTER_MEMBER), `new
 * --target MEMBER` puts the container there and `list --json` and `status`
 * say so; a member that does not exist is refused with nothing made; and
 * against the main (standalone) daemon a target is refused with nothing made.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import * as IncusClient from "@repoman/incus/IncusClient"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { busybox, IntegrationLayer, sandbox } from "./integration.ts"

/** What scripts/ci/cluster.sh recorded; the tests cannot run without it. */
const env = (name: string) => {
  const value = process.env[name]
  if (value === undefined || value === "") {
    throw new Error(`${name} is not set: run scripts/ci/cluster.sh (as root) to start the clustered incusd`)
  }
  return value
}
const clusterSocket = env("REPOMAN_CI_CLUSTER_SOCKET")
const member = env("REPOMAN_CI_CLUSTER_MEMBER")
const timeout = 300_000

/** The sandbox's project is made (and deleted) on the clustered daemon. */
const ClusterLayer = Layer.mergeAll(NodeServices.layer, IncusClient.layer({ socketPath: clusterSocket }))
const onCluster = { INCUS_SOCKET: clusterSocket }

const json = (text: string) =>
  Schema.decodeUnknownEffect(Schema.fromJsonString(Schema.Unknown))(text).pipe(Effect.orDie)

/** The repo dir, and what is in the repos root and the Incus project: `new` refused must leave both as they were. */
const untouched = (reposRoot: string, project: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const client = yield* IncusClient.IncusClient
    assert.deepStrictEqual(yield* client.listInstances(project), [])
    assert.deepStrictEqual(yield* fs.readDirectory(`${reposRoot}/isurus`), ["README"])
  })

describe("repoman on a cluster", () => {
  it.live("new --target MEMBER: the container runs on it, and list and status name it", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const client = yield* IncusClient.IncusClient
      const { project, reposRoot, repomanIn, setupArgs } = yield* sandbox
      const repoman = repomanIn(onCluster)
      yield* fs.makeDirectory(`${reposRoot}/isurus`)
      yield* fs.writeFileString(`${reposRoot}/isurus/README`, "hello\n")
      const s = yield* repoman(setupArgs)
      assert.strictEqual(s.code, 0, s.stderr)

      const n = yield* repoman(["new", "isurus", "--image", busybox, "--target", member, "--no-backup"])
      assert.strictEqual(n.code, 0, n.stderr)
      assert.include(n.stdout, `on member ${member}`)
      // Incus's record, not repoman's reading of it.
      const { value } = yield* client.getInstance(project, "isurus")
      assert.strictEqual(value.location, member)
      assert.strictEqual(value.status, "Running")

      const l = yield* repoman(["list", "--json"])
      assert.strictEqual(l.code, 0, l.stderr)
      const rows = (yield* json(l.stdout)) as ReadonlyArray<Record<string, unknown>>
      assert.deepStrictEqual(rows.map((r) => [r["name"], r["state"], r["location"]]), [["isurus", "Running", member]])
      const table = yield* repoman(["list"])
      assert.match(table.stdout.split("\n")[0] ?? "", /^NAME\s+STATE\s+MEMBER\s+REPO/)
      assert.match(table.stdout.split("\n")[1] ?? "", new RegExp(`^isurus\\s+Running\\s+${member}\\s+/`))

      const st = yield* repoman(["status", "isurus", "--json"])
      const [status = {}] = (yield* json(st.stdout)) as ReadonlyArray<Record<string, unknown>>
      assert.strictEqual(status["location"], member)
      assert.strictEqual(status["state"], "Running")
      // The repo is a host path: this machine is the member, so the mount is there.
      assert.strictEqual(status["mountPresent"], true)
      const text = yield* repoman(["status", "isurus"])
      assert.include(text.stdout.split("\n")[0], `(Incus project ${project}, on member ${member}, uid mode`)

      const r = yield* repoman(["remove", "isurus", "--yes"])
      assert.strictEqual(r.code, 0, r.stderr)
      assert.deepStrictEqual(yield* client.listInstances(project), [])
    }).pipe(Effect.scoped, Effect.provide(ClusterLayer)), timeout)

  it.live("a member that does not exist is refused, naming the members; nothing is made", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { project, reposRoot, repomanIn, setupArgs } = yield* sandbox
      const repoman = repomanIn(onCluster)
      yield* fs.makeDirectory(`${reposRoot}/isurus`)
      yield* fs.writeFileString(`${reposRoot}/isurus/README`, "hello\n")
      assert.strictEqual((yield* repoman(setupArgs)).code, 0)
      for (const target of ["member9", `${member}x`]) {
        const n = yield* repoman(["new", "isurus", "--image", busybox, "--target", target])
        assert.strictEqual(n.code, 2, n.stderr)
        assert.strictEqual(
          n.stderr.trim(),
          `repoman: cannot place the container on ${target}: no cluster member has that name (members: ${member} (Online))`
        )
      }
      // What could be taken for a group or a second query parameter never reaches Incus.
      for (const target of ["@default", `${member}&project=default`]) {
        const n = yield* repoman(["new", "isurus", "--image", busybox, "--target", target])
        assert.strictEqual(n.code, 2, n.stderr)
      }
      yield* untouched(reposRoot, project)
      const l = yield* repoman(["list", "--json"])
      assert.deepStrictEqual(yield* json(l.stdout), [])
    }).pipe(Effect.scoped, Effect.provide(ClusterLayer)), timeout)
})

describe("repoman on one machine", () => {
  it.live(
    "--target is refused with nothing made; list and status print what they always did",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const { project, reposRoot, repoman, setup } = yield* sandbox
        yield* fs.makeDirectory(`${reposRoot}/isurus`)
        yield* fs.writeFileString(`${reposRoot}/isurus/README`, "hello\n")
        assert.strictEqual((yield* setup).code, 0)
        const n = yield* repoman(["new", "isurus", "--image", busybox, "--target", member])
        assert.strictEqual(n.code, 2, n.stderr)
        assert.strictEqual(
          n.stderr.trim(),
          `repoman: cannot place the container on ${member}: the Incus server is not a cluster (leave out --target)`
        )
        yield* untouched(reposRoot, project)

        const made = yield* repoman(["new", "isurus", "--image", busybox, "--no-backup"])
        assert.strictEqual(made.code, 0, made.stderr)
        assert.notInclude(made.stdout, "on member")
        const table = yield* repoman(["list"])
        assert.match(table.stdout.split("\n")[0] ?? "", /^NAME\s+STATE\s+REPO\s+IMAGE/)
        const l = yield* repoman(["list", "--json"])
        const rows = (yield* json(l.stdout)) as ReadonlyArray<Record<string, unknown>>
        assert.deepStrictEqual(rows.map((r) => [r["name"], r["location"]]), [["isurus", null]])
        const text = yield* repoman(["status", "isurus"])
        assert.include(text.stdout.split("\n")[0], `(Incus project ${project}, uid mode`)
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    timeout
  )
})
