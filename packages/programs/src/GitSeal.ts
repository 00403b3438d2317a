/**
 * The git seal: the host's `.git` stays out of a container's reach.
 *
 * A sealed project's container sees, at `REPO/.git`, a gitdir repoman owns
 * (`<state dir>/git/<name>`, "GD"), seeded from the host repo when the
 * project is made: a `--no-local --template=` clone (objects reachable from
 * branches and tags, no hooks), the same HEAD and index, and a config built
 * from an allowlist (`@repoman/core/GitConfig`). The host's own `.git` is
 * never mounted. The agent commits as usual inside; `repoman fetch` brings
 * its branches to the host (see `FetchAgentCommits`).
 *
 * This module makes the seal (`prepareSeal`), records what the host's
 * `.git` looked like (`fingerprint`, kept with the seal in
 * `<state dir>/seal/<name>.json`), and checks a project's seal for `status`
 * (`checkSeal`) from sources the agent cannot forge: the container's config
 * (devices, the syscall deny list), its init process's mount table read on
 * the host, and the host's `.git` itself.
 *
 * @since 0.1.0
 * @module
 */
import { ConfigPaths } from "@repoman/core/ConfigPaths"
import { ContainerRuntime, GitCover, GITFILE_TARGET, type Instance, type Mount } from "@repoman/core/ContainerRuntime"
import * as GitConfig from "@repoman/core/GitConfig"
import { HostFiles } from "@repoman/core/HostFiles"
import type { ProjectName } from "@repoman/core/Ids"
import * as Mountinfo from "@repoman/core/Mountinfo"
import { GitMode } from "@repoman/core/Project"
import * as TerminalText from "@repoman/core/TerminalText"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { hostGit, hostGitOk } from "./internal/hostGit.ts"

/**
 * What a sealed project's git setup went wrong on; `detail` says what, for
 * the user.
 *
 * @since 0.1.0
 * @category errors
 */
export class SealError extends Schema.TaggedError<SealError>("@repoman/programs/GitSeal/SealError")("SealError", {
  name: Schema.String,
  detail: Schema.String
}) {
  /** One line for the user. */
  override get message(): string {
    return `${this.name}: ${this.detail}`
  }
}

/**
 * The warning every shared project carries (`new`, `status`, the README).
 *
 * @since 0.1.0
 * @category constants
 */
export const SHARED_WARNING = "the container can write this repo's .git: anything the agent plants there " +
  "(hooks, core.fsmonitor, core.hooksPath, commondir, a gitdir: file, submodule hooks) runs as you at your " +
  "next git command in this repo, and you are in incus-admin, so that means root. Use it only for throwaway repos"

// ---------------------------------------------------------------------------
// Where things are
// ---------------------------------------------------------------------------

/**
 * The host directory of a project's sealed gitdir.
 *
 * @since 0.1.0
 * @category paths
 */
export const gitDirOf = (stateDir: string, name: ProjectName): string => `${stateDir}/git/${name}`

/**
 * The host file standing in for a worktree's gitfile inside the container.
 *
 * @since 0.1.0
 * @category paths
 */
export const gitFileOf = (stateDir: string, name: ProjectName): string => `${stateDir}/git/${name}.gitfile`

/**
 * The host file recording a project's seal.
 *
 * @since 0.1.0
 * @category paths
 */
export const sealFileOf = (stateDir: string, name: ProjectName): string => `${stateDir}/seal/${name}.json`

// ---------------------------------------------------------------------------
// The fingerprint of a host .git
// ---------------------------------------------------------------------------

const Entry = Schema.Struct({ key: Schema.String, value: Schema.NullOr(Schema.String) })
const Hook = Schema.Struct({ name: Schema.String, type: Schema.String, sha256: Schema.NullOr(Schema.String) })

/**
 * What a host `.git` looked like, as far as running code goes: what
 * `REPO/.git` is (type, device, inode, mode; a gitfile's content), the
 * config entries that run programs (`@repoman/core/GitConfig`), the hooks
 * (name, type, content hash), the files that send git elsewhere
 * (`commondir`, `gitdir`, `objects/info/alternates`, `info/attributes`: a
 * hash or `null` when absent) and each submodule gitdir's executing config
 * and hooks. HEAD, refs, objects and the index change as you work and are
 * left out.
 *
 * @since 0.1.0
 * @category fingerprint
 */
export const Fingerprint = Schema.Struct({
  dotGit: Schema.Struct({
    type: Schema.String,
    dev: Schema.String,
    ino: Schema.String,
    mode: Schema.Number,
    content: Schema.NullOr(Schema.String)
  }),
  executing: Schema.Array(Entry),
  hooks: Schema.Array(Hook),
  redirects: Schema.Record(Schema.String, Schema.NullOr(Schema.String)),
  modules: Schema.Array(Schema.Struct({
    name: Schema.String,
    executing: Schema.Array(Entry),
    hooks: Schema.Array(Hook)
  }))
})
/**
 * The decoded type of the `Fingerprint` schema.
 *
 * @since 0.1.0
 * @category fingerprint
 */
export type Fingerprint = typeof Fingerprint.Type

/**
 * A project's seal record (`<state dir>/seal/<name>.json`): the mode, what
 * the host's `.git` was, the sealed gitdir (and gitfile), the branch tips it
 * was seeded with (`repoman fetch` never asks the container for those), the
 * user's word on submodules, and the host `.git`'s fingerprint.
 *
 * @since 0.1.0
 * @category models
 */
export const SealRecord = Schema.Struct({
  version: Schema.Literal(1),
  mode: GitMode,
  hostGit: Schema.Literals(["directory", "gitfile", "none"]),
  gitDir: Schema.NullOr(Schema.String),
  gitFile: Schema.NullOr(Schema.String),
  seededTips: Schema.Array(Schema.String),
  acceptSubmoduleRisk: Schema.Boolean,
  fingerprint: Schema.NullOr(Fingerprint)
})
/**
 * The decoded type of the `SealRecord` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type SealRecord = typeof SealRecord.Type

const SealRecordJson = Schema.fromJsonString(SealRecord)

const hex = (buffer: ArrayBuffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("")

/** The SHA-256 of `bytes`, in hex. */
const sha256 = (bytes: Uint8Array) =>
  Effect.promise(() => crypto.subtle.digest("SHA-256", new Uint8Array(bytes))).pipe(Effect.map(hex))

const MAX_CONFIG_BYTES = 1024 * 1024
const MAX_HOOK_BYTES = 8 * 1024 * 1024

/** The executing entries of a config file, read without following it and parsed by git from stdin. */
const executingOf = (file: string) =>
  Effect.gen(function*() {
    const files = yield* HostFiles
    const bytes = yield* files.readRegular(file, { maxBytes: MAX_CONFIG_BYTES }).pipe(
      Effect.map(Option.some),
      Effect.catchReason("HostFilesError", "Missing", () => Effect.succeedNone)
    )
    if (Option.isNone(bytes)) return []
    const listed = yield* hostGit(["config", "--no-includes", "--file", "-", "--null", "--list"], {
      input: bytes.value,
      timeout: "10 seconds"
    })
    // A config git cannot parse is reported as such (it runs nothing on git's side either).
    if (listed.exitCode !== 0) return [{ key: "(unparsable config)", value: TerminalText.firstLine(listed.stderr) }]
    return GitConfig.executingEntries(GitConfig.parseList(listed.stdout)).map((e) => ({
      key: e.key,
      value: e.value ?? null
    }))
  })

/** The hooks in `dir` (not `*.sample`): name, type, content hash. */
const hooksOf = (dir: string) =>
  Effect.gen(function*() {
    const files = yield* HostFiles
    const names = yield* files.readDirectory(dir).pipe(
      Effect.catchReason("HostFilesError", "Missing", () => Effect.succeed([]))
    )
    const out: Array<typeof Hook.Type> = []
    for (const name of [...names].filter((n) => !n.endsWith(".sample")).sort()) {
      const stat = yield* files.lstat(`${dir}/${name}`)
      if (Option.isNone(stat)) continue
      const content = stat.value.type === "file"
        ? yield* files.readRegular(`${dir}/${name}`, { maxBytes: MAX_HOOK_BYTES }).pipe(
          Effect.flatMap(sha256),
          Effect.orElseSucceed(() => "unreadable")
        )
        : null
      out.push({ name, type: stat.value.type, sha256: content })
    }
    return out
  })

/** The hash of the regular file at `path`, `null` when nothing is there, its type when it is not a file. */
const hashOrNull = (path: string) =>
  Effect.gen(function*() {
    const files = yield* HostFiles
    const stat = yield* files.lstat(path)
    if (Option.isNone(stat)) return null
    if (stat.value.type !== "file") return stat.value.type
    return yield* files.readRegular(path, { maxBytes: MAX_CONFIG_BYTES }).pipe(
      Effect.flatMap(sha256),
      Effect.orElseSucceed(() => "unreadable")
    )
  })

/** `gitdir: <path>` of a gitfile, resolved against the directory holding it. */
const gitfileTarget = (content: string, repo: string): string | undefined => {
  const match = /^gitdir: (.+)$/m.exec(content)
  const target = match?.[1]?.trim()
  if (target === undefined || target.length === 0) return undefined
  return target.startsWith("/") ? target : `${repo}/${target}`
}

/**
 * The fingerprint of the host repo's `.git` (`None` when the repo has
 * none). Reads with {@link HostFiles} (nothing followed, nothing blocking)
 * and lets git parse config from stdin only: no git command runs in that
 * `.git`.
 *
 * @since 0.1.0
 * @category fingerprint
 */
export const fingerprint = Effect.fn("GitSeal.fingerprint")(function*(repo: string) {
  const files = yield* HostFiles
  const dotGit = `${repo}/.git`
  const stat = yield* files.lstat(dotGit)
  if (Option.isNone(stat)) return Option.none<Fingerprint>()
  const { dev, ino, mode, type } = stat.value
  let gitDir = dotGit
  let content: string | null = null
  if (type === "file") {
    const bytes = yield* files.readRegular(dotGit, { maxBytes: 4096 }).pipe(
      Effect.orElseSucceed(() => new Uint8Array())
    )
    content = new TextDecoder().decode(bytes)
    gitDir = gitfileTarget(content, repo) ?? dotGit
  }
  if (type !== "file" && type !== "directory") {
    return Option.some<Fingerprint>({
      dotGit: { type, dev, ino, mode, content },
      executing: [],
      hooks: [],
      redirects: {},
      modules: []
    })
  }
  const commondir = yield* files.readRegular(`${gitDir}/commondir`, { maxBytes: 4096 }).pipe(
    Effect.map((b) => Option.some(new TextDecoder().decode(b).trim())),
    Effect.orElseSucceed(() => Option.none<string>())
  )
  const common = Option.match(commondir, {
    onNone: () => gitDir,
    onSome: (c) => c.startsWith("/") ? c : `${gitDir}/${c}`
  })
  const redirects: Record<string, string | null> = {}
  for (const name of ["commondir", "gitdir", "objects/info/alternates", "info/attributes"]) {
    redirects[name] = yield* hashOrNull(`${gitDir}/${name}`)
  }
  // The common dir is where git takes config and hooks from; a planted
  // commondir points elsewhere, so the .git's own are read too.
  const dirs = common === gitDir ? [gitDir] : [gitDir, common]
  const executing: Array<typeof Entry.Type> = []
  const hooks: Array<typeof Hook.Type> = []
  const modules: Array<Fingerprint["modules"][number]> = []
  for (const dir of dirs) {
    const prefix = dir === gitDir ? "" : `${dir}: `
    const moduleNames = yield* files.readDirectory(`${dir}/modules`).pipe(Effect.orElseSucceed(() => []))
    for (const name of [...moduleNames].sort()) {
      modules.push({
        name: `${prefix}${name}`,
        executing: yield* executingOf(`${dir}/modules/${name}/config`),
        hooks: yield* hooksOf(`${dir}/modules/${name}/hooks`)
      })
    }
    for (const file of ["config", "config.worktree"]) {
      for (const e of yield* executingOf(`${dir}/${file}`)) executing.push({ key: `${prefix}${e.key}`, value: e.value })
    }
    for (const h of yield* hooksOf(`${dir}/hooks`)) hooks.push({ ...h, name: `${prefix}${h.name}` })
  }
  return Option.some<Fingerprint>({ dotGit: { type, dev, ino, mode, content }, executing, hooks, redirects, modules })
})

const entryText = (e: typeof Entry.Type) => e.value === null ? e.key : `${e.key} = ${e.value}`

/**
 * What changed between two fingerprints, one line each: a replaced `.git`,
 * config entries that now run programs, hooks added, changed or removed,
 * redirect files, submodule gitdirs.
 *
 * @since 0.1.0
 * @category fingerprint
 */
export const fingerprintChanges = (before: Fingerprint, after: Option.Option<Fingerprint>): ReadonlyArray<string> => {
  if (Option.isNone(after)) return [".git is gone"]
  const now = after.value
  const out: Array<string> = []
  const a = before.dotGit
  const b = now.dotGit
  if (a.type !== b.type) out.push(`.git is now a ${b.type} (was a ${a.type})`)
  else if (a.dev !== b.dev || a.ino !== b.ino) out.push(".git was replaced (another inode)")
  else if (a.content !== b.content) out.push(`the gitfile now says ${b.content ?? ""}`)
  const known = new Set(before.executing.map(entryText))
  for (const e of now.executing) {
    if (!known.has(entryText(e))) out.push(`config runs a program: ${entryText(e)}`)
  }
  const hooks = (list: ReadonlyArray<typeof Hook.Type>) => new Map(list.map((h) => [h.name, `${h.type}:${h.sha256}`]))
  const hooksBefore = hooks(before.hooks)
  for (const [name, value] of hooks(now.hooks)) {
    const was = hooksBefore.get(name)
    if (was === undefined) out.push(`new hook: ${name}`)
    else if (was !== value) out.push(`hook changed: ${name}`)
  }
  for (const [name, value] of Object.entries(now.redirects)) {
    const was = before.redirects[name] ?? null
    if (was !== value) {
      out.push(value === null ? `${name} was removed` : `${name} ${was === null ? "appeared" : "changed"}`)
    }
  }
  const modulesBefore = new Map(before.modules.map((m) => [m.name, m]))
  for (const m of now.modules) {
    const was = modulesBefore.get(m.name)
    const knownHere = new Set((was?.executing ?? []).map(entryText))
    const runs = m.executing.filter((e) => !knownHere.has(entryText(e)))
    const hooksWere = hooks(was?.hooks ?? [])
    const changedHooks = m.hooks.filter((h) => hooksWere.get(h.name) !== `${h.type}:${h.sha256}`)
    if (runs.length > 0 || changedHooks.length > 0) {
      out.push(
        `submodule gitdir ${m.name} changed: ${
          [
            ...runs.map(entryText),
            ...changedHooks.map((h) => `hook ${h.name}`)
          ].join(", ")
        }`
      )
    }
  }
  return out
}

// ---------------------------------------------------------------------------
// The seal record
// ---------------------------------------------------------------------------

/**
 * Reads a project's seal record; `None` when there is none (a project made
 * before the seal existed).
 *
 * @since 0.1.0
 * @category records
 */
export const readSealRecord = Effect.fn("GitSeal.readSealRecord")(function*(name: ProjectName) {
  const files = yield* HostFiles
  const { stateDir } = yield* ConfigPaths
  const bytes = yield* files.readRegular(sealFileOf(stateDir, name), { maxBytes: 4 * 1024 * 1024 }).pipe(
    Effect.map(Option.some),
    Effect.catchReason("HostFilesError", "Missing", () => Effect.succeedNone),
    Effect.mapError((e) => new SealError({ name, detail: e.message }))
  )
  if (Option.isNone(bytes)) return Option.none<SealRecord>()
  return yield* Schema.decodeUnknownEffect(SealRecordJson)(new TextDecoder().decode(bytes.value)).pipe(
    Effect.map(Option.some),
    Effect.mapError((e) =>
      new SealError({ name, detail: `the seal record ${sealFileOf(stateDir, name)} is damaged: ${e.message}` })
    )
  )
})

/**
 * Writes a project's seal record (atomically, mode 0600).
 *
 * @since 0.1.0
 * @category records
 */
export const writeSealRecord = Effect.fn("GitSeal.writeSealRecord")(function*(name: ProjectName, record: SealRecord) {
  const fs = yield* FileSystem.FileSystem
  const { stateDir } = yield* ConfigPaths
  const file = sealFileOf(stateDir, name)
  const failed = (detail: string) => new SealError({ name, detail: `cannot write ${file}: ${detail}` })
  const text = yield* Schema.encodeEffect(SealRecordJson)(record).pipe(Effect.mapError((e) => failed(e.message)))
  yield* fs.makeDirectory(`${stateDir}/seal`, { recursive: true, mode: 0o700 }).pipe(
    Effect.mapError((e) => failed(e.message))
  )
  const tmp = `${file}.tmp-${Math.random().toString(36).slice(2, 10)}`
  yield* fs.writeFileString(tmp, `${text}\n`, { mode: 0o600 }).pipe(Effect.mapError((e) => failed(e.message)))
  yield* fs.rename(tmp, file).pipe(
    Effect.tapError(() => Effect.ignore(fs.remove(tmp))),
    Effect.mapError((e) => failed(e.message))
  )
})

// ---------------------------------------------------------------------------
// Making the seal
// ---------------------------------------------------------------------------

/**
 * What `new` asks of the seal.
 *
 * @since 0.1.0
 * @category models
 */
export interface SealRequest {
  readonly name: ProjectName
  /** The repo's real path on the host (symlinks resolved). */
  readonly repo: string
  readonly mode: GitMode
  /** Seal a repo whose HEAD or index has submodules (gitlinks) all the same. */
  readonly acceptSubmoduleRisk: boolean
}

/**
 * What the seal made: the cover for the instance spec (`None` in shared
 * mode), whether `new` had to `git init` the repo, and the record to write
 * once the container exists.
 *
 * @since 0.1.0
 * @category models
 */
export interface PreparedSeal {
  readonly cover: Option.Option<GitCover>
  readonly initialized: boolean
  readonly submodules: ReadonlyArray<string>
  readonly record: SealRecord
}

/** Paths of the gitlinks (submodules) in HEAD's tree and in the index. */
const gitlinks = (name: ProjectName, repo: string) =>
  Effect.gen(function*() {
    const failed = (detail: string) =>
      new SealError({
        name,
        detail: `cannot read the repo's .git (git: ${detail.trim()}): a sealed project needs a working git ` +
          `repository, or none (or use --git-mode shared)`
      })
    const index = yield* hostGitOk(["-C", repo, "ls-files", "--stage", "-z"], failed)
    const head = yield* hostGit(["-C", repo, "ls-tree", "-r", "-z", "HEAD"]).pipe(
      Effect.mapError((e) => failed(e.message))
    )
    const paths = new Set<string>()
    for (const entry of index.split("\0")) {
      if (entry.startsWith("160000 ")) paths.add(entry.slice(entry.indexOf("\t") + 1))
    }
    if (head.exitCode === 0) {
      for (const entry of head.stdout.split("\0")) {
        if (entry.startsWith("160000 ")) paths.add(entry.slice(entry.indexOf("\t") + 1))
      }
    }
    return [...paths].sort()
  })

/**
 * Makes the sealed gitdir for `request` (sealed mode), or only fingerprints
 * the host `.git` (shared mode). In sealed mode:
 *
 * - `REPO/.git` must be a directory or a gitfile (a symlink is refused); a
 *   repo without one gets a fresh `git init` on the host, so the container
 *   cannot plant a `.git` there that the host would later use;
 * - a repo with submodules is refused unless `acceptSubmoduleRisk`;
 * - GD (`<state dir>/git/<name>`) must not exist yet; it is cloned from the
 *   repo (`--bare --no-local --template=`), given an allowlisted config, the
 *   repo's HEAD and index, and for a worktree a gitfile pointing at
 *   {@link GITFILE_TARGET};
 * - the namespace is allowed to mount `<state dir>/git`.
 *
 * On failure nothing it made is left behind. {@link discardSeal} takes it
 * back (a later step of `new` failed).
 *
 * @since 0.1.0
 * @category programs
 */
export const prepareSeal = Effect.fn("GitSeal.prepareSeal")(function*(request: SealRequest) {
  const files = yield* HostFiles
  const fs = yield* FileSystem.FileSystem
  const runtime = yield* ContainerRuntime
  const { stateDir } = yield* ConfigPaths
  const { name, repo } = request
  const fail = (detail: string) => new SealError({ name, detail })

  const dotGit = yield* files.lstat(`${repo}/.git`).pipe(Effect.mapError((e) => fail(e.message)))
  const kind = Option.match(dotGit, { onNone: () => "none" as const, onSome: (s) => s.type })
  if (request.mode === "shared") {
    const print = yield* fingerprint(repo).pipe(Effect.mapError((e) => fail(e.message)))
    return {
      cover: Option.none(),
      initialized: false,
      submodules: [],
      record: {
        version: 1,
        mode: "shared",
        hostGit: kind === "file" ? "gitfile" : kind === "directory" ? "directory" : "none",
        gitDir: null,
        gitFile: null,
        seededTips: [],
        acceptSubmoduleRisk: request.acceptSubmoduleRisk,
        fingerprint: Option.getOrNull(print)
      }
    } satisfies PreparedSeal
  }
  if (kind !== "none" && kind !== "directory" && kind !== "file") {
    return yield* fail(
      `${repo}/.git is a ${kind}: a sealed project needs a real .git directory or gitfile (or use --git-mode shared)`
    )
  }

  const gitDir = gitDirOf(stateDir, name)
  if (Option.isSome(yield* files.lstat(gitDir).pipe(Effect.mapError((e) => fail(e.message))))) {
    return yield* fail(
      `${gitDir} exists (left from an earlier project of that name?): move it away or delete it, then run new again`
    )
  }
  const initialized = kind === "none"
  if (initialized) {
    yield* hostGitOk(["init", "-q", "--", repo], (d) => fail(`git init ${repo} failed: ${d}`))
  }
  // From here on the work is undone when anything fails.
  return yield* Effect.gen(function*() {
    const submodules = yield* gitlinks(name, repo)
    if (submodules.length > 0 && !request.acceptSubmoduleRisk) {
      return yield* fail(
        `the repo has submodules (${submodules.slice(0, 5).join(", ")}): a git status ` +
          `on the host runs git inside each, through a .git the container can rewrite. Pass ` +
          `--accept-submodule-risk to seal it anyway (and set 'git config diff.ignoreSubmodules all' in the repo), ` +
          `or use --git-mode shared`
      )
    }
    const print = yield* fingerprint(repo).pipe(Effect.mapError((e) => fail(e.message)))
    yield* fs.makeDirectory(`${stateDir}/git`, { recursive: true, mode: 0o700 }).pipe(
      Effect.mapError((e) => fail(e.message))
    )
    const seedFailed = (detail: string) => fail(`cannot seed the sealed gitdir ${gitDir}: ${detail}`)
    yield* hostGitOk(["clone", "-q", "--bare", "--no-local", "--template=", "--", repo, gitDir], seedFailed, {
      timeout: "10 minutes"
    })
    yield* fs.chmod(gitDir, 0o700).pipe(Effect.mapError((e) => seedFailed(e.message)))
    // The config: rebuilt from the allowlist, out of the fresh clone's own
    // (format keys) and the host repo's (file-system keys).
    const own = GitConfig.parseList(
      yield* hostGitOk(["--git-dir", gitDir, "config", "--local", "--null", "--list"], seedFailed)
    )
    const host = GitConfig.parseList(
      yield* hostGit(["-C", repo, "config", "--local", "--null", "--list"]).pipe(
        Effect.map((r) => r.exitCode === 0 ? r.stdout : ""),
        Effect.mapError((e) => seedFailed(e.message))
      )
    )
    const format = own.filter((e) => e.key === "core.repositoryformatversion" || e.key.startsWith("extensions."))
    const fileSystem = host.filter((e) =>
      !(e.key === "core.repositoryformatversion" || e.key.startsWith("extensions."))
    )
    yield* fs.writeFileString(`${gitDir}/config`, GitConfig.sealedConfig([...fileSystem, ...format])).pipe(
      Effect.mapError((e) => seedFailed(e.message))
    )
    // HEAD: the same branch (an unborn one too), or the same detached commit.
    const branch = yield* hostGit(["-C", repo, "symbolic-ref", "-q", "HEAD"]).pipe(
      Effect.mapError((e) => seedFailed(e.message))
    )
    if (branch.exitCode === 0) {
      yield* hostGitOk(["--git-dir", gitDir, "symbolic-ref", "HEAD", branch.stdout.trim()], seedFailed)
    } else {
      const head = (yield* hostGitOk(["-C", repo, "rev-parse", "--verify", "-q", "HEAD"], seedFailed)).trim()
      yield* copyObjects(repo, gitDir, [head], true, seedFailed)
      yield* hostGitOk(["--git-dir", gitDir, "update-ref", "--no-deref", "HEAD", head], seedFailed)
    }
    // The index: the repo's entries, with staged blobs that no commit holds copied over.
    const staged = yield* hostGitOk(["-C", repo, "ls-files", "--stage", "-z"], seedFailed)
    const blobs = staged.split("\0").flatMap((e) => e.startsWith("160000 ") ? [] : [e.split(" ")[1] ?? ""])
      .filter((o) => o.length > 0)
    if (blobs.length > 0) {
      const present = yield* hostGit(["--git-dir", gitDir, "cat-file", "--batch-check=%(objectname)"], {
        input: `${blobs.join("\n")}\n`
      }).pipe(Effect.mapError((e) => seedFailed(e.message)))
      const missing = present.stdout.split("\n").flatMap((l) => l.endsWith(" missing") ? [l.split(" ")[0] ?? ""] : [])
      if (missing.length > 0) yield* copyObjects(repo, gitDir, missing, false, seedFailed)
    }
    if (staged.length > 0) {
      yield* hostGitOk(["--git-dir", gitDir, "update-index", "-z", "--index-info"], seedFailed, { input: staged })
    }
    yield* hostGit(["--git-dir", gitDir, "--work-tree", repo, "update-index", "-q", "--refresh"]).pipe(
      Effect.mapError((e) => seedFailed(e.message))
    )
    const tips = (yield* hostGitOk(["--git-dir", gitDir, "for-each-ref", "--format=%(objectname)"], seedFailed))
      .split("\n").filter((t) => t.length > 0)
    let gitFile: string | null = null
    if (kind === "file") {
      gitFile = gitFileOf(stateDir, name)
      yield* fs.writeFileString(gitFile, `gitdir: ${GITFILE_TARGET}\n`, { mode: 0o444 }).pipe(
        Effect.mapError((e) => seedFailed(e.message))
      )
    }
    const root = yield* fs.realPath(`${stateDir}/git`).pipe(Effect.mapError((e) => fail(e.message)))
    const allowed = yield* runtime.allowPaths([root]).pipe(Effect.mapError((e) => fail(e.message)))
    const [refused] = allowed.refused
    if (refused !== undefined) return yield* fail(`cannot let containers mount ${refused.path}: ${refused.reason}`)
    const realGitDir = `${root}/${name}`
    const realGitFile = gitFile === null ? null : `${root}/${name}.gitfile`
    return {
      cover: Option.some(
        new GitCover(realGitFile === null ? { gitDir: realGitDir } : { gitDir: realGitDir, gitFile: realGitFile })
      ),
      initialized,
      submodules,
      record: {
        version: 1,
        mode: "sealed",
        hostGit: kind === "file" ? "gitfile" : "directory",
        gitDir: realGitDir,
        gitFile: realGitFile,
        seededTips: [...new Set(tips)],
        acceptSubmoduleRisk: request.acceptSubmoduleRisk,
        fingerprint: Option.getOrNull(print)
      }
    } satisfies PreparedSeal
  }).pipe(
    Effect.tapError(() =>
      Effect.gen(function*() {
        yield* Effect.ignore(fs.remove(gitDir, { recursive: true }))
        yield* Effect.ignore(fs.remove(gitFileOf(stateDir, name)))
        if (initialized) yield* Effect.ignore(fs.remove(`${repo}/.git`, { recursive: true }))
      })
    )
  )
})

/**
 * Copies objects from `repo` into `gitDir` as one pack: `oids` themselves,
 * or with `revs` everything the commits reach.
 */
const copyObjects = <E>(
  repo: string,
  gitDir: string,
  oids: ReadonlyArray<string>,
  revs: boolean,
  failed: (d: string) => E
) =>
  hostGitOk(
    ["-C", repo, "pack-objects", "-q", ...(revs ? ["--revs"] : []), `${gitDir}/objects/pack/pack`],
    failed,
    { input: `${oids.join("\n")}\n` }
  )

/**
 * Removes a project's sealed gitdir, gitfile and seal record (a failed `new`,
 * `remove`).
 *
 * @since 0.1.0
 * @category programs
 */
export const discardSeal = Effect.fn("GitSeal.discardSeal")(function*(name: ProjectName) {
  const fs = yield* FileSystem.FileSystem
  const { stateDir } = yield* ConfigPaths
  yield* Effect.ignore(fs.remove(gitDirOf(stateDir, name), { recursive: true }))
  yield* Effect.ignore(fs.remove(gitFileOf(stateDir, name)))
  yield* Effect.ignore(fs.remove(sealFileOf(stateDir, name)))
})

// ---------------------------------------------------------------------------
// Checking the seal
// ---------------------------------------------------------------------------

/**
 * One check of a project's seal: `ok` is `null` when it could not be made
 * (the container is stopped, say).
 *
 * @since 0.1.0
 * @category models
 */
export interface SealCheck {
  readonly check: string
  readonly ok: boolean | null
  readonly detail: string
}

/**
 * What `status` says about a project's git seal.
 *
 * - `state`: `sealed` when every check passed (or could not be made),
 *   `broken` when one failed, `shared` for a shared project;
 * - `mode`: what the project was made as (`hermetic` for a hermetic one,
 *   whose repo is mounted read-only);
 * - `warnings`: risks of the shared working tree (hooks the host's config
 *   takes from the tree, hook managers, submodules) and of the mode.
 *
 * @since 0.1.0
 * @category models
 */
export interface SealReport {
  readonly state: "sealed" | "shared" | "broken"
  /** `volume`: the repo and its `.git` live in a volume of a remote engine, never on this host. */
  readonly mode: GitMode | "hermetic" | "volume"
  readonly checks: ReadonlyArray<SealCheck>
  readonly warnings: ReadonlyArray<string>
}

/** Whether a host mount source shows `path` (it is `path` or one of its parents). */
const exposes = (source: string, path: string) => Mountinfo.isWithin(path, source)

/**
 * The checks of the container's mounts, live: the repo is mounted, the
 * cover over its `.git` is the sealed gitdir (same filesystem and
 * directory), both mounts are shared (so the kernel refuses to move the
 * cover away), and no mount anywhere shows the host's `.git` uncovered.
 */
const liveChecks = (
  table: ReadonlyArray<Mountinfo.MountEntry>,
  host: ReadonlyArray<Mountinfo.MountEntry>,
  repoPath: string,
  hostDotGit: string,
  coverSource: string,
  gitDir: string,
  worktree: boolean
): ReadonlyArray<SealCheck> => {
  const top = (mountPoint: string) => table.filter((e) => e.mountPoint === mountPoint).at(-1)
  const repoMount = top(repoPath)
  const cover = top(`${repoPath}/.git`)
  const coverAt = Mountinfo.locate(host, coverSource)
  const dotGitAt = Mountinfo.locate(host, hostDotGit)
  const same = (e: Mountinfo.MountEntry | undefined, at: Option.Option<{ device: string; root: string }>) =>
    e !== undefined && Option.isSome(at) && e.device === at.value.device && e.root === at.value.root
  const checks: Array<SealCheck> = []
  checks.push({
    check: "live cover",
    ok: repoMount !== undefined && cover !== undefined && cover.parentId === repoMount.id && same(cover, coverAt),
    detail: repoMount === undefined
      ? `nothing is mounted at ${repoPath} in the container`
      : cover === undefined
      ? `nothing covers ${repoPath}/.git in the container (unmounted?)`
      : same(cover, coverAt)
      ? `${repoPath}/.git in the container is ${coverSource}`
      : `${repoPath}/.git in the container shows ${cover.root}, not ${coverSource}`
  })
  if (worktree) {
    const gitDirMount = top(GITFILE_TARGET)
    checks.push({
      check: "live gitdir",
      ok: same(gitDirMount, Mountinfo.locate(host, gitDir)),
      detail: `${GITFILE_TARGET} in the container ${
        same(gitDirMount, Mountinfo.locate(host, gitDir)) ? "is" : "is not"
      } ${gitDir}`
    })
  }
  checks.push({
    check: "shared mounts",
    ok: repoMount !== undefined && cover !== undefined && Option.isSome(repoMount.sharedGroup) &&
      Option.isSome(cover.sharedGroup),
    detail: "the repo mount and its cover are shared mounts (the kernel refuses to move a mount from under one)"
  })
  // Any mount showing the host .git (or a parent of it) must have the cover
  // over the place .git appears in it.
  const exposed: Array<string> = []
  if (Option.isSome(dotGitAt)) {
    const { device, root } = dotGitAt.value
    for (const e of table) {
      if (e.device !== device) continue
      // A mount of the host .git itself, or of something inside it.
      if (Mountinfo.isWithin(e.root, root)) {
        exposed.push(e.mountPoint)
        continue
      }
      // A mount of a parent of the host .git: the cover must sit where .git appears in it.
      if (!Mountinfo.isWithin(root, e.root)) continue
      const rest = e.root === "/" ? root : root.slice(e.root.length)
      const at = `${e.mountPoint === "/" ? "" : e.mountPoint}${rest}`
      const over = table.filter((c) => c.mountPoint === at && c.parentId === e.id).at(-1)
      if (!same(over, coverAt)) exposed.push(at)
    }
  }
  checks.push({
    check: "host .git hidden",
    ok: exposed.length === 0,
    detail: exposed.length === 0
      ? "no mount in the container shows the host's .git"
      : `the host's .git shows in the container at ${exposed.slice(0, 3).join(", ")}`
  })
  return checks
}

/**
 * What the host's config and the tree do that runs the tree's code on the
 * host, whatever the mode: `core.hooksPath` inside the repo, hook managers,
 * submodules without `diff.ignoreSubmodules=all`.
 */
const treeWarnings = (name: ProjectName, repo: string, submodules: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const files = yield* HostFiles
    const warnings: Array<string> = []
    const config = yield* hostGit(["-C", repo, "config", "--null", "--get-all", "core.hooksPath"]).pipe(
      Effect.orElseSucceed(() => ({ exitCode: 1, stdout: "", stderr: "" }))
    )
    for (const value of config.stdout.split("\0").filter((v) => v.length > 0)) {
      const resolved = value.startsWith("/") ? value : `${repo}/${value}`
      if (Mountinfo.isWithin(resolved, repo)) {
        warnings.push(
          `core.hooksPath is ${value}, inside the repo: your git runs hooks the container ` +
            `can rewrite (a hook manager such as husky or lefthook?)`
        )
      }
    }
    for (const marker of [".pre-commit-config.yaml", "lefthook.yml", ".lefthook.yml", ".husky"]) {
      if (Option.isSome(yield* files.lstat(`${repo}/${marker}`).pipe(Effect.orElseSucceed(() => Option.none())))) {
        warnings.push(
          `${marker} in the repo: if you installed its hooks on the host, they run code the container can change`
        )
      }
    }
    if (submodules.length > 0) {
      const ignore = yield* hostGit(["-C", repo, "config", "--get", "diff.ignoreSubmodules"]).pipe(
        Effect.orElseSucceed(() => ({ exitCode: 1, stdout: "", stderr: "" }))
      )
      if (ignore.stdout.trim() !== "all") {
        warnings.push(
          `${name} has submodules (${submodules.slice(0, 3).join(", ")}): a git status on ` +
            `the host enters them through a .git the container can rewrite; run ` +
            `'git -C ${repo} config diff.ignoreSubmodules all'`
        )
      }
    }
    return warnings
  })

/**
 * Checks a project's git seal (see {@link SealReport}). `instance` is its
 * container (`None` when missing); `hermetic` when its repo is mounted
 * read-only.
 *
 * @since 0.1.0
 * @category programs
 */
export const checkSeal = Effect.fn("GitSeal.checkSeal")(function*(options: {
  readonly name: ProjectName
  readonly mode: GitMode
  /** Whether the registry entry says nothing of git (made before the seal). */
  readonly legacy: boolean
  /** The repo's real path on the host. */
  readonly repo: string
  /** The repo's path inside the container. */
  readonly repoPath: string
  readonly instance: Option.Option<Instance>
}) {
  const runtime = yield* ContainerRuntime
  const { name, repo } = options
  const checks: Array<SealCheck> = []
  const warnings: Array<string> = []
  const record = yield* readSealRecord(name).pipe(
    Effect.catchTag("SealError", (e) => {
      checks.push({ check: "seal record", ok: false, detail: e.detail })
      return Effect.succeedNone
    })
  )
  const instance = Option.getOrUndefined(options.instance)
  const hermetic = instance !== undefined &&
    Option.exists(instance.repo, (r) => r._tag === "HostPath" && r.readOnly && r.path !== options.repoPath)
  const mode = hermetic ? "hermetic" as const : options.mode
  const hostDotGit = `${repo}/.git`

  // Every mount of the container, its profiles' included: none may show the host .git.
  if (instance !== undefined) {
    const profileMounts: Array<Mount> = []
    for (const profile of instance.profiles) {
      const found = yield* runtime.getProfile(profile).pipe(Effect.option)
      if (Option.isSome(found)) {
        const info = runtime.inspectProfile(
          found.value,
          Option.getOrElse(instance.idMapping, () => ({
            _tag: "Shift" as const
          }))
        )
        profileMounts.push(...info.mounts)
      }
    }
    const mounts = [...instance.mounts, ...profileMounts]
    const leaking = mounts.filter((m) => exposes(m.source, hostDotGit) || Mountinfo.isWithin(m.source, hostDotGit))
    const writableRepo = hermetic ? mounts.filter((m) => exposes(m.source, repo) && !m.readOnly) : []
    checks.push({
      check: "no other mount of the host .git",
      ok: leaking.length === 0 && writableRepo.length === 0,
      detail: leaking.length === 0 && writableRepo.length === 0
        ? "no other mount of the container (its profiles' included) holds the host's .git"
        : `mount ${[...leaking, ...writableRepo].map((m) => `${m.name} (${m.source})`).join(", ")} ` +
          `gives the container the host's .git`
    })
  }

  if (hermetic) {
    checks.push({
      check: "read-only repo",
      ok: true,
      detail: "the repo is mounted read-only; the container works on its own clone"
    })
  } else if (options.mode === "shared") {
    warnings.push(
      options.legacy
        ? `${name} was made before the git seal: ${SHARED_WARNING}. Seal it by re-creating it ` +
          `('repoman remove ${name} --yes && repoman new ${name}')`
        : `${name} shares git (git = "shared"): ${SHARED_WARNING}`
    )
  } else if (Option.isNone(record)) {
    if (!checks.some((c) => c.check === "seal record")) {
      checks.push({ check: "seal record", ok: false, detail: "no seal record: re-create the project to seal it" })
    }
  } else if (instance !== undefined) {
    const r = record.value
    const expected = r.gitDir === null
      ? undefined
      : new GitCover(r.gitFile === null ? { gitDir: r.gitDir } : { gitDir: r.gitDir, gitFile: r.gitFile })
    const cover = Option.getOrUndefined(instance.gitCover)
    checks.push({
      check: "cover configured",
      ok: expected !== undefined && cover !== undefined && cover.gitDir === expected.gitDir &&
        cover.gitFile === expected.gitFile,
      detail: cover === undefined
        ? "the container has no git cover device: it may see the host's .git"
        : `the container's .git is ${cover.gitFile ?? cover.gitDir}`
    })
    checks.push({
      check: "mounts locked",
      ok: instance.lockMounts,
      detail: instance.lockMounts
        ? "the container cannot unmount, move or copy around its mounts (syscall deny list)"
        : "the syscall deny list is missing: container root can unmount the cover"
    })
    if (instance.status === "Running" && r.gitDir !== null) {
      const table = yield* runtime.mountTable(name)
      const host = yield* Mountinfo.read().pipe(Effect.orElseSucceed(() => []))
      if (Option.isSome(table) && host.length > 0) {
        checks.push(
          ...liveChecks(
            table.value,
            host,
            options.repoPath,
            hostDotGit,
            r.gitFile ?? r.gitDir,
            r.gitDir,
            r.gitFile !== null
          )
        )
      } else {
        checks.push({ check: "live cover", ok: null, detail: "the container's mount table cannot be read from here" })
      }
    } else {
      checks.push({ check: "live cover", ok: null, detail: "the container is not running: checked when it runs" })
    }
  }

  // The host .git against its fingerprint from `new` (a tripwire in shared mode too).
  if (Option.isSome(record) && record.value.fingerprint !== null && !hermetic) {
    const now = yield* fingerprint(repo).pipe(Effect.orElseSucceed(() => Option.none<Fingerprint>()))
    const changes = fingerprintChanges(record.value.fingerprint, now)
    checks.push({
      check: "host .git unchanged",
      ok: changes.length === 0,
      detail: changes.length === 0
        ? "the host's .git runs nothing it did not run when the project was made"
        : `since the project was made: ${changes.join("; ")} (yours? 'repoman repair ${name} --accept-git')`
    })
  }

  // Only a repo with a .git is asked (git runs on the host for it).
  const hasGit = Option.isSome(
    yield* (yield* HostFiles).lstat(hostDotGit).pipe(Effect.orElseSucceed(() => Option.none()))
  )
  if (!hermetic && hasGit) {
    const submodules = yield* gitlinks(name, repo).pipe(Effect.orElseSucceed(() => []))
    warnings.push(...(yield* treeWarnings(name, repo, submodules)))
  }

  const state = checks.some((c) => c.ok === false) ? "broken" : mode === "shared" ? "shared" : "sealed"
  return { state, mode, checks, warnings } satisfies SealReport
})

/**
 * Records the host `.git` as it is now as the project's fingerprint (after
 * the user has looked at what changed): `repoman repair NAME --accept-git`.
 *
 * @since 0.1.0
 * @category programs
 */
export const acceptHostGit = Effect.fn("GitSeal.acceptHostGit")(function*(name: ProjectName, repo: string) {
  const record = yield* readSealRecord(name)
  if (Option.isNone(record)) {
    return yield* new SealError({ name, detail: "no seal record to update: re-create the project to seal it" })
  }
  const now = yield* fingerprint(repo).pipe(Effect.mapError((e) => new SealError({ name, detail: e.message })))
  const changes = record.value.fingerprint === null ? [] : fingerprintChanges(record.value.fingerprint, now)
  yield* writeSealRecord(name, { ...record.value, fingerprint: Option.getOrNull(now) })
  return changes
})
