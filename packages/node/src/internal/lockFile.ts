/**
 * A cross-process lock file, `<target>.lock`, holding the owner's pid, host
 * and process start time (field 22 of `/proc/<pid>/stat`). It is created
 * atomically with its content (a temp file hard-linked into place, which
 * fails if the lock exists). A lock is stale, and is taken over, when its
 * owner on this host no longer runs: the pid is gone, or it runs but started
 * at another time (the pid was reused). A lock whose content cannot be read
 * as an owner (truncated, garbled) is stale too, and the takeover is said.
 * Breaking is itself guarded by a short-lived `<target>.lock.break` file so
 * that two waiters cannot both break the same lock and then both take it.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import * as Path from "effect/Path"
import type { PlatformError } from "effect/PlatformError"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { hostname } from "node:os"
import * as ProcessTable from "../ProcessTable.ts"

export interface LockOptions {
  /** How long to wait for another holder before giving up. */
  readonly timeout: Duration.Input
  /** A break guard older than this is itself considered stale. */
  readonly breakGuardStaleAfter?: Duration.Input
  /** Told why a stale lock was taken over (default: a warning in the log). */
  readonly onTakeover?: (why: string) => Effect.Effect<void>
}

export class LockBusy extends Schema.TaggedError<LockBusy>("@repoman/node/internal/lockFile/LockBusy")("LockBusy", {
  holder: Schema.String
}) {}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** Whether /proc tells start times here (Linux); elsewhere a live pid is all there is to go on. */
const hasProc = ProcessTable.startTime(process.pid) !== undefined

interface Owner {
  readonly pid: number
  readonly host: string
  /** Field 22 of /proc/<pid>/stat; `""` in a lock written before start times were recorded. */
  readonly start: string
}

/** The content of a lock this process holds. */
const ownerText = (host: string): string => `${process.pid}\n${host}\n${ProcessTable.self().start}\n`

/** The owner a lock names, or `undefined` when its content is not one. */
export const parseOwner = (text: string): Owner | undefined => {
  const [pid = "", host = "", start = ""] = text.split("\n")
  const n = Number(pid)
  return /^[1-9][0-9]*$/.test(pid) && Number.isSafeInteger(n) && host.length > 0 && /^[0-9]*$/.test(start)
    ? { pid: n, host, start }
    : undefined
}

/** Whether the owner still holds the lock: it runs, and (when recorded) started when the lock says. */
const runs = (owner: Owner): boolean =>
  hasProc ? ProcessTable.isRunning({ pid: owner.pid, start: owner.start }) : isAlive(owner.pid)

const describe = (text: string): string => {
  const owner = parseOwner(text)
  return owner === undefined ? "another process" : `process ${owner.pid} on ${owner.host}`
}

/** Short: what an unreadable lock held, as it is (whoever prints it escapes it, as the CLI does). */
const excerpt = (text: string): string => `"${text.length > 40 ? `${text.slice(0, 40)}...` : text}"`

let counter = 0

/**
 * Holds the lock for the lifetime of the enclosing scope.
 */
export const acquire = (
  target: string,
  options: LockOptions
): Effect.Effect<void, PlatformError | LockBusy, FileSystem.FileSystem | Path.Path | Scope.Scope> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const lock = `${target}.lock`
    const guard = `${lock}.break`
    const host = hostname()
    const me = ownerText(host)
    const onTakeover = options.onTakeover ?? ((why: string) => Effect.logWarning(why))
    const deadline = (yield* Clock.currentTimeMillis) + Duration.toMillis(Duration.fromInputUnsafe(options.timeout))
    const guardStale = Duration.toMillis(Duration.fromInputUnsafe(options.breakGuardStaleAfter ?? "5 seconds"))

    // Creates `file` with `content` atomically; false if it already exists.
    const createExclusive = (file: string, content: string) =>
      Effect.gen(function*() {
        const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${++counter}.tmp`)
        yield* fs.writeFileString(tmp, content, { mode: 0o600 })
        return yield* fs.link(tmp, file).pipe(
          Effect.as(true),
          Effect.catchReason("PlatformError", "AlreadyExists", () => Effect.succeed(false)),
          Effect.ensuring(Effect.ignore(fs.remove(tmp)))
        )
      })

    const readIfExists = (file: string) =>
      fs.readFileString(file).pipe(
        Effect.map(Option.some),
        Effect.catchReason("PlatformError", "NotFound", () => Effect.succeedNone)
      )

    const tryBreakStale = (seen: string, why: string) =>
      Effect.gen(function*() {
        if (!(yield* createExclusive(guard, me))) {
          const info = yield* fs.stat(guard).pipe(Effect.option)
          const now = yield* Clock.currentTimeMillis
          const age = Option.match(Option.flatMap(info, (i) => i.mtime), {
            onNone: () => 0,
            onSome: (m) => now - m.getTime()
          })
          if (age > guardStale) yield* Effect.ignore(fs.remove(guard))
          return
        }
        yield* Effect.gen(function*() {
          const now = yield* readIfExists(lock)
          if (Option.isSome(now) && now.value === seen) {
            yield* fs.remove(lock)
            yield* onTakeover(`${lock}: ${why}; taken over`)
          }
        }).pipe(Effect.ensuring(Effect.ignore(fs.remove(guard))))
      })

    let attempt = 0
    while (true) {
      if (yield* createExclusive(lock, me)) break
      const seen = yield* readIfExists(lock)
      if (Option.isSome(seen)) {
        const owner = parseOwner(seen.value)
        // The lock file is made whole before it appears (a hard link of a written temp file):
        // content that is not an owner is damage, not a write in progress.
        const why = owner === undefined
          ? `the lock held no owner one can read (${excerpt(seen.value)})`
          : owner.host === host && !runs(owner)
          ? (ProcessTable.startTime(owner.pid) === undefined
            ? `its owner, process ${owner.pid}, no longer runs`
            : `its owner, process ${owner.pid}, no longer runs (that pid is another process now)`)
          : undefined
        if (why !== undefined) {
          yield* tryBreakStale(seen.value, why)
          continue
        }
      }
      if ((yield* Clock.currentTimeMillis) > deadline) {
        return yield* new LockBusy({
          holder: Option.match(seen, { onNone: () => "another process", onSome: describe })
        })
      }
      attempt++
      yield* Effect.sleep(Duration.millis(Math.min(5 + attempt * 5, 50) + Math.floor(Math.random() * 10)))
    }

    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        const now = yield* readIfExists(lock)
        if (Option.isSome(now) && now.value === me) yield* fs.remove(lock)
      }).pipe(Effect.ignore)
    )
  })
