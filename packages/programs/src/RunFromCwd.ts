/**
 * `run`: the wrapper agents are launched through. The project is the one
 * whose repo holds the current directory; the command runs in its container
 * (started if stopped) at the same path inside, since the repo is mounted at
 * its host path. Anywhere else it refuses, naming the allowed roots.
 *
 * @since 0.1.0
 * @module
 */
import { ConfigPaths, expandHome } from "@repoman/core/ConfigPaths"
import type { Project } from "@repoman/core/Project"
import { Registry } from "@repoman/core/Registry"
import type { RegistryDocument } from "@repoman/core/RegistryDocument"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Path from "effect/Path"
import * as Schema from "effect/Schema"
import { shellIn } from "./OpenShell.ts"

/**
 * The directory lies in no registered project's repo.
 *
 * @since 0.1.0
 * @category errors
 */
export class NotInProject
  extends Schema.TaggedError<NotInProject>("@repoman/programs/RunFromCwd/NotInProject")("NotInProject", {
    cwd: Schema.String,
    roots: Schema.Array(Schema.String)
  })
{
  /** One line (plus the roots) for the user. */
  override get message(): string {
    return this.roots.length === 0
      ? `${this.cwd} is not inside a project's repo, and there are no projects yet: make one with 'repoman new'`
      : `${this.cwd} is not inside a project's repo; 'repoman run' works inside:\n  ${this.roots.join("\n  ")}`
  }
}

/**
 * Where a directory lies: the project and the same directory as seen from
 * inside its container.
 *
 * @since 0.1.0
 * @category models
 */
export interface Placement {
  readonly project: Project
  /** The repo's path (host and container alike). */
  readonly repoPath: string
  /** The directory inside the container. */
  readonly dir: string
}

/**
 * Finds the project of `document` whose repo holds `cwd` (an absolute host
 * path). Symlinks are resolved on both sides, and the innermost repo wins
 * when repos nest.
 *
 * @since 0.1.0
 * @category programs
 */
export const locateIn = Effect.fn("locateIn")(function*(document: RegistryDocument, cwd: string) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const { home } = yield* ConfigPaths
  const root = expandHome(document.defaults.reposRoot, home)
  const real = (p: string) => fs.realPath(p).pipe(Effect.orElseSucceed(() => path.resolve(p)))
  const here = yield* real(cwd)
  const candidates: Array<Placement & { readonly realRepo: string }> = []
  const roots: Array<string> = []
  for (const project of document.projects) {
    const repoPath = `${root}/${project.repo}`
    roots.push(repoPath)
    const realRepo = yield* real(repoPath)
    if (here === realRepo || here.startsWith(`${realRepo}/`)) {
      const rel = path.relative(realRepo, here)
      candidates.push({ project, repoPath, dir: rel === "" ? repoPath : `${repoPath}/${rel}`, realRepo })
    }
  }
  const best = candidates.sort((a, b) => b.realRepo.length - a.realRepo.length)[0]
  if (best === undefined) return yield* new NotInProject({ cwd, roots })
  const { realRepo: _, ...placement } = best
  return placement satisfies Placement
})

/**
 * Finds the project whose repo holds `cwd`, as {@link locateIn} does, in
 * the registry.
 *
 * @since 0.1.0
 * @category programs
 */
export const locate = Effect.fn("locate")(function*(cwd: string) {
  const registry = yield* Registry
  return yield* locateIn(yield* registry.load, cwd)
})

/**
 * Runs `argv` in the project holding `cwd`, at the same path inside, and
 * returns its exit code. The registry is read once.
 *
 * @since 0.1.0
 * @category programs
 */
export const runFromCwd = Effect.fn("runFromCwd")(
  function*(
    cwd: string,
    argv: readonly [string, ...Array<string>],
    env: Readonly<Record<string, string>> = {},
    options: { readonly checkpoint?: boolean } = {}
  ) {
    const registry = yield* Registry
    const document = yield* registry.load
    const placement = yield* locateIn(document, cwd)
    return yield* shellIn(document, placement.project, {
      argv,
      cwd: placement.dir,
      env,
      ...(options.checkpoint === undefined ? {} : { checkpoint: options.checkpoint })
    })
  }
)
