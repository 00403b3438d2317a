/**
 * Clusters (issue 19) with the memory runtime: `new --target` refused
 * before anything is made (no cluster, an unknown member, a member that is
 * down, a name that is not a member name), placed where asked otherwise; the
 * member in `new`'s output, `list` (a MEMBER column and `location` in
 * --json) and `status`; on one machine list and status print what they
 * always did.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { ClusterMember, ContainerRuntime } from "@repoman/core/ContainerRuntime"
import * as RuntimeMemory from "@repoman/core/ContainerRuntimeMemory"
import { MemberName, ProjectName } from "@repoman/core/Ids"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { documentFrom, runCli } from "./harness.ts"

const document = documentFrom({ schema: 3, defaults: { profiles: ["default"], default_image: "img" } })

const member = (name: string, status = "Online", message = "Fully operational", thisHost = false) =>
  new ClusterMember({ name: MemberName.make(name), status, message, thisHost })

/** member1 is this machine; member2 and member3 are others, member3 down. */
const cluster = [
  member("member1", "Online", "Fully operational", true),
  member("member2"),
  member("member3", "Offline", "No heartbeat")
]

/** A home with the repo `isurus`, and a memory engine (a cluster when `members` is given). */
const world = (members?: ReadonlyArray<ClusterMember>) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const home = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-cluster-" })
    yield* fs.makeDirectory(`${home}/repos/isurus`, { recursive: true })
    const runtime = yield* RuntimeMemory.make({
      namespace: "repoman",
      ...(members === undefined ? {} : { cluster: members })
    })
    const layer = Layer.succeed(ContainerRuntime, runtime)
    /** `repoman ARGS` against this engine and home, with the registry `registry` (default: no project). */
    const run = (args: ReadonlyArray<string>, registry = document) =>
      runCli(args, { memory: { document: registry }, runtime: layer, home })
    return { fs, home, runtime, run }
  })

/** Nothing of `new`: no container, no git repo initialized in the repo, no agent state. */
const assertNothingMade = (w: Effect.Success<ReturnType<typeof world>>) =>
  Effect.gen(function*() {
    assert.deepStrictEqual(yield* w.runtime.list(), [])
    assert.isFalse(yield* w.fs.exists(`${w.home}/repos/isurus/.git`))
    assert.isFalse(yield* w.fs.exists(`${w.home}/.local/state/repoman/projects/isurus`))
  })

const json = Schema.decodeUnknownSync(Schema.fromJsonString(Schema.Unknown))

describe("new --target", () => {
  it.effect("puts the container on the member asked for, and says so", () =>
    Effect.gen(function*() {
      const w = yield* world(cluster)
      const out = yield* w.run(["new", "isurus", "--target", "member1"])
      assert.strictEqual(out.code, 0, out.stderr.join("\n"))
      assert.include(out.stdout[0], "on member member1")
      const got = yield* w.runtime.get(ProjectName.make("isurus"))
      assert.deepStrictEqual(got.location, Option.some(MemberName.make("member1")))
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("another machine cannot mount the repo (a directory of this one): a usage error, nothing made", () =>
    Effect.gen(function*() {
      const w = yield* world(cluster)
      const out = yield* w.run(["new", "isurus", "--target", "member2"])
      assert.strictEqual(out.code, 2)
      assert.deepStrictEqual(out.stderr, [
        "repoman: cannot place the container on member2: it is another machine, and the repo is a directory of " +
        "this one (member1); leave out --target"
      ])
      yield* assertNothingMade(w)
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("without --target the container goes to this machine's member, wherever the scheduler would put it", () =>
    Effect.gen(function*() {
      // This machine is the second member: the engine's own choice (the first one up) is not taken.
      const w = yield* world([member("member1"), member("member2", "Online", "Fully operational", true)])
      const out = yield* w.run(["new", "isurus"])
      assert.strictEqual(out.code, 0, out.stderr.join("\n"))
      assert.include(out.stdout[0], "on member member2")
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("without --target the engine chooses, and new says where", () =>
    Effect.gen(function*() {
      const w = yield* world(cluster)
      const out = yield* w.run(["new", "isurus"])
      assert.strictEqual(out.code, 0, out.stderr.join("\n"))
      assert.include(out.stdout[0], "on member member1")
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("an unknown member is a usage error naming the members; nothing is made", () =>
    Effect.gen(function*() {
      const w = yield* world(cluster)
      const out = yield* w.run(["new", "isurus", "--target", "member9"])
      assert.strictEqual(out.code, 2)
      assert.deepStrictEqual(out.stdout, [])
      assert.deepStrictEqual(out.stderr, [
        "repoman: cannot place the container on member9: no cluster member has that name " +
        "(members: member1 (Online), member2 (Online), member3 (Offline))"
      ])
      yield* assertNothingMade(w)
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("a member that cannot take containers now (evacuated) is refused (exit 1), nothing made", () =>
    Effect.gen(function*() {
      const w = yield* world([
        member("member1", "Evacuated", "Unavailable due to maintenance", true),
        member("member2")
      ])
      const out = yield* w.run(["new", "isurus", "--target", "member1"])
      assert.strictEqual(out.code, 1)
      assert.include(out.stderr.join("\n"), "member1: the member is Evacuated (Unavailable due to maintenance)")
      yield* assertNothingMade(w)
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("on one machine a target is a usage error, nothing made", () =>
    Effect.gen(function*() {
      const w = yield* world()
      const out = yield* w.run(["new", "isurus", "--target", "member1"])
      assert.strictEqual(out.code, 2)
      assert.deepStrictEqual(out.stderr, [
        "repoman: cannot place the container on member1: the Incus server is not a cluster (leave out --target)"
      ])
      yield* assertNothingMade(w)
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("a name that is no member name (a group, a query trick, control characters) is a usage error", () =>
    Effect.gen(function*() {
      const w = yield* world(cluster)
      for (const target of ["@default", "member1&project=default", "member1\u001b[2J", "../member1", ""]) {
        const out = yield* w.run(["new", "isurus", "--target", target])
        // (The CLI's own flag errors quote the value as given: escaping them is the CLI's, for every flag.)
        assert.strictEqual(out.code, 2, JSON.stringify(target))
      }
      yield* assertNothingMade(w)
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))
})

describe("list and status on a cluster", () => {
  const registered = documentFrom({
    schema: 3,
    defaults: { profiles: ["default"], default_image: "img" },
    project: [
      { name: "isurus", repo: "isurus", image: "img", profiles: ["default"], created: "2026-04-28T15:00:00Z" },
      { name: "lamna", repo: "lamna", image: "img", profiles: ["default"], created: "2026-04-29T09:00:00Z" }
    ]
  })

  it.effect("list has a MEMBER column and --json a location; a missing container has none", () =>
    Effect.gen(function*() {
      const w = yield* world(cluster)
      const made = yield* w.run(["new", "isurus", "--target", "member1"])
      assert.strictEqual(made.code, 0, made.stderr.join("\n"))
      const table = yield* w.run(["list"], registered)
      assert.strictEqual(table.code, 0, table.stderr.join("\n"))
      assert.match(table.stdout[0] ?? "", /^NAME\s+STATE\s+MEMBER\s+REPO\s+IMAGE/)
      assert.match(table.stdout[1] ?? "", /^isurus\s+Running\s+member1\s+\//)
      assert.match(table.stdout[2] ?? "", /^lamna\s+Missing\s+-\s+\//)
      const listed = yield* w.run(["list", "--json"], registered)
      const rows = json(listed.stdout.join("\n")) as ReadonlyArray<{ name: string; location: string | null }>
      assert.deepStrictEqual(rows.map((r) => [r.name, r.location]), [["isurus", "member1"], ["lamna", null]])
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("status names the member (text and --json)", () =>
    Effect.gen(function*() {
      const w = yield* world(cluster)
      const made = yield* w.run(["new", "isurus", "--target", "member1"])
      assert.strictEqual(made.code, 0, made.stderr.join("\n"))
      const text = yield* w.run(["status", "isurus"], registered)
      assert.match(text.stdout[0] ?? "", /^isurus {2}Running {2}\(Incus project repoman, on member member1, uid mode/)
      const report = yield* w.run(["status", "isurus", "--json"], registered)
      const [status] = json(report.stdout.join("\n")) as ReadonlyArray<{ location: string | null }>
      assert.strictEqual(status?.location, "member1")
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("on one machine: no MEMBER column, no member in status, location null", () =>
    Effect.gen(function*() {
      const w = yield* world()
      const made = yield* w.run(["new", "isurus"])
      assert.strictEqual(made.code, 0, made.stderr.join("\n"))
      assert.notInclude(made.stdout[0], "member")
      const table = yield* w.run(["list"], registered)
      assert.match(table.stdout[0] ?? "", /^NAME\s+STATE\s+REPO\s+IMAGE/)
      const text = yield* w.run(["status", "isurus"], registered)
      assert.match(text.stdout[0] ?? "", /^isurus {2}Running {2}\(Incus project repoman, uid mode/)
      const report = yield* w.run(["status", "isurus", "--json"], registered)
      const [status] = json(report.stdout.join("\n")) as ReadonlyArray<{ location: string | null }>
      assert.isNull(status?.location)
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))
})
