/**
 * `repoman exec` takes a checkpoint; `checkpoints`, `diff`, `undo` and
 * `restore` against memory stores: what they print (names escaped), their
 * exit codes for bad input, the container frozen during an undo, and a
 * restore into the repo only with a yes.
 */
import { assert, describe, it } from "@effect/vitest"
import { BackupTarget } from "@repoman/core/BackupTarget"
import * as BackupTargetMemory from "@repoman/core/BackupTargetMemory"
import * as CheckpointsMemory from "@repoman/core/CheckpointsMemory"
import { ContainerRuntime, ExecResult, HostPath, InstanceSpec } from "@repoman/core/ContainerRuntime"
import * as RuntimeMemory from "@repoman/core/ContainerRuntimeMemory"
import { ImageRef, ProjectName } from "@repoman/core/Ids"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { documentFrom, home, runCli } from "./harness.ts"

const isurus = ProjectName.make("isurus")
const repo = `${home}/repos/isurus`
const document = documentFrom({
  schema: 3,
  project: [{ name: "isurus", repo: "isurus", image: "img", profiles: [], created: "2026-04-28T15:00:00Z" }]
})
const file = (content: string): CheckpointsMemory.MemoryEntry => ({ type: "file", content, mode: 0o644 })

/** A running container that records freeze and unfreeze, and a memory checkpoint store holding the repo. */
const world = Effect.gen(function*() {
  const memory = yield* RuntimeMemory.make({
    namespace: "repoman",
    exec: () => Effect.succeed(new ExecResult({ exitCode: 0, stdout: "", stderr: "" }))
  })
  yield* memory.create(
    new InstanceSpec({
      name: isurus,
      image: ImageRef.make("img"),
      profiles: [],
      repo: new HostPath({ source: repo, path: repo, readOnly: false })
    })
  )
  const events: Array<string> = []
  const state = CheckpointsMemory.makeState()
  state.trees.set(
    repo,
    new Map<string, CheckpointsMemory.MemoryEntry>([["README.md", file("# hi\n")], ["src", {
      type: "directory",
      mode: 0o755
    }]])
  )
  const runtime = Layer.succeed(
    ContainerRuntime,
    ContainerRuntime.of({
      ...memory,
      freeze: (name) => Effect.sync(() => events.push("freeze")).pipe(Effect.andThen(memory.freeze(name))),
      unfreeze: (name) => Effect.sync(() => events.push("unfreeze")).pipe(Effect.andThen(memory.unfreeze(name)))
    })
  )
  return { memory, events, state, runtime, layer: CheckpointsMemory.layer(state) }
}).pipe(Effect.orDie)

describe("repoman checkpoints, diff, undo", () => {
  it.effect("exec takes a checkpoint before the session; --no-checkpoint takes none", () =>
    Effect.gen(function*() {
      const { layer, runtime, state } = yield* world
      const out = yield* runCli(["exec", "isurus", "--", "claude", "--yes"], {
        memory: { document },
        runtime,
        checkpoints: layer
      })
      assert.strictEqual(out.code, 0, out.stderr.join("\n"))
      assert.deepStrictEqual(state.taken.get(isurus)?.map((c) => [c.info.kind, c.info.label]), [
        ["session", "claude --yes"]
      ])
      yield* runCli(["exec", "isurus", "--no-checkpoint", "--", "true"], {
        memory: { document },
        runtime,
        checkpoints: layer
      })
      assert.strictEqual(state.taken.get(isurus)?.length, 1)
    }))

  it.effect("diff shows what the session changed, names escaped; --json is valid JSON with the exact bytes", () =>
    Effect.gen(function*() {
      const { layer, runtime, state } = yield* world
      yield* runCli(["exec", "isurus", "--", "agent"], { memory: { document }, runtime, checkpoints: layer })
      const tree = state.trees.get(repo)
      tree?.set("evil\x1b[2Jname\xff", file("x"))
      tree?.set("README.md", file("# changed\n"))
      tree?.delete("src")
      const out = yield* runCli(["diff", "isurus"], { memory: { document }, runtime, checkpoints: layer })
      assert.strictEqual(out.code, 0)
      assert.deepStrictEqual(out.stdout.slice(0, 3), ["M  README.md", "A  evil\\x1b[2Jname\\xff", "D  src/"])
      assert.isFalse(out.stdout.join("\n").includes("\x1b"), "no escape byte reaches the terminal")
      assert.match(out.stdout.at(-1) ?? "", /^1 modified, 1 added, 1 removed since checkpoint /)
      const json = yield* runCli(["diff", "isurus", "--json"], { memory: { document }, runtime, checkpoints: layer })
      const parsed = JSON.parse(json.stdout.join("\n")) as { changes: Array<{ path: string; pathBase64: string }> }
      const evil = parsed.changes.find((c) => c.path.startsWith("evil"))
      assert.strictEqual(Buffer.from(evil?.pathBase64 ?? "", "base64").toString("latin1"), "evil\x1b[2Jname\xff")
    }))

  it.effect("undo freezes the running container, puts the repo back, and says how to undo the undo", () =>
    Effect.gen(function*() {
      const { events, layer, memory, runtime, state } = yield* world
      yield* runCli(["exec", "isurus", "--", "agent"], { memory: { document }, runtime, checkpoints: layer })
      const before = new Map(state.trees.get(repo))
      state.trees.get(repo)?.set("README.md", file("rm -rf was here\n"))
      const out = yield* runCli(["undo", "isurus"], { memory: { document }, runtime, checkpoints: layer })
      assert.strictEqual(out.code, 0, out.stderr.join("\n"))
      assert.deepStrictEqual(state.trees.get(repo), before)
      assert.deepStrictEqual(events, ["freeze", "unfreeze"])
      assert.strictEqual((yield* memory.get(isurus)).status, "Running")
      const all = state.taken.get(isurus) ?? []
      const undoId = all.at(-1)?.info.id ?? ""
      assert.strictEqual(all.at(-1)?.info.kind, "undo")
      assert.include(out.stdout.join("\n"), `'repoman undo isurus ${undoId}' undoes this`)
      assert.include(out.stdout.join("\n"), "isurus was frozen while the repo was written")
      // The undo of the undo brings the agent's README back.
      yield* runCli(["undo", "isurus", undoId], { memory: { document }, runtime, checkpoints: layer })
      assert.deepStrictEqual(state.trees.get(repo)?.get("README.md"), file("rm -rf was here\n"))
    }))

  it.effect("bad input: a malformed or unknown checkpoint, or no checkpoints at all, changes nothing", () =>
    Effect.gen(function*() {
      const { layer, runtime, state } = yield* world
      const none = yield* runCli(["undo", "isurus"], { memory: { document }, runtime, checkpoints: layer })
      assert.strictEqual(none.code, 1)
      assert.deepStrictEqual(none.stderr, ["repoman: isurus has no checkpoints yet"])
      const malformed = yield* runCli(["undo", "isurus", "../../etc"], {
        memory: { document },
        runtime,
        checkpoints: layer
      })
      assert.strictEqual(malformed.code, 2)
      const unknown = yield* runCli(["undo", "isurus", "20990101T000000.000Z-zzzz"], {
        memory: { document },
        runtime,
        checkpoints: layer
      })
      assert.strictEqual(unknown.code, 2)
      assert.include(unknown.stderr.join("\n"), "has no checkpoint \"20990101T000000.000Z-zzzz\"")
      const since = yield* runCli(["diff", "isurus", "--since", "yesterday"], {
        memory: { document },
        runtime,
        checkpoints: layer
      })
      assert.strictEqual(since.code, 2)
      assert.strictEqual(state.taken.get(isurus)?.length ?? 0, 0)
    }))

  it.effect("checkpoints lists them with what changed, the label escaped", () =>
    Effect.gen(function*() {
      const { layer, runtime, state } = yield* world
      yield* runCli(["exec", "isurus", "--", "agent", "\x1b]0;pwned\x07"], {
        memory: { document },
        runtime,
        checkpoints: layer
      })
      state.trees.get(repo)?.set("new", file("n"))
      yield* runCli(["exec", "isurus", "--", "agent"], { memory: { document }, runtime, checkpoints: layer })
      const out = yield* runCli(["checkpoints", "isurus"], { memory: { document }, runtime, checkpoints: layer })
      assert.strictEqual(out.code, 0)
      assert.match(out.stdout[0] ?? "", /^ID\s+TAKEN\s+KIND\s+ENTRIES\s+COPIED\s+CHANGES\s+LABEL$/)
      assert.include(out.stdout[1] ?? "", "agent \\x1b]0;pwned\\x07")
      assert.include(out.stdout[2] ?? "", "+1 -0 ~0")
      assert.isFalse(out.stdout.join("\n").includes("\x1b"))
      const json = yield* runCli(["checkpoints", "isurus", "--json"], {
        memory: { document },
        runtime,
        checkpoints: layer
      })
      assert.strictEqual((JSON.parse(json.stdout.join("\n")) as { checkpoints: Array<unknown> }).checkpoints.length, 2)
    }))
})

describe("repoman restore", () => {
  it.effect("a checkpoint goes into a new directory; into the repo only with --yes, after a checkpoint", () =>
    Effect.gen(function*() {
      const { layer, runtime, state } = yield* world
      yield* runCli(["exec", "isurus", "--", "agent"], { memory: { document }, runtime, checkpoints: layer })
      state.trees.get(repo)?.set("README.md", file("damaged\n"))
      const out = yield* runCli(["restore", "isurus", "--from", "checkpoint", "--to", "/srv/out"], {
        memory: { document },
        runtime,
        checkpoints: layer
      })
      assert.strictEqual(out.code, 0, out.stderr.join("\n"))
      assert.deepStrictEqual(state.trees.get("/srv/out")?.get("README.md"), file("# hi\n"))
      assert.deepStrictEqual(state.trees.get(repo)?.get("README.md"), file("damaged\n"))
      const exists = yield* runCli(["restore", "isurus", "--from", "checkpoint", "--to", "/srv/out"], {
        memory: { document },
        runtime,
        checkpoints: layer
      })
      assert.strictEqual(exists.code, 2)
      // Into the repo: no terminal to ask on, so --yes is needed.
      const refused = yield* runCli(["restore", "isurus", "--from", "checkpoint", "--to", repo], {
        memory: { document },
        runtime,
        checkpoints: layer
      })
      assert.strictEqual(refused.code, 2)
      assert.include(refused.stderr.join("\n"), "confirm with --yes")
      assert.deepStrictEqual(state.trees.get(repo)?.get("README.md"), file("damaged\n"))
      const count = state.taken.get(isurus)?.length ?? 0
      const done = yield* runCli(["restore", "isurus", "--from", "checkpoint", "--to", repo, "--yes"], {
        memory: { document },
        runtime,
        checkpoints: layer
      })
      assert.strictEqual(done.code, 0, done.stderr.join("\n"))
      assert.deepStrictEqual(state.trees.get(repo)?.get("README.md"), file("# hi\n"))
      assert.strictEqual(state.taken.get(isurus)?.length, count + 1, "a checkpoint of the damaged repo came first")
    }))

  it.effect("--list shows the backup's generations; an unknown one is refused", () =>
    Effect.gen(function*() {
      const { layer, runtime } = yield* world
      const target = yield* BackupTargetMemory.make({ sources: [[repo, new Map([["README.md", "# hi\n"]])]] })
      const backup = Layer.succeed(BackupTarget, target)
      yield* runCli(["sync"], { memory: { document }, runtime, checkpoints: layer, backup })
      const list = yield* runCli(["restore", "isurus", "--list"], {
        memory: { document },
        runtime,
        checkpoints: layer,
        backup
      })
      assert.strictEqual(list.code, 0)
      assert.match(list.stdout[1] ?? "", /^19700101T000000Z\s+1970-01-01T00:00:00Z\s+generation, latest, 1 files$/)
      const unknown = yield* runCli(["restore", "isurus", "--at", "19990101T000000Z"], {
        memory: { document },
        runtime,
        checkpoints: layer,
        backup
      })
      assert.strictEqual(unknown.code, 2)
      assert.include(unknown.stderr.join("\n"), "no backup generation named")
      const restored = yield* runCli(["restore", "isurus", "--to", "/srv/restored"], {
        memory: { document },
        runtime,
        checkpoints: layer,
        backup
      })
      assert.strictEqual(restored.code, 0, restored.stderr.join("\n"))
      assert.deepStrictEqual([
        ...((yield* target.source("/srv/restored")).pipe((o) => o._tag === "Some" ? o.value : new Map()))
      ], [["README.md", "# hi\n"]])
    }))
})
