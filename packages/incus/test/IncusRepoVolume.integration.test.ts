/**
 * Repo volumes against the real incusd (REPOMAN_INTEGRATION=1), with the
 * runtime built on a client that says the daemon is remote (`local: false`,
 * on the unix socket: how incusd is reached does not matter beyond that):
 * the repo-volume conformance tests, then what a user and a hostile
 * container do with it.
 *
 * Each block works in its own throwaway Incus project (`volume-<random>`),
 * made restricted the way repoman makes its own and deleted with
 * `?force=true` afterwards (which deletes its volumes too).
 */
import { assert, layer } from "@effect/vitest"
import { ContainerRuntime, HostPath, InstanceSpec, NamespaceSpec, Volume } from "@repoman/core/ContainerRuntime"
import { ImageRef, ProfileName, ProjectName } from "@repoman/core/Ids"
import { RepoVolumeSuite } from "@repoman/core/testing/ContainerRuntimeSuite"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { randomBytes } from "node:crypto"
import * as IncusClient from "../src/IncusClient.ts"
import * as IncusContainerRuntime from "../src/IncusContainerRuntime.ts"
import { markManaged } from "../src/IncusLabels.ts"
import { repoVolumeConfig } from "../src/IncusVolumeConfig.ts"

const image = process.env["REPOMAN_CI_BUSYBOX_ALIAS"] ?? "repoman-busybox"
const pool = process.env["REPOMAN_CI_POOL"] ?? "default"
const timeout = 180_000
const owner = process.getuid?.() ?? 1000

/** The runtime for a fresh project `volume-<label>-<random>`, as if incusd were remote. */
const throwawayProject = (label: string) => {
  const project = `volume-${label}-${randomBytes(3).toString("hex")}`
  const lifecycle = Layer.effectDiscard(Effect.gen(function*() {
    const runtime = yield* ContainerRuntime
    const client = yield* IncusClient.IncusClient
    yield* Effect.acquireRelease(
      runtime.ensureNamespace(
        new NamespaceSpec({
          name: project,
          description: "repoman volume integration test (safe to delete)",
          allowedPaths: [],
          idMapping: { _tag: "Shift" },
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
      Layer.provideMerge(IncusClient.layer({ local: false }))
    )
  }
}

RepoVolumeSuite("incus, remote", throwawayProject("suite").layer, { image, timeout })

const particular = throwawayProject("it")
const repoPath = "/home/dev/repo"
const unique = (label: string) => ProjectName.make(`v-${label}-${randomBytes(2).toString("hex")}`)
const spec = (name: ProjectName, fields: Partial<ConstructorParameters<typeof InstanceSpec>[0]> = {}) =>
  new InstanceSpec({
    name,
    image: ImageRef.make(image),
    profiles: [ProfileName.make("default")],
    repo: new Volume({ path: repoPath }),
    ...fields
  })
const bytes = (text: string) => new TextEncoder().encode(text)
const reasonOf = <A, E extends { readonly reason: { readonly _tag: string } }>(effect: Effect.Effect<A, E>) =>
  Effect.match(effect, { onFailure: (e) => e.reason._tag, onSuccess: () => "Success" })

/** Runs `sh -c script` in the instance; its stdout (a non-zero exit fails the test). */
const sh = (name: ProjectName, script: string, user = 0) =>
  Effect.gen(function*() {
    const runtime = yield* ContainerRuntime
    const result = yield* runtime.exec(name, ["sh", "-c", script], { user, group: user })
    assert.strictEqual(result.exitCode, 0, `${script}: ${result.stderr}`)
    return result.stdout
  })

/** A name whose instance and volume go when the test ends. */
const scoped = (label: string) =>
  Effect.gen(function*() {
    const runtime = yield* ContainerRuntime
    const name = unique(label)
    yield* Effect.addFinalizer(() =>
      Effect.ignore(runtime.remove(name)).pipe(Effect.andThen(Effect.ignore(runtime.deleteRepoVolume(name))))
    )
    return name
  })

layer(particular.layer, { excludeTestServices: true, timeout })("repo volumes on a remote incusd", (it) => {
  it.effect(
    "the runtime cannot mount host paths: a host repo is refused, and nothing is made",
    () =>
      Effect.gen(function*() {
        const runtime = yield* ContainerRuntime
        assert.isFalse(runtime.hostPaths)
        const name = yield* scoped("host")
        const hostRepo = spec(name, { repo: new HostPath({ source: "/tmp", path: "/tmp", readOnly: false }) })
        assert.strictEqual(yield* reasonOf(runtime.create(hostRepo)), "OperationFailed")
        const mapped = spec(name, { idMapping: { _tag: "HostUser", uid: owner, gid: owner } })
        assert.strictEqual(yield* reasonOf(runtime.create(mapped)), "OperationFailed")
        assert.strictEqual(yield* reasonOf(runtime.get(name)), "NotFound")
        assert.strictEqual(yield* reasonOf(runtime.getRepoVolume(name)), "NotFound")
      }),
    timeout
  )

  it.effect(
    "a file written into the volume is in the container at the repo path, the container user's; remove keeps it, new finds it",
    () =>
      Effect.gen(function*() {
        const runtime = yield* ContainerRuntime
        const client = yield* IncusClient.IncusClient
        const name = yield* scoped("life")
        yield* runtime.create(spec(name))
        const { value } = yield* client.getInstance(particular.project, name)
        // No host id means anything on a remote: no raw.idmap, and the repo is the volume.
        assert.isUndefined(value.config["raw.idmap"])
        assert.deepStrictEqual(value.devices["repo"], { type: "disk", pool, source: name, path: repoPath })
        yield* runtime.writeFile(name, `${repoPath}/hello.txt`, bytes("hello\n"), { uid: 1000, gid: 1000, mode: 0o644 })
        assert.strictEqual(yield* sh(name, `ls -lnd ${repoPath} | awk '{print $3, $4}'`), "1000 1000\n")
        assert.strictEqual(
          yield* sh(name, `ls -ln ${repoPath}/hello.txt | awk '{print $1, $3, $4}'`),
          "-rw-r--r-- 1000 1000\n"
        )
        // The container user can write its repo.
        yield* sh(name, `echo made-inside > ${repoPath}/inside.txt`, 1000)
        yield* runtime.remove(name)
        assert.deepStrictEqual((yield* runtime.getRepoVolume(name)).usedBy, [])
        yield* runtime.create(spec(name))
        assert.strictEqual(yield* sh(name, `cat ${repoPath}/hello.txt ${repoPath}/inside.txt`), "hello\nmade-inside\n")
        assert.strictEqual(yield* sh(name, `ls -lnd ${repoPath} | awk '{print $3, $4}'`), "1000 1000\n")
      }),
    timeout
  )

  it.effect(
    "a failed create (a missing image) leaves no volume; a volume already there is kept",
    () =>
      Effect.gen(function*() {
        const runtime = yield* ContainerRuntime
        const name = yield* scoped("fail")
        const missing = spec(name, { image: ImageRef.make("volume-no-such-image") })
        assert.strictEqual(yield* reasonOf(runtime.create(missing)), "NotFound")
        assert.strictEqual(yield* reasonOf(runtime.getRepoVolume(name)), "NotFound")
        // With a volume from before, the failed create keeps it (and what is in it).
        yield* runtime.create(spec(name))
        yield* runtime.writeFile(name, `${repoPath}/keep`, bytes("keep"), { uid: 1000, gid: 1000, mode: 0o644 })
        yield* runtime.remove(name)
        assert.strictEqual(yield* reasonOf(runtime.create(missing)), "NotFound")
        assert.strictEqual((yield* runtime.getRepoVolume(name)).name, name)
        yield* runtime.create(spec(name))
        assert.strictEqual(yield* sh(name, `cat ${repoPath}/keep`), "keep")
      }),
    timeout
  )

  it.effect(
    "another owner's volume, an unmanaged one, or one made for another instance is not taken up",
    () =>
      Effect.gen(function*() {
        const runtime = yield* ContainerRuntime
        const client = yield* IncusClient.IncusClient
        const cases = [
          markManaged({ "user.repoman.instance": "x" }, owner + 1),
          {},
          repoVolumeConfig("someone-else", owner)
        ]
        for (const config of cases) {
          const name = yield* scoped("foreign")
          yield* client.createStorageVolume(particular.project, pool, {
            name,
            description: "",
            config,
            content_type: "filesystem"
          })
          assert.strictEqual(yield* reasonOf(runtime.create(spec(name))), "Conflict", JSON.stringify(config))
          assert.strictEqual(yield* reasonOf(runtime.get(name)), "NotFound")
          assert.strictEqual(yield* reasonOf(runtime.deleteRepoVolume(name)), "Conflict")
          assert.strictEqual(yield* reasonOf(runtime.snapshotRepoVolume(name, "s")), "Conflict")
          // Still there, untouched.
          const { value } = yield* client.getStorageVolume(particular.project, pool, name)
          assert.deepInclude(value.config, config)
          yield* client.deleteStorageVolume(particular.project, pool, name)
        }
      }),
    timeout
  )

  it.effect(
    "attacker: a symlink the container plants where writeFile then writes is replaced, not followed",
    () =>
      Effect.gen(function*() {
        const runtime = yield* ContainerRuntime
        const name = yield* scoped("link")
        yield* runtime.create(spec(name))
        const passwd = yield* sh(name, "cat /etc/passwd")
        yield* sh(name, `ln -s /etc/passwd ${repoPath}/config && ln -s /etc ${repoPath}/dir-link`, 1000)
        yield* runtime.writeFile(name, `${repoPath}/config`, bytes("pushed\n"), { uid: 1000, gid: 1000, mode: 0o600 })
        assert.strictEqual(yield* sh(name, "cat /etc/passwd"), passwd)
        assert.strictEqual(yield* sh(name, `cat ${repoPath}/config`), "pushed\n")
        assert.strictEqual(yield* sh(name, `ls -ln ${repoPath}/config | awk '{print $1, $3}'`), "-rw------- 1000\n")
        // Targets read as written: relative ones stay relative; one that is not UTF-8 is refused.
        yield* sh(name, `ln -s ../up/there ${repoPath}/rel && ln -s "$(printf 'x\\377')" ${repoPath}/bad-target`, 1000)
        assert.deepStrictEqual(
          (yield* runtime.fileInfo(name, `${repoPath}/rel`)).pipe(Option.map((i) => i.target)),
          Option.some("../up/there")
        )
        assert.strictEqual(yield* reasonOf(runtime.fileInfo(name, `${repoPath}/bad-target`)), "OperationFailed")
        // A link to a directory is not listed through, nor written under as if a directory.
        assert.strictEqual(yield* reasonOf(runtime.listDirectory(name, `${repoPath}/dir-link`)), "Conflict")
        assert.deepStrictEqual(
          (yield* runtime.fileInfo(name, `${repoPath}/dir-link`)).pipe(Option.map((i) => [i.type, i.target])),
          Option.some(["symlink", "/etc"])
        )
      }),
    timeout
  )

  it.effect(
    "attacker: hostile names are listed as they are, and a name that is not UTF-8 fails the listing",
    () =>
      Effect.gen(function*() {
        const runtime = yield* ContainerRuntime
        const name = yield* scoped("names")
        yield* runtime.create(spec(name))
        yield* sh(
          name,
          `cd ${repoPath} && mkdir d && cd d && touch "$(printf 'a\\nb')" "$(printf '\\033[31mred')" -- "-rf" ' space ' '..."'`,
          1000
        )
        assert.deepStrictEqual(
          yield* runtime.listDirectory(name, `${repoPath}/d`),
          [
            " space ",
            "-rf",
            "...\"",
            "\u001b[31mred",
            "a\nb"
          ].sort()
        )
        yield* sh(name, `touch "${repoPath}/d/$(printf 'bad\\377')"`, 1000)
        assert.strictEqual(yield* reasonOf(runtime.listDirectory(name, `${repoPath}/d`)), "OperationFailed")
      }),
    timeout
  )

  it.effect("attacker: a huge file is read only up to maxBytes", () =>
    Effect.gen(function*() {
      const runtime = yield* ContainerRuntime
      const name = yield* scoped("huge")
      yield* runtime.create(spec(name))
      yield* sh(name, `dd if=/dev/zero of=${repoPath}/huge bs=1M count=64 2>/dev/null`, 1000)
      let read = 0
      const outcome = yield* reasonOf(
        runtime.readFile(name, `${repoPath}/huge`, { maxBytes: 1 << 20 }).pipe(
          Stream.runForEach((chunk) =>
            Effect.sync(() => {
              read += chunk.length
            })
          )
        )
      )
      assert.strictEqual(outcome, "OperationFailed")
      assert.isAtMost(read, 1 << 20)
      assert.strictEqual(
        yield* reasonOf(runtime.readTextFile(name, `${repoPath}/huge`, { maxBytes: 1 << 20 })),
        "OperationFailed"
      )
    }), timeout)

  it.effect(
    "writeFile: on a stopped instance the volume is refused (not mounted then), special mode bits are refused, a missing instance is NotFound",
    () =>
      Effect.gen(function*() {
        const runtime = yield* ContainerRuntime
        const name = yield* scoped("stopw")
        yield* runtime.create(spec(name))
        yield* runtime.stop(name, { force: true })
        const tool = { uid: 1000, gid: 1000, mode: 0o755 }
        assert.strictEqual(yield* reasonOf(runtime.writeFile(name, `${repoPath}/tool`, bytes("x"), tool)), "Conflict")
        assert.strictEqual(yield* reasonOf(runtime.listDirectory(name, repoPath)), "Conflict")
        // Off the volume, a stopped instance's files can be written.
        yield* runtime.writeFile(name, "/tmp/off-volume", bytes("x"), tool)
        yield* runtime.start(name)
        yield* runtime.writeFile(name, `${repoPath}/tool`, bytes("#!/bin/sh\n"), tool)
        assert.strictEqual(
          yield* sh(name, `ls -ln ${repoPath}/tool | awk '{print $1, $3, $4}'`),
          "-rwxr-xr-x 1000 1000\n"
        )
        const setuid = { ...tool, mode: 0o4755 }
        assert.strictEqual(
          yield* reasonOf(runtime.writeFile(name, `${repoPath}/s`, bytes("x"), setuid)),
          "OperationFailed"
        )
        assert.strictEqual(
          yield* reasonOf(runtime.writeFile(unique("none"), "/tmp/x", bytes("x"), { uid: 0, gid: 0, mode: 0o644 })),
          "NotFound"
        )
      }),
    timeout
  )

  it.effect(
    "restoring the volume of a stopped instance leaves it stopped, with the old content",
    () =>
      Effect.gen(function*() {
        const runtime = yield* ContainerRuntime
        const name = yield* scoped("stopped")
        yield* runtime.create(spec(name))
        const as1000 = { uid: 1000, gid: 1000, mode: 0o644 }
        yield* runtime.writeFile(name, `${repoPath}/f`, bytes("old"), as1000)
        yield* runtime.snapshotRepoVolume(name, "before")
        yield* runtime.writeFile(name, `${repoPath}/f`, bytes("new"), as1000)
        yield* runtime.stop(name, { force: true })
        yield* runtime.restoreRepoVolume(name, "before")
        assert.strictEqual((yield* runtime.get(name)).status, "Stopped")
        yield* runtime.start(name)
        assert.strictEqual(yield* sh(name, `cat ${repoPath}/f`), "old")
      }),
    timeout
  )

  it.effect(
    "an export is a gzip tarball; importing it into another name gives the same tree in a container",
    () =>
      Effect.gen(function*() {
        const runtime = yield* ContainerRuntime
        const source = yield* scoped("src")
        const copy = yield* scoped("copy")
        yield* runtime.create(spec(source))
        yield* sh(
          source,
          `cd ${repoPath} && mkdir -p a/b && echo one > a/b/f && chmod 750 a && ln -s a/b/f l && printf x > x && chmod 4755 x`,
          1000
        )
        const tree =
          `cd ${repoPath} && find . | sort && ls -lnR . | grep -v '^total' | awk '{print $1, $3, $4, $5, $9, $10, $11}'`
        const before = yield* sh(source, tree)
        let first: Uint8Array | undefined
        const archive = runtime.exportRepoVolume(source, { maxBytes: 64 << 20 }).pipe(
          Stream.tap((chunk) =>
            Effect.sync(() => {
              first ??= chunk
            })
          )
        )
        yield* runtime.importRepoVolume(copy, archive, { maxBytes: 64 << 20 })
        assert.deepStrictEqual([first?.[0], first?.[1]], [0x1f, 0x8b])
        // The backup an export makes is gone once it ended, and once a reader stopped early.
        const client = yield* IncusClient.IncusClient
        assert.deepStrictEqual(yield* client.listStorageVolumeBackups(particular.project, pool, source), [])
        yield* runtime.exportRepoVolume(source, { maxBytes: 64 << 20 }).pipe(Stream.take(1), Stream.runDrain)
        assert.deepStrictEqual(yield* client.listStorageVolumeBackups(particular.project, pool, source), [])
        yield* runtime.create(spec(copy))
        assert.strictEqual(yield* sh(copy, tree), before)
        assert.strictEqual(yield* sh(copy, `cat ${repoPath}/l`), "one\n")
      }),
    timeout
  )
})
