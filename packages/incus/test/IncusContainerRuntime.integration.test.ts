/**
 * The Incus runtime against the real incusd (REPOMAN_INTEGRATION=1): the core
 * conformance suite, then what is particular to Incus (restrictions, the
 * all-or-nothing create, exec logs, `incus exec` for shells).
 *
 * Each block works in its own throwaway Incus project, created restricted the
 * way repoman creates its own and deleted with `?force=true` afterwards.
 * Image: `repoman-busybox` (REPOMAN_CI_BUSYBOX_ALIAS), pool `default`
 * (REPOMAN_CI_POOL), socket as the `incus` client finds it (INCUS_SOCKET).
 */
import { afterAll, assert, layer } from "@effect/vitest"
import { ContainerRuntime, InstanceSpec, NamespaceSpec } from "@repoman/core/ContainerRuntime"
import { ImageRef, ProfileName, ProjectName } from "@repoman/core/Ids"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { ContainerRuntimeSuite } from "../../core/test/ContainerRuntimeSuite.ts"
import * as IncusClient from "../src/IncusClient.ts"
import * as IncusContainerRuntime from "../src/IncusContainerRuntime.ts"

const image = process.env["REPOMAN_CI_BUSYBOX_ALIAS"] ?? "repoman-busybox"
const pool = process.env["REPOMAN_CI_POOL"] ?? "default"
const timeout = 120_000

/** A host directory the test project allows disks from (removed after the file's tests). */
const allowedRoot = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "repoman-it-")))
afterAll(() => fs.rmSync(allowedRoot, { recursive: true, force: true }))

/** The config `repoman setup` gives its project (uid mode idmap, without the idmap keys). */
const restrictedConfig = (diskPaths: string) => ({
  "restricted": "true",
  "restricted.containers.privilege": "unprivileged",
  "restricted.devices.disk": "allow",
  "restricted.devices.disk.paths": diskPaths,
  "features.images": "false",
  "features.profiles": "true"
})

/**
 * The runtime for a fresh project `rmit-<random>`: created through
 * `ensureNamespace` when the layer is built, force-deleted when it is released.
 */
const throwawayProject = (label: string) => {
  const project = `rmit-${label}-${randomBytes(3).toString("hex")}`
  const lifecycle = Layer.effectDiscard(Effect.gen(function*() {
    const runtime = yield* ContainerRuntime
    const client = yield* IncusClient.IncusClient
    yield* Effect.acquireRelease(
      runtime.ensureNamespace(
        new NamespaceSpec({
          name: project,
          description: "repoman integration test (safe to delete)",
          config: restrictedConfig(allowedRoot),
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
      Layer.provideMerge(IncusClient.layer())
    )
  }
}

ContainerRuntimeSuite("incus", throwawayProject("suite").layer, { image, timeout })

const particular = throwawayProject("incus")
const uid = (label: string) => ProjectName.make(`c-${label}-${randomBytes(2).toString("hex")}`)

const spec = (
  name: ProjectName,
  devices: InstanceSpec["devices"] = {},
  config: InstanceSpec["config"] = {}
) => new InstanceSpec({ name, image: ImageRef.make(image), profiles: [ProfileName.make("default")], devices, config })

const reasonOf = <A, E extends { readonly reason: { readonly _tag: string } }>(effect: Effect.Effect<A, E>) =>
  Effect.match(effect, { onFailure: (e) => e.reason._tag, onSuccess: () => "Success" })

layer(particular.layer, { excludeTestServices: true, timeout })("IncusContainerRuntime against incusd", (it) => {
  it.effect("the project is restricted as asked, managed, with a root disk on the pool", () =>
    Effect.gen(function*() {
      const client = yield* IncusClient.IncusClient
      const { value: project } = yield* client.getProject(particular.project)
      assert.deepInclude(project.config, { ...restrictedConfig(allowedRoot), ...IncusClient.managedConfig })
      assert.strictEqual(project.config["features.storage.volumes"], "true")
      const { value: profile } = yield* client.getProfile(particular.project, "default")
      assert.deepStrictEqual(profile.devices["root"], { type: "disk", path: "/", pool })
    }), timeout)

  it.effect(
    "ensureNamespace again: spec keys win, features.* stay, dropped keys go, ETag respected",
    () =>
      Effect.gen(function*() {
        const runtime = yield* ContainerRuntime
        const config: Record<string, string> = { ...restrictedConfig(allowedRoot), "user.it": "1" }
        delete config["restricted.devices.disk.paths"]
        delete config["features.images"]
        const ns = yield* runtime.ensureNamespace(
          new NamespaceSpec({ name: particular.project, description: "again", config, rootDiskPool: pool })
        )
        assert.strictEqual(ns.description, "again")
        assert.strictEqual(ns.config["user.it"], "1")
        assert.strictEqual(ns.config["features.images"], "false")
        assert.isUndefined(ns.config["restricted.devices.disk.paths"])
        // Put it back for the other tests.
        yield* runtime.ensureNamespace(
          new NamespaceSpec({
            name: particular.project,
            description: "repoman integration test (safe to delete)",
            config: restrictedConfig(allowedRoot),
            rootDiskPool: pool
          })
        )
      }),
    timeout
  )

  it.effect("a disk outside the allowed paths is Forbidden and leaves no instance", () =>
    Effect.gen(function*() {
      const runtime = yield* ContainerRuntime
      const name = uid("etc")
      const created = yield* Effect.flip(
        runtime.create(spec(name, { e: { type: "disk", source: "/etc", path: "/mnt/etc" } }))
      )
      assert.strictEqual(created.reason._tag, "Forbidden")
      assert.match(created.message, /not allowed/)
      assert.strictEqual(yield* reasonOf(runtime.get(name)), "NotFound")
    }), timeout)

  it.effect("an unknown image alias is NotFound (kind image) and leaves no instance", () =>
    Effect.gen(function*() {
      const runtime = yield* ContainerRuntime
      const name = uid("noimg")
      const created = yield* Effect.flip(
        runtime.create(new InstanceSpec({ ...spec(name), image: ImageRef.make("repoman-no-such-alias") }))
      )
      assert.deepInclude(created.reason, { _tag: "NotFound", kind: "image", name: "repoman-no-such-alias" })
      assert.strictEqual(yield* reasonOf(runtime.get(name)), "NotFound")
    }), timeout)

  it.effect(
    "made but refused at start (shift on a restricted path): deleted again, Forbidden",
    () =>
      Effect.gen(function*() {
        const runtime = yield* ContainerRuntime
        const name = uid("shift")
        const source = fs.mkdtempSync(path.join(allowedRoot, "shift-"))
        const created = yield* Effect.flip(
          runtime.create(spec(name, { r: { type: "disk", source, path: "/mnt/r", shift: "true" } }))
        )
        assert.strictEqual(created.reason._tag, "Forbidden")
        assert.match(created.message, /shift/)
        assert.strictEqual(yield* reasonOf(runtime.get(name)), "NotFound")
      }),
    timeout
  )

  it.effect(
    "a repo disk inside the allowed paths works; the instance carries the repoman keys",
    () =>
      Effect.gen(function*() {
        const runtime = yield* ContainerRuntime
        const name = uid("repo")
        const source = fs.mkdtempSync(path.join(allowedRoot, "repo-"))
        // No uid mapping here: container root is an unprivileged host uid, so
        // the dir must be readable by others (mkdtemp makes it 0700).
        fs.chmodSync(source, 0o755)
        fs.writeFileSync(path.join(source, "hello.txt"), "hi\n", { mode: 0o644 })
        const created = yield* Effect.acquireRelease(
          runtime.create(spec(name, { repo: { type: "disk", source, path: source } }, { "user.repoman.repo": source })),
          () => Effect.ignore(runtime.remove(name))
        )
        assert.deepInclude(created.config, {
          ...IncusClient.managedConfig,
          "user.repoman.repo": source,
          "user.repoman.image": image
        })
        assert.strictEqual(created.image._tag, "Some")
        const cat = yield* runtime.exec(name, ["cat", path.join(source, "hello.txt")])
        assert.deepStrictEqual([cat.exitCode, cat.stdout, cat.stderr], [0, "hi\n", ""])
      }).pipe(Effect.scoped),
    timeout
  )

  it.effect("exec: a missing command is 127; no exec logs stay behind", () =>
    Effect.gen(function*() {
      const runtime = yield* ContainerRuntime
      const client = yield* IncusClient.IncusClient
      const name = uid("exec")
      yield* Effect.acquireRelease(runtime.create(spec(name)), () => Effect.ignore(runtime.remove(name)))
      const missing = yield* runtime.exec(name, ["/no/such/program"])
      assert.strictEqual(missing.exitCode, 127)
      const ok = yield* runtime.exec(name, ["sh", "-c", "printf '%s' \"$PATH\""])
      assert.strictEqual(ok.exitCode, 0)
      assert.include(ok.stdout, "/bin")
      assert.deepStrictEqual(yield* client.listExecOutputs(particular.project, name), [])
    }).pipe(Effect.scoped), timeout)

  it.effect("shell runs `incus exec` attached to our stdio and returns its exit code", () =>
    Effect.gen(function*() {
      const runtime = yield* ContainerRuntime
      const name = uid("shell")
      yield* Effect.acquireRelease(runtime.create(spec(name)), () => Effect.ignore(runtime.remove(name)))
      const code = yield* runtime.shell(name, {
        user: 1000,
        group: 1000,
        cwd: "/tmp",
        env: { HOME: "/home/ubuntu" },
        argv: ["sh", "-c", "test \"$(id -u):$(id -g):$(pwd):$HOME\" = 1000:1000:/tmp:/home/ubuntu && exit 7"]
      })
      assert.strictEqual(code, 7)
    }).pipe(Effect.scoped), timeout)
})
