/**
 * `new --git URL`: clone a repo into the project's repo directory on the
 * host before the container is made. The clone runs `git` with an argv list
 * (no shell), with hooks disabled (`core.hooksPath=/dev/null`, so neither the
 * user's hooks nor a template's run), no submodules, the `ext::` transport
 * refused and no terminal prompt. It refuses to clone over anything that
 * exists already.
 *
 * @since 0.1.0
 * @module
 */
import { ConfigPaths, expandHome } from "@repoman/core/ConfigPaths"
import * as HostProcess from "@repoman/core/HostProcess"
import type { ProjectName, RepoDir } from "@repoman/core/Ids"
import { ProjectExists, Registry, RegistryError } from "@repoman/core/Registry"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Path from "effect/Path"
import * as Schema from "effect/Schema"

/**
 * A clone URL: a remote URL (`https://…`, `ssh://…`, `git@host:path`) or a
 * local path. It may not start with `-` (it would read as an option) and may
 * not hold whitespace or control characters.
 *
 * @since 0.1.0
 * @category models
 */
export const GitUrl = Schema.String.pipe(
  Schema.check(
    Schema.makeFilter((s: string) =>
      // eslint-disable-next-line no-control-regex
      (s.length > 0 && !s.startsWith("-") && !/[\s\u0000-\u001f\u007f]/.test(s) && !/^ext::/i.test(s))
      || "a git URL is non-empty, does not start with '-', holds no spaces or control characters and is not ext::"
    )
  ),
  Schema.brand("GitUrl")
)
/**
 * The type of {@link GitUrl}.
 *
 * @since 0.1.0
 * @category models
 */
export type GitUrl = typeof GitUrl.Type

/**
 * The repo directory exists already: repoman never clones over it.
 *
 * @since 0.1.0
 * @category errors
 */
export class CloneTargetExists
  extends Schema.TaggedError<CloneTargetExists>("@repoman/programs/GitClone/CloneTargetExists")("CloneTargetExists", {
    path: Schema.String
  })
{
  /** One line for the user. */
  override get message(): string {
    return `${this.path} exists already: not cloning over it (drop --git to use it as it is)`
  }
}

/**
 * `git clone` failed (or could not be started); nothing was made.
 *
 * @since 0.1.0
 * @category errors
 */
export class CloneFailed
  extends Schema.TaggedError<CloneFailed>("@repoman/programs/GitClone/CloneFailed")("CloneFailed", {
    url: Schema.String,
    path: Schema.String,
    detail: Schema.String,
    cause: Schema.optional(Schema.Defect())
  })
{
  /** One line for the user. */
  override get message(): string {
    return `cloning ${this.url} into ${this.path} failed: ${this.detail}`
  }
}

/**
 * The argv of the clone: options that keep a hostile repo from running code
 * on the host while it is cloned.
 *
 * @since 0.1.0
 * @category utils
 */
export const cloneArgv = (url: GitUrl, target: string): ReadonlyArray<string> => [
  "-c",
  "core.hooksPath=/dev/null",
  "-c",
  "protocol.ext.allow=never",
  "clone",
  "--no-recurse-submodules",
  "--",
  url,
  target
]

/**
 * Why `git clone` failed, from its stderr: git's first `fatal:` line (the
 * cause, e.g. `'/etc' does not appear to be a git repository`), not its
 * closing advice (`and the repository exists.`); else the last line.
 *
 * @since 0.1.0
 * @category programs
 */
export const cloneFailure = (stderr: string, exitCode: number): string => {
  const lines = stderr.split("\n").map((l) => l.trim()).filter((l) => l.length > 0)
  const fatal = lines.find((l) => l.startsWith("fatal: "))
  return fatal?.slice("fatal: ".length) ?? lines.at(-1) ?? `git exited with ${exitCode}`
}

/**
 * Clones `url` into `<repos root>/<repo>` and returns that path. Fails with
 * `ProjectExists` when the name is registered, {@link CloneTargetExists} when
 * the directory (or a symlink by that name) exists, {@link CloneFailed} when
 * git fails (a partial clone is removed by git itself).
 *
 * @since 0.1.0
 * @category programs
 */
export const cloneForProject = Effect.fn("cloneForProject")(
  function*(name: ProjectName, repo: RepoDir, url: GitUrl) {
    const registry = yield* Registry
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const { home } = yield* ConfigPaths
    const document = yield* registry.load
    if (document.projects.some((p) => p.name === name)) {
      return yield* new RegistryError({ reason: new ProjectExists({ name }) })
    }
    const target = path.join(expandHome(document.defaults.reposRoot, home), repo)
    // lstat semantics: a dangling symlink by that name counts as existing.
    const exists = yield* fs.readLink(target).pipe(
      Effect.as(true),
      Effect.catch(() => fs.exists(target)),
      Effect.orElseSucceed(() => true)
    )
    if (exists) return yield* new CloneTargetExists({ path: target })
    const failed = (detail: string, cause?: unknown) =>
      new CloneFailed({ url, path: target, detail, ...(cause === undefined ? {} : { cause }) })
    const { exitCode, stderr } = yield* HostProcess.run("git", cloneArgv(url, target), {
      env: { GIT_TERMINAL_PROMPT: "0" }
    }).pipe(Effect.mapError((e) => failed(e.reason._tag === "CannotStart" ? e.reason.detail : e.message, e)))
    if (exitCode !== 0) return yield* failed(cloneFailure(stderr, exitCode))
    return target
  }
)
