/**
 * Who owns the files of a repo, and giving them back.
 *
 * Container root is an unprivileged host uid, but it can still `chown -R
 * 0:0` and `chmod 700` everything in the shared repo: the host user is then
 * left with files owned by a uid they cannot undo, and a sync that can read
 * only half the tree. {@link scanRepo} finds such entries (a walk with
 * `lstat`, never following a symlink); {@link repairProject} gives them
 * back through the container, whose root can chown to uid 1000 (which is
 * the host user): it runs there, so a container binary that lies can only
 * fail, never touch the host. `status` reports the scan, `sync` refuses a
 * tree with foreign or unreadable entries.
 *
 * @since 0.1.0
 * @module
 */
import { ConfigPaths, expandHome } from "@repoman/core/ConfigPaths"
import { ContainerRuntime } from "@repoman/core/ContainerRuntime"
import { HostFiles, type TreeScan } from "@repoman/core/HostFiles"
import { HostInfo } from "@repoman/core/HostInfo"
import { CONTAINER_ID } from "@repoman/core/IdMapping"
import type { ProjectName } from "@repoman/core/Ids"
import { Registry } from "@repoman/core/Registry"
import * as TerminalText from "@repoman/core/TerminalText"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { acceptHostGit } from "./GitSeal.ts"

/**
 * How many entries `status` looks at before it stops (a sync walks all).
 *
 * @since 0.1.0
 * @category constants
 */
export const STATUS_SCAN_LIMIT = 200_000

/**
 * Repairing failed; `detail` says why.
 *
 * @since 0.1.0
 * @category errors
 */
export class RepairError extends Schema.TaggedError<RepairError>("@repoman/programs/Ownership/RepairError")(
  "RepairError",
  { name: Schema.String, detail: Schema.String }
) {
  /** One line for the user. */
  override get message(): string {
    return `repair ${this.name}: ${this.detail}`
  }
}

/**
 * Walks a repo for entries the host user does not own or cannot read.
 *
 * @since 0.1.0
 * @category programs
 */
export const scanRepo = Effect.fn("Ownership.scanRepo")(
  function*(repo: string, options: { readonly maxEntries?: number } = {}) {
    const files = yield* HostFiles
    const host = yield* HostInfo
    return yield* files.scanTree(repo, { uid: host.uid, maxEntries: options.maxEntries, sample: 5 })
  }
)

/**
 * One line about a scan, with its offenders escaped: what is wrong and how
 * to fix it (`None` when nothing is).
 *
 * @since 0.1.0
 * @category utils
 */
export const ownershipProblem = (name: ProjectName, scan: TreeScan): Option.Option<string> => {
  const parts: Array<string> = []
  if (scan.foreign.count > 0) {
    parts.push(
      `${scan.foreign.count} entr${scan.foreign.count === 1 ? "y is" : "ies are"} not owned by you (${
        scan.foreign.sample.map((f) => `${f.path} uid ${f.uid}`).join(", ")
      }${scan.foreign.count > scan.foreign.sample.length ? ", ..." : ""})`
    )
  }
  if (scan.unreadable.count > 0) {
    parts.push(
      `${scan.unreadable.count} entr${scan.unreadable.count === 1 ? "y is" : "ies are"} unreadable to you (${
        scan.unreadable.sample.join(", ")
      }${scan.unreadable.count > scan.unreadable.sample.length ? ", ..." : ""})`
    )
  }
  return parts.length === 0
    ? Option.none()
    : Option.some(`${parts.join("; ")}: run 'repoman repair ${name}' to give them back`)
}

/**
 * What `repair` did: the scan after the repair, and (with `acceptGit`) the
 * changes to the host `.git` it recorded as the user's.
 *
 * @since 0.1.0
 * @category models
 */
export interface RepairResult {
  readonly scan: TreeScan
  readonly acceptedGitChanges: ReadonlyArray<string>
}

/**
 * Gives a project's repo back to the host user: inside the container, as
 * root, `chown -R -h 1000:1000` and `chmod -R u+rwX` on the repo (neither
 * follows a symlink), then scans again from the host. A hermetic project's
 * repo is mounted read-only and needs none of it. With `acceptGit`, also
 * records the host `.git` as it is now as the project's fingerprint (after
 * `status` showed changes you made yourself).
 *
 * @since 0.1.0
 * @category programs
 */
export const repairProject = Effect.fn("repairProject")(
  function*(name: ProjectName, options: { readonly acceptGit?: boolean } = {}) {
    const registry = yield* Registry
    const runtime = yield* ContainerRuntime
    const { home } = yield* ConfigPaths
    const fail = (detail: string) => new RepairError({ name, detail })
    const document = yield* registry.load
    const project = yield* registry.getProject(name)
    const repo = `${expandHome(document.defaults.reposRoot, home)}/${project.repo}`
    const instance = yield* runtime.get(name)
    const repoInside = Option.getOrUndefined(instance.repo)
    if (repoInside !== undefined && repoInside._tag === "HostPath" && repoInside.readOnly) {
      return yield* fail("its repo is mounted read-only (hermetic): the container cannot have changed it")
    }
    const path = repoInside?.path ?? repo
    if (instance.status === "Stopped") yield* runtime.start(name)
    for (
      const argv of [
        ["chown", "-R", "-h", `${CONTAINER_ID}:${CONTAINER_ID}`, "--", path],
        ["chmod", "-R", "u+rwX", "--", path]
      ]
    ) {
      const result = yield* runtime.exec(name, argv, { user: 0, group: 0, cwd: "/" })
      if (result.exitCode !== 0) {
        return yield* fail(`${argv[0]} in the container failed: ${TerminalText.firstLine(result.stderr)}`)
      }
    }
    const scan = yield* scanRepo(repo).pipe(Effect.mapError((e) => fail(e.message)))
    const acceptedGitChanges = options.acceptGit === true
      ? yield* acceptHostGit(name, repo).pipe(Effect.mapError((e) => fail(e.detail)))
      : []
    return { scan, acceptedGitChanges } satisfies RepairResult
  }
)
