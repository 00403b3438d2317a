/**
 * The file-backed Registry: `<config dir>/repoman.toml` plus
 * `<config dir>/repos.d/*.toml`.
 *
 * - Reads never write; an older schema is migrated in memory.
 * - Every write happens under a lock file (`repoman.toml.lock`, stale locks
 *   of dead processes are recovered), re-reads the file inside the lock, and
 *   replaces it atomically (temp file, fsync, rename). The previous file is
 *   kept as `repoman.toml.bak`; the first write after a migration also keeps
 *   the original as `repoman.toml.schema<N>.bak`.
 * - A file that is not valid TOML or does not match the schema is a typed
 *   error and is never overwritten.
 *
 * @since 0.1.0
 * @module
 */
import { ConfigPaths } from "@repoman/core/ConfigPaths"
import { ProjectName } from "@repoman/core/Ids"
import {
  Io,
  LockTimeout,
  make as makeRegistry,
  NotInitialized,
  type OrphanOverride,
  Registry,
  RegistryError
} from "@repoman/core/Registry"
import { decodeOverrideText, decodeRegistryText, encodeRegistryText } from "@repoman/core/RegistryCodec"
import type { ProjectOverride, RegistryDocument } from "@repoman/core/RegistryDocument"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Path from "effect/Path"
import type { PlatformError } from "effect/PlatformError"
import * as Schema from "effect/Schema"
import { writeFileAtomic } from "./internal/atomicFile.ts"
import { acquire, type LockBusy } from "./internal/lockFile.ts"

/**
 * Options of the file-backed registry.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** How long a writer waits for the lock before failing with `LockTimeout`. Default 10 s. */
  readonly lockTimeout?: Duration.Input
}

const io = (path: string, operation: string) => (e: PlatformError) =>
  new RegistryError({ reason: new Io({ path, operation, detail: e.message }), cause: e })

const isProjectName = Schema.is(ProjectName)

/**
 * Builds the file-backed Registry from the resolved {@link ConfigPaths}.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const paths = yield* ConfigPaths
    const file = paths.registryFile
    const provide = Effect.provideService(FileSystem.FileSystem, fs)
    const providePath = Effect.provideService(Path.Path, path)

    const readText = fs.readFileString(file).pipe(
      Effect.catchReason("PlatformError", "NotFound", () =>
        Effect.fail(new RegistryError({ reason: new NotInitialized({ path: file }) }))),
      Effect.mapError((e) =>
        e instanceof RegistryError ? e : io(file, "read")(e)
      )
    )

    const withLock = <A, E>(body: Effect.Effect<A, E>): Effect.Effect<A, E | RegistryError> =>
      Effect.scoped(
        acquire(file, { timeout: options.lockTimeout ?? "10 seconds" }).pipe(
          provide,
          providePath,
          Effect.mapError((e: PlatformError | LockBusy) =>
            e._tag === "LockBusy"
              ? new RegistryError({ reason: new LockTimeout({ path: `${file}.lock`, holder: e.holder }) })
              : io(`${file}.lock`, "lock")(e)
          ),
          Effect.andThen(body)
        )
      )

    const write = (target: string, content: string) =>
      writeFileAtomic(target, content).pipe(provide, providePath, Effect.mapError(io(target, "write")))

    // The last text read and its document: a second load of an unchanged
    // file (the runtime's project, then the command's own read) skips the
    // TOML parse and the decoding, most of what a load costs.
    let last: { readonly text: string; readonly document: RegistryDocument } | undefined
    const load: Effect.Effect<RegistryDocument, RegistryError> = Effect.flatMap(
      readText,
      (text) =>
        last !== undefined && last.text === text
          ? Effect.succeed(last.document)
          : Effect.map(decodeRegistryText(file, text), (d) => {
            last = { text, document: d.document }
            return d.document
          })
    )

    const modify = <A, E>(
      f: (document: RegistryDocument) => Effect.Effect<readonly [A, RegistryDocument], E>
    ): Effect.Effect<A, RegistryError | E> =>
      withLock(Effect.gen(function*() {
        const text = yield* readText
        const decoded = yield* decodeRegistryText(file, text)
        const [result, next] = yield* f(decoded.document)
        const nextText = encodeRegistryText(next, decoded.unknown)
        // Unchanged content keeps the user's own formatting and comments.
        if (nextText === encodeRegistryText(decoded.document, decoded.unknown)) return result
        if (decoded.from !== 3) {
          const original = `${file}.schema${decoded.from}.bak`
          if (!(yield* fs.exists(original).pipe(Effect.mapError(io(original, "check"))))) {
            yield* write(original, text)
          }
        }
        yield* write(`${file}.bak`, text)
        yield* write(file, nextText)
        return result
      }))

    const initialize = (document: RegistryDocument): Effect.Effect<boolean, RegistryError> =>
      Effect.gen(function*() {
        yield* fs.makeDirectory(paths.configDir, { recursive: true, mode: 0o700 }).pipe(
          Effect.mapError(io(paths.configDir, "create directory"))
        )
        return yield* withLock(Effect.gen(function*() {
          if (yield* fs.exists(file).pipe(Effect.mapError(io(file, "check")))) return false
          yield* write(file, encodeRegistryText(document))
          return true
        }))
      })

    const overrides = Effect.gen(function*() {
      const dir = paths.overridesDir
      const entries = yield* fs.readDirectory(dir).pipe(
        Effect.catchReason("PlatformError", "NotFound", () => Effect.succeed<ReadonlyArray<string>>([])),
        Effect.mapError(io(dir, "list"))
      )
      const files = entries.filter((e) => e.endsWith(".toml")).sort()
      if (files.length === 0) return { byProject: new Map<ProjectName, ProjectOverride>(), orphans: [] }
      const registered = new Set<string>((yield* load).projects.map((p) => p.name))
      const byProject = new Map<ProjectName, ProjectOverride>()
      const orphans: Array<OrphanOverride> = []
      for (const entry of files) {
        const name = entry.slice(0, -".toml".length)
        const full = path.join(dir, entry)
        const text = yield* fs.readFileString(full).pipe(Effect.mapError(io(full, "read")))
        const override = yield* decodeOverrideText(full, text)
        if (isProjectName(name)) byProject.set(name, override)
        if (!registered.has(name)) orphans.push({ name, path: full })
      }
      return { byProject, orphans }
    })

    const getOverride = (name: ProjectName) =>
      Effect.gen(function*() {
        const full = path.join(paths.overridesDir, `${name}.toml`)
        const text = yield* fs.readFileString(full).pipe(
          Effect.map(Option.some),
          Effect.catchReason("PlatformError", "NotFound", () => Effect.succeedNone),
          Effect.mapError(io(full, "read"))
        )
        return Option.isNone(text) ? Option.none() : Option.some(yield* decodeOverrideText(full, text.value))
      })

    return makeRegistry({ location: file, load, modify, initialize, overrides, getOverride })
  })

/**
 * The file-backed Registry layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<
  Registry,
  never,
  ConfigPaths | FileSystem.FileSystem | Path.Path
> => Layer.effect(Registry, make(options))
