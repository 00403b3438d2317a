/**
 * Durable, atomic replacement of a small file: write a temp file in the same
 * directory, fsync it, rename it over the target, fsync the directory. A
 * reader (or a process killed half-way) sees the old content or the new one,
 * never a mix.
 *
 * A writer killed before its rename (SIGKILL) leaves its temp file,
 * `.<name>.<pid>.<n>.tmp`. Each write first removes those of the same target
 * whose writer no longer runs: only names of exactly that pattern, only
 * regular files (looked at with `lstat`, so a symlink by that name is left
 * alone and its target never touched), never one of a process that runs.
 */
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Path from "effect/Path"
import type { PlatformError } from "effect/PlatformError"
import * as ProcessTable from "../ProcessTable.ts"

let counter = 0

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/**
 * Removes the temp files writers of `file` left when killed mid-write (see
 * the module doc). Best effort: what cannot be looked at or removed stays.
 */
export const removeStaleTemps = Effect.fn("removeStaleTemps")(function*(
  file: string
): Effect.fn.Return<ReadonlyArray<string>, never, FileSystem.FileSystem | Path.Path> {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  // Without /proc (not Linux) a live writer cannot be told from a dead one: leave them all.
  if (ProcessTable.startTime(process.pid) === undefined) return []
  const dir = path.dirname(file)
  const pattern = new RegExp(`^\\.${escapeRegExp(path.basename(file))}\\.([1-9][0-9]*)\\.[1-9][0-9]*\\.tmp$`)
  const entries = yield* fs.readDirectory(dir).pipe(Effect.orElseSucceed((): ReadonlyArray<string> => []))
  const removed: Array<string> = []
  for (const entry of entries) {
    const pid = pattern.exec(entry)?.[1]
    if (pid === undefined || Number(pid) === process.pid || ProcessTable.startTime(Number(pid)) !== undefined) continue
    const full = path.join(dir, entry)
    const info = yield* fs.lstat(full).pipe(Effect.option)
    if (info._tag === "None" || info.value.type !== "File") continue
    // `remove` unlinks: had the name become a symlink since, the link would go, not its target.
    if ((yield* fs.remove(full).pipe(Effect.option))._tag === "Some") removed.push(full)
  }
  return removed
})

export const writeFileAtomic = Effect.fn("writeFileAtomic")(function*(
  file: string,
  content: string,
  options?: { readonly mode?: number }
): Effect.fn.Return<void, PlatformError, FileSystem.FileSystem | Path.Path> {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const dir = path.dirname(file)
  yield* removeStaleTemps(file)
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${++counter}.tmp`)
  yield* Effect.scoped(Effect.gen(function*() {
    const handle = yield* fs.open(tmp, { flag: "wx", mode: options?.mode ?? 0o600 })
    yield* handle.writeAll(new TextEncoder().encode(content))
    yield* handle.sync
  })).pipe(
    Effect.andThen(fs.rename(tmp, file)),
    Effect.onError(() => Effect.ignore(fs.remove(tmp)))
  )
  // Make the rename itself durable.
  yield* Effect.scoped(Effect.flatMap(fs.open(dir, { flag: "r" }), (d) => d.sync)).pipe(Effect.ignore)
})
