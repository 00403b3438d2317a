import { assert, describe, it } from "@effect/vitest"
import { ContainerRuntime, ExecResult, InstanceSpec } from "@repoman/core/ContainerRuntime"
import * as ContainerRuntimeMemory from "@repoman/core/ContainerRuntimeMemory"
import { ImageRef, ProjectName } from "@repoman/core/Ids"
import type { MountEntry } from "@repoman/core/Mountinfo"
import { mountParents, onRootFilesystem, ownMountParents } from "@repoman/programs/HomeParents"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"

const home = "/home/ada"
const entry = (mountPoint: string, id: number): MountEntry => ({
  id,
  parentId: 1,
  device: "0:1",
  root: "/",
  mountPoint,
  fsType: "ext4",
  source: "/dev/x",
  options: ["rw"],
  sharedGroup: Option.none()
})

const name = ProjectName.make("isurus")

/** A memory runtime with an instance `isurus`, recording the commands run in it. */
const recording = Effect.gen(function*() {
  const calls: Array<ReadonlyArray<string>> = []
  const runtime = yield* ContainerRuntimeMemory.make({
    exec: (request) => {
      calls.push(request.argv)
      return Effect.succeed(new ExecResult({ exitCode: 0, stdout: "", stderr: "" }))
    }
  })
  yield* runtime.create(new InstanceSpec({ name, image: ImageRef.make("img"), profiles: [] }))
  return { calls, runtime }
})

describe("HomeParents", () => {
  it("the parents between the home and each mount under it, shallowest first, never a mount or under one", () => {
    assert.deepStrictEqual(
      mountParents(home, [
        `${home}/.config/git`,
        `${home}/.local/share/keys`,
        `${home}/.local/bin`,
        `${home}/.claude`,
        `${home}/.claude/projects/x`,
        "/opt/tool/bin",
        "/home/adam/.config/git"
      ]),
      [`${home}/.config`, `${home}/.local`, `${home}/.local/share`]
    )
    assert.deepStrictEqual(mountParents(home, [home, `${home}/x`]), [])
  })

  it("a path is on the root filesystem when no mount point but / holds it", () => {
    const table = [entry("/", 1), entry(`${home}/.config/git`, 2), entry("/tmp", 3)]
    assert.isTrue(onRootFilesystem(table, `${home}/.config`))
    assert.isFalse(onRootFilesystem(table, `${home}/.config/git`))
    assert.isFalse(onRootFilesystem(table, `${home}/.config/git/sub`))
    assert.isFalse(onRootFilesystem(table, "/tmp/home/.config"))
    assert.isFalse(onRootFilesystem([], `${home}/.config`))
  })

  it.effect("chowns (-h) only root-owned directories of the root filesystem; nothing when the table is unknown", () =>
    Effect.gen(function*() {
      const { calls, runtime } = yield* recording
      yield* runtime.makeDirectory(name, `${home}/.config/git`, { uid: 0, gid: 0 })
      yield* runtime.makeDirectory(name, `${home}/.local/share/keys`, { uid: 0, gid: 0 })
      yield* runtime.makeDirectory(name, `${home}/.local/share`, { uid: 1000, gid: 1000 })
      const mounts = [`${home}/.config/git`, `${home}/.local/share/keys`, `${home}/.cache/x/y`]
      const run = ownMountParents(name, home, mounts).pipe(Effect.provideService(ContainerRuntime, runtime))

      // The engine cannot tell the mounts: nothing is changed.
      assert.deepStrictEqual(yield* run, [])
      assert.deepStrictEqual(calls, [])

      // ~/.local is a mount itself here (say, a profile's): it and what is under it stay.
      yield* runtime.setMountTable(name, [
        entry("/", 1),
        entry(`${home}/.config/git`, 2),
        entry(`${home}/.local`, 3),
        entry(`${home}/.local/share/keys`, 4)
      ])
      assert.deepStrictEqual(yield* run, [`${home}/.config`])
      assert.deepStrictEqual(calls, [["chown", "-h", "1000:1000", "--", `${home}/.config`]])
    }))

  it.effect("attack: a symlink where a parent would be is left alone (never followed into a mount)", () =>
    Effect.gen(function*() {
      const { calls, runtime } = yield* recording
      yield* runtime.makeDirectory(name, `${home}/.claude`, { uid: 0, gid: 0 })
      // The container made ~/.config a symlink to the ~/.claude mount before repoman looked.
      yield* runtime.makeSymlink(name, `${home}/.config`, `${home}/.claude`)
      yield* runtime.setMountTable(name, [entry("/", 1), entry(`${home}/.claude`, 2)])
      const changed = yield* ownMountParents(name, home, [`${home}/.config/git`, `${home}/.claude`]).pipe(
        Effect.provideService(ContainerRuntime, runtime)
      )
      assert.deepStrictEqual(changed, [])
      assert.deepStrictEqual(calls, [])
    }))
})
