/**
 * The faults of issue 14, each reproduced with real rsync on real mounts,
 * and each shown to leave the previous generation whole (compared byte for
 * byte, modes and mtimes included) and the user told:
 *
 * - `rm -rf ./*; touch .x`, then a sync (the deletion guard);
 * - the backup root running out of space half-way (a 40 MiB tmpfs that CI
 *   mounts, REPOMAN_CI_FS_SMALL);
 * - `umount -l` of the backup root during a sync (in a user and mount
 *   namespace of the test's own: the test user cannot unmount CI's mounts);
 * - SIGKILL of `repoman sync`, with rsync dying with it (PDEATHSIG), and
 *   without (the next sync ends the orphan through the lock);
 * - a plain mirror made before generations, which becomes the first one;
 * - restoring a generation, and listing a ZFS root's `.zfs/snapshot`.
 */
import { assert, describe } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as ChildProcess from "effect/process/ChildProcess"
import * as ChildProcessSpawner from "effect/process/ChildProcessSpawner"
import * as Schedule from "effect/Schedule"
import { spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import { bin } from "../../cli/test/integration.ts"
import { backupMount, contents, lastSyncOf, mountEnv, project, sandbox, snapshot, test } from "./syncSandbox.ts"

const smallMount = mountEnv("REPOMAN_CI_FS_SMALL")

/** The generations of `repo` under `root`: names with a directory or as the latest, and the partial ones. */
const generationsOf = (root: string, repo: string) => {
  const names = fs.existsSync(`${root}/.repoman/${repo}`) ? fs.readdirSync(`${root}/.repoman/${repo}`).sort() : []
  return {
    meta: names.filter((n) => n.endsWith(".json")).map((n) => n.slice(0, -5)),
    older: names.filter((n) => /^\d{8}T\d{6}Z$/.test(n)),
    partial: names.filter((n) => n.startsWith(".partial-") || n.startsWith(".ready-"))
  }
}

/** Pids of the processes whose command line holds `needle` (rsync of one sandbox). */
const processesWith = (needle: string): Array<number> =>
  fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d)).flatMap((d) => {
    try {
      const cmdline = fs.readFileSync(`/proc/${d}/cmdline`, "utf8")
      return cmdline.includes(needle) && !cmdline.includes("vitest") ? [Number(d)] : []
    } catch {
      return []
    }
  })

const waitUntil = <E, R>(check: Effect.Effect<boolean, E, R>, within: `${number} seconds`) =>
  check.pipe(
    Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (ok) => ok }),
    Effect.timeout(within)
  )

describe("backup faults (real rsync, real mounts)", () => {
  test("rm -rf ./*; touch .x: the sync is refused and names what would go; the previous generation stays whole", () =>
    Effect.gen(function*() {
      const s = yield* sandbox()
      yield* s.bulk("alpha", 60, 1_000)
      yield* s.write(`${s.reposRoot}/alpha/README.md`, "# alpha\n")
      yield* s.writeRegistry(project("alpha"))
      const first = yield* s.repoman(["sync", "--json"])
      assert.strictEqual(first.code, 0, first.stderr)
      const generation = first.stdout.split("\n").filter((l) => l.includes("MirrorFinished")).map((l) =>
        JSON.parse(l) as { generation: string }
      )[0]?.generation
      assert.match(generation ?? "", /^\d{8}T\d{6}Z$/)
      const before = yield* snapshot(`${s.backupRoot}/alpha`)

      // The agent's session: rm -rf ./*; touch .x
      fs.rmSync(`${s.reposRoot}/alpha/bulk`, { recursive: true })
      fs.rmSync(`${s.reposRoot}/alpha/README.md`)
      fs.writeFileSync(`${s.reposRoot}/alpha/.x`, "")
      const refused = yield* s.repoman(["sync"])
      assert.strictEqual(refused.code, 1)
      assert.include(refused.stdout, "not syncing alpha: it would delete 61 of 61 files of its backup (100% > 30%)")
      assert.match(refused.stdout, /bulk\/f\d+/)
      assert.include(refused.stdout, `the previous generation ${generation} is whole and still the latest`)
      assert.include(refused.stdout, "repoman sync alpha --allow-deletions")
      assert.deepStrictEqual(yield* snapshot(`${s.backupRoot}/alpha`), before)
      assert.deepStrictEqual(generationsOf(s.backupRoot, "alpha").meta, [generation])

      // The user's word: a new generation, and the old one keeps everything.
      yield* Effect.sleep("1100 millis")
      const allowed = yield* s.repoman(["sync", "--allow-deletions"])
      assert.strictEqual(allowed.code, 0, allowed.stderr)
      assert.deepStrictEqual(yield* contents(`${s.backupRoot}/alpha`), yield* contents(`${s.reposRoot}/alpha`))
      assert.deepStrictEqual(generationsOf(s.backupRoot, "alpha").older, [generation])
      assert.deepStrictEqual(yield* snapshot(`${s.backupRoot}/.repoman/alpha/${generation}`), before)
    }))

  test("out of space half-way: the partial generation goes, the previous stays whole and the latest, nothing recorded", () =>
    Effect.gen(function*() {
      const s = yield* sandbox({ backupRoot: `${smallMount}/it-${randomBytes(4).toString("hex")}` })
      yield* s.bulk("alpha", 8, 1_000_000)
      yield* s.writeRegistry(project("alpha"))
      const first = yield* s.repoman(["sync"])
      assert.strictEqual(first.code, 0, first.stderr)
      const [generation] = generationsOf(s.backupRoot, "alpha").meta
      const before = yield* snapshot(`${s.backupRoot}/alpha`)
      const recorded = lastSyncOf(yield* (yield* FileSystem.FileSystem).readFileString(s.registry), "alpha")

      // 48 MB more than the 40 MiB tmpfs holds.
      for (let i = 0; i < 48; i++) fs.writeFileSync(`${s.reposRoot}/alpha/bulk/big${i}`, randomBytes(1_000_000))
      yield* Effect.sleep("1100 millis")
      const full = yield* s.repoman(["sync"])
      assert.strictEqual(full.code, 1)
      assert.match(full.stdout, /not enough space on the backup root/)
      assert.include(full.stdout, `the previous generation ${generation} is whole and still the latest`)
      assert.deepStrictEqual(yield* snapshot(`${s.backupRoot}/alpha`), before)
      assert.deepStrictEqual(generationsOf(s.backupRoot, "alpha"), { meta: [generation ?? ""], older: [], partial: [] })
      assert.strictEqual(
        lastSyncOf(yield* (yield* FileSystem.FileSystem).readFileString(s.registry), "alpha"),
        recorded,
        "last_sync is not moved by a failed sync"
      )
    }))

  test("SIGKILL of repoman sync: its rsync dies with it, the previous generation stays whole, the next sync converges", () =>
    killedSync({ pdeathsig: true }))

  test("SIGKILL without PDEATHSIG: rsync outlives repoman, and the next sync ends it through the lock first", () =>
    killedSync({ pdeathsig: false }))

  test("umount -l of the backup root during a sync: an error, nothing on the disk under the mount point, nothing recorded", () =>
    Effect.gen(function*() {
      const s = yield* sandbox({ backup: "[backup.options]\nextra_args = [\"--bwlimit=1500\"]\n" })
      // In a namespace of our own: a tmpfs at `fs`, bind-mounted at `root` (the backup root), so that
      // `root` can be lazily unmounted while `fs` still shows what was written.
      const tmpfs = `${s.dir}/fs`
      const root = `${s.dir}/root`
      fs.mkdirSync(tmpfs)
      fs.mkdirSync(root)
      const extra = `${s.dir}/extra`
      fs.mkdirSync(extra)
      for (let i = 0; i < 150; i++) fs.writeFileSync(`${extra}/f${i}`, randomBytes(40_000))
      yield* s.write(`${s.reposRoot}/alpha/README.md`, "# alpha\n")
      yield* s.writeRegistry(project("alpha"), root)
      const script = [
        "set -u",
        `mount -t tmpfs -o size=64m repoman-it "${tmpfs}" && mount --bind "${tmpfs}" "${root}" || exit 97`,
        `"${process.execPath}" "${bin}" sync >/dev/null 2>&1; echo "first=$?"`,
        `tree() { (cd "$1" && find . -printf '%p %y %m %T@ %s\\n' | sort && find . -type f -exec sha256sum {} + | sort) | sha256sum; }`,
        `echo "before=$(tree "${root}/alpha")"`,
        `echo "synced=$(grep -o 'last_sync = "[^"]*"' "${s.registry}")"`,
        `cp -r "${extra}" "${s.reposRoot}/alpha/bulk"`,
        "sleep 1.1",
        `"${process.execPath}" "${bin}" sync >"${s.dir}/out" 2>&1 &`,
        "pid=$!",
        "i=0",
        `while [ $i -lt 1200 ]; do n=$(ls "${tmpfs}"/.repoman/alpha/.partial-*/bulk 2>/dev/null | wc -l); [ "$n" -ge 5 ] && break; sleep 0.05; i=$((i+1)); done`,
        `umount -l "${root}" && echo unmounted`,
        "wait $pid; echo \"second=$?\"",
        `echo "under=$(ls -A "${root}" | wc -l)"`,
        `echo "after=$(tree "${tmpfs}/alpha")"`,
        `echo "left=$(ls -A "${tmpfs}/.repoman/alpha" | tr '\\n' ' ')"`,
        `echo "recorded=$(grep -o 'last_sync = "[^"]*"' "${s.registry}")"`
      ].join("\n")
      const result = spawnSync("unshare", ["-Urm", "sh", "-c", script], {
        env: s.env,
        encoding: "utf8",
        timeout: 150_000
      })
      const out = Object.fromEntries(
        result.stdout.split("\n").filter((l) => l.includes("=")).map((
          l
        ) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)])
      )
      assert.strictEqual(out["first"], "0", `${result.stdout}\n${result.stderr}`)
      assert.include(result.stdout, "unmounted")
      assert.strictEqual(out["second"], "1", "the sync fails")
      const said = fs.readFileSync(`${s.dir}/out`, "utf8")
      assert.match(said, /was unmounted or replaced during the sync \(.+\); nothing was recorded/, said)
      assert.match(said, /the previous generation \d{8}T\d{6}Z is whole and still the latest/)
      assert.strictEqual(out["under"], "0", "nothing was written on the disk under the mount point")
      assert.strictEqual(out["after"], out["before"], "the previous generation is whole")
      assert.match(out["left"] ?? "", /^\d{8}T\d{6}Z\.json $/, "no partial or new generation is left")
      assert.match(out["synced"] ?? "", /^last_sync = "/)
      assert.strictEqual(out["recorded"], out["synced"], "last_sync is not moved by the failed sync")
    }))

  test("a plain mirror made before generations becomes the first one, and is kept whole when the next comes", () =>
    Effect.gen(function*() {
      const s = yield* sandbox()
      yield* s.bulk("alpha", 10, 1_000)
      // The layout of the release before: a plain rsync mirror at <root>/<repo>.
      spawnSync("rsync", ["-a", `${s.reposRoot}/alpha/`, `${s.backupRoot}/alpha/`])
      const before = yield* snapshot(`${s.backupRoot}/alpha`)
      yield* s.writeRegistry(project("alpha"))
      yield* s.write(`${s.reposRoot}/alpha/new.txt`, "new\n")
      const synced = yield* s.repoman(["sync"])
      assert.strictEqual(synced.code, 0, synced.stderr)
      const { meta, older } = generationsOf(s.backupRoot, "alpha")
      assert.strictEqual(meta.length, 2)
      assert.deepStrictEqual(older, [meta[0]])
      assert.deepStrictEqual(yield* snapshot(`${s.backupRoot}/.repoman/alpha/${meta[0]}`), before)
      assert.deepStrictEqual(yield* contents(`${s.backupRoot}/alpha`), yield* contents(`${s.reposRoot}/alpha`))
      // Unchanged files are hard links between the two generations: only what changed takes space.
      const inode = (p: string) => fs.statSync(p).ino
      assert.strictEqual(
        inode(`${s.backupRoot}/alpha/bulk/f0`),
        inode(`${s.backupRoot}/.repoman/alpha/${meta[0]}/bulk/f0`)
      )
    }))

  test("restore: --list names the generations (and a ZFS root's snapshots); a generation goes into a new directory", () =>
    Effect.gen(function*() {
      const s = yield* sandbox()
      yield* s.write(`${s.reposRoot}/alpha/a.txt`, "one\n")
      yield* s.writeRegistry(project("alpha"))
      assert.strictEqual((yield* s.repoman(["sync"])).code, 0)
      const firstTree = yield* contents(`${s.reposRoot}/alpha`)
      yield* Effect.sleep("1100 millis")
      yield* s.write(`${s.reposRoot}/alpha/a.txt`, "two\n")
      assert.strictEqual((yield* s.repoman(["sync"])).code, 0)
      const [older, latest] = generationsOf(s.backupRoot, "alpha").meta
      // A ZFS root shows its snapshots in <mount>/.zfs/snapshot/<name>/<path of the root>.
      const rel = s.backupRoot.slice(backupMount.length + 1)
      const snap = `${backupMount}/.zfs/snapshot/nightly-1/${rel}/alpha`
      fs.mkdirSync(snap, { recursive: true })
      fs.writeFileSync(`${snap}/a.txt`, "from the snapshot\n")
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => fs.rmSync(`${backupMount}/.zfs`, { recursive: true, force: true }))
      )
      const list = yield* s.repoman(["restore", "alpha", "--list"])
      assert.strictEqual(list.code, 0, list.stderr)
      assert.match(list.stdout, new RegExp(`${older}\\s+\\S+\\s+generation, 1 files`))
      assert.match(list.stdout, new RegExp(`${latest}\\s+\\S+\\s+generation, latest, 1 files`))
      assert.match(list.stdout, /nightly-1\s+\S+\s+snapshot/)
      const restored = yield* s.repoman(["restore", "alpha", "--at", older ?? "", "--to", `${s.dir}/restored`])
      assert.strictEqual(restored.code, 0, restored.stderr)
      assert.deepStrictEqual(yield* contents(`${s.dir}/restored`), firstTree)
      const fromSnapshot = yield* s.repoman(["restore", "alpha", "--at", "nightly-1", "--to", `${s.dir}/snap`])
      assert.strictEqual(fromSnapshot.code, 0, fromSnapshot.stderr)
      assert.strictEqual(fs.readFileSync(`${s.dir}/snap/a.txt`, "utf8"), "from the snapshot\n")
      const taken = yield* s.repoman(["restore", "alpha", "--to", `${s.dir}/restored`])
      assert.strictEqual(taken.code, 2)
      assert.include(taken.stderr, "exists already")
    }))
})

/** SIGKILL of a sync part-way through a new generation; with or without PDEATHSIG. */
const killedSync = (options: { readonly pdeathsig: boolean }) =>
  Effect.gen(function*() {
    const fileSystem = yield* FileSystem.FileSystem
    // rsync as repoman runs it, but with the output of a write sent elsewhere: an rsync in the middle
    // of a big file does not notice that repoman (the reader of its stdout) is gone, and this one never does.
    const wrapper = `${yield* fileSystem.makeTempDirectoryScoped({ prefix: "repoman-rsync-" })}/rsync`
    fs.writeFileSync(
      wrapper,
      `#!/bin/sh\ncase " $* " in *" --dry-run "*) exec rsync "$@" ;; esac\nexec rsync "$@" >/dev/null\n`
    )
    fs.chmodSync(wrapper, 0o755)
    const s = yield* sandbox({
      backup:
        `[backup.options]\nrsync = "${wrapper}"\nextra_args = ["--bwlimit=300"]\npdeathsig = ${options.pdeathsig}\n`
    })
    yield* s.write(`${s.reposRoot}/alpha/README.md`, "# alpha\n")
    yield* s.writeRegistry(project("alpha"))
    assert.strictEqual((yield* s.repoman(["sync"])).code, 0)
    const [generation] = generationsOf(s.backupRoot, "alpha").meta
    const before = yield* snapshot(`${s.backupRoot}/alpha`)
    yield* s.bulk("alpha", 150, 40_000)
    yield* Effect.sleep("1100 millis")
    const needle = `${s.reposRoot}/alpha/`
    yield* Effect.scoped(Effect.gen(function*() {
      const handle = yield* ChildProcess.make(process.execPath, [bin, "sync"], {
        env: s.env,
        stdin: "ignore",
        stdout: "ignore",
        stderr: "ignore",
        detached: true
      })
      // Some, not all, files of the new generation have arrived.
      yield* waitUntil(
        Effect.sync(() => {
          const partial = generationsOf(s.backupRoot, "alpha").partial[0]
          const dir = `${s.backupRoot}/.repoman/alpha/${partial}/bulk`
          return partial !== undefined && fs.existsSync(dir) && fs.readdirSync(dir).length >= 5
        }),
        "60 seconds"
      )
      process.kill(handle.pid, "SIGKILL")
      yield* handle.exitCode.pipe(Effect.exit)
    })).pipe(Effect.provideService(ChildProcessSpawner.ChildProcessSpawner, s.spawner))

    if (options.pdeathsig) {
      yield* waitUntil(Effect.sync(() => processesWith(needle).length === 0), "10 seconds")
    } else {
      yield* Effect.sleep("1 second")
      assert.isAbove(processesWith(needle).length, 0, "without PDEATHSIG the rsync outlives repoman")
    }
    assert.deepStrictEqual(yield* snapshot(`${s.backupRoot}/alpha`), before, "the previous generation is whole")
    assert.deepStrictEqual(generationsOf(s.backupRoot, "alpha").meta, [generation])

    yield* s.writeRegistry(project("alpha"), s.backupRoot, "[backup.options]\npdeathsig = true\n")
    const again = yield* s.repoman(["sync"])
    assert.strictEqual(again.code, 0, again.stderr)
    if (!options.pdeathsig) {
      assert.match(again.stdout + again.stderr, /ended \d+ rsync process\(es\) a killed repoman sync left running/)
    }
    assert.deepStrictEqual(processesWith(needle), [])
    assert.deepStrictEqual(yield* contents(`${s.backupRoot}/alpha`), yield* contents(`${s.reposRoot}/alpha`))
    assert.deepStrictEqual(generationsOf(s.backupRoot, "alpha").partial, [])
    assert.deepStrictEqual(yield* snapshot(`${s.backupRoot}/.repoman/alpha/${generation}`), before)
  })
