import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { ConfigPaths } from "@repoman/core/ConfigPaths"
import { ContainerRuntime, ExecResult, HostPath, InstanceSpec } from "@repoman/core/ContainerRuntime"
import * as RuntimeMemory from "@repoman/core/ContainerRuntimeMemory"
import { ImageRef, ProjectName } from "@repoman/core/Ids"
import * as RegistryMemory from "@repoman/core/RegistryMemory"
import { envFromAssignments } from "@repoman/programs/ExecInProject"
import { locate } from "@repoman/programs/RunFromCwd"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import { documentFrom, home, runCli } from "./harness.ts"

const document = documentFrom({
  schema: 3,
  project: [{ name: "isurus", repo: "isurus", image: "img", profiles: [], created: "2026-04-28T15:00:00Z" }]
})

/** A memory engine where isurus is stopped and `sh -c "exit N"` exits N. */
const engine = Effect.gen(function*() {
  const runtime = yield* RuntimeMemory.make({
    namespace: "repoman",
    exec: ({ argv }) =>
      Effect.succeed(
        new ExecResult({ exitCode: argv[0] === "false" ? 3 : 0, stdout: "", stderr: "" })
      )
  })
  const repo = `${home}/repos/isurus`
  yield* runtime.create(
    new InstanceSpec({
      name: ProjectName.make("isurus"),
      image: ImageRef.make("img"),
      profiles: [],
      repo: new HostPath({ source: repo, path: repo, readOnly: false })
    })
  )
  yield* runtime.stop(ProjectName.make("isurus"))
  return runtime
}).pipe(Effect.orDie)

describe("repoman exec", () => {
  it.effect("runs argv as uid 1000 in the repo, starting the container, with --env and --cwd", () =>
    Effect.gen(function*() {
      const runtime = yield* engine
      const out = yield* runCli(
        ["exec", "isurus", "--env", "A=1", "-e", "B=x=y", "--cwd", "/tmp", "--", "ls", "-l", "--all"],
        { memory: { document }, runtime: Layer.succeed(ContainerRuntime, runtime) }
      )
      assert.strictEqual(out.code, 0, out.stderr.join("\n"))
      const calls = (yield* runtime.calls).filter((c) => c.interactive)
      assert.deepStrictEqual(calls.map((c) => [c.argv, c.options]), [[
        ["ls", "-l", "--all"],
        { user: 1000, group: 1000, cwd: "/tmp", env: { HOME: home, USER: "dev", LOGNAME: "dev", A: "1", B: "x=y" } }
      ]])
      assert.strictEqual((yield* runtime.get(ProjectName.make("isurus"))).status, "Running")
    }))

  it.effect("the command's exit code becomes repoman's; the default cwd is the repo", () =>
    Effect.gen(function*() {
      const runtime = yield* engine
      const out = yield* runCli(["exec", "isurus", "--", "false"], {
        memory: { document },
        runtime: Layer.succeed(ContainerRuntime, runtime)
      })
      assert.strictEqual(out.code, 3)
      const [call] = (yield* runtime.calls).filter((c) => c.interactive)
      assert.strictEqual(call?.options.cwd, `${home}/repos/isurus`)
    }))

  it.effect("passes the terminal's variables, a locale the container lacks as C.UTF-8, and the recorded login shell", () =>
    Effect.gen(function*() {
      const runtime = yield* engine
      const name = ProjectName.make("isurus")
      const host = {
        user: "ada",
        environment: {
          TERM: "xterm-256color",
          COLORTERM: "truecolor",
          LANG: "de_DE.UTF-8",
          LC_TIME: "en_GB.UTF-8",
          TZ: "Europe/Berlin",
          PATH: "/host/bin",
          SECRET: "x"
        }
      }
      const run = (argv: ReadonlyArray<string>) =>
        runCli(argv, { memory: { document }, runtime: Layer.succeed(ContainerRuntime, runtime), host })
      // Made before locales were recorded: only the built-in ones count.
      assert.strictEqual((yield* run(["exec", "isurus", "--", "env"])).code, 0)
      // As `new` records them now.
      yield* runtime.setLabels(name, { "login-shell": "/bin/zsh", locales: "C,C.utf8,POSIX,de_DE.utf8" })
      assert.strictEqual((yield* run(["exec", "isurus", "--env", "TZ=UTC", "--", "env"])).code, 0)
      assert.strictEqual((yield* run(["shell", "isurus"])).code, 0)
      const calls = (yield* runtime.calls).filter((c) => c.interactive)
      assert.deepStrictEqual(calls.map((c) => c.options.env), [
        {
          TERM: "xterm-256color",
          COLORTERM: "truecolor",
          LANG: "C.UTF-8",
          LC_TIME: "C.UTF-8",
          TZ: "Europe/Berlin",
          HOME: home,
          USER: "ada",
          LOGNAME: "ada"
        },
        {
          TERM: "xterm-256color",
          COLORTERM: "truecolor",
          LANG: "de_DE.UTF-8",
          LC_TIME: "C.UTF-8",
          TZ: "UTC",
          HOME: home,
          USER: "ada",
          LOGNAME: "ada"
        },
        {
          TERM: "xterm-256color",
          COLORTERM: "truecolor",
          LANG: "de_DE.UTF-8",
          LC_TIME: "C.UTF-8",
          TZ: "Europe/Berlin",
          HOME: home,
          USER: "ada",
          LOGNAME: "ada"
        }
      ])
      assert.deepStrictEqual(calls.map((c) => c.argv), [["env"], ["env"], ["/bin/zsh", "-l"]])
    }))

  it.effect("a --cwd that is not a directory inside is a clear error, exit 1, and nothing runs", () =>
    Effect.gen(function*() {
      const runtime = yield* engine
      const out = yield* runCli(["exec", "isurus", "--cwd", "/nonexistent", "--", "ls"], {
        memory: { document },
        runtime: Layer.succeed(ContainerRuntime, runtime)
      })
      assert.strictEqual(out.code, 1)
      assert.deepStrictEqual(out.stderr, ["repoman: directory \"/nonexistent\" does not exist"])
      assert.deepStrictEqual((yield* runtime.calls).filter((c) => c.interactive), [])
    }))

  it.effect("usage errors exit 2 and run nothing: bad --env, relative --cwd, no command", () =>
    Effect.gen(function*() {
      for (
        const argv of [
          ["exec", "isurus", "--env", "1A=x", "--", "ls"],
          ["exec", "isurus", "--env", "NOEQUALS", "--", "ls"],
          ["exec", "isurus", "--cwd", "rel/dir", "--", "ls"],
          ["exec", "isurus"]
        ]
      ) {
        const runtime = yield* engine
        const out = yield* runCli(argv, { memory: { document }, runtime: Layer.succeed(ContainerRuntime, runtime) })
        assert.strictEqual(out.code, 2, `${argv.join(" ")}: ${out.stderr.join("\n")}`)
        assert.deepStrictEqual((yield* runtime.calls).filter((c) => c.interactive), [])
      }
    }))

  it("envFromAssignments keeps '=' in values and lets the last one win", () => {
    assert.deepStrictEqual(envFromAssignments(["A=1", "B=", "A=2=3"]), { A: "2=3", B: "" })
  })
})

describe("repoman run", () => {
  it.effect("refuses outside every repo, listing the allowed roots", () =>
    Effect.gen(function*() {
      const out = yield* runCli(["run", "--", "ls"], { memory: { document } })
      assert.strictEqual(out.code, 1)
      assert.include(out.stderr.join("\n"), "is not inside a project's repo")
      assert.include(out.stderr.join("\n"), `${home}/repos/isurus`)
    }))

  it.effect("locate maps a directory inside a repo (through a symlink) to the same path inside", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-run-" })
      yield* fs.makeDirectory(`${dir}/repos/isurus/src/deep`, { recursive: true })
      yield* fs.makeDirectory(`${dir}/repos/isurus-other`)
      yield* fs.symlink(`${dir}/repos/isurus/src`, `${dir}/link`)
      const doc = documentFrom({
        schema: 3,
        project: [
          { name: "isurus", repo: "isurus", image: "img", profiles: [], created: "2026-04-28T15:00:00Z" },
          { name: "other", repo: "isurus-other", image: "img", profiles: [], created: "2026-04-28T15:00:00Z" }
        ]
      })
      const layer = Layer.mergeAll(
        RegistryMemory.layer({ document: doc }),
        ConfigPaths.layerFrom({ home: dir, configDir: `${dir}/.config/repoman` })
      )
      const repo = `${dir}/repos/isurus`
      const at = (cwd: string) => locate(cwd).pipe(Effect.provide(layer))
      const deep = yield* at(`${repo}/src/deep`)
      assert.deepStrictEqual({ name: deep.project.name, repoPath: deep.repoPath, dir: deep.dir }, {
        name: ProjectName.make("isurus"),
        repoPath: repo,
        dir: `${repo}/src/deep`
      })
      assert.strictEqual((yield* at(repo)).dir, repo)
      assert.strictEqual((yield* at(`${dir}/link/deep`)).dir, `${repo}/src/deep`)
      assert.strictEqual((yield* at(`${dir}/repos/isurus-other`)).project.name, "other")
      const refused = yield* Effect.flip(at(`${dir}/repos`))
      assert.strictEqual(refused._tag, "NotInProject")
      assert.deepStrictEqual(refused._tag === "NotInProject" ? refused.roots : [], [repo, `${dir}/repos/isurus-other`])
    }).pipe(Effect.provide(NodeServices.layer)))
})
