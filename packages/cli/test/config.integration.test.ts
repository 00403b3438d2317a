/**
 * `repoman config` against the real incusd, as a non-root user, through the
 * real `repoman` executable: a change seen live inside the container (env
 * through `repoman exec`, a new mount, the memory limit in the container's
 * cgroup), a restart-needing change refused without `--restart`, a change
 * Incus refuses half-way leaving the container, the registry and the
 * namespace as they were, and the seal and sensitive paths out of reach.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Schema from "effect/Schema"
import { busybox, IntegrationLayer, sandbox } from "./integration.ts"

const Json = Schema.fromJsonString(Schema.Unknown)
const json = (text: string) => Schema.decodeUnknownEffect(Json)(text).pipe(Effect.orDie)

const Settings = Schema.fromJsonString(Schema.Struct({
  name: Schema.String,
  profiles: Schema.Array(Schema.String),
  env: Schema.Record(Schema.String, Schema.String),
  limits: Schema.Struct({ memory: Schema.NullOr(Schema.String), inotifyInstances: Schema.NullOr(Schema.String) }),
  mounts: Schema.Array(Schema.Struct({ source: Schema.String, path: Schema.String, readOnly: Schema.Boolean }))
}))

describe("repoman config against a real Incus", () => {
  it.live(
    "changes env, mounts and memory live, refuses a restart without --restart, and is all or nothing",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const box = yield* sandbox
        const home = `${box.dir}/home`
        yield* fs.makeDirectory(`${home}/data`, { recursive: true })
        yield* fs.makeDirectory(`${home}/data2`, { recursive: true })
        yield* fs.makeDirectory(`${home}/.ssh`, { recursive: true })
        yield* fs.writeFileString(`${home}/data/from-host`, "shared\n")
        const repoman = box.repomanIn({ HOME: home })
        const setup = yield* repoman(box.setupArgs)
        assert.strictEqual(setup.code, 0, setup.stderr)
        yield* fs.makeDirectory(`${box.reposRoot}/isurus`)
        const created = yield* repoman(["new", "isurus", "--image", busybox])
        assert.strictEqual(created.code, 0, created.stderr)
        const repo = `${box.reposRoot}/isurus`
        const registry = `${box.dir}/config/repoman.toml`
        const exec = (argv: ReadonlyArray<string>) => repoman(["exec", "isurus", "--no-checkpoint", "--", ...argv])
        const envInside = Effect.map(exec(["env"]), (o) => o.stdout)
        const diskPaths = Effect.map(
          box.client.getProject(box.project),
          (p) => (p.value.config["restricted.devices.disk.paths"] ?? "").split(",")
        )
        /** The container's memory limit in bytes, read on the host from its cgroup (v1 or v2). */
        const memoryLimit = Effect.gen(function*() {
          const state = yield* box.client.getInstanceState(box.project, "isurus")
          const cgroups = yield* fs.readFileString(`/proc/${state.pid}/cgroup`)
          const v1 = /^\d+:memory:(.*)$/m.exec(cgroups)?.[1]
          if (v1 !== undefined) {
            return (yield* fs.readFileString(`/sys/fs/cgroup/memory${v1}/memory.limit_in_bytes`)).trim()
          }
          const v2 = /^0::(.*)$/m.exec(cgroups)?.[1] ?? ""
          return (yield* fs.readFileString(`/sys/fs/cgroup${v2}/memory.max`)).trim()
        })

        // No flag: the settings, as pure JSON.
        const shown = yield* repoman(["config", "isurus", "--json"])
        assert.strictEqual(shown.code, 0, shown.stderr)
        const initial = yield* Schema.decodeUnknownEffect(Settings)(shown.stdout)
        assert.deepStrictEqual(initial.profiles, ["default"])
        assert.isFalse(initial.mounts.some((m) => m.path === repo), "the repo is not one of the user's mounts")

        // A live change: env, a read-only mount, a memory limit.
        const live = yield* repoman([
          "config",
          "isurus",
          "--env",
          "GREETING=hello world",
          "--mount",
          "~/data:/srv/data:ro",
          "--memory",
          "300MiB",
          "--json"
        ])
        assert.strictEqual(live.code, 0, live.stderr)
        const result = (yield* json(live.stdout)) as { restarted: boolean; changed: boolean }
        assert.deepStrictEqual([result.changed, result.restarted], [true, false])
        assert.include(yield* envInside, "GREETING=hello world")
        const listed = yield* exec(["cat", "/srv/data/from-host"])
        assert.strictEqual(listed.stdout, "shared\n", listed.stderr)
        const write = yield* exec(["touch", "/srv/data/planted"])
        assert.notStrictEqual(write.code, 0, "the mount is read-only")
        assert.strictEqual(yield* memoryLimit, String(300 * 1024 * 1024))
        const recorded = yield* fs.readFileString(registry)
        assert.include(recorded, "GREETING")
        assert.include(recorded, "300MiB")

        // A change Incus applies only at start: refused without a terminal and --restart, nothing changed.
        const before = yield* fs.readFileString(registry)
        const inotifyBefore = (yield* exec(["cat", "/proc/sys/user/max_inotify_instances"])).stdout
        const refused = yield* repoman(["config", "isurus", "--inotify-instances", "77", "--env", "LATER=1"])
        assert.strictEqual(refused.code, 2, refused.stderr)
        assert.include(refused.stderr, "restart")
        assert.include(refused.stderr, "--restart")
        assert.strictEqual(yield* fs.readFileString(registry), before)
        assert.notInclude(yield* envInside, "LATER=1")
        const restarted = yield* repoman(["config", "isurus", "--inotify-instances", "77", "--restart"])
        assert.strictEqual(restarted.code, 0, restarted.stderr)
        assert.include(restarted.stderr, "this change restarts isurus")
        assert.include(restarted.stdout, "restarted")
        assert.notStrictEqual(inotifyBefore.trim(), "77")
        assert.strictEqual((yield* exec(["cat", "/proc/sys/user/max_inotify_instances"])).stdout.trim(), "77")
        // What was applied live survives the restart.
        assert.include(yield* envInside, "GREETING=hello world")
        assert.strictEqual(yield* memoryLimit, String(300 * 1024 * 1024))

        // All or nothing: a mount Incus cannot make (its target cannot be made in /proc) fails the whole change
        // half-way; the env, the memory limit, the registry and the namespace's allowed paths stay.
        const settled = yield* fs.readFileString(registry)
        const allowedBefore = yield* diskPaths
        const half = yield* repoman([
          "config",
          "isurus",
          "--env",
          "HALF=1",
          "--memory",
          "200MiB",
          "--mount",
          "~/data2:/proc/repoman"
        ])
        assert.strictEqual(half.code, 1, half.stderr)
        assert.notInclude(half.stderr, "    at ")
        assert.notInclude(yield* envInside, "HALF=1")
        assert.strictEqual(yield* memoryLimit, String(300 * 1024 * 1024))
        assert.strictEqual(yield* fs.readFileString(registry), settled)
        assert.deepStrictEqual(yield* diskPaths, allowedBefore)
        assert.include((yield* exec(["cat", "/etc/passwd"])).stdout, "root:")

        // Attacker view: the seal and sensitive paths stay out of reach (exit 2, nothing changed),
        // also through a symlink the agent plants inside.
        const planted = yield* exec(["ln", "-s", repo, "/tmp/steer"])
        assert.strictEqual(planted.code, 0, planted.stderr)
        for (
          const args of [
            ["--unmount", `${repo}/.git`],
            ["--unmount", repo],
            ["--mount", `~/data:${repo}/.git`],
            ["--mount", `${repo}/.git:/srv/git`],
            ["--mount", "~/data:/tmp/steer/.git"],
            ["--mount", `~/data:/srv/../${repo}/.git`],
            ["--mount", "~/.ssh:/srv/ssh"],
            ["--env", "BAD-KEY=1"],
            ["--mount", "nocolon"],
            // A file inside would be replaced by the mount.
            ["--mount", "~/data2:/etc/passwd"]
          ]
        ) {
          const attempt = yield* repoman(["config", "isurus", ...args])
          assert.strictEqual(attempt.code, 2, `${args.join(" ")}: ${attempt.stderr}`)
          assert.notInclude(attempt.stderr, "    at ")
        }
        const steered = yield* repoman(["config", "isurus", "--mount", "~/data:/tmp/steer/.git"])
        assert.include(steered.stderr, "/tmp/steer is a symlink in the container")
        const ssh = yield* repoman(["config", "isurus", "--mount", "~/.ssh:/srv/ssh"])
        assert.include(ssh.stderr, "--allow-sensitive")
        assert.strictEqual(yield* fs.readFileString(registry), settled)

        // And taken away again: the mount live, the variable with a restart (it would stay in sessions).
        const unmounted = yield* repoman(["config", "isurus", "--unmount", "/srv/data"])
        assert.strictEqual(unmounted.code, 0, unmounted.stderr)
        assert.notStrictEqual((yield* exec(["cat", "/srv/data/from-host"])).code, 0)
        const unset = yield* repoman(["config", "isurus", "--unset-env", "GREETING"])
        assert.strictEqual(unset.code, 2, unset.stderr)
        assert.include(unset.stderr, "GREETING would stay set in sessions until a restart")
        assert.include(yield* envInside, "GREETING=hello world")
        const undone = yield* repoman(["config", "isurus", "--unset-env", "GREETING", "--restart"])
        assert.strictEqual(undone.code, 0, undone.stderr)
        assert.notInclude(yield* envInside, "GREETING")
        assert.notStrictEqual((yield* exec(["cat", "/srv/data/from-host"])).code, 0)
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    300_000
  )

  it.live(
    "gitconfig-ro added to a used project: refused while ~/.gitconfig is a planted symlink, then the container reads the shared file and cannot write it",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const box = yield* sandbox
        const home = `${box.dir}/home`
        yield* fs.makeDirectory(home, { recursive: true })
        yield* fs.writeFileString(`${home}/.gitconfig`, "[user]\n\tname = Ada\n")
        const repoman = box.repomanIn({ HOME: home })
        assert.strictEqual((yield* repoman(box.setupArgs)).code, 0)
        const installed = yield* repoman(["profile", "install", "gitconfig-ro", "--link-files"])
        assert.strictEqual(installed.code, 0, installed.stderr)
        yield* fs.makeDirectory(`${box.reposRoot}/isurus`)
        const created = yield* repoman(["new", "isurus", "--image", busybox])
        assert.strictEqual(created.code, 0, created.stderr)
        const exec = (argv: ReadonlyArray<string>) => repoman(["exec", "isurus", "--no-checkpoint", "--", ...argv])
        const profiles = Effect.map(
          box.client.getInstance(box.project, "isurus"),
          (i) => i.value.profiles as ReadonlyArray<string>
        )
        // The agent plants the shared file's place as a symlink to a file of its choosing.
        assert.strictEqual((yield* exec(["ln", "-s", "/etc/passwd", `${home}/.gitconfig`])).code, 0)
        const refused = yield* repoman(["config", "isurus", "--add-profile", "gitconfig-ro"])
        assert.strictEqual(refused.code, 2, `${refused.stderr}${refused.stdout}`)
        assert.include(refused.stderr, `${home}/.gitconfig is a symlink in the container`)
        assert.deepStrictEqual(yield* profiles, ["default"])
        assert.strictEqual((yield* exec(["rm", `${home}/.gitconfig`])).code, 0)

        const added = yield* repoman(["config", "isurus", "--add-profile", "gitconfig-ro"])
        assert.strictEqual(added.code, 0, `${added.stderr}${added.stdout}`)
        assert.deepStrictEqual(yield* profiles, ["default", "gitconfig-ro"])
        const read = yield* exec([
          "sh",
          "-c",
          `cat ${home}/.gitconfig; echo evil >> ${home}/.gitconfig && echo wrote || echo refused`
        ])
        assert.deepStrictEqual(read.stdout.trim().split("\n"), ["[user]", "\tname = Ada", "refused"])
        assert.strictEqual(yield* fs.readFileString(`${home}/.gitconfig`), "[user]\n\tname = Ada\n")

        // Taken away: the shared directory is no longer mounted; the link stays, pointing nowhere.
        const removed = yield* repoman(["config", "isurus", "--remove-profile", "gitconfig-ro"])
        assert.strictEqual(removed.code, 0, `${removed.stderr}${removed.stdout}`)
        const after = yield* exec(["sh", "-c", `cat ${home}/.gitconfig 2>/dev/null || echo gone`])
        assert.strictEqual(after.stdout.trim(), "gone")
        // Adding it again keeps the link that is there.
        const again = yield* repoman(["config", "isurus", "--add-profile", "gitconfig-ro"])
        assert.strictEqual(again.code, 0, `${again.stderr}${again.stdout}`)
        assert.include((yield* exec(["cat", `${home}/.gitconfig`])).stdout, "name = Ada")
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    300_000
  )
})
