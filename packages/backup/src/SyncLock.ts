/**
 * One sync at a time per backup root: a lock file per root (named after a
 * hash of its path) in a local lock directory, created with `O_EXCL`, holding
 * the owner's pid, start time and host, and the rsync processes it runs.
 *
 * - A second sync is refused with `Busy`, naming the holder.
 * - A lock left by a process that no longer runs (killed with SIGKILL, say;
 *   a pid that was reused since does not count as running) is taken over.
 *   Its rsync processes are another matter: rsync runs in a process group
 *   of its own, and if repoman was killed before it, it may still be writing.
 *   Each one the lock names that still runs (same pid, same start time) has
 *   its whole group ended (TERM, then KILL after 5 s) before the new sync
 *   starts, so that two rsyncs never write beside each other.
 *
 * @since 0.1.0
 * @module
 */
import { BackupError, Busy, Failed } from "@repoman/core/BackupTarget"
import * as ProcessTable from "@repoman/node/ProcessTable"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import { hostname } from "node:os"

/**
 * What a lock file holds.
 *
 * @since 0.1.0
 * @category models
 */
export const LockOwner = Schema.Struct({
  pid: Schema.Int,
  /** Field 22 of /proc/<pid>/stat: a reused pid does not look like the holder. */
  pidStart: Schema.optionalKey(Schema.String),
  host: Schema.String,
  root: Schema.String,
  started: Schema.String,
  /** The rsync processes (leaders of their process groups) the holder runs. */
  children: Schema.optionalKey(Schema.Array(Schema.Struct({ pid: Schema.Int, start: Schema.String })))
})
/**
 * The decoded type of the `LockOwner` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type LockOwner = typeof LockOwner.Type

const decodeOwner = Schema.decodeUnknownOption(Schema.fromJsonString(LockOwner))

/**
 * The lock file of `root` in `lockDir`.
 *
 * @since 0.1.0
 * @category utils
 */
export const lockFile = (lockDir: string, root: string): string =>
  `${lockDir}/sync-${createHash("sha256").update(root).digest("hex").slice(0, 16)}.lock`

/**
 * The lock while it is held: the children it records, and the orphans that
 * had to be ended to take it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Held {
  /** Records a child process (the leader of its own process group) in the lock file. */
  readonly addChild: (pid: number) => Effect.Effect<void>
  /** Forgets a child that ended. */
  readonly removeChild: (pid: number) => Effect.Effect<void>
  /** The pids of a dead sync's processes that were ended to take the lock. */
  readonly endedOrphans: ReadonlyArray<number>
}

const held = (holder: LockOwner): boolean => ProcessTable.isRunning({ pid: holder.pid, start: holder.pidStart ?? "" })

/** Ends the process groups of `children` that still run; the pids ended, or undefined if one would not stop. */
const endOrphans = (children: ReadonlyArray<{ readonly pid: number; readonly start: string }>) =>
  Effect.gen(function*() {
    const ended: Array<number> = []
    for (const child of children) {
      if (!ProcessTable.isRunning(child)) continue
      const members = ProcessTable.groupMembers(child.pid)
      ended.push(...members)
      ProcessTable.signalGroup(child.pid, "SIGTERM")
      for (let i = 0; i < 50 && ProcessTable.groupMembers(child.pid).length > 0; i++) yield* Effect.sleep("100 millis")
      if (ProcessTable.groupMembers(child.pid).length > 0) {
        ProcessTable.signalGroup(child.pid, "SIGKILL")
        for (let i = 0; i < 20 && ProcessTable.groupMembers(child.pid).length > 0; i++) {
          yield* Effect.sleep("100 millis")
        }
      }
      if (ProcessTable.groupMembers(child.pid).length > 0) return undefined
    }
    return ended
  })

/**
 * Takes the lock of `root` for the current scope.
 *
 * @since 0.1.0
 * @category utils
 */
export const acquire = (lockDir: string, root: string, now: Date): Effect.Effect<Held, BackupError, Scope.Scope> =>
  Effect.gen(function*() {
    const file = lockFile(lockDir, root)
    const io = (what: string) => (e: unknown) =>
      new BackupError({
        reason: new Failed({
          detail: `cannot ${what} the sync lock ${file}: ${e instanceof Error ? e.message : String(e)}`
        }),
        cause: e
      })
    yield* Effect.try({
      try: () => fs.mkdirSync(lockDir, { recursive: true, mode: 0o700 }),
      catch: io("create the directory of")
    })
    const me = ProcessTable.self()
    let owner: LockOwner = { pid: me.pid, pidStart: me.start, host: hostname(), root, started: now.toISOString() }
    const text = () => JSON.stringify(owner)
    const busy = (holder: LockOwner) =>
      new BackupError({
        reason: new Busy({
          location: root,
          detail:
            `another repoman sync (pid ${holder.pid} on ${holder.host}, started ${holder.started}) is mirroring to it; wait for it to finish (lock: ${file})`
        })
      })
    const create = Effect.try({
      try: () => {
        fs.writeFileSync(file, text(), { flag: "wx", mode: 0o644 })
        return true
      },
      catch: (e) => e
    }).pipe(
      Effect.catch((e) =>
        typeof e === "object" && e !== null && "code" in e && e.code === "EEXIST"
          ? Effect.succeed(false)
          : Effect.fail(io("create")(e))
      )
    )
    let endedOrphans: ReadonlyArray<number> = []
    const attempt = (retried: boolean): Effect.Effect<void, BackupError> =>
      Effect.gen(function*() {
        if (yield* create) return
        const holder = yield* Effect.sync(() => {
          try {
            const decoded = decodeOwner(fs.readFileSync(file, "utf8"))
            return decoded._tag === "Some" ? decoded.value : undefined
          } catch {
            return undefined
          }
        })
        const stale = holder !== undefined && holder.host === owner.host && holder.pid !== me.pid && !held(holder)
        if (!stale || retried) return yield* busy(holder ?? { pid: 0, host: "unknown", root, started: "unknown" })
        const ended = yield* endOrphans(holder.children ?? [])
        if (ended === undefined) {
          return yield* new BackupError({
            reason: new Busy({
              location: root,
              detail: `an rsync left by a sync that died (pid ${holder.pid}) does not stop; end it, then try again`
            })
          })
        }
        endedOrphans = ended
        yield* Effect.sync(() => fs.rmSync(file, { force: true }))
        return yield* attempt(true)
      })
    yield* Effect.acquireRelease(
      attempt(false),
      () =>
        Effect.sync(() => {
          try {
            if (fs.readFileSync(file, "utf8") === text()) fs.rmSync(file, { force: true })
          } catch {
            // gone already
          }
        })
    )
    if (endedOrphans.length > 0) {
      yield* Effect.logWarning(
        `ended ${endedOrphans.length} rsync process(es) a killed repoman sync left running (pids ${
          endedOrphans.join(", ")
        })`
      )
    }
    const rewrite = (next: LockOwner) =>
      Effect.sync(() => {
        owner = next
        const tmp = `${file}.${me.pid}.tmp`
        try {
          fs.writeFileSync(tmp, text(), { mode: 0o644 })
          fs.renameSync(tmp, file)
        } catch {
          // The lock stays as it was: the next sync still finds the holder.
        }
      })
    return {
      endedOrphans,
      addChild: (pid: number) =>
        Effect.suspend(() => {
          const start = ProcessTable.startTime(pid)
          return start === undefined
            ? Effect.void
            : rewrite({ ...owner, children: [...(owner.children ?? []), { pid, start }] })
        }),
      removeChild: (pid: number) =>
        Effect.suspend(() => rewrite({ ...owner, children: (owner.children ?? []).filter((c) => c.pid !== pid) }))
    } satisfies Held
  })
