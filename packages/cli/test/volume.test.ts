/**
 * Projects whose repo lives in a storage volume of a remote engine, with the
 * memory runtime acting as one (`hostPaths: false`): `new --from`, `pull`,
 * `push`, checkpoints as volume snapshots, and what a hostile container can
 * put in the volume for `pull` to bring to the host.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { ContainerRuntime, ExecResult, Volume } from "@repoman/core/ContainerRuntime"
import * as RuntimeMemory from "@repoman/core/ContainerRuntimeMemory"
import { ProjectName } from "@repoman/core/Ids"
import { Registry } from "@repoman/core/Registry"
import * as RegistryMemory from "@repoman/core/RegistryMemory"
import * as NodeHostFiles from "@repoman/node/NodeHostFiles"
import { pullTree } from "@repoman/programs/RepoTransfer"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import { documentFrom, runCli } from "./harness.ts"

const document = documentFrom({ schema: 3, defaults: { profiles: ["default"], default_image: "img" } })
const name = ProjectName.make("remo")

const world = (hostPaths = false) =>
  Effect.gen(function*() {
    const files = yield* FileSystem.FileSystem
    const home = yield* files.makeTempDirectoryScoped({ prefix: "repoman-vol-" })
    // `touch FILE` (status's write probe) makes the file, owned by who ran it.
    let self: RuntimeMemory.MemoryContainerRuntime | undefined
    const done = new ExecResult({ exitCode: 0, stdout: "", stderr: "" })
    const runtime = yield* RuntimeMemory.make({
      namespace: "repoman",
      hostPaths,
      exec: ({ argv, name: on, options }) =>
        argv[0] === "touch" && self !== undefined && argv[1] !== undefined
          ? self.writeFile(on, argv[1], "", { uid: options.user ?? 0, gid: options.group ?? 0, mode: 0o644 }).pipe(
            Effect.as(done)
          )
          : Effect.succeed(done)
    })
    self = runtime
    const registry = yield* RegistryMemory.make({ document })
    const layers = {
      runtime: Layer.succeed(ContainerRuntime, runtime),
      registry: Layer.succeed(Registry, registry),
      home
    }
    return { home, runtime, registry, layers, run: (argv: ReadonlyArray<string>) => runCli(argv, layers) }
  })

/** A host tree: a script (0755), a text file (0600), a nested dir, a symlink, a FIFO, a .git. */
const hostTree = (dir: string) => {
  fs.mkdirSync(`${dir}/src/deep`, { recursive: true })
  fs.writeFileSync(`${dir}/run.sh`, "#!/bin/sh\necho hi\n", { mode: 0o755 })
  fs.chmodSync(`${dir}/run.sh`, 0o755)
  fs.writeFileSync(`${dir}/secret.txt`, "only me\n")
  fs.chmodSync(`${dir}/secret.txt`, 0o600)
  fs.writeFileSync(`${dir}/src/deep/a.ts`, "export const a = 1\n")
  fs.symlinkSync("src/deep/a.ts", `${dir}/link`)
  fs.mkdirSync(`${dir}/.git`)
  fs.writeFileSync(`${dir}/.git/HEAD`, "ref: refs/heads/main\n")
}

describe("volume projects (a remote engine)", () => {
  it.effect("new --from sends the tree into the volume with modes and symlinks, owned by the container user", () =>
    Effect.gen(function*() {
      const { home, registry, run, runtime } = yield* world()
      const src = `${home}/src-tree`
      hostTree(src)
      const out = yield* run(["new", "remo", "--from", src])
      assert.strictEqual(out.code, 0, out.stderr.join("\n"))
      const repo = `${home}/repos/remo`
      assert.include(out.stdout.join("\n"), `repo ${repo} is a storage volume of the remote Incus`)
      const instance = yield* runtime.get(name)
      assert.deepStrictEqual(instance.repo, Option.some(new Volume({ path: repo })))
      assert.isTrue(Option.isNone(instance.idMapping), "no host id mapping on a remote engine")
      const script = yield* runtime.fileInfo(name, `${repo}/run.sh`)
      assert.deepInclude(Option.getOrThrow(script), { type: "file", uid: 1000, gid: 1000, mode: 0o755 })
      assert.strictEqual(Option.getOrThrow(yield* runtime.fileInfo(name, `${repo}/secret.txt`)).mode, 0o600)
      assert.deepInclude(Option.getOrThrow(yield* runtime.fileInfo(name, `${repo}/link`)), {
        type: "symlink",
        target: "src/deep/a.ts"
      })
      // The user's own .git goes in: it is their repo.
      assert.isTrue(Option.isSome(yield* runtime.fileInfo(name, `${repo}/.git/HEAD`)))
      const text = yield* runtime.readTextFile(name, `${repo}/src/deep/a.ts`)
      assert.deepStrictEqual(text, Option.some("export const a = 1\n"))
      const project = (yield* registry.load).projects.find((p) => p.name === "remo")
      assert.strictEqual(project?.storage, "volume")
      // The engine snapshots the volume on its own, daily, each kept two weeks (the defaults).
      const volume = yield* runtime.getRepoVolume(name)
      assert.deepStrictEqual([volume.snapshotSchedule, volume.snapshotExpiry], [
        Option.some("@daily"),
        Option.some("2w")
      ])
      // Nothing was made on the host under the repos root.
      assert.isFalse(fs.existsSync(repo))
      // status: healthy, its repo a volume, no host seal to check and no host tree walked.
      const status = yield* run(["status", "remo", "--json"])
      assert.strictEqual(status.code, 0, status.stdout.join("\n"))
      const [report] = JSON.parse(status.stdout.join("\n"))
      assert.deepInclude(report, { storage: "volume", healthy: true, ownership: null, rootProbe: null, warnings: [] })
      assert.deepStrictEqual([report.seal.mode, report.userProbe.ok], ["volume", true])
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("--from on a local engine, and a missing --from dir, are usage errors with nothing made", () =>
    Effect.gen(function*() {
      const local = yield* world(true)
      fs.mkdirSync(`${local.home}/t`)
      const refused = yield* local.run(["new", "remo", "--from", `${local.home}/t`])
      assert.strictEqual(refused.code, 2)
      assert.include(refused.stderr.join("\n"), "--from is for a remote Incus")
      assert.deepStrictEqual(yield* local.runtime.list(), [])

      const remote = yield* world()
      const missing = yield* remote.run(["new", "remo", "--from", `${remote.home}/nope`])
      assert.strictEqual(missing.code, 2)
      assert.include(missing.stderr.join("\n"), "is not a directory")
      assert.deepStrictEqual(yield* remote.runtime.list(), [])
      assert.deepStrictEqual(yield* remote.runtime.listRepoVolumes(), [])
      assert.deepStrictEqual((yield* remote.registry.load).projects, [])
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("a malformed volume snapshot expiry in the registry is refused before anything is made", () =>
    Effect.gen(function*() {
      const { layers, runtime } = yield* world()
      const bad = documentFrom({
        schema: 3,
        defaults: { default_image: "img" },
        checkpoints: { volume_expiry: "soon" }
      })
      const out = yield* runCli(["new", "remo"], {
        runtime: layers.runtime,
        home: layers.home,
        memory: { document: bad }
      })
      assert.strictEqual(out.code, 1)
      assert.include(out.stderr.join("\n"), "volume_schedule/volume_expiry")
      assert.deepStrictEqual(yield* runtime.list(), [])
      assert.deepStrictEqual(yield* runtime.listRepoVolumes(), [])
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("hermetic mode needs a local engine: exit 2, nothing made", () =>
    Effect.gen(function*() {
      const { run, runtime } = yield* world()
      const out = yield* run(["new", "remo", "--hermetic"])
      assert.strictEqual(out.code, 2)
      assert.include(out.stderr.join("\n"), "needs a local Incus")
      assert.deepStrictEqual(yield* runtime.list(), [])
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("pull brings the tree back, modes and symlinks kept, never .git; a non-empty target is refused", () =>
    Effect.gen(function*() {
      const { home, run } = yield* world()
      const src = `${home}/src-tree`
      hostTree(src)
      assert.strictEqual((yield* run(["new", "remo", "--from", src])).code, 0)
      const out = yield* run(["pull", "remo", `${home}/back`])
      assert.strictEqual(out.code, 0, out.stderr.join("\n"))
      assert.strictEqual(fs.readFileSync(`${home}/back/src/deep/a.ts`, "utf8"), "export const a = 1\n")
      assert.strictEqual(fs.statSync(`${home}/back/run.sh`).mode & 0o777, 0o755)
      assert.strictEqual(fs.statSync(`${home}/back/secret.txt`).mode & 0o777, 0o600)
      assert.strictEqual(fs.readlinkSync(`${home}/back/link`), "src/deep/a.ts")
      assert.isFalse(fs.existsSync(`${home}/back/.git`))
      assert.include(out.stdout.join("\n"), "skipped .git: a container's git metadata is never copied to the host")

      fs.mkdirSync(`${home}/full`)
      fs.writeFileSync(`${home}/full/mine`, "keep")
      const refused = yield* run(["pull", "remo", `${home}/full`])
      assert.strictEqual(refused.code, 2)
      assert.include(refused.stderr.join("\n"), "is not empty")
      assert.deepStrictEqual(fs.readdirSync(`${home}/full`), ["mine"])
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("pull and push refuse a project whose repo is a host directory (exit 2)", () =>
    Effect.gen(function*() {
      const { home, layers } = yield* world(true)
      const registered = documentFrom({
        schema: 3,
        project: [{ name: "remo", repo: "remo", image: "img", profiles: [], created: "2026-04-28T15:00:00Z" }]
      })
      const out = yield* runCli(["pull", "remo", `${home}/x`], {
        runtime: layers.runtime,
        home,
        memory: { document: registered }
      })
      assert.strictEqual(out.code, 2)
      assert.include(out.stderr.join("\n"), "there is nothing to copy")
      assert.isFalse(fs.existsSync(`${home}/x`))
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("push takes a snapshot first; undo goes back to it; checkpoints lists the snapshots", () =>
    Effect.gen(function*() {
      const { home, run, runtime } = yield* world()
      const src = `${home}/src-tree`
      hostTree(src)
      assert.strictEqual((yield* run(["new", "remo", "--from", src])).code, 0)
      const repo = `${home}/repos/remo`
      fs.writeFileSync(`${src}/src/deep/a.ts`, "export const a = 2\n")
      const pushed = yield* run(["push", "remo", src, "--json"])
      assert.strictEqual(pushed.code, 0, pushed.stderr.join("\n"))
      const { snapshot } = JSON.parse(pushed.stdout.join("\n"))
      assert.match(snapshot, /^push-\d{8}T\d{6}Z-[0-9a-z]{4}$/)
      assert.deepStrictEqual(
        yield* runtime.readTextFile(name, `${repo}/src/deep/a.ts`),
        Option.some("export const a = 2\n")
      )

      // A session takes a snapshot before it starts.
      assert.strictEqual((yield* run(["exec", "remo", "--", "true"])).code, 0)
      const listed = yield* run(["checkpoints", "remo", "--json"])
      const kinds = JSON.parse(listed.stdout.join("\n")).snapshots.map((s: { kind: string }) => s.kind)
      assert.deepStrictEqual(kinds, ["push", "session"])

      const undone = yield* run(["undo", "remo", snapshot])
      assert.strictEqual(undone.code, 0, undone.stderr.join("\n"))
      assert.deepStrictEqual(
        yield* runtime.readTextFile(name, `${repo}/src/deep/a.ts`),
        Option.some("export const a = 1\n")
      )
      assert.include(undone.stdout.join("\n"), "'repoman undo remo undo-")

      const diff = yield* run(["diff", "remo"])
      assert.strictEqual(diff.code, 2)
      assert.include(diff.stderr.join("\n"), "diff compares trees on this host")
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("a hostile volume: escape sequences in names are escaped, .git never lands, caps stop a flood", () =>
    Effect.gen(function*() {
      const { home, run, runtime } = yield* world()
      assert.strictEqual((yield* run(["new", "remo"])).code, 0)
      const repo = `${home}/repos/remo`
      const own = { uid: 1000, gid: 1000, mode: 0o644 }
      yield* runtime.makeDirectory(name, `${repo}/.git/hooks`, { uid: 1000, gid: 1000 })
      yield* runtime.writeFile(name, `${repo}/.git/hooks/post-checkout`, "#!/bin/sh\ntouch /tmp/pwned\n", own)
      yield* runtime.writeFile(name, `${repo}/.git/config`, "[core]\n\tfsmonitor = touch /tmp/pwned\n", own)
      yield* runtime.makeDirectory(name, `${repo}/sub`, { uid: 1000, gid: 1000 })
      yield* runtime.writeFile(name, `${repo}/sub/.git`, "gitdir: /home\n", own)
      yield* runtime.writeFile(name, `${repo}/\x1b]0;owned\x07`, "x", own)
      yield* runtime.makeSymlink(name, `${repo}/passwd`, "/etc/passwd")
      const out = yield* run(["pull", "remo", `${home}/back`])
      assert.strictEqual(out.code, 0, out.stderr.join("\n"))
      assert.isFalse(fs.existsSync(`${home}/back/.git`))
      assert.isFalse(fs.existsSync(`${home}/back/sub/.git`))
      // The link is made as a link (as git makes them), never followed: /etc/passwd was not read.
      assert.strictEqual(fs.readlinkSync(`${home}/back/passwd`), "/etc/passwd")
      for (const line of out.stdout) assert.notInclude(line, "\x1b")

      // Caps: a file larger than allowed, and too many entries, fail the pull and leave nothing.
      yield* runtime.writeFile(name, `${repo}/big`, new Uint8Array(4096), own)
      const direct = Layer.mergeAll(Layer.succeed(ContainerRuntime, runtime), NodeHostFiles.layer)
      const tooBig = yield* Effect.exit(
        pullTree(name, repo, `${home}/capped`, {
          maxEntries: 100,
          maxDepth: 8,
          maxFileBytes: 1024,
          maxTotalBytes: 1 << 20
        })
          .pipe(Effect.provide(direct))
      )
      assert.isTrue(Exit.isFailure(tooBig))
      assert.isFalse(fs.existsSync(`${home}/capped`))
      const tooMany = yield* Effect.exit(
        pullTree(name, repo, `${home}/capped`, {
          maxEntries: 2,
          maxDepth: 8,
          maxFileBytes: 1 << 20,
          maxTotalBytes: 1 << 20
        })
          .pipe(Effect.provide(direct))
      )
      assert.isTrue(Exit.isFailure(tooMany))
      assert.include(String(Exit.isFailure(tooMany) ? tooMany.cause : ""), "more than 2 entries")
      assert.isFalse(fs.existsSync(`${home}/capped`))
    }).pipe(
      Effect.scoped,
      Effect.provide(NodeServices.layer)
    ))
})
