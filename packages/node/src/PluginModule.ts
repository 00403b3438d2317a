/**
 * Where repoman finds a plugin, and how it tells a plugin from any other
 * module: one rule for every kind of plugin (backup targets named by
 * `[backup] target`, profile stores named by `[plugins] profiles`).
 *
 * - A plugin id is an npm package name (`repoman-backup-restic`,
 *   `@acme/repoman-profiles`) or the absolute path (or `file:` URL) of a
 *   module file.
 * - A package name is looked up in `<config dir>/plugins/node_modules`
 *   (install with `npm install --prefix ~/.config/repoman/plugins NAME`),
 *   then in the `node_modules` of repoman's own installation (the directories
 *   Node searches from this module: next to the `repoman` command, or the
 *   project whose script imports the library). Never from the working
 *   directory, so a `node_modules` that an agent wrote into a repo is not
 *   looked at.
 * - Wherever the id led, a module file inside the repos root is refused
 *   (after following symlinks): containers can write there.
 * - The module exports the plugin as `plugin` (or as its default export),
 *   made by the `define` of its kind (`BackupPlugin.define`,
 *   `ProfilePlugin.define`). `define` marks the plugin with its kind under a
 *   global symbol, so the mark survives a plugin that brings its own copy of
 *   `effect` and of the `@repoman` packages; an object without it is refused
 *   with a message that names the `define` to use.
 *
 * Nothing is loaded until a command needs the plugin: the backup target's
 * layer and the profile library load theirs on first use.
 *
 * @example
 * ```ts
 * import * as PluginModule from "@repoman/node/PluginModule"
 *
 * // the exported plugin, checked to be a backup plugin
 * const plugin = PluginModule.load("backup", "repoman-backup-restic", {
 *   configDir: "/home/ada/.config/repoman",
 *   reposRoot: "/home/ada/repos"
 * })
 * ```
 *
 * @since 0.1.0
 * @module
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { existsSync, realpathSync } from "node:fs"
import { createRequire, isBuiltin } from "node:module"
import { dirname, isAbsolute, join, sep } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

/**
 * The kinds of plugin repoman loads.
 *
 * @since 0.1.0
 * @category models
 */
export type Kind = "backup" | "profile"

/**
 * The global symbol a plugin's `define` marks it with (the value is its
 * {@link Kind}). `Symbol.for`, so every copy of this module agrees on it.
 *
 * @since 0.1.0
 * @category symbols
 */
export const TypeId: unique symbol = Symbol.for("@repoman/node/PluginModule")

/**
 * A plugin marked by the `define` of its kind.
 *
 * @since 0.1.0
 * @category models
 */
export interface Marked<K extends Kind> {
  /** The kind of plugin. */
  readonly [TypeId]: K
}

/**
 * Marks `plugin` as a plugin of `kind`: what each kind's `define` does.
 *
 * @since 0.1.0
 * @category constructors
 */
export const mark = <K extends Kind, P extends object>(kind: K, plugin: P): P & Marked<K> => ({
  ...plugin,
  [TypeId]: kind
})

/**
 * The kind `u` is marked with, if it is a marked plugin.
 *
 * @since 0.1.0
 * @category guards
 */
export const kindOf = (u: unknown): Kind | undefined => {
  if (typeof u !== "object" || u === null || !(TypeId in u)) return undefined
  const kind = (u as { readonly [TypeId]: unknown })[TypeId]
  return kind === "backup" || kind === "profile" ? kind : undefined
}

/**
 * Where a plugin of `kind` is declared, for messages.
 *
 * @since 0.1.0
 * @category utils
 */
export const defineFor = (kind: Kind): string => kind === "backup" ? "BackupPlugin.define" : "ProfilePlugin.define"

/**
 * The directory plugins are installed into: `<config dir>/plugins`, an npm
 * prefix of its own (`npm install --prefix <it> NAME`).
 *
 * @since 0.1.0
 * @category utils
 */
export const pluginsDir = (configDir: string): string => join(configDir, "plugins")

/**
 * No module by that id: not installed where plugins are looked up, or no
 * such file.
 *
 * @since 0.1.0
 * @category errors
 */
export class NotInstalled extends Schema.TaggedClass<NotInstalled>("@repoman/node/PluginModule/NotInstalled")(
  "NotInstalled",
  { id: Schema.String, searched: Schema.Array(Schema.String), installDir: Schema.String }
) {
  /** What is wrong, without the plugin's id. */
  get problem(): string {
    return `not installed (looked in ${
      this.searched.join(", ")
    }); install it with 'npm install --prefix ${this.installDir} ${this.id}'`
  }
  /** One line for the user. */
  get message(): string {
    return `plugin ${this.id}: ${this.problem}`
  }
}

/**
 * The id is not one repoman loads from: not a package name or an absolute
 * path, a built-in module, or a file inside the repos root.
 *
 * @since 0.1.0
 * @category errors
 */
export class Refused extends Schema.TaggedClass<Refused>("@repoman/node/PluginModule/Refused")("Refused", {
  id: Schema.String,
  detail: Schema.String
}) {
  /** What is wrong, without the plugin's id. */
  get problem(): string {
    return `refused: ${this.detail}`
  }
  /** One line for the user. */
  get message(): string {
    return `plugin ${this.id}: ${this.problem}`
  }
}

/**
 * The module was found but importing it failed.
 *
 * @since 0.1.0
 * @category errors
 */
export class ImportFailed extends Schema.TaggedClass<ImportFailed>("@repoman/node/PluginModule/ImportFailed")(
  "ImportFailed",
  { id: Schema.String, file: Schema.String, detail: Schema.String }
) {
  /** What is wrong, without the plugin's id. */
  get problem(): string {
    return `cannot load ${this.file}: ${this.detail}`
  }
  /** One line for the user. */
  get message(): string {
    return `plugin ${this.id}: ${this.problem}`
  }
}

/**
 * The module loaded but exports no plugin of the wanted kind (or one made
 * without its `define`).
 *
 * @since 0.1.0
 * @category errors
 */
export class NotAPlugin extends Schema.TaggedClass<NotAPlugin>("@repoman/node/PluginModule/NotAPlugin")(
  "NotAPlugin",
  { id: Schema.String, kind: Schema.Literals(["backup", "profile"]), detail: Schema.String }
) {
  /** What is wrong, without the plugin's id. */
  get problem(): string {
    return `not a repoman ${this.kind} plugin: ${this.detail}`
  }
  /** One line for the user. */
  get message(): string {
    return `plugin ${this.id}: ${this.problem}`
  }
}

/**
 * The one error of plugin loading.
 *
 * @since 0.1.0
 * @category errors
 */
export class PluginModuleError
  extends Schema.TaggedError<PluginModuleError>("@repoman/node/PluginModule/PluginModuleError")(
    "PluginModuleError",
    {
      reason: Schema.Union([NotInstalled, Refused, ImportFailed, NotAPlugin]),
      cause: Schema.optional(Schema.Defect())
    }
  )
{
  override get message(): string {
    return this.reason.message
  }
}

/**
 * Where to look: the config dir (its `plugins/` subdirectory) and the repos
 * root no plugin file may lie in.
 *
 * @since 0.1.0
 * @category models
 */
export interface Location {
  /** repoman's config dir; plugins are installed under `<it>/plugins`. */
  readonly configDir: string
  /** The repos root (`~` expanded); a module file under it is refused. */
  readonly reposRoot?: string | undefined
}

/**
 * A resolved plugin module: its file (symlinks followed) and where it was
 * found.
 *
 * @since 0.1.0
 * @category models
 */
export interface Resolved {
  /** The module file, symlinks resolved: what is imported. */
  readonly file: string
  /** `path` for an absolute path or `file:` URL, else where the package was found. */
  readonly from: "path" | "config" | "installation"
}

/** An npm package name, without a subpath. */
const packageName = /^(?:@[a-z0-9~-][a-z0-9._~-]*\/)?[a-z0-9~-][a-z0-9._~-]*$/

const here = fileURLToPath(import.meta.url)
const installation = createRequire(here)

const describe = (cause: unknown): string =>
  typeof cause === "object" && cause !== null && "message" in cause && typeof cause.message === "string"
    ? cause.message.split("\n")[0] ?? ""
    : String(cause)

const codeOf = (cause: unknown): unknown =>
  typeof cause === "object" && cause !== null && "code" in cause ? cause.code : undefined

const fail = (reason: NotInstalled | Refused | ImportFailed | NotAPlugin, cause?: unknown) =>
  Effect.fail(new PluginModuleError({ reason, ...(cause === undefined ? {} : { cause }) }))

const within = (file: string, dir: string): boolean =>
  file === dir || file.startsWith(dir.endsWith(sep) ? dir : dir + sep)

/** `path` with symlinks resolved, or as it is when it cannot be. */
const realOrSelf = (path: string): Effect.Effect<string> =>
  Effect.try(() => realpathSync(path)).pipe(Effect.orElseSucceed(() => path))

const locate = (id: string, location: Location): Effect.Effect<Resolved, PluginModuleError> => {
  const installDir = pluginsDir(location.configDir)
  const notInstalled = (searched: ReadonlyArray<string>) =>
    fail(new NotInstalled({ id, searched: [...searched], installDir }))
  if (id.startsWith("file:") || isAbsolute(id)) {
    return Effect.try({
      try: () => (id.startsWith("file:") ? fileURLToPath(id) : id),
      catch: (cause) => new PluginModuleError({ reason: new Refused({ id, detail: describe(cause) }), cause })
    }).pipe(
      Effect.flatMap((file) =>
        existsSync(file) ? Effect.succeed<Resolved>({ file, from: "path" }) : notInstalled([file])
      )
    )
  }
  if (isBuiltin(id) || !packageName.test(id)) {
    return fail(
      new Refused({
        id,
        detail: "a plugin is an npm package name (without a subpath) or the absolute path of a module file"
      })
    )
  }
  const resolveWith = (require: NodeJS.Require, from: Resolved["from"]) =>
    Effect.try({
      try: (): Resolved => ({ file: require.resolve(id), from }),
      catch: (cause) => cause
    })
  const configModules = join(installDir, "node_modules")
  // Only a package that is there: Node's lookup would otherwise go on up the
  // config dir's parents.
  if (existsSync(join(configModules, id, "package.json"))) {
    return resolveWith(createRequire(join(installDir, "package.json")), "config").pipe(
      Effect.catch((cause) =>
        fail(new ImportFailed({ id, file: join(configModules, id), detail: describe(cause) }), cause)
      )
    )
  }
  const ownModules = join(dirname(here), "node_modules")
  return resolveWith(installation, "installation").pipe(
    Effect.catch((cause) =>
      codeOf(cause) === "MODULE_NOT_FOUND"
        ? notInstalled([configModules, `the node_modules of repoman's installation (from ${ownModules} up)`])
        : fail(new ImportFailed({ id, file: id, detail: describe(cause) }), cause)
    )
  )
}

/**
 * Finds the module file of plugin `id` by the rule above, without loading
 * it.
 *
 * @since 0.1.0
 * @category resolution
 */
export const resolve = (id: string, location: Location): Effect.Effect<Resolved, PluginModuleError> =>
  Effect.gen(function*() {
    const found = yield* locate(id, location)
    const file = yield* realOrSelf(found.file)
    if (!isAbsolute(file)) {
      return yield* fail(new Refused({ id, detail: `it resolves to ${file}, not to a module file` }))
    }
    if (location.reposRoot !== undefined) {
      const root = yield* realOrSelf(location.reposRoot)
      if (within(file, root)) {
        const detail = `${file} is inside the repos root ${root}, where containers can write; install it under ${
          pluginsDir(location.configDir)
        }`
        return yield* fail(new Refused({ id, detail }))
      }
    }
    return { file, from: found.from }
  })

/**
 * Resolves and imports plugin `id`, and returns its exported plugin (the
 * `plugin` export, else the default export) once it is marked as a plugin
 * of `kind`.
 *
 * @since 0.1.0
 * @category loading
 */
export const load = <K extends Kind>(
  kind: K,
  id: string,
  location: Location
): Effect.Effect<Marked<K>, PluginModuleError> =>
  Effect.gen(function*() {
    const { file } = yield* resolve(id, location)
    const module: unknown = yield* Effect.tryPromise({
      try: () => import(pathToFileURL(file).href),
      catch: (cause) =>
        new PluginModuleError({ reason: new ImportFailed({ id, file, detail: describe(cause) }), cause })
    })
    const exported = typeof module === "object" && module !== null
      ? "plugin" in module ? module.plugin : "default" in module ? module.default : undefined
      : undefined
    const define = defineFor(kind)
    if (exported === undefined || exported === null) {
      return yield* fail(
        new NotAPlugin({ id, kind, detail: `it exports no \`plugin\`; export \`plugin = ${define}({ ... })\`` })
      )
    }
    const marked = kindOf(exported)
    if (marked === undefined) {
      return yield* fail(
        new NotAPlugin({
          id,
          kind,
          detail: `its \`plugin\` was not made with ${define}; export \`plugin = ${define}({ ... })\``
        })
      )
    }
    if (marked !== kind) {
      return yield* fail(new NotAPlugin({ id, kind, detail: `it is a ${marked} plugin` }))
    }
    return exported as Marked<K>
  })
