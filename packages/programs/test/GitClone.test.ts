import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { ConfigPaths } from "@repoman/core/ConfigPaths"
import { ProjectName, RepoDir } from "@repoman/core/Ids"
import { emptyDocument, RegistryDocument } from "@repoman/core/RegistryDocument"
import * as RegistryMemory from "@repoman/core/RegistryMemory"
import { cloneArgv, cloneForProject, GitUrl } from "@repoman/programs/GitClone"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as ChildProcess from "effect/process/ChildProcess"
import * as ChildProcessSpawner from "effect/process/ChildProcessSpawner"
import * as Schema from "effect/Schema"

/** A home with an empty repos root, and a layer that records every spawn instead of running it. */
const world = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const home = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-clone-" })
  yield* fs.makeDirectory(`${home}/repos`)
  const spawned: Array<ReadonlyArray<string>> = []
  const recording = Layer.succeed(
    ChildProcessSpawner.ChildProcessSpawner,
    ChildProcessSpawner.make((command) => {
      if (command._tag === "StandardCommand") spawned.push([command.command, ...command.args.map(String)])
      return Effect.die("not run")
    })
  )
  const layer = (document = emptyDocument) =>
    Layer.mergeAll(
      RegistryMemory.layer({ document }),
      ConfigPaths.layerFrom({ home, configDir: `${home}/.config/repoman` })
    )
  return { fs, home, spawned, recording, layer }
})

const url = Schema.decodeUnknownSync(GitUrl)

describe("GitClone", () => {
  it.effect("clones a local bare repo into the repos root", () =>
    Effect.gen(function*() {
      const { fs, home, layer } = yield* world
      const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
      const git = (...args: ReadonlyArray<string>) =>
        spawner.exitCode(ChildProcess.make("git", args, { stdin: "ignore", extendEnv: true, env: gitEnv }))
      const gitEnv = {
        GIT_AUTHOR_NAME: "t",
        GIT_AUTHOR_EMAIL: "t@example.invalid",
        GIT_COMMITTER_NAME: "t",
        GIT_COMMITTER_EMAIL: "t@example.invalid"
      }
      yield* fs.makeDirectory(`${home}/src`)
      yield* fs.writeFileString(`${home}/src/README`, "hello\n")
      assert.strictEqual(Number(yield* git("-C", `${home}/src`, "init", "-q")), 0)
      assert.strictEqual(Number(yield* git("-C", `${home}/src`, "add", "README")), 0)
      assert.strictEqual(Number(yield* git("-C", `${home}/src`, "commit", "-qm", "init")), 0)
      assert.strictEqual(Number(yield* git("clone", "-q", "--bare", `${home}/src`, `${home}/bare.git`)), 0)

      const target = yield* cloneForProject(ProjectName.make("foo"), RepoDir.make("foo"), url(`${home}/bare.git`))
        .pipe(Effect.provide(layer()))
      assert.strictEqual(target, `${home}/repos/foo`)
      assert.strictEqual(yield* fs.readFileString(`${home}/repos/foo/README`), "hello\n")

      const failed = yield* Effect.flip(
        cloneForProject(ProjectName.make("bar"), RepoDir.make("bar"), url(`${home}/missing.git`))
          .pipe(Effect.provide(layer()))
      )
      assert.strictEqual(failed._tag, "CloneFailed")
      assert.isFalse(yield* fs.exists(`${home}/repos/bar`))

      // A directory that is not a repository: git's reason, not its closing advice.
      const notRepo = yield* Effect.flip(
        cloneForProject(ProjectName.make("etc"), RepoDir.make("etc"), url("file:///etc")).pipe(Effect.provide(layer()))
      )
      assert.strictEqual(
        notRepo.message,
        `cloning file:///etc into ${home}/repos/etc failed: '/etc' does not appear to be a git repository`
      )
      assert.isFalse(yield* fs.exists(`${home}/repos/etc`))
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.effect("refuses an existing directory, a dangling symlink or a registered name without running git", () =>
    Effect.gen(function*() {
      const { fs, home, spawned, recording, layer } = yield* world
      yield* fs.makeDirectory(`${home}/repos/there`)
      yield* fs.symlink(`${home}/nowhere`, `${home}/repos/dangling`)
      const document = Schema.decodeUnknownSync(RegistryDocument)({
        schema: 3,
        project: [{ name: "known", repo: "elsewhere", image: "img", profiles: [], created: "2026-04-28T15:00:00Z" }]
      })
      const clone = (name: string) =>
        cloneForProject(ProjectName.make(name), RepoDir.make(name), url("https://example.invalid/x.git")).pipe(
          Effect.provide(Layer.mergeAll(layer(document), recording))
        )
      assert.strictEqual((yield* Effect.flip(clone("there")))._tag, "CloneTargetExists")
      assert.strictEqual((yield* Effect.flip(clone("dangling")))._tag, "CloneTargetExists")
      const known = yield* Effect.flip(clone("known"))
      assert.strictEqual(known._tag === "RegistryError" ? known.reason._tag : known._tag, "ProjectExists")
      assert.deepStrictEqual(spawned, [])
      // A fresh name reaches git, with hooks off and an argv list.
      yield* Effect.exit(clone("fresh"))
      assert.deepStrictEqual(spawned, [[
        "git",
        ...cloneArgv(url("https://example.invalid/x.git"), `${home}/repos/fresh`)
      ]])
      assert.includeMembers([...spawned[0] ?? []], ["core.hooksPath=/dev/null", "--no-recurse-submodules", "--"])
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it("GitUrl refuses option-like, ext:: and whitespace URLs", () => {
    const ok = Schema.is(GitUrl)
    for (const s of ["https://github.com/a/b.git", "git@github.com:a/b.git", "/srv/git/b.git", "ssh://h/b"]) {
      assert.isTrue(ok(s), s)
    }
    for (const s of ["", "-uhttps://x", "--upload-pack=touch /tmp/x", "ext::sh -c id", "EXT::x", "a b", "a\nb"]) {
      assert.isFalse(ok(s), JSON.stringify(s))
    }
  })
})
