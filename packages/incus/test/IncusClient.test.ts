import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as IncusClient from "../src/IncusClient.ts"
import type { IncusError } from "../src/IncusError.ts"
import {
  error,
  failedOp,
  type FakeIncus,
  fakeIncus,
  type FakeReply,
  type FakeRequest,
  instance,
  operation,
  type Route,
  staleSocket,
  started,
  succeeded,
  sync
} from "./fakeIncus.ts"

const getServer = Effect.gen(function*() {
  const client = yield* IncusClient.IncusClient
  return yield* client.getServer()
})

/** Runs `body` against a fake incusd answering with `route`, through the live client layer. */
const withFake = <A, E>(
  route: Route,
  body: (client: IncusClient.IncusClientShape, fake: FakeIncus) => Effect.Effect<A, E>
) =>
  Effect.scoped(Effect.gen(function*() {
    const fake = yield* fakeIncus(route)
    return yield* Effect.gen(function*() {
      return yield* body(yield* IncusClient.IncusClient, fake)
    }).pipe(Effect.provide(IncusClient.layer({ socketPath: fake.socketPath })))
  }))

/** The reason tag of a failed call. */
const reasonOf = <A>(effect: Effect.Effect<A, IncusError>) =>
  Effect.match(effect, { onFailure: (e) => e.reason._tag, onSuccess: () => "Success" })

const route = (table: Readonly<Record<string, (req: FakeRequest) => FakeReply>>): Route => (req) =>
  table[`${req.method} ${req.path}`]?.(req)

describe("IncusClient: envelope", () => {
  it.live("decodes a sync answer, ignores unknown fields, returns the ETag", () =>
    withFake(
      route({
        "GET /1.0/projects/p": () =>
          sync({ name: "p", description: "d", config: { a: "1" }, used_by: null, brand_new: 1 }, 200, {
            Etag: "\"abc\""
          })
      }),
      (client) =>
        Effect.gen(function*() {
          const { etag, value } = yield* client.getProject("p")
          assert.strictEqual(value.name, "p")
          assert.deepStrictEqual(value.config, { a: "1" })
          assert.deepStrictEqual(value.used_by, [])
          assert.strictEqual(etag, "\"abc\"")
        })
    ))

  it.live("passes ?project= and recursion, and decodes lists", () =>
    withFake(
      route({ "GET /1.0/instances": (req) => sync(req.query.get("project") === "p" ? [instance("a")] : []) }),
      (client, fake) =>
        Effect.gen(function*() {
          const list = yield* client.listInstances("p")
          assert.deepStrictEqual(list.map((i) => i.name), ["a"])
          const [req] = yield* fake.requests
          assert.strictEqual(req?.query.get("recursion"), "1")
        })
    ))

  it.live("maps error envelopes by status first, by the known texts only for 400 and 500", () =>
    withFake(
      route({
        "GET /1.0/instances/gone": () =>
          error(404, "Failed to fetch instance \"gone\" in project \"p\": Instance not found"),
        "POST /1.0/profiles": () => error(500, "Error inserting \"x\" into database: The profile already exists"),
        "DELETE /1.0/profiles/used": () => error(500, "Profile is currently in use"),
        "DELETE /1.0/profiles/default": () => error(403, "The \"default\" profile cannot be deleted"),
        "PUT /1.0/profiles/bad": () =>
          error(
            500,
            "Failed checking if profile update allowed: Invalid device \"e\" on container \"c\" of project \"p\": Disk source path \"/etc\" not allowed"
          ),
        "GET /1.0/profiles/weird": () => error(500, "Something odd")
      }),
      (client) =>
        Effect.gen(function*() {
          assert.strictEqual(yield* reasonOf(client.getInstance("p", "gone")), "NotFound")
          assert.strictEqual(
            yield* reasonOf(client.createProfile("p", { name: "x", description: "", config: {}, devices: {} })),
            "AlreadyExists"
          )
          assert.strictEqual(yield* reasonOf(client.deleteProfile("p", "used")), "Conflict")
          assert.strictEqual(yield* reasonOf(client.deleteProfile("p", "default")), "Forbidden")
          assert.strictEqual(
            yield* reasonOf(client.updateProfile("p", "bad", { description: "", config: {}, devices: {} })),
            "Forbidden"
          )
          assert.strictEqual(yield* reasonOf(client.getProfile("p", "weird")), "OperationFailed")
        })
    ))

  it.live("a body that is not an Incus envelope is OperationFailed", () =>
    withFake(
      () => ({ status: 200, body: "<html>proxy</html>", raw: true }),
      (client) =>
        Effect.gen(function*() {
          const e = yield* Effect.flip(client.getServer())
          assert.strictEqual(e.reason._tag, "OperationFailed")
          assert.match(e.message, /unexpected response/)
        })
    ))

  it.live("a sync answer that does not match the resource schema is OperationFailed", () =>
    withFake(route({ "GET /1.0/storage-pools/x": () => sync({ name: "x" }) }), (client) =>
      Effect.gen(function*() {
        assert.strictEqual(yield* reasonOf(client.getStoragePool("x")), "OperationFailed")
      })))
})

describe("IncusClient: operations", () => {
  it.live("waits for an async answer at once and returns the finished operation", () =>
    withFake(
      route({
        "PUT /1.0/instances/c/state": () => started("op-1"),
        "GET /1.0/operations/op-1/wait": () => succeeded("op-1")
      }),
      (client, fake) =>
        Effect.gen(function*() {
          const op = yield* client.updateInstanceState("p", "c", { action: "start" })
          assert.strictEqual(op.status, "Success")
          const requests = yield* fake.requests
          assert.deepStrictEqual(requests.map((r) => `${r.method} ${r.path}`), [
            "PUT /1.0/instances/c/state",
            "GET /1.0/operations/op-1/wait"
          ])
          assert.ok(Number(requests[1]?.query.get("timeout")) > 0)
        })
    ))

  it.live("an error body in an HTTP 200 /wait answer fails, classified, with the operation id", () =>
    withFake(
      route({
        "POST /1.0/instances": () => started("op-2"),
        "GET /1.0/operations/op-2/wait": () =>
          failedOp(
            "Failed creating instance record: Add instance info to the database: Failed to create \"instances\" entry: UNIQUE constraint failed: instances.project_id, instances.name",
            500
          ),
        "PUT /1.0/instances/c/state": () => started("op-3"),
        "GET /1.0/operations/op-3/wait": () => failedOp("The instance is already running")
      }),
      (client) =>
        Effect.gen(function*() {
          const dup = yield* Effect.flip(client.createInstance("p", {
            name: "c",
            type: "container",
            source: { type: "image", alias: "x" },
            profiles: [],
            config: {},
            devices: {}
          }))
          assert.strictEqual(dup.reason._tag, "AlreadyExists")
          assert.strictEqual(dup.reason._tag !== "Unavailable" ? dup.reason.operation : "", "op-2")
          const running = yield* Effect.flip(client.updateInstanceState("p", "c", { action: "start" }))
          assert.strictEqual(running.reason._tag, "Conflict")
        })
    ))

  it.live("a wait that runs out is OperationFailed; a Failure status in a sync body fails too", () =>
    withFake(
      route({
        "DELETE /1.0/instances/slow": () => started("op-4"),
        "GET /1.0/operations/op-4/wait": () => failedOp("context deadline exceeded", 500),
        "DELETE /1.0/instances/odd": () => started("op-5"),
        "GET /1.0/operations/op-5/wait": () => sync(operation("op-5", "Failure", 400, null, "Instance is running"))
      }),
      (client) =>
        Effect.gen(function*() {
          const slow = yield* Effect.flip(client.deleteInstance("p", "slow"))
          assert.strictEqual(slow.reason._tag, "OperationFailed")
          assert.match(slow.message, /still running/)
          assert.strictEqual(yield* reasonOf(client.deleteInstance("p", "odd")), "Conflict")
        })
    ))
})

describe("IncusClient: create, exec, project config", () => {
  it.live("create requests send the body as given: the client adds nothing (what repoman writes is up to the runtime)", () =>
    withFake(
      route({
        "POST /1.0/projects": () => sync(null, 201),
        "POST /1.0/profiles": () => sync(null, 201),
        "POST /1.0/instances": () => started("op-c"),
        "GET /1.0/operations/op-c/wait": () => succeeded("op-c"),
        "POST /1.0/storage-pools": () => sync(null)
      }),
      (client, fake) =>
        Effect.gen(function*() {
          yield* client.createProject({ name: "p", description: "", config: { restricted: "true" } })
          yield* client.createProfile("p", { name: "x", description: "", config: {}, devices: {} })
          yield* client.createInstance("p", {
            name: "c",
            type: "container",
            source: { type: "image", alias: "x" },
            profiles: [],
            config: { "user.repoman.repo": "/r" },
            devices: {},
            start: true
          })
          yield* client.createStoragePool({ name: "s", driver: "dir", description: "", config: {} })
          const posts = (yield* fake.requests).filter((r) => r.method === "POST")
          assert.strictEqual(posts.length, 4)
          assert.deepStrictEqual(posts.map((post) => (post.body as { config: Record<string, string> }).config), [
            { restricted: "true" },
            {},
            { "user.repoman.repo": "/r" },
            {}
          ])
          const project = posts[0]?.body as { readonly config?: Record<string, string> } | undefined
          assert.strictEqual(project?.config?.["restricted"], "true")
        })
    ))

  it.live("a create on a cluster member sends ?target= (one encoded parameter), and lists the members", () =>
    withFake(
      route({
        "POST /1.0/instances": () => started("op-t"),
        "GET /1.0/operations/op-t/wait": () => succeeded("op-t"),
        "GET /1.0/cluster/members": () =>
          sync([{
            server_name: "member1",
            url: "https://127.0.0.1:8444",
            status: "Online",
            message: "Fully operational"
          }])
      }),
      (client, fake) =>
        Effect.gen(function*() {
          const body = {
            name: "c",
            type: "container" as const,
            source: { type: "image", alias: "x" },
            profiles: [],
            config: {},
            devices: {}
          }
          yield* client.createInstance("p", body, { target: "member1" })
          yield* client.createInstance("p", body, { target: "m&project=default" })
          yield* client.createInstance("p", body)
          const posts = (yield* fake.requests).filter((r) => r.method === "POST")
          assert.deepStrictEqual(posts.map((r) => [r.query.get("project"), r.query.get("target")]), [
            ["p", "member1"],
            ["p", "m&project=default"],
            ["p", null]
          ])
          const members = yield* client.listClusterMembers()
          assert.deepStrictEqual(members.map((m) => [m.server_name, m.status]), [["member1", "Online"]])
          const list = (yield* fake.requests).find((r) => r.path === "/1.0/cluster/members")
          assert.strictEqual(list?.query.get("recursion"), "1")
        })
    ))

  it.live("exec records output, reads both logs with ?project=, then deletes them", () => {
    const deleted: Array<string> = []
    const log = "/1.0/instances/c/logs/exec-output/exec_op-x"
    return withFake(
      (req) => {
        if (req.method === "POST" && req.path === "/1.0/instances/c/exec") return started("op-x")
        if (req.path === "/1.0/operations/op-x/wait") {
          return succeeded("op-x", { return: 3, output: { "1": `${log}.stdout`, "2": `${log}.stderr` } })
        }
        if (req.path.startsWith(log)) {
          // Like Incus: without ?project= the log of a non-default project is not found.
          if (req.query.get("project") !== "p") return error(404, "not found")
          if (req.method === "DELETE") {
            deleted.push(req.path)
            return sync({})
          }
          return { status: 200, raw: true, body: req.path.endsWith(".stdout") ? "out\n" : "err\n" }
        }
        return undefined
      },
      (client, fake) =>
        Effect.gen(function*() {
          const out = yield* client.execInstance("p", "c", {
            command: ["sh", "-c", "echo out; echo err >&2; exit 3"],
            environment: { A: "b" },
            user: 1000,
            group: 1000,
            cwd: "/tmp"
          })
          assert.deepStrictEqual(out, { exitCode: 3, stdout: "out\n", stderr: "err\n" })
          assert.deepStrictEqual(deleted.sort(), [`${log}.stderr`, `${log}.stdout`])
          const post = (yield* fake.requests)[0]
          assert.deepStrictEqual(post?.body, {
            command: ["sh", "-c", "echo out; echo err >&2; exit 3"],
            environment: { A: "b" },
            user: 1000,
            group: 1000,
            cwd: "/tmp",
            "wait-for-websocket": false,
            "record-output": true,
            interactive: false
          })
        })
    )
  })

  it.live("a command that cannot be started is Invalid (never a missing object), and its logs are deleted anyway", () => {
    const deleted: Array<string> = []
    return withFake(
      (req) => {
        if (req.method === "POST") return started("op-nf")
        if (req.path === "/1.0/operations/op-nf/wait") return failedOp("Command not found")
        if (req.method === "DELETE") {
          deleted.push(`${req.path}?project=${req.query.get("project")}`)
          return sync({})
        }
        return undefined
      },
      (client) =>
        Effect.gen(function*() {
          const e = yield* Effect.flip(client.execInstance("p", "c", { command: ["nope"] }))
          assert.deepInclude(e.reason, {
            _tag: "Invalid",
            status: 400,
            detail: "Command not found",
            operation: "op-nf"
          })
          assert.deepStrictEqual(deleted.sort(), [
            "/1.0/instances/c/logs/exec-output/exec_op-nf.stderr?project=p",
            "/1.0/instances/c/logs/exec-output/exec_op-nf.stdout?project=p"
          ])
        })
    )
  })

  it.live("modifyProject: GET, change, PUT with If-Match; starts over on 412; never PATCH", () => {
    let version = 0
    let config: Record<string, string> = { "features.images": "false", "restricted": "true" }
    return withFake(
      (req) => {
        if (req.path !== "/1.0/projects/p") return undefined
        if (req.method === "GET") {
          return sync({ name: "p", description: "d", config, used_by: [] }, 200, { Etag: `"v${version}"` })
        }
        if (req.method === "PUT") {
          if (version === 0) {
            // Someone else changes the project between our GET and PUT.
            version = 1
            config = { ...config, "user.other": "x" }
          }
          if (req.headers["if-match"] !== `"v${version}"`) {
            return error(412, `ETag doesn't match: v${version} vs ${req.headers["if-match"]}`)
          }
          config = (req.body as { config: Record<string, string> }).config
          version++
          return sync({})
        }
        return error(400, `unexpected ${req.method}`)
      },
      (client, fake) =>
        Effect.gen(function*() {
          const updated = yield* client.modifyProject("p", (current) => ({
            description: current.description,
            config: { ...current.config, "restricted.idmap.uid": "1000" }
          }))
          assert.deepStrictEqual(updated.config, {
            "features.images": "false",
            "restricted": "true",
            "user.other": "x",
            "restricted.idmap.uid": "1000"
          })
          const methods = (yield* fake.requests).map((r) => r.method)
          assert.deepStrictEqual(methods, ["GET", "PUT", "GET", "PUT", "GET"])
        })
    )
  })
})

describe("IncusClient: instance files", () => {
  it.live("HEAD decodes type, owner and octal mode from the headers; 404 is None; a bad header fails", () =>
    withFake(
      (req) => {
        if (req.method !== "HEAD" || req.path !== "/1.0/instances/c1/files") return undefined
        const type = { "/home/ada": "directory", "/odd": "fifo" }[req.query.get("path") ?? ""]
        if (type === undefined) return undefined
        return sync(null, 200, {
          "X-Incus-Type": type,
          "X-Incus-Uid": "1000",
          "X-Incus-Gid": "100",
          "X-Incus-Mode": "0750"
        })
      },
      (client) =>
        Effect.gen(function*() {
          const found = yield* client.statInstanceFile("p", "c1", "/home/ada")
          assert.deepStrictEqual(found._tag === "Some" ? { ...found.value } : undefined, {
            "x-incus-type": "directory",
            "x-incus-uid": 1000,
            "x-incus-gid": 100,
            "x-incus-mode": 0o750
          })
          assert.strictEqual((yield* client.statInstanceFile("p", "c1", "/nope"))._tag, "None")
          assert.strictEqual(yield* reasonOf(client.statInstanceFile("p", "c1", "/odd")), "OperationFailed")
        })
    ))

  it.live("POST makes a directory with the owner and mode as headers", () =>
    withFake(
      route({ "POST /1.0/instances/c1/files": () => sync({}) }),
      (client, fake) =>
        Effect.gen(function*() {
          yield* client.createInstanceDirectory("p", "c1", "/home/ada", { uid: 1000, gid: 1000, mode: 0o755 })
          const [req] = yield* fake.requests
          assert.strictEqual(req?.query.get("path"), "/home/ada")
          assert.strictEqual(req?.query.get("project"), "p")
          assert.deepStrictEqual(
            [
              req?.headers["x-incus-type"],
              req?.headers["x-incus-uid"],
              req?.headers["x-incus-gid"],
              req?.headers["x-incus-mode"]
            ],
            ["directory", "1000", "1000", "0755"]
          )
        })
    ))
})

describe("IncusClient: daemon unavailable", () => {
  it.live("a missing socket is Unavailable/ENOENT, with a hint naming the socket", () =>
    Effect.gen(function*() {
      const fsys = yield* FileSystem.FileSystem
      const dir = yield* fsys.makeTempDirectoryScoped({ prefix: "repoman-incus-" })
      const socketPath = `${dir}/missing.socket`
      const e = yield* Effect.flip(
        getServer.pipe(Effect.provide(IncusClient.layer({ socketPath })))
      )
      assert.strictEqual(e.reason._tag, "Unavailable")
      if (e.reason._tag !== "Unavailable") return
      assert.strictEqual(e.reason.code, "ENOENT")
      assert.include(e.message, socketPath)
      assert.match(e.reason.hint, /start incusd/)
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

  it.live("a stale socket (no listener) is Unavailable/ECONNREFUSED", () =>
    Effect.gen(function*() {
      const fsys = yield* FileSystem.FileSystem
      const dir = yield* fsys.makeTempDirectoryScoped({ prefix: "repoman-incus-" })
      const socketPath = yield* staleSocket(dir)
      const e = yield* Effect.flip(
        getServer.pipe(Effect.provide(IncusClient.layer({ socketPath })))
      )
      assert.strictEqual(e.reason._tag, "Unavailable")
      if (e.reason._tag !== "Unavailable") return
      assert.strictEqual(e.reason.code, "ECONNREFUSED")
      assert.match(e.reason.hint, /not running/)
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))
})
