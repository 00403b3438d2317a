/**
 * A cross-process lock file, `<target>.lock`, holding the owner's pid and
 * host. It is created atomically with its content (a temp file hard-linked
 * into place, which fails if the lock exists). A lock whose owner is a dead
 * process on this host is stale and is broken; breaking is itself guarded by
 * a short-lived `<target>.lock.break` file so that two waiters cannot both
 * break the same lock and then both take it.
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

export interface LockOptions {
  /** How long to wait for another holder before giving up. */
  readonly timeout: Duration.Input
  /** A break guard older than this is itself considered stale. */
  readonly breakGuardStaleAfter?: Duration.Input
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

interface Owner {
  readonly pid: number
  readonly host: string
}

const parseOwner = (text: string): Owner | undefined => {
  const [pid, host] = text.split("\n")
  const n = Number(pid)
  return Number.isInteger(n) && n > 0 && host !== undefined && host.length > 0 ? { pid: n, host } : undefined
}

const describe = (text: string): string => {
  const owner = parseOwner(text)
  return owner === undefined ? "another process" : `process ${owner.pid} on ${owner.host}`
}

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
    const me = `${process.pid}\n${hostname()}\n`
    const host = hostname()
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

    const tryBreakStale = (seen: string) =>
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
          if (Option.isSome(now) && now.value === seen) yield* fs.remove(lock)
        }).pipe(Effect.ensuring(Effect.ignore(fs.remove(guard))))
      })

    let attempt = 0
    while (true) {
      if (yield* createExclusive(lock, me)) break
      const seen = yield* readIfExists(lock)
      if (Option.isSome(seen)) {
        const owner = parseOwner(seen.value)
        if (owner !== undefined && owner.host === host && !isAlive(owner.pid)) {
          yield* tryBreakStale(seen.value)
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
