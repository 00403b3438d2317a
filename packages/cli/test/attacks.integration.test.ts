/**
 * The container attacks the host (issue 12): every vector an agent in a
 * repoman container has, written the way the agent would use it, against
 * the real incusd, the real `repoman` and the real git, as the non-root test
 * user. After each attack the host does what a user does (git status, diff,
 * commit, log, fetch; repoman status, fetch, sync, run) and the test checks
 * that the host ran nothing (no marker file appeared) and that `status` says
 * the right thing.
 *
 * New vectors: add a row to `gitdirAttacks` (an attack on the sealed gitdir
 * or its mounts, as uid 1000 or as container root) or a test of its own
 * below. Each test works in a throwaway Incus project of its own.
 */
import { assert, describe, it } from "@effect/vitest"
import { ContainerRuntime } from "@repoman/core/ContainerRuntime"
import { ProjectName } from "@repoman/core/Ids"
import * as IncusContainerRuntime from "@repoman/incus/IncusContainerRuntime"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as ChildProcess from "effect/process/ChildProcess"
import type * as ChildProcessSpawner from "effect/process/ChildProcessSpawner"
import * as Schema from "effect/Schema"
import { randomBytes } from "node:crypto"
import { debian, IntegrationLayer, type Outcome, outcome, sandbox } from "./integration.ts"

const timeout = 300_000
const ESC = "\x1b"

const Json = Schema.fromJsonString(Schema.Unknown)
const json = (text: string) => Schema.decodeUnknownEffect(Json)(text).pipe(Effect.orDie)

const backupMount = process.env["REPOMAN_CI_BACKUP_MOUNT"] ?? ""

/** The identity host git commits with. */
const gitEnv = {
  GIT_AUTHOR_NAME: "host",
  GIT_AUTHOR_EMAIL: "host@example.invalid",
  GIT_COMMITTER_NAME: "host",
  GIT_COMMITTER_EMAIL: "host@example.invalid"
}

/** `git ARGS` on the host, in `cwd`. */
const hostGit = (cwd: string, args: ReadonlyArray<string>, env: Readonly<Record<string, string>> = {}) =>
  outcome(
    ChildProcess.make("git", ["-C", cwd, ...args], { env: { ...process.env, ...gitEnv, ...env }, stdin: "ignore" })
  )
    .pipe(Effect.orDie)

interface World {
  readonly dir: string
  readonly repo: string
  readonly name: string
  /** The host directory markers land in (empty unless the host ran the attacker's code). */
  readonly markers: string
  readonly repoman: (args: ReadonlyArray<string>, options?: { readonly cwd?: string }) => Effect.Effect<Outcome>
  /** A shell script in the container as uid 1000 in the repo (`$M` is the markers dir, `$R` the repo). */
  readonly asUser: (script: string) => Effect.Effect<Outcome>
  /** A shell script in the container as root, with `env` added to its environment. */
  readonly asRoot: (script: string, env?: Readonly<Record<string, string>>) => Effect.Effect<Outcome>
}

/**
 * A sandbox with a committed host repo (`main`, one file, a remote to fetch
 * from, a file only the host .git has), set up, and `repoman new NAME`
 * with `newArgs` on the Debian image.
 */
const world = (options: {
  readonly newArgs?: ReadonlyArray<string>
  readonly prepare?: (
    repo: string
  ) => Effect.Effect<void, unknown, FileSystem.FileSystem | ChildProcessSpawner.ChildProcessSpawner>
  readonly expectNew?: number
} = {}) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const sb = yield* sandbox
    const name = `seal-${randomBytes(2).toString("hex")}`
    const repo = `${sb.reposRoot}/${name}`
    const markers = `${sb.dir}/markers`
    yield* fs.makeDirectory(markers)
    yield* fs.makeDirectory(repo)
    yield* fs.writeFileString(`${repo}/README`, "one\n")
    for (const args of [["init", "-q", "-b", "main"], ["add", "README"], ["commit", "-qm", "init"]]) {
      assert.strictEqual((yield* hostGit(repo, args)).code, 0)
    }
    assert.strictEqual((yield* hostGit(sb.dir, ["init", "-q", "--bare", `${sb.dir}/origin.git`])).code, 0)
    assert.strictEqual((yield* hostGit(repo, ["remote", "add", "origin", `${sb.dir}/origin.git`])).code, 0)
    yield* fs.writeFileString(`${repo}/.git/host-only`, "only the host's .git has this\n")
    if (options.prepare !== undefined) yield* Effect.orDie(options.prepare(repo))
    const backupRoot = `${backupMount}/${sb.project}`
    if (backupMount !== "") {
      yield* fs.makeDirectory(backupRoot)
      yield* Effect.addFinalizer(() => Effect.ignore(fs.remove(backupRoot, { recursive: true })))
    }
    const env = { HOME: process.env["HOME"] ?? sb.dir, ...gitEnv }
    const repoman = (args: ReadonlyArray<string>, o: { readonly cwd?: string } = {}) =>
      sb.repomanIn(env, o.cwd === undefined ? {} : { cwd: o.cwd })(args)
    const s = yield* repoman([
      "setup",
      "--non-interactive",
      "--incus-project",
      sb.project,
      "--repos-root",
      sb.reposRoot,
      "--backup-root",
      backupRoot
    ])
    assert.strictEqual(s.code, 0, s.stderr)
    const n = yield* repoman(["new", name, "--image", debian, ...(options.newArgs ?? [])])
    assert.strictEqual(n.code, options.expectNew ?? 0, n.stdout + n.stderr)
    const runtime = yield* ContainerRuntime.pipe(
      Effect.provide(IncusContainerRuntime.layerClient({ project: sb.project }))
    )
    const vars = `M='${markers}'; R='${repo}'; `
    const asUser = (script: string) => repoman(["exec", name, "--", "sh", "-c", vars + script])
    const asRoot = (script: string, extraEnv: Readonly<Record<string, string>> = {}) =>
      runtime.exec(ProjectName.make(name), ["sh", "-c", vars + script], {
        user: 0,
        group: 0,
        cwd: "/",
        env: extraEnv
      }).pipe(
        Effect.map((r): Outcome => ({ code: r.exitCode, stdout: r.stdout, stderr: r.stderr })),
        Effect.orDie
      )
    return { dir: sb.dir, repo, name, markers, repoman, asUser, asRoot, newOutput: n } satisfies World & {
      newOutput: Outcome
    }
  })

/** What a user does on the host after the agent worked: every git command that could run the agent's code. */
const hostUses = (w: World) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    yield* fs.writeFileString(`${w.repo}/host-edit`, `${Math.random()}\n`)
    for (
      const args of [
        ["status"],
        ["status", "--ignore-submodules=none", "-uall"],
        ["diff"],
        ["add", "-A"],
        ["commit", "-qm", "host commit"],
        ["log", "-p", "-2"],
        ["fetch", "origin"],
        ["checkout", "-q", "-b", "host-branch"],
        ["checkout", "-q", "main"],
        ["gc", "--auto"]
      ]
    ) yield* hostGit(w.repo, args)
    yield* w.repoman(["fetch", w.name])
  })

/** The markers the host made by running the agent's code (must stay empty). */
const markersOf = (w: World) =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => fs.readDirectory(w.markers)).pipe(Effect.orDie)

interface SealJson {
  readonly seal: {
    readonly state: string
    readonly mode: string
    readonly checks: ReadonlyArray<{ readonly check: string; readonly ok: boolean | null; readonly detail: string }>
  }
  readonly healthy: boolean
  readonly warnings: ReadonlyArray<string>
}

const statusJson = (w: World) =>
  Effect.gen(function*() {
    const st = yield* w.repoman(["status", w.name, "--json"])
    const [row] = (yield* json(st.stdout)) as ReadonlyArray<SealJson>
    return { code: st.code, row: row as SealJson, raw: st }
  })

/** Asserts the host ran nothing and the seal held: no marker, status sealed, the host .git the host's. */
const assertHeld = (w: World) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    yield* hostUses(w)
    assert.deepStrictEqual(yield* markersOf(w), [], "the host ran the agent's code")
    const { code, row } = yield* statusJson(w)
    assert.strictEqual(row.seal.state, "sealed", JSON.stringify(row.seal.checks))
    assert.deepStrictEqual(row.seal.checks.filter((c) => c.ok === false), [])
    assert.strictEqual(code, 0, JSON.stringify(row))
    // The host's .git is still a directory of the host's, holding what only it has.
    assert.strictEqual((yield* fs.stat(`${w.repo}/.git`)).type, "Directory")
    assert.isTrue(yield* fs.exists(`${w.repo}/.git/host-only`))
    // ... and the container still cannot see it.
    const seen = yield* w.asUser(`test -e "$R/.git/host-only" && echo VISIBLE || echo hidden`)
    assert.strictEqual(seen.stdout.trim(), "hidden")
  })

/**
 * The agent's own `git` in the container: it makes the bundle repoman asks
 * for, then writes hostile ref lines into its header (an escape sequence, a
 * path that climbs, HEAD).
 */
const gitWrapper = String.raw`#!/bin/sh
/usr/bin/git "$@" || exit $?
if [ "$1" = bundle ] && [ "$2" = create ]; then
  oid=$(/usr/bin/git rev-parse main)
  OID=$oid perl -0pi -e 's/\A(# v2 git bundle
)/$1$ENV{OID} refs\/heads\/esc\e]0;pwned\e[31mred
$ENV{OID} refs\/heads\/a\/..\/..\/b
$ENV{OID} HEAD
/' "$4"
fi
`

/** A hook script that leaves marker `name` behind when it runs, and fails. */
const hook = (name: string) => `printf '#!/bin/sh\\ntouch "%s/%s"\\nexit 1\\n' "$M" ${name}`

/** The attacks on the sealed gitdir and its mounts: one test each. */
const gitdirAttacks: ReadonlyArray<{ readonly name: string; readonly as: "user" | "root"; readonly script: string }> = [
  {
    name: "core.fsmonitor in .git/config",
    as: "user",
    script: `git config core.fsmonitor "touch $M/fsmonitor; false"`
  },
  {
    name: "hooks in .git/hooks",
    as: "user",
    script:
      `for h in pre-commit post-commit post-checkout reference-transaction post-index-change fsmonitor-watchman ` +
      `pre-auto-gc post-rewrite; do ${hook("hook-$h")} > .git/hooks/$h; chmod +x .git/hooks/$h; done`
  },
  {
    name: "core.hooksPath into the shared tree",
    as: "user",
    script: `mkdir -p .evilhooks; for h in pre-commit post-commit post-checkout reference-transaction; do ` +
      `${hook("hookspath-$h")} > .evilhooks/$h; chmod +x .evilhooks/$h; done; ` +
      `git config core.hooksPath "$R/.evilhooks"`
  },
  {
    name: "commondir pointing at a gitdir in the shared tree",
    as: "user",
    script:
      `git init -q --bare "$R/.evilcommon" && git -C "$R/.evilcommon" config core.fsmonitor "touch $M/commondir" ` +
      `&& echo "$R/.evilcommon" > .git/commondir`
  },
  {
    name: "hooks and config under .git/modules",
    as: "user",
    script: `mkdir -p .git/modules/x/hooks && ${hook("modules")} > .git/modules/x/hooks/post-checkout && ` +
      `chmod +x .git/modules/x/hooks/post-checkout && printf '[core]\\n\\tfsmonitor = touch %s/modules2\\n' "$M" ` +
      `> .git/modules/x/config`
  },
  {
    name: "replacing .git with a gitdir: file",
    as: "user",
    script: `git init -q --bare "$R/.evil" && git -C "$R/.evil" config core.fsmonitor "touch $M/gitfile"; ` +
      `rm -rf .git; rmdir .git; echo "gitdir: $R/.evil" > .git; true`
  },
  {
    name: "renaming .git away and making a new one",
    as: "user",
    script: `mv .git .git-moved; mkdir -p .git2; mv .git2 .git; git init -q . ; ` +
      `git config core.fsmonitor "touch $M/renamed"; true`
  },
  {
    name: "container root: gitdir: file and rename, as root",
    as: "root",
    script: `cd "$R"; mv .git .g; rm -rf .git; echo "gitdir: /x" > .git; ` +
      `git config --file "$R/.git/config" core.fsmonitor "touch $M/rootfile"; true`
  },
  {
    name: "container root: unmount the cover (umount, lazy, in a new mount namespace)",
    as: "root",
    script: `umount "$R/.git"; umount -l "$R/.git"; unshare -m sh -c "umount $R/.git"; ` +
      `unshare -m --propagation unchanged sh -c "umount $R/.git"; ` +
      `unshare -Urm --propagation unchanged sh -c "umount $R/.git; umount -l $R/.git"; ` +
      `git --git-dir="$R/.git" config core.fsmonitor "touch $M/umount"; ` +
      `test -e "$R/.git/host-only" && touch "$R/REVEALED"; true`
  },
  {
    name: "container root: a non-recursive bind, a move, new mount API calls",
    as: "root",
    script: `mkdir -p /mnt/a /mnt/b; mount --bind "$R" /mnt/a && git --git-dir=/mnt/a/.git config core.fsmonitor ` +
      `"touch $M/bind"; mount --make-private "$R"; mount --make-rslave /; mount --move "$R/.git" /mnt/b; ` +
      // open_tree(OPEN_TREE_CLONE) without AT_RECURSIVE, then mount_setattr to private: through perl's syscall().
      `perl -e 'my $fd = syscall(428, -100, $ARGV[0], 1); print "open_tree=$fd\\n"; ` +
      `my $attr = pack("QQQQ", 0, 0, 1<<18, 0); print "mount_setattr=", syscall(442, -100, $ARGV[0], 0x8000, $attr, 32), "\\n"' "$R"; ` +
      `test -e "$R/.git/host-only" -o -e /mnt/a/.git/host-only -o -e /mnt/b/host-only && touch "$R/REVEALED"; true`
  }
]

describe("attacks of a container on the host (issue 12)", () => {
  for (const attack of gitdirAttacks) {
    it.live(`git: ${attack.name}: the host runs nothing, the seal holds`, () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const w = yield* world()
        const run = attack.as === "root" ? w.asRoot : w.asUser
        yield* run(`cd "$R" && ${attack.script}`)
        assert.isFalse(yield* fs.exists(`${w.repo}/REVEALED`), "the host .git showed in the container")
        yield* assertHeld(w)
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)), timeout)
  }

  it.live(
    "git: the agent's commits reach the host with repoman fetch; hostile branch names are refused",
    () =>
      Effect.gen(function*() {
        const w = yield* world()
        const hostMain = (yield* hostGit(w.repo, ["rev-parse", "main"])).stdout.trim()
        const work = yield* w.asUser(
          `cd "$R" && echo agent >> README && git -c user.name=agent -c user.email=a@x commit -qam "agent work" && ` +
            `git checkout -q -b feature/x && echo x > x && git add x && ` +
            `git -c user.name=agent -c user.email=a@x commit -qm "feature" && git checkout -q main`
        )
        assert.strictEqual(work.code, 0, work.stderr)
        // The container's git is the agent's: it writes whatever bundle header it likes.
        const trojan = yield* w.asRoot(`printf '%s' "$WRAPPER" > /usr/local/bin/git && chmod +x /usr/local/bin/git`, {
          WRAPPER: gitWrapper
        })
        assert.strictEqual(trojan.code, 0, trojan.stderr)
        const f = yield* w.repoman(["fetch", w.name])
        assert.strictEqual(f.code, 0, f.stdout + f.stderr)
        assert.notInclude(f.stdout + f.stderr, ESC, "a ref name reached the terminal raw")
        assert.include(f.stdout, "repoman/main")
        assert.include(f.stdout, "repoman/feature/x")
        assert.include(f.stdout, "refused refs/heads/esc\\x1b]0;pwned\\x07\\x1b[31mred")
        assert.include(f.stdout, "refused refs/heads/a/../../b")
        assert.include(f.stdout, "refused HEAD")
        assert.strictEqual(
          (yield* hostGit(w.repo, ["log", "-1", "--format=%s", "repoman/main"])).stdout.trim(),
          "agent work"
        )
        assert.strictEqual(
          (yield* hostGit(w.repo, ["log", "-1", "--format=%s", "repoman/feature/x"])).stdout.trim(),
          "feature"
        )
        // Nothing but refs/remotes/repoman moved: the host's own branch is where it was.
        assert.strictEqual((yield* hostGit(w.repo, ["rev-parse", "main"])).stdout.trim(), hostMain)
        const refs = (yield* hostGit(w.repo, ["for-each-ref", "--format=%(refname)"])).stdout.trim().split("\n")
        assert.deepStrictEqual(refs.filter((r) => !r.startsWith("refs/remotes/repoman/")), ["refs/heads/main"])
        const again = yield* w.repoman(["fetch", w.name])
        assert.strictEqual(again.code, 0, again.stderr)
        assert.include(again.stdout, "nothing new")
        yield* assertHeld(w)
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    timeout
  )

  it.live(
    "git: objects git's fsck refuses (a .gitmodules url that is an option) are not fetched at all",
    () =>
      Effect.gen(function*() {
        const w = yield* world()
        const work = yield* w.asUser(
          `cd "$R" && printf '[submodule "x"]\\n\\tpath = x\\n\\turl = --upload-pack=touch $M/fsck\\n' > .gitmodules && ` +
            `git add .gitmodules && git -c user.name=agent -c user.email=a@x commit -qm evil`
        )
        assert.strictEqual(work.code, 0, work.stderr)
        const f = yield* w.repoman(["fetch", w.name])
        assert.strictEqual(f.code, 1, f.stdout)
        assert.include(f.stderr, "git refused the container's objects, nothing was fetched")
        const refs = (yield* hostGit(w.repo, ["for-each-ref", "refs/remotes/repoman"])).stdout.trim()
        assert.strictEqual(refs, "")
        assert.deepStrictEqual(yield* markersOf(w), [])
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    timeout
  )

  it.live(
    "git: a repo with a submodule is refused unless accepted; then a rewritten submodule gitfile runs nothing once status's advice is taken",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const withSubmodule = (repo: string) =>
          Effect.gen(function*() {
            const sub = `${repo}-sub`
            yield* fs.makeDirectory(sub)
            yield* fs.writeFileString(`${sub}/lib.c`, "int x;\n")
            for (const args of [["init", "-q"], ["add", "lib.c"], ["commit", "-qm", "lib"]]) yield* hostGit(sub, args)
            const added = yield* hostGit(repo, [
              "-c",
              "protocol.file.allow=always",
              "submodule",
              "add",
              "-q",
              sub,
              "lib"
            ])
            assert.strictEqual(added.code, 0, added.stderr)
            yield* hostGit(repo, ["commit", "-qm", "submodule"])
          })
        const refused = yield* world({ prepare: withSubmodule, expectNew: 1 })
        assert.include(refused.newOutput.stderr, "--accept-submodule-risk")
        assert.isFalse(yield* fs.exists(`${refused.repo}/../../state/repoman/git/${refused.name}`))

        const w = yield* world({ prepare: withSubmodule, newArgs: ["--accept-submodule-risk"] })
        const warned = yield* statusJson(w)
        assert.isTrue(warned.row.warnings.some((x) => x.includes("diff.ignoreSubmodules all")), warned.raw.stdout)
        // The agent points the submodule's gitfile at a gitdir of its own.
        yield* w.asUser(
          `cd "$R" && git init -q --bare "$R/.evilsub" && git -C "$R/.evilsub" config core.fsmonitor "touch $M/sub" && ` +
            `git -C "$R/.evilsub" config core.worktree "$R/lib" && echo "gitdir: $R/.evilsub" > lib/.git`
        )
        // The user takes status's advice.
        assert.strictEqual((yield* hostGit(w.repo, ["config", "diff.ignoreSubmodules", "all"])).code, 0)
        for (const args of [["status"], ["diff"], ["commit", "-qam", "x"]]) yield* hostGit(w.repo, args)
        assert.deepStrictEqual(yield* markersOf(w), [])
        const after = yield* statusJson(w)
        assert.isFalse(after.row.warnings.some((x) => x.includes("diff.ignoreSubmodules all")))
        assert.strictEqual(after.row.seal.state, "sealed")
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    timeout
  )

  it.live(
    "hermetic: symlinks, a FIFO and escape names in /patches are refused, never followed; nothing moves into a planted dir",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const w = yield* world({ newArgs: ["--hermetic"] })
        const trap = `${w.dir}/trap`
        yield* fs.makeDirectory(trap)
        const planted = yield* w.asUser(
          `cd "$R" && echo two >> README && git -c user.name=agent -c user.email=a@x commit -qam change && ` +
            `git format-patch -q -o /patches HEAD~1 && ` +
            `ln -s "${trap}" /patches/applied && ln -s /etc/passwd /patches/0002-link.patch && ` +
            `mkfifo /patches/0003-fifo.patch && cp /patches/0001-change.patch "/patches/0004-${ESC}]0;owned${ESC}[2K.patch"`
        )
        assert.strictEqual(planted.code, 0, planted.stderr)
        const listed = yield* w.repoman(["patches", w.name])
        assert.strictEqual(listed.code, 0, listed.stderr)
        assert.notInclude(listed.stdout + listed.stderr, ESC)
        assert.include(listed.stdout, "refused")
        assert.include(listed.stdout, "0002-link.patch: a symlink")
        assert.include(listed.stdout, "0003-fifo.patch: a fifo")
        assert.include(listed.stdout, "0004-\\x1b]0;owned\\x1b[2K.patch")
        const refused = yield* w.repoman(["patches", w.name, "--apply"])
        assert.strictEqual(refused.code, 1)
        assert.include(refused.stderr, "not applying")
        assert.notInclude(refused.stderr, ESC)
        assert.strictEqual(yield* fs.readFileString(`${w.repo}/README`), "one\n")
        // The agent cleans up; the good patch applies, and lands nowhere the container chose.
        yield* w.asUser(`rm -f /patches/0002-link.patch /patches/0003-fifo.patch /patches/0004-*`)
        const applied = yield* w.repoman(["patches", w.name, "--apply"])
        assert.strictEqual(applied.code, 0, applied.stderr)
        assert.strictEqual(yield* fs.readFileString(`${w.repo}/README`), "one\ntwo\n")
        assert.deepStrictEqual(yield* fs.readDirectory(trap), [])
        const st = yield* statusJson(w)
        assert.strictEqual(st.row.seal.mode, "hermetic")
        assert.strictEqual(st.row.seal.state, "sealed")
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    timeout
  )

  it.live(
    "plugins: a backup plugin the agent writes into the repo's node_modules is never loaded",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const w = yield* world()
        const registry = `${w.dir}/config/repoman.toml`
        const text = yield* fs.readFileString(registry)
        yield* fs.writeFileString(
          registry,
          text.replace(/\[backup\][^[]*/, "") + "\n[backup]\ntarget = \"acme-backup\"\n"
        )
        const planted = yield* w.asUser(
          `mkdir -p "$R/node_modules/acme-backup" && cd "$R/node_modules/acme-backup" && ` +
            `printf '{"name":"acme-backup","main":"index.js"}' > package.json && ` +
            `printf 'require("fs").writeFileSync("%s/plugin", "x"); module.exports = {}\\n' "$M" > index.js`
        )
        assert.strictEqual(planted.code, 0, planted.stderr)
        const run = yield* w.repoman(["run", "--", "true"], { cwd: w.repo })
        assert.strictEqual(run.code, 0, run.stderr)
        const status = yield* w.repoman(["status", w.name], { cwd: w.repo })
        assert.include(status.stdout, "not installed")
        const sync = yield* w.repoman(["sync", w.name], { cwd: w.repo })
        assert.strictEqual(sync.code, 1)
        assert.deepStrictEqual(yield* markersOf(w), [], "the host loaded the agent's plugin")
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    timeout
  )

  it.live(
    "terminal: escape sequences in probe output and file names reach the terminal escaped; JSON stays JSON",
    () =>
      Effect.gen(function*() {
        const w = yield* world()
        const planted = yield* w.asRoot(
          `printf '#!/bin/sh\\nprintf "\\\\033]0;owned\\\\007\\\\033[2Jcleared" >&2\\nexit 1\\n' > /usr/local/bin/touch && ` +
            `chmod +x /usr/local/bin/touch && ln -sf /usr/local/bin/touch /usr/bin/touch && ` +
            `: > "$R/name${ESC}[31mred" && chown 0:0 "$R/name${ESC}[31mred"`
        )
        assert.strictEqual(planted.code, 0, planted.stderr)
        const text = yield* w.repoman(["status", w.name])
        assert.strictEqual(text.code, 1)
        assert.notInclude(text.stdout + text.stderr, ESC, "an escape sequence reached the terminal")
        assert.include(text.stdout, "\\x1b]0;owned\\x07\\x1b[2Jcleared")
        assert.include(text.stdout, "name\\x1b[31mred")
        const st = yield* statusJson(w)
        assert.strictEqual(st.code, 1)
        assert.isTrue(st.row.warnings.some((x) => x.includes(`name${ESC}[31mred`)), "JSON carries the name as data")
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    timeout
  )

  it.live(
    "owners: chown -R 0:0 and chmod 700 as container root: status fails and says how, sync refuses, repair gives it back",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        assert.notStrictEqual(backupMount, "", "REPOMAN_CI_BACKUP_MOUNT must be set (scripts/incus/backup-mounts.sh)")
        const w = yield* world()
        const taken = yield* w.asRoot(`chown -R 0:0 "$R" && chmod -R go-rwx "$R" && chmod 700 "$R"`)
        assert.strictEqual(taken.code, 0, taken.stderr)
        const st = yield* w.repoman(["status", w.name])
        assert.strictEqual(st.code, 1)
        assert.include(st.stdout, "owners       FAIL")
        assert.include(st.stdout, `repoman repair ${w.name}`)
        const sync = yield* w.repoman(["sync", w.name])
        assert.strictEqual(sync.code, 1, sync.stdout)
        assert.include(sync.stdout + sync.stderr, `repoman repair ${w.name}`)
        const repaired = yield* w.repoman(["repair", w.name])
        assert.strictEqual(repaired.code, 0, repaired.stdout + repaired.stderr)
        const owner = (yield* fs.stat(`${w.repo}/README`)).uid
        assert.deepStrictEqual(owner._tag === "Some" ? owner.value : -1, process.getuid?.())
        const again = yield* statusJson(w)
        assert.strictEqual(again.code, 0, again.raw.stdout)
        const synced = yield* w.repoman(["sync", w.name])
        assert.strictEqual(synced.code, 0, synced.stdout + synced.stderr)
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    timeout
  )

  it.live(
    "shared: the opt-in still shares .git; new and every status warn; fetch refuses",
    () =>
      Effect.gen(function*() {
        const w = yield* world({ newArgs: ["--git-mode", "shared"] })
        assert.include(w.newOutput.stderr, "the container can write this repo's .git")
        const work = yield* w.asUser(
          `cd "$R" && echo agent >> README && git -c user.name=agent -c user.email=a@x commit -qam agent`
        )
        assert.strictEqual(work.code, 0, work.stderr)
        assert.strictEqual((yield* hostGit(w.repo, ["log", "-1", "--format=%s"])).stdout.trim(), "agent")
        const seen = yield* w.asUser(`test -e "$R/.git/host-only" && echo VISIBLE`)
        assert.strictEqual(seen.stdout.trim(), "VISIBLE")
        const st = yield* statusJson(w)
        assert.strictEqual(st.row.seal.state, "shared")
        assert.isTrue(st.row.warnings.some((x) => x.includes("can write this repo's .git")))
        const text = yield* w.repoman(["status", w.name])
        assert.include(text.stdout, "git seal     WARN  shared")
        const f = yield* w.repoman(["fetch", w.name])
        assert.strictEqual(f.code, 1)
        assert.include(f.stderr, "git mode shared")
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    timeout
  )

  it.live(
    "status: a profile that mounts the repos root breaks the seal, and a hook you add is reported until accepted",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const w = yield* world()
        const profiles = `${w.dir}/config/profiles.d`
        yield* fs.makeDirectory(profiles, { recursive: true })
        const reposRoot = w.repo.slice(0, w.repo.lastIndexOf("/"))
        yield* fs.writeFileString(
          `${profiles}/repos-root.yaml`,
          `description: mounts every repo\nconfig: {}\ndevices:\n  all:\n    type: disk\n    source: ${reposRoot}\n    path: /mnt/repos\n`
        )
        // The test's repos root is under /tmp, which a profile may mount only when told to.
        const installed = yield* w.repoman(["profile", "install", "repos-root", "--allow-sensitive", reposRoot])
        assert.strictEqual(installed.code, 0, installed.stderr)
        const other = `${w.name}-b`
        yield* fs.makeDirectory(`${reposRoot}/${other}`)
        const n = yield* w.repoman(["new", other, "--image", debian, "--profile", "repos-root"])
        assert.strictEqual(n.code, 0, n.stderr)
        const broken = yield* w.repoman(["status", other, "--json"])
        assert.strictEqual(broken.code, 1)
        const [row] = (yield* json(broken.stdout)) as ReadonlyArray<SealJson>
        assert.strictEqual(row?.seal.state, "broken")
        assert.isTrue(row?.seal.checks.some((c) => c.check === "no other mount of the host .git" && c.ok === false))

        // A hook you add yourself trips the fingerprint, and stays reported until you accept it.
        yield* fs.writeFileString(`${w.repo}/.git/hooks/pre-push`, "#!/bin/sh\nexit 0\n")
        const tripped = yield* statusJson(w)
        assert.strictEqual(tripped.row.seal.state, "broken")
        assert.isTrue(tripped.row.seal.checks.some((c) => c.detail.includes("new hook: pre-push")))
        const accepted = yield* w.repoman(["repair", w.name, "--accept-git"])
        assert.strictEqual(accepted.code, 0, accepted.stderr)
        assert.include(accepted.stdout, "recorded as yours: new hook: pre-push")
        assert.strictEqual((yield* statusJson(w)).row.seal.state, "sealed")
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    timeout
  )
})
