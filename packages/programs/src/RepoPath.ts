/**
 * Where a project's repo is on the host, checked: `<repos root>/<repo dir>`
 * must exist, be a directory, and resolve (symlinks followed) inside the
 * repos root.
 *
 * @since 0.1.0
 * @module
 */
import type { RepoDir } from "@repoman/core/Ids"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Path from "effect/Path"
import { InvalidPath, LifecycleError, RepoMissing, RepoOutsideRoot } from "./LifecycleError.ts"

/**
 * A checked repo location: `path` as the user sees it (and as it is mounted
 * inside the container), `real` with symlinks resolved (the mount source).
 *
 * @since 0.1.0
 * @category models
 */
export interface RepoPath {
  readonly path: string
  readonly real: string
  readonly root: string
}

const fail = (reason: LifecycleError["reason"]) => Effect.fail(new LifecycleError({ reason }))

/**
 * Resolves `<reposRoot>/<repo>` and checks it stays inside the root.
 *
 * @since 0.1.0
 * @category programs
 */
export const resolveRepo = Effect.fn("resolveRepo")(function*(reposRoot: string, repo: RepoDir) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const logical = path.join(reposRoot, repo)
  const info = yield* fs.stat(logical).pipe(
    Effect.catchReason("PlatformError", "NotFound", () => fail(new RepoMissing({ path: logical }))),
    Effect.catchTag("PlatformError", (e) => fail(new InvalidPath({ path: logical, detail: e.message })))
  )
  if (info.type !== "Directory") return yield* fail(new RepoMissing({ path: logical }))
  const root = yield* fs.realPath(reposRoot).pipe(
    Effect.catchTag("PlatformError", (e) => fail(new InvalidPath({ path: reposRoot, detail: e.message })))
  )
  const real = yield* fs.realPath(logical).pipe(
    Effect.catchTag("PlatformError", (e) => fail(new InvalidPath({ path: logical, detail: e.message })))
  )
  if (!real.startsWith(root.endsWith("/") ? root : `${root}/`)) {
    return yield* fail(new RepoOutsideRoot({ path: logical, resolved: real, root }))
  }
  return { path: logical, real, root } satisfies RepoPath
})
