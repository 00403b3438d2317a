/**
 * One sync at a time per backup root: a lock file per root (named after a
 * hash of its path) in a local lock directory, created with `O_EXCL`, holding
 * the owner's pid, host and start time.
 *
 * A second sync is refused with `Busy`, naming the holder. A lock left by a
 * process that no longer runs (killed with SIGKILL, say) is stale and is
 * taken over.
 *
 * @since 0.1.0
 * @module
 */
import { BackupError, Busy, Failed } from "@repoman/core/BackupTarget"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { createHash } from "node:crypto"
import { hostname } from "node:os"

/**
 * What a lock file holds.
 *
 * @since 0.1.0
 * @category models
 */
export const LockOwner = Schema.Struct({
  pid: Schema.Int,
  host: Schema.String,
  root: Schema.String,
  started: Schema.String
})
/**
 * The decoded type of the `LockOwner` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type LockOwner = typeof LockOwner.Type

const decodeOwner = Schema.decodeUnknownEffect(Schema.fromJsonString(LockOwner))

/**
 * The lock file of `root` in `lockDir`.
 *
 * @since 0.1.0
 * @category utils
 */
export const lockFile = (lockDir: string, root: string): string =>
  `${lockDir}/sync-${createHash("sha256").update(root).digest("hex").slice(0, 16)}.lock`

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return typeof e === "object" && e !== null && "code" in e && e.code === "EPERM"
  }
}

/**
 * Takes the lock of `root` for the current scope.
 *
 * @since 0.1.0
 * @category utils
 */
export const acquire = (
  lockDir: string,
  root: string,
  now: Date
): Effect.Effect<void, BackupError, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const file = lockFile(lockDir, root)
    const io = (what: string) => (e: { readonly message: string }) =>
      new BackupError({
        reason: new Failed({ detail: `cannot ${what} the sync lock ${file}: ${e.message}` }),
        cause: e
      })
    yield* fs.makeDirectory(lockDir, { recursive: true }).pipe(Effect.mapError(io("create the directory of")))
    const owner: LockOwner = { pid: process.pid, host: hostname(), root, started: now.toISOString() }
    const text = JSON.stringify(owner)
    const create = fs.writeFileString(file, text, { flag: "wx", mode: 0o644 })
    const busy = (holder: LockOwner) =>
      new BackupError({
        reason: new Busy({
          location: root,
          detail:
            `another repoman sync (pid ${holder.pid} on ${holder.host}, started ${holder.started}) is mirroring to it; wait for it to finish (lock: ${file})`
        })
      })
    const attempt = (retried: boolean): Effect.Effect<void, BackupError> =>
      create.pipe(
        Effect.catchReason("PlatformError", "AlreadyExists", () =>
          Effect.gen(function*() {
            const holder = yield* fs.readFileString(file).pipe(
              Effect.flatMap(decodeOwner),
              Effect.orElseSucceed(() => undefined)
            )
            const stale = holder === undefined
              ? false
              : holder.host === owner.host && holder.pid !== process.pid && !alive(holder.pid)
            if (!stale || retried) {
              return yield* busy(holder ?? { pid: 0, host: "unknown", root, started: "unknown" })
            }
            yield* fs.remove(file).pipe(Effect.catchReason("PlatformError", "NotFound", () => Effect.void))
            return yield* attempt(true)
          })),
        Effect.mapError((e) => e._tag === "BackupError" ? e : io("create")(e))
      )
    yield* Effect.acquireRelease(
      attempt(false),
      () =>
        fs.readFileString(file).pipe(
          Effect.flatMap((current) => current === text ? fs.remove(file) : Effect.void),
          Effect.ignore
        )
    )
  })
