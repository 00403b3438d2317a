/**
 * The backup plugin SDK: what a third-party backup target exports so that
 * `[backup] target = "<npm package>"` can load it. The package is installed
 * under the config dir (`npm install --prefix ~/.config/repoman/plugins
 * NAME`) or beside repoman itself, and exports `plugin = define({ ... })`;
 * see `@repoman/node/PluginModule` for where plugins are looked up.
 *
 * A plugin is a name, a Schema for its `[backup.options]` table, and a
 * function from the decoded options (plus what the registry says about the
 * host: backup root, repos root, state dir) to a layer providing
 * {@link BackupTarget}. The layer builds the service with
 * `BackupTarget.make(primitives)`, which supplies the mirror loop, events,
 * batching and the target-wide guards; {@link checkSource} supplies the
 * per-source guard every `mirrorOne` needs.
 *
 * @example
 * ```ts
 * import * as BackupTarget from "@repoman/core/BackupTarget"
 * import * as BackupPlugin from "@repoman/backup/BackupPlugin"
 * import * as Effect from "effect/Effect"
 * import * as Layer from "effect/Layer"
 * import * as Option from "effect/Option"
 * import * as Schema from "effect/Schema"
 *
 * export const plugin = BackupPlugin.define({
 *   name: "null",
 *   options: Schema.Struct({ label: Schema.String }),
 *   layer: (options, context) =>
 *     Layer.succeed(BackupTarget.BackupTarget, BackupTarget.make({
 *       check: () => Effect.succeed(new BackupTarget.TargetStatus({
 *         location: `${options.label}:${context.backupRoot}`, reachable: true, mounted: true,
 *         fsType: Option.none(), writable: true, freeBytes: Option.none()
 *       })),
 *       mirrorOne: () => Effect.succeed(BackupTarget.MirrorStats.zero)
 *     }))
 * })
 * ```
 *
 * @since 0.1.0
 * @module
 */
import {
  BackupError,
  type BackupTarget,
  Failed,
  type MirrorSource,
  SourceEmpty,
  SourceMissing,
  SourceNotDirectory
} from "@repoman/core/BackupTarget"
import * as PluginModule from "@repoman/node/PluginModule"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import type * as Layer from "effect/Layer"
import type * as Path from "effect/Path"
import type { ChildProcessSpawner } from "effect/process/ChildProcessSpawner"
import * as Schema from "effect/Schema"

/**
 * What a plugin's layer may require: the platform services.
 *
 * @since 0.1.0
 * @category models
 */
export type Platform = FileSystem.FileSystem | Path.Path | ChildProcessSpawner

/**
 * What the registry tells a plugin about the host.
 *
 * @since 0.1.0
 * @category models
 */
export interface PluginContext {
  /** `[defaults].backup_root`, `~` expanded. */
  readonly backupRoot: string
  /** `[defaults].repos_root`, `~` expanded. */
  readonly reposRoot: string
  /** repoman's state dir (locks and logs live there). */
  readonly stateDir: string
  /** `[backup].require_mount`. */
  readonly requireMount: boolean
}

/**
 * A backup plugin: a module exports one as `plugin` (or as its default
 * export).
 *
 * @since 0.1.0
 * @category models
 */
export interface BackupPlugin<A> {
  /** A short name for messages (`"rsync"`, `"restic"`). */
  readonly name: string
  /** Decodes the `[backup.options]` table. */
  readonly options: Schema.Decoder<A>
  /** The target, from the decoded options and the host context. */
  readonly layer: (options: A, context: PluginContext) => Layer.Layer<BackupTarget, BackupError, Platform>
}

/**
 * A plugin made with {@link define}: marked as a backup plugin (see
 * `@repoman/node/PluginModule`), and carrying its options decoder, built
 * with the plugin's own copy of `effect`. A plugin installed as its own npm
 * package does not share repoman's copy (the `repoman` command is a
 * bundle), and a Schema is decoded by the copy that made it. repoman loads
 * only plugins made with `define`.
 *
 * @since 0.1.0
 * @category models
 */
export interface DefinedPlugin<A> extends BackupPlugin<A>, PluginModule.Marked<"backup"> {
  /** Decodes `[backup.options]` with the plugin's own Schema (unknown keys are an error). */
  readonly decodeOptions: (options: unknown) => Effect.Effect<A, Schema.SchemaError>
}

/**
 * Declares a plugin: what a plugin module exports as `plugin`. It marks the
 * plugin for the loader and gives it its options decoder (see
 * {@link DefinedPlugin}). Unknown option keys are an error.
 *
 * @since 0.1.0
 * @category constructors
 */
export const define = <A>(plugin: BackupPlugin<A>): DefinedPlugin<A> => {
  const decode = Schema.decodeUnknownEffect(plugin.options)
  return PluginModule.mark("backup", {
    ...plugin,
    decodeOptions: (options: unknown) => decode(options, { errors: "all", onExcessProperty: "error" })
  })
}

/**
 * The per-source guard of safety invariant 5 (docs/design.md): refuses a
 * source that is missing, not a directory, or empty, because a `--delete`
 * mirror of it would wipe the backup copy. Succeeds with nothing otherwise.
 *
 * @since 0.1.0
 * @category utils
 */
export const checkSource = (source: MirrorSource): Effect.Effect<void, BackupError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const { path, project } = source
    const refuse = (reason: SourceMissing | SourceNotDirectory | SourceEmpty) => new BackupError({ reason })
    const io = (e: { readonly message: string }) =>
      new BackupError({
        reason: new Failed({ detail: `cannot read the source of ${project}: ${e.message}` }),
        cause: e
      })
    const info = yield* fs.stat(path).pipe(
      Effect.catchReason("PlatformError", "NotFound", () => Effect.fail(refuse(new SourceMissing({ project, path })))),
      Effect.mapError((e) => e._tag === "BackupError" ? e : io(e))
    )
    if (info.type !== "Directory") return yield* refuse(new SourceNotDirectory({ project, path }))
    const entries = yield* fs.readDirectory(path).pipe(Effect.mapError(io))
    if (entries.length === 0) return yield* refuse(new SourceEmpty({ project, path }))
  })
