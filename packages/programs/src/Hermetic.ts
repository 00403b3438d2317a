/**
 * Hermetic projects (`new --hermetic`): the repo is mounted read-only at
 * {@link ORIGIN}, the container works on its own clone of it at the repo's
 * path (made at the first start, inside the container's filesystem), and the
 * only way out is the per-project patches dir, `<state dir>/patches/<name>`,
 * mounted writable at {@link PATCHES}. `repoman patches NAME --apply` applies
 * what lands there to the host repo with `git am`, as the host user.
 *
 * @since 0.1.0
 * @module
 */
import { ConfigPaths, expandHome } from "@repoman/core/ConfigPaths"
import { ContainerRuntime, HostPath, Mount } from "@repoman/core/ContainerRuntime"
import * as HostProcess from "@repoman/core/HostProcess"
import { CONTAINER_ID } from "@repoman/core/IdMapping"
import type { ProjectName } from "@repoman/core/Ids"
import { Registry } from "@repoman/core/Registry"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"

/**
 * Where the read-only repo is mounted inside a hermetic container.
 *
 * @since 0.1.0
 * @category constants
 */
export const ORIGIN = "/srv/repoman/origin"

/**
 * Where the writable patches dir is mounted inside a hermetic container.
 *
 * @since 0.1.0
 * @category constants
 */
export const PATCHES = "/patches"

/** What `systemctl is-system-running` says while the system is still booting. */
const booting: ReadonlySet<string> = new Set(["initializing", "starting"])

/**
 * Something about a hermetic project failed; `detail` says what.
 *
 * @since 0.1.0
 * @category errors
 */
export class HermeticError
  extends Schema.TaggedError<HermeticError>("@repoman/programs/Hermetic/HermeticError")("HermeticError", {
    name: Schema.String,
    detail: Schema.String
  })
{
  /** One line for the user. */
  override get message(): string {
    return `${this.name}: ${this.detail}`
  }
}

/**
 * The host directory of a project's patches.
 *
 * @since 0.1.0
 * @category utils
 */
export const patchesDir = (stateDir: string, name: ProjectName): string => `${stateDir}/patches/${name}`

/**
 * Makes the project's patches dir and lets the namespace's instances mount
 * the patches root (a namespace that restricts no host paths needs
 * nothing). Returns the dir's real path.
 *
 * @since 0.1.0
 * @category programs
 */
export const preparePatchesDir = Effect.fn("preparePatchesDir")(function*(name: ProjectName) {
  const fs = yield* FileSystem.FileSystem
  const runtime = yield* ContainerRuntime
  const { stateDir } = yield* ConfigPaths
  const dir = patchesDir(stateDir, name)
  const failed = (detail: string) => new HermeticError({ name, detail })
  yield* fs.makeDirectory(dir, { recursive: true }).pipe(Effect.mapError((e) => failed(e.message)))
  const root = yield* fs.realPath(`${stateDir}/patches`).pipe(Effect.mapError((e) => failed(e.message)))
  const allowed = yield* runtime.allowPaths([root])
  const [refused] = allowed.refused
  if (refused !== undefined) return yield* failed(`cannot let containers mount ${refused.path}: ${refused.reason}`)
  return `${root}/${name}`
})

/**
 * Where a hermetic container's repo and patches come from: the repo
 * read-only at {@link ORIGIN}, the patches dir writable at {@link PATCHES}.
 *
 * @since 0.1.0
 * @category utils
 */
export const hermeticStorage = (repo: string, patches: string) => ({
  repo: new HostPath({ source: repo, path: ORIGIN, readOnly: true }),
  patches: new Mount({ name: "patches", source: patches, path: PATCHES, readOnly: false })
})

/**
 * Makes the container's own working copy (at its first start, once it has
 * booted): a clone of {@link ORIGIN} at the repo's path, owned by uid 1000,
 * hooks disabled.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeWorkingCopy = Effect.fn("makeWorkingCopy")(function*(name: ProjectName, repoPath: string) {
  const runtime = yield* ContainerRuntime
  // Let the init system finish booting first: systemd cleans /tmp (and may
  // mount over it) while it boots, which would take a fresh copy with it.
  // Poll while it says it is booting, or fails without a word (no bus yet);
  // no systemctl at all is exit 127.
  yield* runtime.exec(name, ["systemctl", "is-system-running"]).pipe(
    Effect.repeat({
      schedule: Schedule.spaced("500 millis"),
      times: 240,
      while: (r) => r.exitCode !== 127 && (booting.has(r.stdout.trim()) || (r.exitCode !== 0 && r.stdout.trim() === ""))
    })
  )
  yield* runtime.makeDirectory(name, repoPath, { uid: CONTAINER_ID, gid: CONTAINER_ID }).pipe(
    Effect.catchTag(
      "ContainerRuntimeError",
      (e) => Effect.fail(new HermeticError({ name, detail: `cannot make the working copy (mkdir): ${e.message}` }))
    )
  )
  const clone = ["git", "-c", "core.hooksPath=/dev/null", "clone", "-q", "--no-hardlinks", "--", ORIGIN, repoPath]
  const result = yield* runtime.exec(name, clone, {
    user: CONTAINER_ID,
    group: CONTAINER_ID,
    cwd: "/",
    env: { HOME: repoPath }
  })
  if (result.exitCode !== 0) {
    return yield* new HermeticError({ name, detail: `cannot make the working copy (git): ${result.stderr.trim()}` })
  }
})

/** Runs git on the host (argv list, hooks disabled); stdout, stderr, exit code. */
const hostGit = (args: ReadonlyArray<string>) => HostProcess.run("git", ["-c", "core.hooksPath=/dev/null", ...args])

/**
 * The patches waiting in a project's patches dir (`*.patch`, in name order,
 * as `git format-patch` numbers them), with the dir.
 *
 * @since 0.1.0
 * @category programs
 */
export const listPatches = Effect.fn("listPatches")(function*(name: ProjectName) {
  const fs = yield* FileSystem.FileSystem
  const registry = yield* Registry
  const { stateDir } = yield* ConfigPaths
  yield* registry.getProject(name)
  const dir = patchesDir(stateDir, name)
  const entries = yield* fs.readDirectory(dir).pipe(
    Effect.mapError(() => new HermeticError({ name, detail: `no patches dir ${dir}: is it a hermetic project?` }))
  )
  return { dir, patches: entries.filter((e) => e.endsWith(".patch")).sort() }
})

/**
 * Applies the waiting patches to the host repo with `git am` (as the host
 * user), refusing when the host tree is dirty; applied patches move to
 * `applied/` in the patches dir. Returns the names applied.
 *
 * @since 0.1.0
 * @category programs
 */
export const applyPatches = Effect.fn("applyPatches")(function*(name: ProjectName) {
  const fs = yield* FileSystem.FileSystem
  const registry = yield* Registry
  const { home } = yield* ConfigPaths
  const document = yield* registry.load
  const project = yield* registry.getProject(name)
  const repo = `${expandHome(document.defaults.reposRoot, home)}/${project.repo}`
  const { dir, patches } = yield* listPatches(name)
  if (patches.length === 0) return []
  const fail = (detail: string) => new HermeticError({ name, detail })
  const status = yield* hostGit(["-C", repo, "status", "--porcelain"]).pipe(Effect.mapError((e) => fail(e.message)))
  if (status.exitCode !== 0) return yield* fail(`git status failed in ${repo}: ${status.stderr.trim()}`)
  if (status.stdout.trim().length > 0) {
    return yield* fail(`the host tree ${repo} has uncommitted changes: commit or stash them first`)
  }
  const am = yield* hostGit(["-C", repo, "am", "--", ...patches.map((p) => `${dir}/${p}`)]).pipe(
    Effect.mapError((e) => fail(e.message))
  )
  if (am.exitCode !== 0) {
    yield* Effect.ignore(hostGit(["-C", repo, "am", "--abort"]))
    return yield* fail(`git am failed, nothing applied: ${am.stderr.trim().split("\n")[0] ?? ""}`)
  }
  yield* fs.makeDirectory(`${dir}/applied`, { recursive: true }).pipe(Effect.mapError((e) => fail(e.message)))
  for (const p of patches) {
    yield* fs.rename(`${dir}/${p}`, `${dir}/applied/${p}`).pipe(Effect.mapError((e) => fail(e.message)))
  }
  return patches
})
