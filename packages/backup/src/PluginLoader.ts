/**
 * Loads the backup target the registry names: `[backup] target = "rsync"`
 * (built in) or the name of an npm module (or an absolute path / `file:`
 * URL) exporting a {@link BackupPlugin} as `plugin` or as its default export.
 * The module's `[backup.options]` are decoded with the plugin's own Schema
 * before its layer is built, so a typo in the config is a clear error.
 *
 * Module names are resolved like `require.resolve` would from each of the
 * `resolveFrom` directories in turn (the CLI passes the working directory
 * and the config dir), so a plugin installed next to the config or in the
 * project that runs repoman is found.
 *
 * @since 0.1.0
 */
import { BackupError, BackupTarget, Failed, make as makeBackupTarget } from "@repoman/core/BackupTarget"
import { ConfigPaths, expandHome } from "@repoman/core/ConfigPaths"
import { Registry } from "@repoman/core/Registry"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { createRequire } from "node:module"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import type { BackupPlugin, DefinedPlugin, Platform, PluginContext } from "./BackupPlugin.ts"
import * as RsyncBackupTarget from "./RsyncBackupTarget.ts"

/**
 * No module of that name could be resolved.
 *
 * @since 0.1.0
 * @category errors
 */
export class PluginNotFound
  extends Schema.TaggedClass<PluginNotFound>("@repoman/backup/PluginLoader/PluginNotFound")("PluginNotFound", {
    target: Schema.String,
    searched: Schema.Array(Schema.String)
  })
{
  /** One line for the user. */
  get message(): string {
    return `backup target ${this.target}: no such module (looked from ${
      this.searched.join(", ")
    }); install it, or set [backup] target = "rsync"`
  }
}

/**
 * The module loaded but does not export a backup plugin.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidPlugin
  extends Schema.TaggedClass<InvalidPlugin>("@repoman/backup/PluginLoader/InvalidPlugin")("InvalidPlugin", {
    target: Schema.String,
    detail: Schema.String
  })
{
  /** One line for the user. */
  get message(): string {
    return `backup target ${this.target} is not a repoman backup plugin: ${this.detail}`
  }
}

/**
 * `[backup.options]` do not match the plugin's Schema.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidOptions
  extends Schema.TaggedClass<InvalidOptions>("@repoman/backup/PluginLoader/InvalidOptions")("InvalidOptions", {
    target: Schema.String,
    detail: Schema.String
  })
{
  /** One line for the user. */
  get message(): string {
    return `[backup.options] for backup target ${this.target}: ${this.detail.replace(/\s*\n\s*/g, " ")}`
  }
}

/**
 * The one error of the loader.
 *
 * @since 0.1.0
 * @category errors
 */
export class BackupPluginError
  extends Schema.TaggedError<BackupPluginError>("@repoman/backup/PluginLoader/BackupPluginError")("BackupPluginError", {
    reason: Schema.Union([PluginNotFound, InvalidPlugin, InvalidOptions]),
    cause: Schema.optional(Schema.Defect())
  })
{
  override get message(): string {
    return this.reason.message
  }
}

/**
 * What to load.
 *
 * @since 0.1.0
 * @category models
 */
export interface LoadRequest {
  /** `"rsync"`, a module name, an absolute path or a `file:` URL. */
  readonly target: string
  /** The raw `[backup.options]` table. */
  readonly options: unknown
  readonly context: PluginContext
  /** Directories to resolve a module name from, in order. */
  readonly resolveFrom: ReadonlyArray<string>
}

type Target = Layer.Layer<BackupTarget, BackupError, Platform>

/**
 * Whether `u` has the shape of a {@link BackupPlugin}.
 *
 * @since 0.1.0
 * @category utils
 */
export const isPlugin = (u: unknown): u is BackupPlugin<unknown> =>
  typeof u === "object" && u !== null && "name" in u && typeof u.name === "string" && "options" in u &&
  Schema.isSchema(u.options) && "layer" in u && typeof u.layer === "function"

/**
 * Decodes `options` with the plugin's Schema and builds its layer.
 *
 * @since 0.1.0
 * @category utils
 */
export const instantiate = <A>(
  plugin: BackupPlugin<A>,
  target: string,
  options: unknown,
  context: PluginContext
): Effect.Effect<Target, BackupPluginError> => {
  // Prefer the plugin's own decoder (its copy of effect made the Schema).
  const decode = "decodeOptions" in plugin && typeof plugin.decodeOptions === "function"
    ? (plugin as DefinedPlugin<A>).decodeOptions
    : (u: unknown) => Schema.decodeUnknownEffect(plugin.options)(u, { errors: "all", onExcessProperty: "error" })
  return decode(options ?? {}).pipe(
    Effect.mapError((e) =>
      new BackupPluginError({ reason: new InvalidOptions({ target, detail: e.message }), cause: e })
    ),
    Effect.map((decoded) => plugin.layer(decoded, context))
  )
}

const resolveModule = (target: string, from: ReadonlyArray<string>): Option.Option<string> => {
  if (target.startsWith("file:")) return Option.some(target)
  if (target.startsWith("/")) return Option.some(pathToFileURL(target).href)
  for (const dir of from) {
    const resolved = Option.liftThrowable(() => createRequire(join(dir, "noop.js")).resolve(target))()
    if (Option.isSome(resolved)) return Option.some(pathToFileURL(resolved.value).href)
  }
  return Option.none()
}

/**
 * Loads the target a registry names, as a layer still needing the platform.
 *
 * @example
 * ```ts
 * import * as PluginLoader from "@repoman/backup/PluginLoader"
 * const layer = PluginLoader.load({
 *   target: "rsync",
 *   options: { io_timeout_seconds: 60 },
 *   context: { backupRoot: "/nfs/repos", reposRoot: "/home/me/repos", stateDir: "/home/me/.local/state/repoman", requireMount: true },
 *   resolveFrom: [process.cwd()]
 * })
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const load = (request: LoadRequest): Effect.Effect<Target, BackupPluginError> => {
  const { context, options, target } = request
  if (target === "rsync") return instantiate(RsyncBackupTarget.plugin, target, options, context)
  return Effect.gen(function*() {
    const url = resolveModule(target, request.resolveFrom)
    if (Option.isNone(url)) {
      return yield* new BackupPluginError({
        reason: new PluginNotFound({ target, searched: [...request.resolveFrom] })
      })
    }
    const module: unknown = yield* Effect.tryPromise({
      try: () => import(url.value),
      catch: (cause) =>
        new BackupPluginError({
          reason: new InvalidPlugin({ target, detail: `cannot import ${url.value}: ${String(cause)}` }),
          cause
        })
    })
    const exported = typeof module === "object" && module !== null
      ? ("plugin" in module ? module.plugin : "default" in module ? module.default : undefined)
      : undefined
    if (!isPlugin(exported)) {
      return yield* new BackupPluginError({
        reason: new InvalidPlugin({
          target,
          detail: "it exports no `plugin` (or default) with a name, an options Schema and a layer function"
        })
      })
    }
    return yield* instantiate(exported, target, options, context)
  })
}

/**
 * A target that refuses everything with `detail`: what the CLI gets when no
 * target can be loaded, so that only the commands that need one fail.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerUnavailable = (detail: string): Layer.Layer<BackupTarget> => {
  const refuse = Effect.fail(new BackupError({ reason: new Failed({ detail }) }))
  return Layer.succeed(BackupTarget, makeBackupTarget({ check: () => refuse, mirrorOne: () => refuse }))
}

/**
 * The target the registry names (`[backup]`, `[defaults].backup_root` and
 * `repos_root`), resolving plugin modules from the working directory and the
 * config dir. Never fails to build: without a registry, or with a plugin
 * that does not load, the target refuses every operation with the reason.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFromRegistry: Layer.Layer<BackupTarget, never, Registry | ConfigPaths | Platform> = Layer.unwrap(
  Effect.gen(function*() {
    const registry = yield* Registry
    const paths = yield* ConfigPaths
    const loaded = yield* registry.load.pipe(
      Effect.flatMap((document) =>
        load({
          target: document.backup.target,
          options: document.backup.options,
          context: {
            backupRoot: expandHome(document.defaults.backupRoot, paths.home),
            reposRoot: expandHome(document.defaults.reposRoot, paths.home),
            stateDir: paths.stateDir,
            requireMount: document.backup.requireMount
          },
          resolveFrom: [process.cwd(), paths.configDir]
        })
      ),
      Effect.map((target) => Layer.catch(target, (e) => layerUnavailable(e.message))),
      Effect.catch((e) => Effect.succeed(layerUnavailable(e.message)))
    )
    return loaded
  })
)
