/**
 * Seeding and checking the git seal against real git repos on disk, with the
 * memory runtime: what the sealed gitdir holds (and does not), what `new`
 * refuses, and what the fingerprint notices.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { ConfigPaths } from "@repoman/core/ConfigPaths"
import { ContainerRuntime } from "@repoman/core/ContainerRuntime"
import * as RuntimeMemory from "@repoman/core/ContainerRuntimeMemory"
import { ProjectName } from "@repoman/core/Ids"
import * as NodeHostFiles from "@repoman/node/NodeHostFiles"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { execFileSync } from "node:child_process"
import * as GitSeal from "../src/GitSeal.ts"

const name = ProjectName.make("isurus")

const git = (cwd: string, ...args: ReadonlyArray<string>) =>
  execFileSync("git", ["-C", cwd, ...args], {
    encoding: "utf8",
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: "a",
      GIT_AUTHOR_EMAIL: "a@x",
      GIT_COMMITTER_NAME: "a",
      GIT_COMMITTER_EMAIL: "a@x"
    }
  }).trim()

/** A home with a committed repo (a staged-only file too), the layers over it. */
const world = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const home = yield* fs.realPath(yield* fs.makeTempDirectoryScoped({ prefix: "repoman-seal-" }))
  const repo = `${home}/repos/isurus`
  yield* fs.makeDirectory(repo, { recursive: true })
  git(repo, "init", "-q", "-b", "main")
  yield* fs.writeFileString(`${repo}/README`, "one\n")
  git(repo, "add", "README")
  git(repo, "commit", "-qm", "init")
  yield* fs.writeFileString(`${repo}/staged`, "only in the index\n")
  git(repo, "add", "staged")
  const runtime = yield* RuntimeMemory.make({
    restrictions: { allowedPaths: [`${home}/repos`], idMapping: { _tag: "HostUser", uid: 1000, gid: 1000 } }
  })
  const layer = Layer.mergeAll(
    Layer.succeed(ContainerRuntime, runtime),
    ConfigPaths.layerFrom({ home, configDir: `${home}/.config/repoman` }),
    NodeHostFiles.layer
  )
  return { home, repo, runtime, layer, stateDir: `${home}/.local/state/repoman` }
})

const seal = (repo: string, extra: Partial<GitSeal.SealRequest> = {}) =>
  GitSeal.prepareSeal({ name, repo, mode: "sealed", acceptSubmoduleRisk: false, ...extra })

describe("GitSeal.prepareSeal", () => {
  it.effect("seeds a gitdir with the repo's branch, HEAD and index, an allowlisted config, no hooks, and allows its root", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { layer, repo, runtime, stateDir } = yield* world
      git(repo, "config", "core.fsmonitor", "touch /tmp/owned")
      git(repo, "config", "core.hooksPath", ".husky")
      git(repo, "config", "core.filemode", "false")
      yield* fs.writeFileString(`${repo}/.git/hooks/pre-commit`, "#!/bin/sh\nexit 1\n")
      const prepared = yield* seal(repo).pipe(Effect.provide(layer))
      const gd = `${stateDir}/git/isurus`
      assert.deepStrictEqual(Option.map(prepared.cover, (c) => c.gitDir), Option.some(gd))
      assert.strictEqual(prepared.record.mode, "sealed")
      assert.strictEqual(prepared.record.hostGit, "directory")
      const config = yield* fs.readFileString(`${gd}/config`)
      assert.notInclude(config, "fsmonitor")
      assert.notInclude(config, "hooksPath")
      assert.notInclude(config, "remote")
      assert.include(config, "filemode = false")
      assert.include(config, "bare = false")
      assert.deepStrictEqual(yield* fs.exists(`${gd}/hooks`), false)
      assert.strictEqual(git(repo, "--git-dir", gd, "symbolic-ref", "HEAD"), "refs/heads/main")
      assert.strictEqual(git(repo, "--git-dir", gd, "rev-parse", "main"), git(repo, "rev-parse", "main"))
      // The index, staged blob included: inside, `git status` shows the same staged file.
      // (The host's status with the fsmonitor this test planted turned off: it would run it.)
      assert.strictEqual(
        git(repo, "--git-dir", gd, "--work-tree", repo, "status", "--porcelain"),
        git(repo, "-c", "core.fsmonitor=false", "status", "--porcelain")
      )
      assert.deepStrictEqual(prepared.record.seededTips, [git(repo, "rev-parse", "main")])
      const namespace = yield* runtime.getNamespace(runtime.namespace)
      assert.isTrue(namespace.allowedPaths.includes(`${stateDir}/git`))
      assert.isFalse(prepared.initialized)
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("a detached HEAD is seeded as the same commit, and a worktree (.git a file) gets a gitfile cover", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { home, layer, repo, stateDir } = yield* world
      git(repo, "commit", "-qm", "second")
      git(repo, "checkout", "-q", "--detach")
      yield* fs.writeFileString(`${repo}/README`, "detached\n")
      git(repo, "commit", "-qam", "on a detached head")
      const detached = yield* seal(repo).pipe(Effect.provide(layer))
      const gd = `${stateDir}/git/isurus`
      assert.strictEqual(git(repo, "--git-dir", gd, "rev-parse", "HEAD"), git(repo, "rev-parse", "HEAD"))
      yield* GitSeal.discardSeal(name).pipe(Effect.provide(layer))
      assert.isFalse(yield* fs.exists(gd))
      void detached

      const worktree = `${home}/repos/wt`
      git(repo, "worktree", "add", "-q", "-b", "wt", worktree)
      const prepared = yield* seal(worktree).pipe(Effect.provide(layer))
      assert.strictEqual(prepared.record.hostGit, "gitfile")
      const cover = Option.getOrThrow(prepared.cover)
      assert.strictEqual(cover.gitFile, `${stateDir}/git/isurus.gitfile`)
      assert.strictEqual(yield* fs.readFileString(cover.gitFile ?? ""), "gitdir: /var/lib/repoman-git\n")
      assert.strictEqual(git(repo, "--git-dir", gd, "symbolic-ref", "HEAD"), "refs/heads/wt")
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("refuses a symlinked .git, an existing gitdir and submodules (unless accepted), leaving nothing behind", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { home, layer, repo, stateDir } = yield* world
      const gd = `${stateDir}/git/isurus`
      const detail = <R>(e: Effect.Effect<unknown, { readonly message: string }, R>) =>
        Effect.flip(e).pipe(Effect.map((x) => x.message))

      const sub = `${home}/sub`
      yield* fs.makeDirectory(sub)
      git(sub, "init", "-q")
      yield* fs.writeFileString(`${sub}/lib.c`, "int x;\n")
      git(sub, "add", "lib.c")
      git(sub, "commit", "-qm", "lib")
      git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", sub, "lib")
      assert.include(yield* detail(seal(repo).pipe(Effect.provide(layer))), "--accept-submodule-risk")
      assert.isFalse(yield* fs.exists(gd))
      const accepted = yield* seal(repo, { acceptSubmoduleRisk: true }).pipe(Effect.provide(layer))
      assert.deepStrictEqual(accepted.submodules, ["lib"])

      assert.include(yield* detail(seal(repo).pipe(Effect.provide(layer))), "exists")
      yield* GitSeal.discardSeal(name).pipe(Effect.provide(layer))

      const linked = `${home}/repos/linked`
      yield* fs.makeDirectory(linked)
      yield* fs.symlink(`${repo}/.git`, `${linked}/.git`)
      assert.include(yield* detail(seal(linked).pipe(Effect.provide(layer))), "is a symlink")
      assert.isFalse(yield* fs.exists(gd))
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("a repo without .git gets one (so the container cannot plant one); a failure takes it back", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { home, layer, stateDir } = yield* world
      const bare = `${home}/repos/plain`
      yield* fs.makeDirectory(bare)
      yield* fs.writeFileString(`${bare}/notes`, "x\n")
      const prepared = yield* seal(bare).pipe(Effect.provide(layer))
      assert.isTrue(prepared.initialized)
      assert.strictEqual((yield* fs.stat(`${bare}/.git`)).type, "Directory")
      yield* GitSeal.discardSeal(name).pipe(Effect.provide(layer))
      yield* fs.remove(`${bare}/.git`, { recursive: true })
      // The gitdir's place is taken by a file: seeding fails, and the .git new made goes again.
      yield* fs.makeDirectory(`${stateDir}/git`, { recursive: true })
      yield* fs.writeFileString(`${stateDir}/git/isurus`, "in the way\n")
      yield* Effect.flip(seal(bare).pipe(Effect.provide(layer)))
      assert.isFalse(yield* fs.exists(`${bare}/.git`))
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))
})

describe("GitSeal.fingerprint", () => {
  it.effect("notices what would run: config entries, hooks, redirects, a replaced .git; not ordinary work", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { layer, repo } = yield* world
      const take = GitSeal.fingerprint(repo).pipe(Effect.provide(layer), Effect.map(Option.getOrThrow))
      const before = yield* take
      // Ordinary work: commits, branches, user config.
      git(repo, "commit", "-qm", "work")
      git(repo, "branch", "other")
      git(repo, "config", "user.name", "someone")
      assert.deepStrictEqual(GitSeal.fingerprintChanges(before, Option.some(yield* take)), [])
      git(repo, "config", "core.fsmonitor", "/nonexistent/owned")
      yield* fs.writeFileString(`${repo}/.git/hooks/post-checkout`, "#!/bin/sh\n")
      yield* fs.writeFileString(`${repo}/.git/commondir`, "/tmp/evil\n")
      yield* fs.makeDirectory(`${repo}/.git/modules/x`, { recursive: true })
      yield* fs.writeFileString(`${repo}/.git/modules/x/config`, "[diff]\n\texternal = /tmp/x\n")
      const changes = GitSeal.fingerprintChanges(before, Option.some(yield* take))
      assert.deepStrictEqual(changes, [
        "config runs a program: core.fsmonitor = /nonexistent/owned",
        "new hook: post-checkout",
        "commondir appeared",
        "submodule gitdir x changed: diff.external = /tmp/x"
      ])
      assert.deepStrictEqual(GitSeal.fingerprintChanges(before, Option.none()), [".git is gone"])
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))
})
