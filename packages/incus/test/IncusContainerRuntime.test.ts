import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { assert, describe, it } from "@effect/vitest"
import {
  ContainerRuntime,
  type ContainerRuntimeError,
  HostPath,
  InstanceSpec,
  NamespaceSpec,
  ProfileSpec
} from "@repoman/core/ContainerRuntime"
import { ImageRef, ProfileName, ProjectName } from "@repoman/core/Ids"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as IncusClient from "../src/IncusClient.ts"
import * as IncusContainerRuntime from "../src/IncusContainerRuntime.ts"
import { classify, IncusError, type IncusErrorReason, Unavailable } from "../src/IncusError.ts"
import { imageSource } from "../src/IncusInstanceConfig.ts"
import { managedConfig } from "../src/IncusLabels.ts"
import * as IncusProjectConfig from "../src/IncusProjectConfig.ts"
import { toRuntimeError } from "../src/internal/runtime/context.ts"
import {
  error,
  failedOp,
  type FakeIncus,
  fakeIncus,
  type FakeRequest,
  instance,
  type Route,
  started,
  succeeded,
  sync
} from "./fakeIncus.ts"

/** The host uid the runtime under test records as owner. */
const owner = 1500

/** `GET /1.0` as incusd answers a client on the admin socket (full access). */
const adminServer = sync({ api_version: "1.0", auth: "trusted", auth_user_name: "root", auth_user_method: "unix" })

/**
 * Runs `body` with the runtime for project `p` over a fake incusd, which
 * answers `GET /1.0` as for the admin socket unless `route` does (that
 * request is left out of `fake.requests`).
 */
const withRuntime = <A, E>(
  route: Route,
  body: (runtime: ContainerRuntime["Service"], fake: FakeIncus) => Effect.Effect<A, E>,
  options: Partial<IncusContainerRuntime.Options> = {}
) =>
  Effect.scoped(Effect.gen(function*() {
    const served = yield* fakeIncus((req) => route(req) ?? (req.path === "/1.0" ? adminServer : undefined))
    const fake: FakeIncus = {
      ...served,
      requests: Effect.map(served.requests, (rs) => rs.filter((r) => r.path !== "/1.0"))
    }
    return yield* Effect.gen(function*() {
      return yield* body(yield* ContainerRuntime, fake)
    }).pipe(
      Effect.provide(
        IncusContainerRuntime.layerNoDependencies({ project: "p", owner, ...options }).pipe(
          Layer.provide(Layer.mergeAll(IncusClient.layer({ socketPath: fake.socketPath }), NodeFileSystem.layer))
        )
      )
    )
  }))

const reasonOf = <A>(effect: Effect.Effect<A, ContainerRuntimeError>) =>
  Effect.match(effect, { onFailure: (e) => e.reason._tag, onSuccess: () => "Success" })

const calls = (requests: ReadonlyArray<FakeRequest>) => requests.map((r) => `${r.method} ${r.path}`)

const name = ProjectName.make("web")
const spec = new InstanceSpec({
  name,
  image: ImageRef.make("repoman-busybox"),
  profiles: [ProfileName.make("default")],
  repo: new HostPath({ source: "/srv/repos/web", path: "/srv/repos/web", readOnly: false }),
  labels: { repo: "/srv/repos/web" }
})

describe("imageSource", () => {
  it("local aliases, fingerprints and well-known remotes", () => {
    assert.deepStrictEqual(
      imageSource(ImageRef.make("repoman-busybox")),
      Option.some({ type: "image", alias: "repoman-busybox" })
    )
    assert.deepStrictEqual(
      imageSource(ImageRef.make("local:3fab2b70f4a0")),
      Option.some({ type: "image", fingerprint: "3fab2b70f4a0" })
    )
    assert.deepStrictEqual(
      imageSource(ImageRef.make("images:ubuntu/26.04/cloud")),
      Option.some({
        type: "image",
        mode: "pull",
        protocol: "simplestreams",
        server: "https://images.linuxcontainers.org",
        alias: "ubuntu/26.04/cloud"
      })
    )
    assert.isTrue(Option.isNone(imageSource(ImageRef.make("myremote:debian"))))
  })
})

describe("toRuntimeError", () => {
  const subject = { kind: "instance", name: "web", operation: "create", image: "img" } as const
  const notFound = (status: number, detail: string, operation?: string) =>
    toRuntimeError("p", subject)(
      new IncusError({ reason: classify("POST /1.0/instances?project=p", status, detail, operation) })
    ).reason

  it("names what is missing when Incus's answer does (a profile, the image), else the subject", () => {
    assert.deepInclude(notFound(500, "Requested profile \"nope\" doesn't exist"), { kind: "profile", name: "nope" })
    assert.deepInclude(notFound(500, "Image not provided for instance creation", "op"), { kind: "image", name: "img" })
    assert.deepInclude(
      notFound(404, "Failed to fetch instance \"imagebuilder\" in project \"p\": Instance not found"),
      { kind: "instance", name: "web" }
    )
  })

  it("keeps Incus's text for conflicts and restrictions, the subject, the cause, and the hint for an absent daemon", () => {
    const map = (reason: IncusErrorReason, stateful = false) =>
      toRuntimeError("p", { kind: "instance", name: "web", operation: "start", stateful })(new IncusError({ reason }))
    assert.deepInclude(map(classify("r", 500, "The instance is already running")).reason, {
      _tag: "Conflict",
      kind: "instance",
      name: "web",
      detail: "The instance is already running"
    })
    const forbidden = map(classify("r", 500, "Privileged containers are forbidden"))
    assert.deepInclude(forbidden.reason, { _tag: "Forbidden", kind: "instance", name: "web", namespace: "p" })
    assert.instanceOf(forbidden.cause, IncusError)
    // A 400 without a known text: a state conflict for state changes, else a failed operation.
    assert.strictEqual(map(classify("r", 400, "Odd state"), true).reason._tag, "Conflict")
    assert.deepInclude(map(classify("r", 400, "Invalid instance name")).reason, {
      _tag: "OperationFailed",
      operation: "start",
      detail: "Invalid instance name"
    })
    const down = map(new Unavailable({ socketPath: "/s", code: "EACCES", detail: "connect EACCES /s" }))
    assert.strictEqual(down.reason._tag, "Unavailable")
    assert.match(down.message, /incus-admin/)
  })
})

describe("IncusContainerRuntime.create", () => {
  it.live("is one GET (is the name free?) and one POST with start: true, carrying the spec as Incus config", () => {
    let postedYet = false
    return withRuntime(
      (req) => {
        const created = req.method === "GET" && req.path === "/1.0/instances/web"
        if (created && !postedYet) return error(404, "Instance not found")
        if (created) return sync(instance("web"))
        if (req.method === "POST" && req.path === "/1.0/instances") {
          postedYet = true
          return started("op-1")
        }
        if (req.path === "/1.0/operations/op-1/wait") return succeeded("op-1")
        return undefined
      },
      (runtime, fake) =>
        Effect.gen(function*() {
          const created = yield* runtime.create(spec)
          assert.strictEqual(created.status, "Running")
          assert.deepStrictEqual(created.repo, Option.some(spec.repo))
          assert.deepStrictEqual(created.labels, spec.labels)
          const requests = yield* fake.requests
          // The instance is what was asked for: it is not read back.
          assert.deepStrictEqual(calls(requests), [
            "GET /1.0/instances/web",
            "POST /1.0/instances",
            "GET /1.0/operations/op-1/wait"
          ])
          assert.strictEqual(requests[1]?.query.get("project"), "p")
          assert.deepStrictEqual(requests[1]?.body, {
            name: "web",
            type: "container",
            source: { type: "image", alias: "repoman-busybox" },
            profiles: ["default"],
            config: {
              "user.repoman.repo": "/srv/repos/web",
              "user.repoman.image": "repoman-busybox",
              "security.idmap.isolated": "true",
              ...managedConfig,
              "user.repoman.owner": "1500"
            },
            devices: { repo: { type: "disk", source: "/srv/repos/web", path: "/srv/repos/web" } },
            start: true
          })
        })
    )
  })

  it.live("an existing name is AlreadyExists, and nothing is posted or deleted", () =>
    withRuntime(
      (req) => req.method === "GET" && req.path === "/1.0/instances/web" ? sync(instance("web")) : undefined,
      (runtime, fake) =>
        Effect.gen(function*() {
          assert.strictEqual(yield* reasonOf(runtime.create(spec)), "AlreadyExists")
          assert.deepStrictEqual(calls(yield* fake.requests), ["GET /1.0/instances/web"])
        })
    ))

  it.live("made but not started: the instance is deleted again and the reason kept", () => {
    let exists = false
    return withRuntime(
      (req) => {
        if (req.path === "/1.0/instances/web" && req.method === "GET") {
          return exists ? sync(instance("web", "Stopped")) : error(404, "Instance not found")
        }
        if (req.method === "POST" && req.path === "/1.0/instances") {
          exists = true
          return started("op-2")
        }
        if (req.path === "/1.0/operations/op-2/wait") {
          return failedOp(
            "Failed to start device \"repo\": The \"shift\" property cannot be used with a restricted source path"
          )
        }
        if (req.method === "DELETE" && req.path === "/1.0/instances/web") {
          exists = false
          return started("op-3")
        }
        if (req.path === "/1.0/operations/op-3/wait") return succeeded("op-3")
        return undefined
      },
      (runtime, fake) =>
        Effect.gen(function*() {
          assert.strictEqual(yield* reasonOf(runtime.create(spec)), "Forbidden")
          assert.isFalse(exists)
          assert.include(calls(yield* fake.requests), "DELETE /1.0/instances/web")
        })
    )
  })

  it.live("refused at once (unknown profile): NotFound names the profile, nothing is deleted", () =>
    withRuntime(
      (req) => {
        if (req.method === "GET" && req.path === "/1.0/instances/web") return error(404, "Instance not found")
        if (req.method === "POST") return error(500, "Requested profile \"nope\" doesn't exist")
        return undefined
      },
      (runtime, fake) =>
        Effect.gen(function*() {
          const e = yield* Effect.flip(runtime.create(spec))
          assert.deepInclude(e.reason, { _tag: "NotFound", kind: "profile", name: "nope" })
          assert.notInclude(calls(yield* fake.requests), "DELETE /1.0/instances/web")
        })
    ))

  it.live("an image from an unknown remote is NotFound before any request", () =>
    withRuntime(() => undefined, (runtime, fake) =>
      Effect.gen(function*() {
        const e = yield* Effect.flip(runtime.create(new InstanceSpec({ ...spec, image: ImageRef.make("nowhere:x") })))
        assert.deepInclude(e.reason, { _tag: "NotFound", kind: "image", name: "nowhere:x" })
        assert.deepStrictEqual(yield* fake.requests, [])
      })))
})

describe("IncusContainerRuntime: state, exec, shell", () => {
  it.live("restart of a stopped instance is Conflict without asking Incus to restart", () =>
    withRuntime(
      (req) => req.method === "GET" ? sync(instance("web", "Stopped")) : undefined,
      (runtime, fake) =>
        Effect.gen(function*() {
          assert.strictEqual(yield* reasonOf(runtime.restart(name)), "Conflict")
          assert.deepStrictEqual(calls(yield* fake.requests), ["GET /1.0/instances/web"])
        })
    ))

  it.live("remove stops a running instance with force, then deletes it", () =>
    withRuntime(
      (req) => {
        if (req.method === "GET" && req.path === "/1.0/instances/web") return sync(instance("web"))
        if (req.method === "PUT") return started("op-s")
        if (req.method === "DELETE") return started("op-d")
        if (req.path.endsWith("/wait")) return succeeded("x")
        return undefined
      },
      (runtime, fake) =>
        Effect.gen(function*() {
          yield* runtime.remove(name)
          const requests = yield* fake.requests
          assert.deepStrictEqual(calls(requests), [
            "GET /1.0/instances/web",
            "PUT /1.0/instances/web/state",
            "GET /1.0/operations/op-s/wait",
            "DELETE /1.0/instances/web",
            "GET /1.0/operations/op-d/wait"
          ])
          assert.deepStrictEqual(requests[1]?.body, { action: "stop", force: true })
        })
    ))

  it.live("exec of a missing command gives exit code 127, like a shell", () =>
    withRuntime(
      (req) => {
        if (req.method === "POST") return started("op-e")
        if (req.path.endsWith("/wait")) return failedOp("Command not found")
        if (req.method === "DELETE") return sync({})
        return undefined
      },
      (runtime) =>
        Effect.gen(function*() {
          const result = yield* runtime.exec(name, ["nope"])
          assert.strictEqual(result.exitCode, 127)
          assert.match(result.stderr, /Command not found/)
        })
    ))

  it.live("exec in a stopped instance is Conflict; in a missing one NotFound (instance, or namespace)", () => {
    let projectExists = true
    return withRuntime(
      (req) =>
        req.path === "/1.0/instances/web/exec"
          ? error(400, "Instance is not running")
          : req.path === "/1.0/projects/p" && projectExists
          ? sync({ name: "p", description: "", config: {}, used_by: [] })
          : error(404, "Failed to fetch instance \"gone\" in project \"p\": Instance not found"),
      (runtime) =>
        Effect.gen(function*() {
          assert.strictEqual(yield* reasonOf(runtime.exec(name, ["true"])), "Conflict")
          const gone = ProjectName.make("gone")
          assert.deepInclude((yield* Effect.flip(runtime.exec(gone, ["true"]))).reason, {
            _tag: "NotFound",
            kind: "instance",
            name: "gone"
          })
          projectExists = false
          assert.deepInclude((yield* Effect.flip(runtime.exec(gone, ["true"]))).reason, {
            _tag: "NotFound",
            kind: "namespace",
            name: "p"
          })
        })
    )
  })

  it.live("attachCommand is incus exec on the local remote with a client config of its own, no banner", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-attach-" })
      const attach = yield* withRuntime(
        () => undefined,
        (runtime, fake) =>
          Effect.gen(function*() {
            const command = yield* runtime.attachCommand(name)
            assert.deepStrictEqual(yield* fake.requests, [])
            return { command, socket: fake.socketPath }
          }),
        { clientConfigDir: `${dir}/incus-client` }
      )
      assert.deepStrictEqual(attach.command, [
        "env",
        `INCUS_CONF=${dir}/incus-client`,
        `INCUS_SOCKET=${attach.socket}`,
        "incus",
        "exec",
        "local:web",
        "--project",
        "p",
        "--"
      ])
      // With a config.yml the client prints no first-run notice; the user's config is not read.
      assert.strictEqual(yield* fs.readFileString(`${dir}/incus-client/config.yml`), "default-remote: local\n")
      // A path that would need quoting in the ssh config is refused.
      const odd = yield* withRuntime(
        () => undefined,
        (runtime) => Effect.flip(runtime.attachCommand(name)),
        { clientConfigDir: `${dir}/with space` }
      )
      assert.strictEqual(odd.reason._tag, "OperationFailed")
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))
})

describe("IncusContainerRuntime over an Incus remote", () => {
  it.live("attachCommand is incus exec on that remote, with the incus client's config where its certificates are", () =>
    Effect.gen(function*() {
      const runtime = yield* IncusContainerRuntime.make({ project: "p", owner, clientConfigDir: "/unused" }).pipe(
        Effect.provideService(
          IncusClient.IncusClient,
          IncusClient.make({
            socketPath: "https://lab.example:8443",
            local: false,
            remote: { name: "lab", address: "https://lab.example:8443", configDir: "/home/ada/.config/incus" }
          })
        ),
        Effect.provide(NodeFileSystem.layer)
      )
      assert.deepStrictEqual(yield* runtime.attachCommand(name), [
        "env",
        "INCUS_CONF=/home/ada/.config/incus",
        "incus",
        "exec",
        "lab:web",
        "--project",
        "p",
        "--"
      ])
    }))
})

describe("IncusContainerRuntime: namespace and profiles", () => {
  it.live("ensureNamespace of an existing project: GET, PUT with If-Match of the restrictions; other keys kept; root disk added", () => {
    let config: Record<string, string> = {
      "features.images": "false",
      "features.storage.volumes": "true",
      "restricted.devices.disk.paths": "/old",
      "restricted.idmap.uid": "1",
      "user.keep": "yes",
      // Made by this user's repoman.
      ...managedConfig,
      "user.repoman.owner": "1500"
    }
    let description = "old"
    let devices: Record<string, Record<string, string>> = {}
    return withRuntime(
      (req) => {
        if (req.path === "/1.0/projects/repoman") {
          if (req.method === "GET") {
            return sync({ name: "repoman", description, config, used_by: [] }, 200, { Etag: "\"e1\"" })
          }
          if (req.method === "PUT" && req.headers["if-match"] === "\"e1\"") {
            ;({ config, description } = req.body as { config: Record<string, string>; description: string })
            return sync({})
          }
        }
        if (req.path === "/1.0/profiles/default" && req.query.get("project") === "repoman") {
          if (req.method === "GET") {
            return sync({ name: "default", description: "", config: {}, devices }, 200, { Etag: "\"e2\"" })
          }
          if (req.method === "PUT" && req.headers["if-match"] === "\"e2\"") {
            devices = (req.body as { devices: Record<string, Record<string, string>> }).devices
            return sync({})
          }
        }
        return req.method === "PUT" ? error(412, "ETag doesn't match") : undefined
      },
      (runtime, fake) =>
        Effect.gen(function*() {
          const ns = yield* runtime.ensureNamespace(
            new NamespaceSpec({
              name: "repoman",
              description: "repoman projects",
              allowedPaths: ["/srv/repos"],
              idMapping: { _tag: "HostUser", uid: 1500, gid: 1501 },
              rootDiskPool: "fast"
            })
          )
          assert.deepStrictEqual(config, {
            "features.images": "false",
            "features.profiles": "true",
            "features.storage.volumes": "true",
            "restricted": "true",
            "restricted.containers.privilege": "isolated",
            "restricted.containers.nesting": "block",
            "restricted.containers.lowlevel": "block",
            "restricted.devices.disk": "allow",
            "restricted.snapshots": "allow",
            "restricted.backups": "allow",
            "restricted.cluster.target": "allow",
            "restricted.devices.disk.paths": "/srv/repos",
            "restricted.idmap.uid": "1500",
            "restricted.idmap.gid": "1501",
            "user.keep": "yes",
            ...managedConfig,
            "user.repoman.owner": "1500"
          })
          assert.deepStrictEqual([ns.description, ns.allowedPaths, ns.idMapping, ns.managed], [
            "repoman projects",
            ["/srv/repos"],
            Option.some({ _tag: "HostUser", uid: 1500, gid: 1501 } as const),
            true
          ])
          assert.deepStrictEqual(devices, { root: { type: "disk", path: "/", pool: "fast" } })
          assert.notInclude((yield* fake.requests).map((r) => r.method), "PATCH")
          // Shift: the path and idmap restrictions go (Incus refuses shift on restricted paths).
          const shift = yield* runtime.ensureNamespace(
            new NamespaceSpec({
              name: "repoman",
              description: "repoman projects",
              allowedPaths: ["/srv/repos"],
              idMapping: { _tag: "Shift" },
              rootDiskPool: "fast"
            })
          )
          assert.deepStrictEqual([shift.allowedPaths, shift.idMapping], [[], Option.some({ _tag: "Shift" } as const)])
          for (const key of ["restricted.devices.disk.paths", "restricted.idmap.uid", "restricted.idmap.gid"]) {
            assert.notProperty(config, key)
          }
          assert.strictEqual(config["restricted"], "true")
        })
    )
  })

  it.live("ensureNamespace of a missing project creates it, managed and restricted, with a root disk", () => {
    let project: unknown = undefined
    let devices: unknown = {}
    return withRuntime(
      (req) => {
        if (req.path === "/1.0/projects/fresh" && req.method === "GET") {
          return project === undefined ? error(404, "Project not found") : sync(project)
        }
        if (req.path === "/1.0/projects" && req.method === "POST") {
          project = { ...(req.body as object), used_by: [] }
          return sync(null, 201)
        }
        if (req.path === "/1.0/profiles/default") {
          if (req.method === "GET") return sync({ name: "default", description: "", config: {}, devices: {} })
          devices = (req.body as { devices: unknown }).devices
          return sync({})
        }
        return undefined
      },
      (runtime) =>
        Effect.gen(function*() {
          const ns = yield* runtime.ensureNamespace(
            new NamespaceSpec({
              name: "fresh",
              description: "d",
              allowedPaths: [],
              idMapping: { _tag: "Shift" },
              rootDiskPool: "default"
            })
          )
          assert.deepInclude((project as { config: Record<string, string> }).config, {
            "restricted": "true",
            "restricted.containers.privilege": "isolated",
            ...managedConfig,
            "user.repoman.owner": "1500"
          })
          assert.isTrue(ns.managed)
          assert.deepStrictEqual(ns.owner, Option.some(owner))
          assert.deepStrictEqual(devices, { root: { type: "disk", path: "/", pool: "default" } })
        })
    )
  })

  it.live("ensureNamespace never takes over a project that is not this user's repoman's, and writes nothing", () => {
    const theirs = new NamespaceSpec({
      name: "theirs",
      description: "d",
      allowedPaths: ["/srv/repos"],
      idMapping: { _tag: "HostUser", uid: 1500, gid: 1500 },
      rootDiskPool: "default"
    })
    const cases: ReadonlyArray<readonly [string, Record<string, string>, string]> = [
      ["made by hand", { "restricted": "true" }, "was not made by repoman"],
      ["another user's repoman", { ...managedConfig, "user.repoman.owner": "1501" }, "host uid 1501"],
      ["an older repoman, for another uid", { ...managedConfig, "restricted.idmap.uid": "1501" }, "no owner"]
    ]
    return Effect.forEach(cases, ([label, config, why]) =>
      withRuntime(
        (req) =>
          req.path === "/1.0/projects/theirs" && req.method === "GET"
            ? sync({ name: "theirs", description: label, config, used_by: [] }, 200, { Etag: "\"t\"" })
            : undefined,
        (runtime, fake) =>
          Effect.gen(function*() {
            const refused = yield* Effect.flip(runtime.ensureNamespace(theirs))
            assert.strictEqual(refused.reason._tag, "Conflict", label)
            assert.include(refused.message, why, label)
            assert.deepStrictEqual((yield* fake.requests).map((r) => r.method), ["GET"], label)
          })
      ), { discard: true })
  })

  it.live("ensureNamespace adopts a project an older repoman made for this uid (it maps the uid)", () => {
    let config: Record<string, string> = { ...managedConfig, "restricted.idmap.uid": "1500" }
    return withRuntime(
      (req) => {
        if (req.path === "/1.0/projects/legacy") {
          if (req.method === "GET") return sync({ name: "legacy", description: "", config, used_by: [] })
          if (req.method === "PUT") {
            config = (req.body as { config: Record<string, string> }).config
            return sync({})
          }
        }
        if (req.path === "/1.0/profiles/default" && req.method === "GET") {
          return sync({ name: "default", description: "", config: {}, devices: { root: { type: "disk", path: "/" } } })
        }
        return undefined
      },
      (runtime) =>
        Effect.gen(function*() {
          const ns = yield* runtime.ensureNamespace(
            new NamespaceSpec({
              name: "legacy",
              description: "d",
              allowedPaths: ["/srv/repos"],
              idMapping: { _tag: "HostUser", uid: 1500, gid: 1500 },
              rootDiskPool: "default"
            })
          )
          assert.deepStrictEqual(ns.owner, Option.some(owner))
          assert.strictEqual(config["user.repoman.owner"], "1500")
        })
    )
  })

  it.live("ensureNamespace leaves the default project's profile alone, and writes nothing when in line", () => {
    const shared = new NamespaceSpec({
      name: "shared",
      description: "d",
      allowedPaths: [],
      idMapping: { _tag: "Shift" },
      rootDiskPool: "default"
    })
    return withRuntime(
      (req) => {
        if (req.path === "/1.0/projects/shared" && req.method === "GET") {
          return sync({
            name: "shared",
            description: "d",
            config: IncusProjectConfig.projectConfig(shared, {}, owner),
            used_by: []
          })
        }
        // A project without profiles of its own: Incus answers with the default project's profile.
        if (req.path === "/1.0/profiles/default" && req.method === "GET") {
          return sync({ name: "default", description: "", config: {}, devices: {}, project: "default" })
        }
        return undefined
      },
      (runtime, fake) =>
        Effect.gen(function*() {
          yield* runtime.ensureNamespace(shared)
          assert.deepStrictEqual((yield* fake.requests).filter((r) => r.method !== "GET"), [])
        })
    )
  })

  it.live("allowPaths adds directories with one GET and PUT; a file is refused and nothing is written", () => {
    let config: Record<string, string> = { "restricted": "true", "restricted.devices.disk.paths": "/srv/repos" }
    return Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-allow-" })
      yield* fs.makeDirectory(`${dir}/shared`)
      yield* fs.writeFileString(`${dir}/file.json`, "{}")
      yield* withRuntime(
        (req) => {
          if (req.path !== "/1.0/projects/p") return undefined
          if (req.method === "GET") {
            return sync({ name: "p", description: "", config, used_by: [] }, 200, { Etag: "\"e\"" })
          }
          config = (req.body as { config: Record<string, string> }).config
          return sync({})
        },
        (runtime, fake) =>
          Effect.gen(function*() {
            const refused = yield* runtime.allowPaths([`${dir}/shared`, `${dir}/file.json`])
            assert.deepStrictEqual(refused.added, [])
            assert.strictEqual(refused.refused[0]?.path, `${dir}/file.json`)
            assert.include(refused.refused[0]?.reason ?? "", "is a file")
            assert.notInclude(calls(yield* fake.requests), "PUT /1.0/projects/p")
            const added = yield* runtime.allowPaths([`${dir}/shared`, "/srv/repos/isurus"])
            assert.deepStrictEqual(added, { added: [`${dir}/shared`], refused: [] })
            assert.strictEqual(config["restricted.devices.disk.paths"], `/srv/repos,${dir}/shared`)
            yield* runtime.disallowPaths([`${dir}/shared`])
            assert.strictEqual(config["restricted.devices.disk.paths"], "/srv/repos")
          })
      )
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer))
  })

  it.live("profiles read back without the managed keys, with their users in this project", () =>
    withRuntime(
      (req) =>
        req.method === "GET" && req.path === "/1.0/profiles/shared"
          ? sync({
            name: "shared",
            description: "d",
            config: { "limits.cpu": "1", ...managedConfig },
            devices: {},
            used_by: ["/1.0/instances/web?project=p", "/1.0/instances/other?project=q", "/1.0/profiles/x?project=p"],
            project: "p"
          })
          : undefined,
      (runtime) =>
        Effect.gen(function*() {
          const profile = yield* runtime.getProfile(ProfileName.make("shared"))
          assert.deepStrictEqual(profile.config, { "limits.cpu": "1" })
          assert.deepStrictEqual(profile.usedBy, [name])
        })
    ))

  it.live("putProfile creates a missing profile (managed) and replaces an existing one with If-Match", () => {
    const bodies: Array<unknown> = []
    let exists = false
    return withRuntime(
      (req) => {
        if (req.method === "GET") {
          return exists
            ? sync({ name: "x", description: "", config: managedConfig, devices: {} }, 200, {
              Etag: "\"e\""
            })
            : error(404, "Fetch profile: Profile not found")
        }
        bodies.push({ method: req.method, ifMatch: req.headers["if-match"], body: req.body })
        exists = true
        return sync(null, req.method === "POST" ? 201 : 200)
      },
      (runtime) =>
        Effect.gen(function*() {
          const p = new ProfileSpec({ description: "d", config: { a: "1" }, devices: {} })
          yield* runtime.putProfile(ProfileName.make("x"), p)
          yield* runtime.putProfile(ProfileName.make("x"), p)
          assert.deepStrictEqual(bodies, [
            {
              method: "POST",
              ifMatch: undefined,
              body: {
                name: "x",
                description: "d",
                config: { a: "1", ...managedConfig, "user.repoman.owner": "1500" },
                devices: {}
              }
            },
            {
              method: "PUT",
              ifMatch: "\"e\"",
              body: {
                description: "d",
                config: { a: "1", ...managedConfig, "user.repoman.owner": "1500" },
                devices: {}
              }
            }
          ])
        })
    )
  })

  it.live("the default profile cannot be deleted (Conflict); list of a missing project is NotFound", () =>
    withRuntime(
      (req) => {
        if (req.path === "/1.0/profiles/default") return sync({ name: "default", config: {}, devices: {} })
        if (req.path === "/1.0/instances") return sync([])
        if (req.path === "/1.0/projects/p") return error(404, "Project not found")
        return undefined
      },
      (runtime, fake) =>
        Effect.gen(function*() {
          assert.strictEqual(yield* reasonOf(runtime.deleteProfile(ProfileName.make("default"))), "Conflict")
          assert.notInclude(calls(yield* fake.requests), "DELETE /1.0/profiles/default")
          const e = yield* Effect.flip(runtime.list())
          assert.deepInclude(e.reason, { _tag: "NotFound", kind: "namespace", name: "p" })
        })
    ))
})

describe("IncusContainerRuntime: restricted access (incus-user)", () => {
  /** `GET /1.0` and the certificate as incusd answers a client that incus-user proxies. */
  const incusUser = (req: FakeRequest) => {
    if (req.path === "/1.0") {
      return sync({ api_version: "1.0", auth: "trusted", auth_user_name: "97b7940f", auth_user_method: "tls" })
    }
    if (req.path === "/1.0/certificates/97b7940f") {
      return sync({ name: "incus-user-1500", type: "client", restricted: true, projects: ["user-1500"] })
    }
    return undefined
  }
  const wanted = new NamespaceSpec({
    name: "user-1500",
    description: "d",
    allowedPaths: ["/srv/repos"],
    idMapping: { _tag: "HostUser", uid: 1500, gid: 1500 },
    rootDiskPool: "default"
  })

  it.live("access is read from the certificate; checkNamespace lists the admin's steps and the missing image", () =>
    withRuntime(
      (req) =>
        incusUser(req) ?? (
          req.path === "/1.0/projects/user-1500" && req.method === "GET"
            ? sync({
              name: "user-1500",
              description: "",
              // As incus-user makes it by itself: the home only, no idmap, images of its own.
              config: {
                "restricted": "true",
                "restricted.devices.disk": "allow",
                "restricted.devices.disk.paths": "/home/ada",
                "features.images": "true",
                "features.profiles": "true",
                "restricted.containers.nesting": "allow"
              },
              used_by: []
            })
            : req.path === "/1.0/images/aliases/repoman-busybox"
            ? error(404, "Image alias not found")
            : undefined
        ),
      (runtime, fake) =>
        Effect.gen(function*() {
          const access = yield* runtime.access()
          assert.deepStrictEqual([access.restricted, access.namespaces, access.defaultNamespace], [
            true,
            ["user-1500"],
            Option.some("user-1500")
          ])
          const check = yield* runtime.checkNamespace(wanted, ImageRef.make("repoman-busybox"))
          const commands = check.adminSteps.flatMap((s) => s.commands)
          assert.include(commands, "incus project set user-1500 restricted.devices.disk.paths=/home/ada,/srv/repos")
          assert.include(commands, "incus project set user-1500 restricted.idmap.uid=1500 restricted.idmap.gid=1500")
          assert.isTrue(check.notes.some((n) => n.includes("incus image import FILE --alias repoman-busybox")))
          assert.isTrue(check.notes.some((n) => n.includes("allows nested containers")))
          assert.isTrue(check.unchecked.some((u) => u.startsWith("storage pools")))
          // ensureNamespace changes nothing and says why; the project is never written.
          const refused = yield* Effect.flip(runtime.ensureNamespace(wanted))
          assert.strictEqual(refused.reason._tag, "Forbidden")
          assert.include(refused.message, "an admin must set it up first")
          assert.isFalse((yield* fake.requests).some((r) => r.method !== "GET"))
          // Nor may it allow paths, delete the project, or record an owner on it.
          assert.strictEqual(yield* reasonOf(runtime.deleteNamespace("user-1500")), "Forbidden")
          assert.strictEqual(yield* reasonOf(runtime.adopt("namespace", "user-1500")), "Forbidden")
        })
    ))

  it.live("a project not granted: one step naming the projects granted and the trust command", () =>
    withRuntime(
      (req) =>
        incusUser(req) ?? (req.path === "/1.0/projects/repoman"
          ? error(403, "User does not have permission for project \"repoman\"")
          : undefined),
      (runtime) =>
        Effect.gen(function*() {
          const check = yield* runtime.checkNamespace(new NamespaceSpec({ ...wanted, name: "repoman" }))
          assert.strictEqual(check.adminSteps.length, 1)
          const [step] = check.adminSteps
          assert.include(step?.problem ?? "", "is not granted to you (incus-user-1500 (97b7940f); granted: user-1500)")
          assert.deepStrictEqual(step?.commands, [
            "repoman setup --incus-project user-1500   # use a project you have",
            "incus config trust edit 97b7940f   # an admin: add repoman to its projects"
          ])
        })
    ))
})
