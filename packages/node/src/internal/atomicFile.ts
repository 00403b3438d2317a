/**
 * Durable, atomic replacement of a small file: write a temp file in the same
 * directory, fsync it, rename it over the target, fsync the directory. A
 * reader (or a process killed half-way) sees the old content or the new one,
 * never a mix.
 */
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Path from "effect/Path"
import type { PlatformError } from "effect/PlatformError"

let counter = 0

export const writeFileAtomic = Effect.fn("writeFileAtomic")(function*(
  file: string,
  content: string,
  options?: { readonly mode?: number }
): Effect.fn.Return<void, PlatformError, FileSystem.FileSystem | Path.Path> {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const dir = path.dirname(file)
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
