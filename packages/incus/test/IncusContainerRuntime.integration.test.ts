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
import { assert, layer } from "@effect/vitest"
import {
  ContainerRuntime,
  HostPath,
  InstanceChange,
  InstanceSpec,
  Mount,
  NamespaceSpec
} from "@repoman/core/ContainerRuntime"
import { ImageRef, ProfileName, ProjectName } from "@repoman/core/Ids"
import { ContainerRuntimeSuite } from "@repoman/core/testing/ContainerRuntimeSuite"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import * as IncusClient from "../src/IncusClient.ts"
import * as IncusContainerRuntime from "../src/IncusContainerRuntime.ts"
import { managedConfig } from "../src/IncusLabels.ts"
import { restrictions } from "../src/IncusProjectConfig.ts"
import { hostDir, hostUser, throwawayProject as throwaway } from "./throwaway.ts"

const image = process.env["REPOMAN_CI_BUSYBOX_ALIAS"] ?? "repoman-busybox"
const pool = process.env["REPOMAN_CI_POOL"] ?? "default"
const timeout = 120_000

/** Host directories: one the test projects allow disks from, one outside (removed after the file's tests). */
const allowedRoot = hostDir("repoman-it", "allowed")
const extraRoot = hostDir("repoman-it", "extra")

/** What `repoman setup` asks for (uid mode idmap): disks only from `allowedRoot`, idmaps only for the host user. */
const namespaceSpec = (name: string, description = "repoman integration test (safe to delete)") =>
  new NamespaceSpec({ name, description, allowedPaths: [allowedRoot], idMapping: hostUser, rootDiskPool: pool })

/** The runtime for a fresh project `rmit-<label>-<random>` (see `throwaway.ts`). */
const throwawayProject = (label: string) => throwaway(label, { prefix: "rmit", allowedRoot, pool })

const sealRepo = path.join(allowedRoot, "seal-repo")
const sealGitDir = path.join(allowedRoot, "seal-gitdir")
fs.mkdirSync(path.join(sealRepo, ".git"), { recursive: true })
fs.mkdirSync(sealGitDir)

ContainerRuntimeSuite("incus", throwawayProject("suite").layer, {
  image,
  timeout,
  allowedPath: allowedRoot,
  extraPath: extraRoot,
  idMapping: hostUser,
  sealPaths: { repo: sealRepo, gitDir: sealGitDir }
})

const particular = throwawayProject("incus")
const uid = (label: string) => ProjectName.make(`c-${label}-${randomBytes(2).toString("hex")}`)

const spec = (name: ProjectName, fields: Partial<ConstructorParameters<typeof InstanceSpec>[0]> = {}) =>
  new InstanceSpec({ name, image: ImageRef.make(image), profiles: [ProfileName.make("default")], ...fields })

const reasonOf = <A, E extends { readonly reason: { readonly _tag: string } }>(effect: Effect.Effect<A, E>) =>
  Effect.match(effect, { onFailure: (e) => e.reason._tag, onSuccess: () => "Success" })

layer(particular.layer, { excludeTestServices: true, timeout })("IncusContainerRuntime against incusd", (it) => {
  it.effect("the project is restricted as asked, managed, with a root disk on the pool", () =>
    Effect.gen(function*() {
      const client = yield* IncusClient.IncusClient
      const { value: project } = yield* client.getProject(particular.project)
      assert.deepInclude(project.config, { ...restrictions(hostUser, [allowedRoot]), ...managedConfig })
      assert.strictEqual(project.config["features.storage.volumes"], "true")
      const { value: profile } = yield* client.getProfile(particular.project, "default")
      assert.deepStrictEqual(profile.devices["root"], { type: "disk", path: "/", pool })
    }), timeout)

  it.effect(
    "ensureNamespace again: the spec's restrictions win, keys set by others and features.* stay, ETag respected",
    () =>
      Effect.gen(function*() {
        const runtime = yield* ContainerRuntime
        const client = yield* IncusClient.IncusClient
        yield* client.modifyProject(particular.project, (p) => ({
          description: p.description,
          config: { ...p.config, "user.it": "1" }
        }))
        const ns = yield* runtime.ensureNamespace(
          new NamespaceSpec({ ...namespaceSpec(particular.project, "again"), idMapping: { _tag: "Shift" } })
        )
        assert.deepStrictEqual([ns.description, ns.allowedPaths, ns.idMapping], [
          "again",
          [],
          Option.some({ _tag: "Shift" } as const)
        ])
        const { value } = yield* client.getProject(particular.project)
        assert.strictEqual(value.config["user.it"], "1")
        assert.strictEqual(value.config["features.images"], "false")
        assert.isUndefined(value.config["restricted.devices.disk.paths"])
        assert.isUndefined(value.config["restricted.idmap.uid"])
        // Put it back for the other tests.
        const back = yield* runtime.ensureNamespace(namespaceSpec(particular.project))
        assert.deepStrictEqual([back.allowedPaths, back.idMapping], [[allowedRoot], Option.some(hostUser)])
        // The root disk already there keeps its pool, and that is the pool reported (setup says it).
        const otherPool = yield* runtime.ensureNamespace(
          new NamespaceSpec({ ...namespaceSpec(particular.project), rootDiskPool: "rmit-no-such-pool" })
        )
        assert.strictEqual(otherPool.rootDiskPool, pool)
        const { value: profile } = yield* client.getProfile(particular.project, "default")
        assert.deepStrictEqual(profile.devices["root"], { type: "disk", path: "/", pool })
      }),
    timeout
  )

  it.effect("a mount outside the allowed paths is Forbidden and leaves no instance", () =>
    Effect.gen(function*() {
      const runtime = yield* ContainerRuntime
      const name = uid("etc")
      const created = yield* Effect.flip(
        runtime.create(
          spec(name, { mounts: [new Mount({ name: "e", source: "/etc", path: "/mnt/etc", readOnly: true })] })
        )
      )
      assert.deepInclude(created.reason, { _tag: "Forbidden", kind: "instance", name })
      assert.match(created.message, /not allowed/)
      assert.strictEqual(yield* reasonOf(runtime.get(name)), "NotFound")
    }), timeout)

  it.effect(
    "update PUTs with the ETag it read: a change made meanwhile is refused (Conflict), never overwritten",
    () =>
      Effect.gen(function*() {
        const runtime = yield* ContainerRuntime
        const client = yield* IncusClient.IncusClient
        const name = uid("etag")
        yield* Effect.acquireRelease(runtime.create(spec(name)), () => Effect.ignore(runtime.remove(name)))
        // Someone else changes the instance between update's read and its write.
        const racing = IncusClient.IncusClient.of({
          ...client,
          updateInstance: (project, instance, body, etag) =>
            client.patchInstance(project, instance, { config: { "user.repoman.meanwhile": "1" } }).pipe(
              Effect.andThen(client.updateInstance(project, instance, body, etag))
            )
        })
        const raced = yield* ContainerRuntime.pipe(
          Effect.provide(
            IncusContainerRuntime.layer({ project: particular.project }).pipe(
              Layer.provide(Layer.succeed(IncusClient.IncusClient, racing))
            )
          )
        )
        const change = new InstanceChange({ env: { FROM_UPDATE: "1" } })
        assert.strictEqual(yield* reasonOf(raced.update(name, change)), "Conflict")
        const after = yield* runtime.get(name)
        assert.deepStrictEqual(after.env, {})
        assert.strictEqual(after.labels["meanwhile"], "1")
        // Read again, it goes through.
        yield* runtime.update(name, change)
        assert.deepStrictEqual((yield* runtime.get(name)).env, { FROM_UPDATE: "1" })
      }).pipe(Effect.scoped),
    timeout
  )

  it.effect("an unknown image alias is NotFound (kind image) and leaves no instance", () =>
    Effect.gen(function*() {
      const runtime = yield* ContainerRuntime
      const name = uid("noimg")
      const created = yield* Effect.flip(runtime.create(spec(name, { image: ImageRef.make("repoman-no-such-alias") })))
      assert.deepInclude(created.reason, { _tag: "NotFound", kind: "image", name: "repoman-no-such-alias" })
      assert.strictEqual(yield* reasonOf(runtime.get(name)), "NotFound")
    }), timeout)

  it.effect(
    "made but refused at start (shifted mount on a restricted path): deleted again, Forbidden",
    () =>
      Effect.gen(function*() {
        const runtime = yield* ContainerRuntime
        const name = uid("shift")
        const source = fs.mkdtempSync(path.join(allowedRoot, "shift-"))
        const created = yield* Effect.flip(
          runtime.create(
            spec(name, {
              idMapping: { _tag: "Shift" },
              mounts: [new Mount({ name: "r", source, path: "/mnt/r", readOnly: false })]
            })
          )
        )
        assert.strictEqual(created.reason._tag, "Forbidden")
        assert.match(created.message, /shift/)
        assert.strictEqual(yield* reasonOf(runtime.get(name)), "NotFound")
      }),
    timeout
  )

  it.effect(
    "a repo inside the allowed paths works, with the host user mapped; the instance carries repoman's keys",
    () =>
      Effect.gen(function*() {
        const runtime = yield* ContainerRuntime
        const client = yield* IncusClient.IncusClient
        const name = uid("repo")
        const source = fs.mkdtempSync(path.join(allowedRoot, "repo-"))
        fs.writeFileSync(path.join(source, "hello.txt"), "hi\n", { mode: 0o644 })
        const repo = new HostPath({ source, path: source, readOnly: false })
        yield* Effect.acquireRelease(
          runtime.create(spec(name, { repo, idMapping: hostUser, labels: { repo: source } })),
          () => Effect.ignore(runtime.remove(name))
        )
        const got = yield* runtime.get(name)
        assert.deepStrictEqual([got.repo, got.idMapping, got.labels, got.managed], [
          Option.some(repo),
          Option.some(hostUser),
          { repo: source },
          true
        ])
        assert.deepStrictEqual(got.image, Option.some(ImageRef.make(image)))
        const { value } = yield* client.getInstance(particular.project, name)
        assert.deepInclude(value.config, { ...managedConfig, "user.repoman.repo": source, "user.repoman.image": image })
        // uid 1000 inside is the host user: it reads the repo (mode 0700) and writes as the host user.
        const cat = yield* runtime.exec(name, ["cat", path.join(source, "hello.txt")], { user: 1000, group: 1000 })
        assert.deepStrictEqual([cat.exitCode, cat.stdout, cat.stderr], [0, "hi\n", ""])
        const touch = yield* runtime.exec(name, ["touch", path.join(source, "made-inside")], {
          user: 1000,
          group: 1000
        })
        assert.strictEqual(touch.exitCode, 0, touch.stderr)
        assert.strictEqual(fs.statSync(path.join(source, "made-inside")).uid, hostUser.uid)
      }).pipe(Effect.scoped),
    timeout
  )

  it.effect(
    "exec: a missing command is 127 (not a missing instance); no exec logs stay behind",
    () =>
      Effect.gen(function*() {
        const runtime = yield* ContainerRuntime
        const client = yield* IncusClient.IncusClient
        const name = uid("exec")
        yield* Effect.acquireRelease(runtime.create(spec(name)), () => Effect.ignore(runtime.remove(name)))
        const missing = yield* runtime.exec(name, ["/no/such/program"])
        assert.strictEqual(missing.exitCode, 127)
        assert.match(missing.stderr, /Command not found/)
        const ok = yield* runtime.exec(name, ["sh", "-c", "printf '%s' \"$PATH\""])
        assert.strictEqual(ok.exitCode, 0)
        assert.include(ok.stdout, "/bin")
        assert.deepStrictEqual(yield* client.listExecOutputs(particular.project, name), [])
      }).pipe(Effect.scoped),
    timeout
  )

  it.effect(
    "allowPaths refuses a file (Incus allows only directories) and changes nothing",
    () =>
      Effect.gen(function*() {
        const runtime = yield* ContainerRuntime
        const file = path.join(extraRoot, "single.json")
        fs.writeFileSync(file, "{}")
        const result = yield* runtime.allowPaths([file])
        assert.deepStrictEqual(result.added, [])
        assert.include(result.refused[0]?.reason ?? "", "is a file")
        assert.deepStrictEqual((yield* runtime.getNamespace(particular.project)).allowedPaths, [allowedRoot])
      }),
    timeout
  )

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
