/**
 * Loads the backup target the registry names: `[backup] target = "rsync"`
 * (built in) or a plugin: an npm package name or the absolute path of a
 * module, found by the rule of `@repoman/node/PluginModule` (the config
 * dir's `plugins/node_modules`, then repoman's own installation; never the
 * working directory, never a file inside the repos root) and exporting a
 * {@link BackupPlugin} made with `BackupPlugin.define` as `plugin` (or as its
 * default export). The module's `[backup.options]` are decoded with the
 * plugin's own Schema before its layer is built, so a typo in the config is
 * a clear error.
 *
 * {@link layerFromRegistry} loads the plugin when a command first uses the
 * backup target (`sync`, the backup line of `status`), not before: `list`,
 * `run` and the rest never import it.
 *
 * @since 0.1.0
 * @module
 */
import { BackupError, BackupTarget, Failed, make as makeBackupTarget } from "@repoman/core/BackupTarget"
import { ConfigPaths, expandHome } from "@repoman/core/ConfigPaths"
import { Registry } from "@repoman/core/Registry"
import * as PluginModule from "@repoman/node/PluginModule"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
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
    searched: Schema.Array(Schema.String),
    installDir: Schema.String
  })
{
  /** One line for the user. */
  get message(): string {
    return `backup target ${this.target} is not installed (looked in ${
      this.searched.join(", ")
    }): install it with 'npm install --prefix ${this.installDir} ${this.target}', or set [backup] target = "rsync"`
  }
}

/**
 * The module cannot be used: refused by the loading rule (a file inside the
 * repos root, not a package name), failed to import, or does not export a
 * backup plugin made with `BackupPlugin.define`.
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
    return `backup target ${this.target}: ${this.detail}`
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
  /** repoman's config dir: plugins are installed under `<it>/plugins`. */
  readonly configDir: string
}

type Target = Layer.Layer<BackupTarget, BackupError, Platform>

/**
 * Whether `u` is a {@link DefinedPlugin}: marked by `BackupPlugin.define`,
 * with a name, its options decoder and a layer function. (The options
 * Schema itself is not looked at: it belongs to the plugin's copy of
 * `effect`, and its decoder is what the loader uses.)
 *
 * @since 0.1.0
 * @category guards
 */
export const isPlugin = (u: unknown): u is DefinedPlugin<unknown> =>
  PluginModule.kindOf(u) === "backup" && typeof u === "object" && u !== null && "name" in u &&
  typeof u.name === "string" && "decodeOptions" in u && typeof u.decodeOptions === "function" && "layer" in u &&
  typeof u.layer === "function"

/**
 * Decodes `options` with the plugin's own decoder and builds its layer.
 *
 * @since 0.1.0
 * @category utils
 */
export const instantiate = <A>(
  plugin: DefinedPlugin<A>,
  target: string,
  options: unknown,
  context: PluginContext
): Effect.Effect<Target, BackupPluginError> =>
  plugin.decodeOptions(options ?? {}).pipe(
    Effect.mapError((e) =>
      new BackupPluginError({ reason: new InvalidOptions({ target, detail: e.message }), cause: e })
    ),
    Effect.map((decoded) => plugin.layer(decoded, context))
  )

const fromModuleError = (target: string, error: PluginModule.PluginModuleError): BackupPluginError => {
  const reason = error.reason
  return new BackupPluginError({
    reason: reason._tag === "NotInstalled"
      ? new PluginNotFound({ target, searched: reason.searched, installDir: reason.installDir })
      : new InvalidPlugin({ target, detail: reason.problem }),
    cause: error
  })
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
 *   configDir: "/home/me/.config/repoman"
 * })
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const load = (request: LoadRequest): Effect.Effect<Target, BackupPluginError> => {
  const { context, options, target } = request
  if (target === "rsync") return instantiate(RsyncBackupTarget.plugin, target, options, context)
  return PluginModule.load("backup", target, { configDir: request.configDir, reposRoot: context.reposRoot }).pipe(
    Effect.mapError((e) => fromModuleError(target, e)),
    Effect.flatMap((exported) =>
      isPlugin(exported) ? Effect.succeed(exported) : Effect.fail(
        new BackupPluginError({
          reason: new InvalidPlugin({
            target,
            detail: "its `plugin` lacks a name, an options decoder or a layer function"
          })
        })
      )
    ),
    Effect.flatMap((plugin) => instantiate(plugin, target, options, context))
  )
}

const refusing = (detail: string) => {
  const refuse = Effect.fail(new BackupError({ reason: new Failed({ detail }) }))
  return { check: () => refuse, mirrorOne: () => refuse }
}

/**
 * A target that refuses everything with `detail`: what the CLI gets when no
 * target can be loaded, so that only the commands that need one fail.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerUnavailable = (detail: string): Layer.Layer<BackupTarget> =>
  Layer.succeed(BackupTarget, makeBackupTarget(refusing(detail)))

/**
 * A target that loads on first use: each operation first runs `loaded`
 * (cached), then calls the loaded target.
 */
const deferred = (loaded: Effect.Effect<BackupTarget["Service"]>): BackupTarget["Service"] =>
  BackupTarget.of({
    check: () => Effect.flatMap(loaded, (t) => t.check()),
    mirrorOne: (source, options, onProgress) => Effect.flatMap(loaded, (t) => t.mirrorOne(source, options, onProgress)),
    mirror: (sources, options) => Stream.unwrap(Effect.map(loaded, (t) => t.mirror(sources, options))),
    mirrorAll: (sources, options) => Effect.flatMap(loaded, (t) => t.mirrorAll(sources, options)),
    lock: () => Effect.flatMap(loaded, (t) => t.lock?.() ?? Effect.void),
    listGenerations: (source) => Effect.flatMap(loaded, (t) => t.listGenerations(source)),
    restoreGeneration: (source, generation, to) =>
      Effect.flatMap(loaded, (t) => t.restoreGeneration(source, generation, to))
  })

/**
 * The target the registry names (`[backup]`, `[defaults].backup_root` and
 * `repos_root`), with plugins found under the config dir or repoman's own
 * installation. Building it reads nothing: the registry is read and the
 * plugin imported when an operation first needs the target. Never fails:
 * without a registry, or with a plugin that does not load, the target
 * refuses every operation with the reason.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFromRegistry: Layer.Layer<BackupTarget, never, Registry | ConfigPaths | Platform> = Layer.effect(
  BackupTarget,
  Effect.gen(function*() {
    const registry = yield* Registry
    const paths = yield* ConfigPaths
    const platform = yield* Effect.context<Platform>()
    const scope = yield* Scope.Scope
    const loaded = yield* Effect.cached(
      registry.load.pipe(
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
            configDir: paths.configDir
          })
        ),
        Effect.flatMap((layer) => Layer.buildWithScope(layer, scope)),
        Effect.map((context) => Context.get(context, BackupTarget)),
        Effect.provideContext(platform),
        Effect.catch((e) => Effect.succeed(makeBackupTarget(refusing(e.message))))
      )
    )
    return deferred(loaded)
  })
)
