/**
 * The plugin SDK for profile sources. A profile plugin is an npm package (or
 * a module file) that exports `plugin`, made with {@link define} from a
 * function of a {@link ProfilePluginContext} to a layer providing a
 * `ProfileStore`:
 *
 * ```ts
 * // @acme/repoman-profiles/src/index.ts
 * import { ProfileStore } from "@repoman/core/ProfileStore"
 * import { fromDirectory } from "@repoman/profiles/ProfileLibrary"
 * import * as ProfilePlugin from "@repoman/profiles/ProfilePlugin"
 * import * as Layer from "effect/Layer"
 *
 * export const plugin = ProfilePlugin.define({
 *   layer: (context) =>
 *     Layer.effect(ProfileStore, fromDirectory("/srv/acme-profiles", { _tag: "Plugin", id: context.id }))
 * })
 * ```
 *
 * The registry names plugins in `[plugins] profiles = ["@acme/repoman-profiles"]`.
 * They are found by the one rule of `@repoman/node/PluginModule`: a package
 * installed under the config dir (`npm install --prefix
 * ~/.config/repoman/plugins @acme/repoman-profiles`), else beside repoman
 * itself, or an absolute module path; never from the working directory or
 * the repos root. Its profiles join the library with
 * `{ _tag: "Plugin", id }` as their origin. The helpers `make`,
 * `fromDirectory` and `fromTexts` of `ProfileLibrary` do the parsing and
 * rendering, so a plugin only says where its YAML lives.
 *
 * @since 0.1.0
 * @module
 */
import { PluginFailed, ProfileError, ProfileStore } from "@repoman/core/ProfileStore"
import * as PluginModule from "@repoman/node/PluginModule"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import type * as Path from "effect/Path"
import type * as Scope from "effect/Scope"

/**
 * What a plugin's layer factory is given.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProfilePluginContext {
  /** The plugin's id as the registry names it. */
  readonly id: string
  /** repoman's config dir (a plugin may keep a cache or a checkout under it). */
  readonly configDir: string
}

/**
 * The shape of a profile plugin module.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProfilePlugin {
  /** Builds the plugin's profile store for the given context. */
  readonly layer: (
    context: ProfilePluginContext
  ) => Layer.Layer<ProfileStore, unknown, FileSystem.FileSystem | Path.Path>
}

/**
 * A profile plugin made with {@link define}: marked as one, so the loader
 * accepts it. repoman loads only plugins made with `define`.
 *
 * @since 0.1.0
 * @category models
 */
export interface DefinedProfilePlugin extends ProfilePlugin, PluginModule.Marked<"profile"> {}

/**
 * Declares a profile plugin: what a plugin module exports as `plugin`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const define = (plugin: ProfilePlugin): DefinedProfilePlugin => PluginModule.mark("profile", { ...plugin })

const failed = (id: string, detail: string, cause?: unknown) =>
  new ProfileError({ reason: new PluginFailed({ id, detail }), ...(cause === undefined ? {} : { cause }) })

const describe = (cause: unknown): string =>
  typeof cause === "object" && cause !== null && "message" in cause && typeof cause.message === "string"
    ? cause.message
    : String(cause)

/**
 * Imports plugin `id` (by the rule of `@repoman/node/PluginModule`) and
 * builds its store in `scope`. Every failure (not installed, refused, not a
 * plugin made with {@link define}, the layer failing) is `PluginFailed`
 * naming the plugin.
 *
 * @since 0.1.0
 * @category utils
 */
export const loadPlugin = (
  id: string,
  options: {
    readonly configDir: string
    /** The repos root (`~` expanded): a plugin file inside it is refused. */
    readonly reposRoot?: string | undefined
    readonly scope: Scope.Scope
  }
): Effect.Effect<ProfileStore["Service"], ProfileError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const exported = yield* PluginModule.load("profile", id, options).pipe(
      Effect.mapError((e) => failed(id, e.reason.problem, e))
    )
    const plugin = exported as Partial<ProfilePlugin>
    if (typeof plugin.layer !== "function") return yield* failed(id, "its `plugin` has no `layer` function")
    const layerOf = plugin.layer
    const layer = yield* Effect.try({
      try: () => layerOf({ id, configDir: options.configDir }),
      catch: (cause) => failed(id, `its layer factory threw: ${describe(cause)}`, cause)
    })
    if (!Layer.isLayer(layer as unknown)) return yield* failed(id, "`layer` did not return a Layer")
    const context = yield* Layer.buildWithScope(layer, options.scope).pipe(
      Effect.mapError((cause) => failed(id, `its layer failed: ${describe(cause)}`, cause))
    )
    return Context.get(context, ProfileStore)
  })
