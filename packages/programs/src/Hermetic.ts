/**
 * Hermetic projects (`new --hermetic`): the repo is mounted read-only at
 * {@link ORIGIN}, the container works on its own clone of it at the repo's
 * path (made at the first start, inside the container's filesystem), and the
 * only way out is the per-project patches dir, `<state dir>/patches/<name>`,
 * mounted writable at {@link PATCHES}. `repoman patches NAME --apply` applies
 * what lands there to the host repo with `git am`, as the host user.
 *
 * Everything in the patches dir is the container's: the host follows
 * nothing there. Entries are looked at with `lstat`; only regular files
 * named `*.patch` of at most {@link MAX_PATCH_BYTES} are read (with
 * `O_NOFOLLOW | O_NONBLOCK`, so a symlink or a FIFO is refused, not
 * followed or waited on), copied into a private dir of the host's, and
 * applied from there. Applied patches are unlinked from the patches dir
 * (which follows nothing) and kept in `<state dir>/patches-applied/<name>`,
 * a dir the container never sees: the host moves nothing into a path the
 * container chose.
 *
 * @since 0.1.0
 * @module
 */
import { ConfigPaths, expandHome } from "@repoman/core/ConfigPaths"
import { ContainerRuntime, HostPath, Mount } from "@repoman/core/ContainerRuntime"
import { HostFiles } from "@repoman/core/HostFiles"
import { CONTAINER_ID } from "@repoman/core/IdMapping"
import type { ProjectName } from "@repoman/core/Ids"
import { Registry } from "@repoman/core/Registry"
import * as TerminalText from "@repoman/core/TerminalText"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { hostGit } from "./internal/hostGit.ts"

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

/**
 * The largest patch file the host reads (16 MiB).
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_PATCH_BYTES = 16 * 1024 * 1024

/**
 * The most patches one `patches` run looks at.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_PATCHES = 1000

/**
 * What `systemctl is-system-running` says while the system is still booting.
 * `offline` is what it says before systemd has made `/run/systemd/system`,
 * early in a boot that will clean `/tmp` later.
 */
const booting: ReadonlySet<string> = new Set(["offline", "initializing", "starting"])

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

/**
 * A `*.patch` entry of the patches dir that is not read, and why (a
 * symlink, a FIFO, a directory, too large): its name escaped.
 *
 * @since 0.1.0
 * @category models
 */
export interface RefusedPatch {
  readonly name: string
  readonly reason: string
}

/**
 * The patches waiting in a project's patches dir: the regular `*.patch`
 * files (in name order, as `git format-patch` numbers them; names as they
 * are, for JSON), the `*.patch` entries refused, and the dir.
 *
 * @since 0.1.0
 * @category models
 */
export interface PatchList {
  readonly dir: string
  readonly patches: ReadonlyArray<string>
  readonly refused: ReadonlyArray<RefusedPatch>
}

/**
 * Lists the patches waiting in a project's patches dir, following nothing:
 * see {@link PatchList}.
 *
 * @since 0.1.0
 * @category programs
 */
export const listPatches = Effect.fn("listPatches")(function*(name: ProjectName) {
  const files = yield* HostFiles
  const registry = yield* Registry
  const { stateDir } = yield* ConfigPaths
  yield* registry.getProject(name)
  const dir = patchesDir(stateDir, name)
  const entries = yield* files.readDirectory(dir).pipe(
    Effect.mapError(() => new HermeticError({ name, detail: `no patches dir ${dir}: is it a hermetic project?` }))
  )
  const candidates = entries.filter((e) => e.endsWith(".patch")).sort()
  if (candidates.length > MAX_PATCHES) {
    return yield* new HermeticError({ name, detail: `more than ${MAX_PATCHES} patches in ${dir}` })
  }
  const patches: Array<string> = []
  const refused: Array<RefusedPatch> = []
  for (const entry of candidates) {
    const stat = yield* files.lstat(`${dir}/${entry}`).pipe(Effect.orElseSucceed(() => Option.none()))
    if (Option.isNone(stat)) continue
    if (stat.value.type !== "file") refused.push({ name: entry, reason: `a ${stat.value.type}, not a regular file` })
    else if (stat.value.size > MAX_PATCH_BYTES) {
      refused.push({ name: entry, reason: `larger than ${MAX_PATCH_BYTES} bytes` })
    } else patches.push(entry)
  }
  return { dir, patches, refused } satisfies PatchList
})

/**
 * Applies the waiting patches to the host repo with `git am` (as the host
 * user), refusing when the host tree is dirty or when any `*.patch` entry
 * is not a regular file: each is read without following it, copied into a
 * private dir and applied from there; the applied ones leave the patches
 * dir (unlinked) for `<state dir>/patches-applied/<name>`. Returns the names
 * applied.
 *
 * @since 0.1.0
 * @category programs
 */
export const applyPatches = Effect.fn("applyPatches")(function*(name: ProjectName) {
  const fs = yield* FileSystem.FileSystem
  const files = yield* HostFiles
  const registry = yield* Registry
  const { home, stateDir } = yield* ConfigPaths
  const document = yield* registry.load
  const project = yield* registry.getProject(name)
  const repo = `${expandHome(document.defaults.reposRoot, home)}/${project.repo}`
  const { dir, patches, refused } = yield* listPatches(name)
  const fail = (detail: string) => new HermeticError({ name, detail })
  if (refused.length > 0) {
    return yield* fail(
      `not applying: ${refused.map((r) => `${r.name} is ${r.reason}`).join("; ")} ` +
        `(remove it inside the container)`
    )
  }
  if (patches.length === 0) return []
  const status = yield* hostGit(["-C", repo, "status", "--porcelain"]).pipe(Effect.mapError((e) => fail(e.message)))
  if (status.exitCode !== 0) {
    return yield* fail(`git status failed in ${repo}: ${TerminalText.firstLine(status.stderr)}`)
  }
  if (status.stdout.trim().length > 0) {
    return yield* fail(`the host tree ${repo} has uncommitted changes: commit or stash them first`)
  }
  return yield* Effect.scoped(Effect.gen(function*() {
    const work = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-patches-" }).pipe(
      Effect.mapError((e) => fail(e.message))
    )
    const copies: Array<string> = []
    for (const [i, patch] of patches.entries()) {
      const bytes = yield* files.readRegular(`${dir}/${patch}`, { maxBytes: MAX_PATCH_BYTES }).pipe(
        Effect.mapError((e) => fail(`not applying: ${e.message}`))
      )
      // The copy's name is the host's own: the container's name is never a path here.
      const copy = `${work}/${String(i + 1).padStart(4, "0")}.patch`
      yield* fs.writeFile(copy, bytes, { flag: "wx", mode: 0o600 }).pipe(Effect.mapError((e) => fail(e.message)))
      copies.push(copy)
    }
    const am = yield* hostGit(["-C", repo, "am", "--", ...copies]).pipe(Effect.mapError((e) => fail(e.message)))
    if (am.exitCode !== 0) {
      yield* Effect.ignore(hostGit(["-C", repo, "am", "--abort"]))
      return yield* fail(`git am failed, nothing applied: ${TerminalText.firstLine(am.stderr)}`)
    }
    const stamp = new Date(yield* Clock.currentTimeMillis).toISOString().replace(/[:.]/g, "-")
    const kept = `${stateDir}/patches-applied/${name}/${stamp}`
    yield* fs.makeDirectory(kept, { recursive: true, mode: 0o700 }).pipe(Effect.mapError((e) => fail(e.message)))
    for (const [i, patch] of patches.entries()) {
      const copy = copies[i]
      if (copy !== undefined) yield* Effect.ignore(fs.copyFile(copy, `${kept}/${String(i + 1).padStart(4, "0")}.patch`))
      // unlink does not follow a symlink; the name was a regular file when read.
      yield* Effect.ignore(fs.remove(`${dir}/${patch}`))
    }
    return patches
  }))
})
