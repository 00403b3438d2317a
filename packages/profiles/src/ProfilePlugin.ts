/**
 * The plugin SDK for profile sources. A profile plugin is an npm module (or a
 * local module file) that exports `layer`, a function from a
 * {@link ProfilePluginContext} to a layer providing a `ProfileStore`:
 *
 * ```ts
 * // @acme/repoman-profiles/index.ts
 * import { make } from "@repoman/profiles/ProfileLibrary"
 * import type { ProfilePlugin } from "@repoman/profiles/ProfilePlugin"
 * export const layer: ProfilePlugin["layer"] = (context) => ...
 * ```
 *
 * The registry names plugins in `[plugins] profiles = ["@acme/repoman-profiles"]`.
 * A name is resolved from the repoman config dir (so `npm install` there
 * works), else from repoman's own modules; an absolute path or a path
 * starting with `./` (relative to the config dir) loads that file. Its
 * profiles join the library with `{ _tag: "Plugin", id }` as their origin.
 * The helpers `make`, `fromDirectory` and `fromTexts` of `ProfileLibrary`
 * do the parsing and rendering, so a plugin only says where its YAML lives.
 *
 * @since 0.1.0
 */
import { PluginFailed, ProfileError, ProfileStore } from "@repoman/core/ProfileStore"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import type * as Path from "effect/Path"
import type * as Scope from "effect/Scope"
import { createRequire } from "node:module"
import { isAbsolute, join } from "node:path"
import { pathToFileURL } from "node:url"

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

const failed = (id: string, detail: string, cause?: unknown) =>
  new ProfileError({ reason: new PluginFailed({ id, detail }), ...(cause === undefined ? {} : { cause }) })

const describe = (cause: unknown): string =>
  typeof cause === "object" && cause !== null && "message" in cause && typeof cause.message === "string"
    ? cause.message
    : String(cause)

const isPlugin = (value: unknown): value is ProfilePlugin =>
  typeof value === "object" && value !== null && "layer" in value && typeof value.layer === "function"

/**
 * Where a plugin id points: a file URL to import.
 *
 * @since 0.1.0
 * @category utils
 */
export const resolvePlugin = (id: string, configDir: string): string => {
  if (isAbsolute(id)) return pathToFileURL(id).href
  if (id.startsWith("./") || id.startsWith("../")) return pathToFileURL(join(configDir, id)).href
  if (id.startsWith("file:")) return id
  try {
    return pathToFileURL(createRequire(join(configDir, "package.json")).resolve(id)).href
  } catch {
    return import.meta.resolve(id)
  }
}

/**
 * Imports a plugin and builds its store in `scope`. Every failure (not
 * found, no `layer` export, the layer failing) is `PluginFailed` naming the
 * plugin.
 *
 * @since 0.1.0
 * @category utils
 */
export const loadPlugin = (
  id: string,
  options: { readonly configDir: string; readonly scope: Scope.Scope }
): Effect.Effect<ProfileStore["Service"], ProfileError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const url = yield* Effect.try({
      try: () => resolvePlugin(id, options.configDir),
      catch: (cause) => failed(id, `cannot find the module: ${describe(cause)}`, cause)
    })
    const module = yield* Effect.tryPromise({
      try: () => import(url) as Promise<unknown>,
      catch: (cause) => failed(id, `cannot load ${url}: ${describe(cause)}`, cause)
    })
    const plugin = isPlugin(module)
      ? module
      : typeof module === "object" && module !== null && "default" in module && isPlugin(module.default)
      ? module.default
      : undefined
    if (plugin === undefined) return yield* failed(id, "the module does not export a `layer` function")
    const layer = yield* Effect.try({
      try: () => plugin.layer({ id, configDir: options.configDir }),
      catch: (cause) => failed(id, `its layer factory threw: ${describe(cause)}`, cause)
    })
    if (!Layer.isLayer(layer as unknown)) return yield* failed(id, "`layer` did not return a Layer")
    const context = yield* Layer.buildWithScope(layer, options.scope).pipe(
      Effect.mapError((cause) => failed(id, `its layer failed: ${describe(cause)}`, cause))
    )
    return Context.get(context, ProfileStore)
  })
