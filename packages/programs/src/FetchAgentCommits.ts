/**
 * `repoman fetch NAME`: the agent's commits in a sealed project come to the
 * host, and nothing of them is run.
 *
 * 1. The host's tips (its branches, `refs/remotes/repoman/*`, the tips the
 *    sealed gitdir was seeded with) are what the container need not send.
 * 2. Inside, as uid 1000, `git bundle create` writes the branches the host
 *    lacks to a file (a time limit; the container's git is the agent's, so
 *    it can only fail or lie about its own commits).
 * 3. The host reads that file through the runtime with a byte cap, parses
 *    the bundle header itself (`@repoman/core/GitBundle`: branch names
 *    checked and escaped), and never hands the bundle's refs to a terminal.
 * 4. The bundle is unpacked into a fresh scratch repo repoman makes (no
 *    hooks, no config from anywhere), which borrows the host repo's objects;
 *    git 2.39 does not fsck objects fetched straight from a bundle, so:
 * 5. The host repo fetches from the scratch repo with `fsckObjects` on, into
 *    `refs/remotes/repoman/<branch>` only, all or nothing. Branches, tags,
 *    HEAD, the index and the tree are never touched: adopting the work is
 *    the user's own git command (`git merge repoman/main`, say).
 *
 * @since 0.1.0
 * @module
 */
import { ConfigPaths, expandHome } from "@repoman/core/ConfigPaths"
import { ContainerRuntime } from "@repoman/core/ContainerRuntime"
import * as GitBundle from "@repoman/core/GitBundle"
import { HostInfo } from "@repoman/core/HostInfo"
import { CONTAINER_ID } from "@repoman/core/IdMapping"
import type { ProjectName } from "@repoman/core/Ids"
import { gitModeOf, storageOf } from "@repoman/core/Project"
import { Registry } from "@repoman/core/Registry"
import * as TerminalText from "@repoman/core/TerminalText"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { readSealRecord } from "./GitSeal.ts"
import { hostGit, hostGitOk } from "./internal/hostGit.ts"

/**
 * The largest bundle `fetch` takes from a container (512 MiB).
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_BUNDLE_BYTES = 512 * 1024 * 1024

/**
 * How long the container may take to make the bundle.
 *
 * @since 0.1.0
 * @category constants
 */
export const BUNDLE_TIMEOUT = Duration.minutes(2)

/**
 * Fetching failed; `detail` says why (escaped: it may quote the container).
 * `usage` marks a project that cannot be fetched from at all (shared or
 * hermetic).
 *
 * @since 0.1.0
 * @category errors
 */
export class FetchError extends Schema.TaggedError<FetchError>("@repoman/programs/FetchAgentCommits/FetchError")(
  "FetchError",
  { name: Schema.String, detail: Schema.String }
) {
  /** One line for the user. */
  override get message(): string {
    return `fetch ${this.name}: ${this.detail}`
  }
}

/**
 * One branch `fetch` updated: `refs/remotes/repoman/<branch>` now at `oid`
 * (it was at `previous`, or did not exist).
 *
 * @since 0.1.0
 * @category models
 */
export interface FetchedBranch {
  readonly branch: string
  readonly oid: string
  readonly previous: string | null
}

/**
 * What `fetch` did: the branches it updated, the ones the bundle carried
 * that it refused (names escaped, with the reason), and the remote-tracking
 * prefix.
 *
 * @since 0.1.0
 * @category models
 */
export interface FetchResult {
  readonly fetched: ReadonlyArray<FetchedBranch>
  readonly rejected: ReadonlyArray<GitBundle.RejectedRef>
  readonly remote: "repoman"
}

const oidLines = (text: string) => text.split("\n").map((l) => l.trim()).filter((l) => GitBundle.isObjectId(l))

/**
 * Brings the agent's branches of a sealed project to the host repo, as
 * `refs/remotes/repoman/*`. Starts the container if it is stopped.
 *
 * @since 0.1.0
 * @category programs
 */
export const fetchAgentCommits = Effect.fn("fetchAgentCommits")(function*(name: ProjectName) {
  const registry = yield* Registry
  const runtime = yield* ContainerRuntime
  const host = yield* HostInfo
  const fs = yield* FileSystem.FileSystem
  const { home, stateDir } = yield* ConfigPaths
  const fail = (detail: string) => new FetchError({ name, detail })

  const document = yield* registry.load
  const project = yield* registry.getProject(name)
  const repo = `${expandHome(document.defaults.reposRoot, home)}/${project.repo}`
  if (storageOf(project) === "volume") {
    return yield* fail(
      `its repo and .git live in a volume of the remote Incus, not on this host: 'repoman pull ${name} DIR' ` +
        "brings the tree (never a container's .git)"
    )
  }
  if (gitModeOf(project) !== "sealed") {
    return yield* fail(
      "its container shares the host's .git (git mode shared): its commits are in your repo already"
    )
  }
  const record = yield* readSealRecord(name).pipe(Effect.mapError((e) => fail(e.detail)))
  if (Option.isNone(record) || record.value.gitDir === null) {
    return yield* fail("no sealed gitdir on record (a hermetic project? use 'repoman patches')")
  }
  const instance = yield* runtime.get(name)
  if (instance.status === "Stopped") yield* runtime.start(name)
  else if (instance.status !== "Running") return yield* fail(`the container is ${instance.status}`)

  // 1. What the host has: the container need not send it.
  const known = yield* hostGitOk(
    ["-C", repo, "for-each-ref", "--format=%(objectname)", "refs/heads", "refs/remotes/repoman"],
    (d) => fail(`cannot list the host repo's branches: ${d}`)
  )
  const nots = [...new Set([...oidLines(known), ...record.value.seededTips])]

  // 2. The bundle, made inside as the container user.
  const inside = `/tmp/repoman-fetch-${Math.random().toString(36).slice(2, 12)}.bundle`
  const made = yield* runtime.exec(
    name,
    ["git", "bundle", "create", "-q", inside, "--ignore-missing", "--branches", "--not", ...nots],
    { user: CONTAINER_ID, group: CONTAINER_ID, cwd: instance.labels["repo"] ?? repo, env: { HOME: host.home } }
  ).pipe(
    Effect.timeoutOrElse({
      duration: BUNDLE_TIMEOUT,
      orElse: () => Effect.fail(fail(`the container did not make the bundle within ${Duration.format(BUNDLE_TIMEOUT)}`))
    })
  )
  const cleanInside = Effect.ignore(runtime.exec(name, ["rm", "-f", "--", inside], {
    user: CONTAINER_ID,
    group: CONTAINER_ID,
    cwd: "/"
  }))
  if (made.exitCode !== 0) {
    yield* cleanInside
    if (/empty bundle/.test(made.stderr)) return { fetched: [], rejected: [], remote: "repoman" } satisfies FetchResult
    return yield* fail(`git bundle failed in the container: ${TerminalText.firstLine(made.stderr)}`)
  }

  return yield* Effect.scoped(Effect.gen(function*() {
    // 3. Out of the container, capped, into a scratch dir of the host's own.
    yield* fs.makeDirectory(`${stateDir}/fetch`, { recursive: true, mode: 0o700 }).pipe(
      Effect.mapError((e) => fail(e.message))
    )
    const scratch = yield* fs.makeTempDirectoryScoped({ directory: `${stateDir}/fetch`, prefix: `${name}-` }).pipe(
      Effect.mapError((e) => fail(e.message))
    )
    const bundle = `${scratch}/agent.bundle`
    yield* runtime.readFile(name, inside, { maxBytes: MAX_BUNDLE_BYTES }).pipe(
      Stream.run(fs.sink(bundle, { flag: "wx" })),
      Effect.ensuring(cleanInside),
      Effect.mapError((e) => fail(`cannot read the bundle out of the container: ${e.message}`))
    )
    const head = yield* fs.open(bundle, { flag: "r" }).pipe(
      Effect.flatMap((file) => file.readAlloc(GitBundle.MAX_HEADER_BYTES)),
      Effect.map(Option.getOrElse(() => new Uint8Array())),
      Effect.mapError((e) => fail(e.message))
    )
    const header = GitBundle.parseHeader(head)
    if (!GitBundle.isHeader(header)) return yield* fail(`the container's bundle is not usable: ${header.problem}`)
    if (header.refs.length === 0) {
      return { fetched: [], rejected: header.rejected, remote: "repoman" } satisfies FetchResult
    }

    // 4. Unpacked into a scratch repo that borrows the host's objects (that direction only).
    const stage = `${scratch}/stage.git`
    const gitFailed = (step: string) => (d: string) => fail(`${step}: ${d}`)
    yield* hostGitOk(["init", "-q", "--bare", "--template=", stage], gitFailed("cannot make the scratch repo"))
    const common = (yield* hostGitOk(
      ["-C", repo, "rev-parse", "--path-format=absolute", "--git-common-dir"],
      gitFailed("cannot find the host repo's objects")
    )).trim()
    yield* fs.makeDirectory(`${stage}/objects/info`, { recursive: true }).pipe(Effect.mapError((e) => fail(e.message)))
    yield* fs.writeFileString(`${stage}/objects/info/alternates`, `${common}/objects\n`).pipe(
      Effect.mapError((e) => fail(e.message))
    )
    const verify = yield* hostGit(["-C", stage, "bundle", "verify", "-q", bundle]).pipe(
      Effect.mapError((e) => fail(e.message))
    )
    if (verify.exitCode !== 0) {
      return yield* fail(
        `the container's bundle does not verify (it needs commits the host does not have): ${
          TerminalText.firstLine(verify.stderr)
        }`
      )
    }
    const staged = header.refs.map((r) => `+${r.name}:${r.name}`)
    yield* hostGitOk(
      ["-C", stage, "fetch", "-q", "--no-tags", "--no-write-fetch-head", bundle, ...staged],
      gitFailed("cannot unpack the container's bundle")
    )

    // 5. The host repo's fetch, every object checked, into refs/remotes/repoman/* only.
    const before = new Map<string, string>()
    const listed = yield* hostGitOk(
      ["-C", repo, "for-each-ref", "--format=%(refname) %(objectname)", "refs/remotes/repoman"],
      gitFailed("cannot list refs/remotes/repoman")
    )
    for (const line of listed.split("\n")) {
      const [ref, oid] = line.split(" ")
      if (ref !== undefined && oid !== undefined) before.set(ref, oid)
    }
    const refspecs = header.refs.map((r) => `+${r.name}:refs/remotes/repoman/${r.branch}`)
    yield* hostGitOk(
      [
        "-C",
        repo,
        "-c",
        "transfer.fsckObjects=true",
        "-c",
        "fetch.fsckObjects=true",
        "-c",
        "protocol.file.allow=always",
        "fetch",
        "-q",
        "--no-tags",
        "--no-write-fetch-head",
        "--no-recurse-submodules",
        stage,
        ...refspecs
      ],
      gitFailed("git refused the container's objects, nothing was fetched"),
      { timeout: "10 minutes" }
    )
    const fetched = header.refs.map((r) => ({
      branch: r.branch,
      oid: r.oid,
      previous: before.get(`refs/remotes/repoman/${r.branch}`) ?? null
    })).filter((f) => f.previous !== f.oid)
    return { fetched, rejected: header.rejected, remote: "repoman" } satisfies FetchResult
  }))
})
