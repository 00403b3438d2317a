/**
 * The {@link ProfileStore} layer: the vendor library shipped in this package
 * (`vendor/*.yaml`), the user's profiles (`<config dir>/profiles.d/*.yaml`)
 * and the profiles of plugins named in the registry (`[plugins] profiles`).
 *
 * Precedence, highest first: user, then plugins in the order the registry
 * lists them, then vendor. The winner of a name is what `list`, `read` and
 * `render` use; its entry says `shadows: true` when it hides a profile of
 * the same name from a lower source.
 *
 * @since 0.1.0
 * @module
 */
import { ConfigPaths, expandHome } from "@repoman/core/ConfigPaths"
import { ProfileName } from "@repoman/core/Ids"
import {
  Malformed,
  NotFound,
  ProfileEntry,
  ProfileError,
  type ProfileOrigin,
  ProfileStore,
  type ProfileVariables
} from "@repoman/core/ProfileStore"
import { Registry } from "@repoman/core/Registry"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Path from "effect/Path"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import { fileURLToPath } from "node:url"
import { renderProfile } from "./Placeholders.ts"
import { loadPlugin } from "./ProfilePlugin.ts"
import { MAX_PROFILE_BYTES, parseProfile, tooLarge } from "./ProfileYaml.ts"

const asProfileName = Schema.decodeUnknownOption(ProfileName)

/**
 * The directory of the vendor profiles: `../vendor` of this module, which is
 * this package's `vendor/` from `src/` and `dist/`, and the copy the CLI's
 * bundle step puts next to `dist/repoman.js` (the published CLI has no
 * dependency on this package).
 *
 * @since 0.1.0
 * @category utils
 */
export const vendorDir = (): string => fileURLToPath(new URL("../vendor", import.meta.url))

/**
 * Builds a ProfileStore from a function listing the profiles (name and
 * location) and one reading a profile's text. Parsing, placeholder rendering
 * and errors are shared, so a plugin only says where its YAML comes from.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { ProfileName } from "@repoman/core/Ids"
 * import { make } from "@repoman/profiles/ProfileLibrary"
 *
 * const texts: Record<string, string> = { "editor-env": "config:\n  environment.EDITOR: vim\n" }
 * const store = make({
 *   origin: { _tag: "Plugin", id: "@acme/repoman-profiles" },
 *   list: Effect.succeed(Object.keys(texts).map((name) => ({ name: ProfileName.make(name), location: `acme:${name}` }))),
 *   read: (entry) => Effect.succeed(texts[entry.name] ?? "")
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: {
  readonly origin: ProfileOrigin
  readonly list: Effect.Effect<ReadonlyArray<{ readonly name: ProfileName; readonly location: string }>, ProfileError>
  readonly read: (
    entry: { readonly name: ProfileName; readonly location: string }
  ) => Effect.Effect<string, ProfileError>
}): ProfileStore["Service"] => {
  const find = (name: ProfileName) =>
    Effect.flatMap(options.list, (entries) => {
      const found = entries.find((e) => e.name === name)
      return found === undefined
        ? Effect.fail(new ProfileError({ reason: new NotFound({ name, known: entries.map((e) => e.name) }) }))
        : Effect.succeed(found)
    })
  const read = (name: ProfileName) => Effect.flatMap(find(name), options.read)
  return ProfileStore.of({
    list: () =>
      Effect.map(
        options.list,
        (entries) =>
          [...entries].sort((a, b) => a.name.localeCompare(b.name)).map((e) =>
            new ProfileEntry({ name: e.name, origin: options.origin, shadows: false, location: e.location })
          )
      ),
    read,
    render: (name: ProfileName, variables: ProfileVariables) =>
      Effect.gen(function*() {
        const entry = yield* find(name)
        const raw = yield* parseProfile(entry.location, yield* options.read(entry))
        return yield* renderProfile(entry.location, raw, variables)
      })
  })
}

/**
 * A store over one directory of `<name>.yaml` (or `.yml`) files. A missing
 * directory is an empty library; a file whose name is not a valid profile
 * name is `Malformed`.
 *
 * @since 0.1.0
 * @category utils
 */
export const fromDirectory = (dir: string, origin: ProfileOrigin) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const ioError = (file: string) => (e: { readonly message: string }) =>
      new ProfileError({ reason: new Malformed({ file, detail: `cannot read: ${e.message}` }), cause: e })
    const list = Effect.gen(function*() {
      if (!(yield* fs.exists(dir).pipe(Effect.orElseSucceed(() => false)))) return []
      const files = (yield* fs.readDirectory(dir).pipe(Effect.mapError(ioError(dir))))
        .filter((f) => /\.ya?ml$/.test(f) && !f.startsWith("."))
      return yield* Effect.forEach(files, (file) => {
        const location = path.join(dir, file)
        const name = asProfileName(file.replace(/\.ya?ml$/, ""))
        return name._tag === "Some"
          ? Effect.succeed({ name: name.value, location })
          : Effect.fail(
            new ProfileError({
              reason: new Malformed({ file: location, detail: "the file name is not a valid profile name" })
            })
          )
      })
    })
    return make({
      origin,
      list,
      read: (entry) =>
        Effect.gen(function*() {
          // Not read at all when it is too large to be a profile.
          const info = yield* fs.stat(entry.location).pipe(Effect.mapError(ioError(entry.location)))
          if (info.size > BigInt(MAX_PROFILE_BYTES)) {
            return yield* new ProfileError({
              reason: new Malformed({ file: entry.location, detail: tooLarge(Number(info.size)) })
            })
          }
          return yield* fs.readFileString(entry.location).pipe(Effect.mapError(ioError(entry.location)))
        })
    })
  })

/**
 * Combines stores, highest precedence first, into one library: one entry per
 * name (the first store that has it wins) with `shadows` set when a later
 * store has the name too.
 *
 * @since 0.1.0
 * @category utils
 */
export const combine = (stores: ReadonlyArray<ProfileStore["Service"]>): ProfileStore["Service"] => {
  const all = Effect.forEach(stores, (s) => s.list())
  const winner = (name: ProfileName) =>
    Effect.flatMap(all, (lists) => {
      const index = lists.findIndex((l) => l.some((e) => e.name === name))
      const store = stores[index]
      return store === undefined
        ? Effect.fail(
          new ProfileError({ reason: new NotFound({ name, known: lists.flatMap((l) => l.map((e) => e.name)) }) })
        )
        : Effect.succeed(store)
    })
  return ProfileStore.of({
    list: () =>
      Effect.map(all, (lists) => {
        const byName = new Map<string, ProfileEntry>()
        for (const entries of lists) {
          for (const e of entries) {
            const won = byName.get(e.name)
            if (won === undefined) byName.set(e.name, e)
            else if (!won.shadows) byName.set(e.name, new ProfileEntry({ ...won, shadows: true }))
          }
        }
        return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name))
      }),
    read: (name) => Effect.flatMap(winner(name), (s) => s.read(name)),
    render: (name, variables) => Effect.flatMap(winner(name), (s) => s.render(name, variables))
  })
}

/**
 * Re-tags a store's entries with `origin` (a plugin's entries carry the
 * plugin as their origin, whatever the plugin says).
 *
 * @since 0.1.0
 * @category utils
 */
export const withOrigin = (store: ProfileStore["Service"], origin: ProfileOrigin): ProfileStore["Service"] =>
  ProfileStore.of({
    ...store,
    list: () => Effect.map(store.list(), (entries) => entries.map((e) => new ProfileEntry({ ...e, origin })))
  })

/**
 * The library from explicit directories and plugin stores (tests, scripts).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerDirectories = (options: {
  readonly vendorDir: string
  readonly userDir: string
  readonly plugins?: ReadonlyArray<{ readonly id: string; readonly store: ProfileStore["Service"] }>
}): Layer.Layer<ProfileStore, never, FileSystem.FileSystem | Path.Path> =>
  Layer.effect(
    ProfileStore,
    Effect.gen(function*() {
      const user = yield* fromDirectory(options.userDir, { _tag: "User" })
      const vendor = yield* fromDirectory(options.vendorDir, { _tag: "Vendor" })
      const plugins = (options.plugins ?? []).map((p) => withOrigin(p.store, { _tag: "Plugin", id: p.id }))
      return combine([user, ...plugins, vendor])
    })
  )

/**
 * The live library: vendor profiles, the user's `profiles.d/`, and the
 * plugins the registry names. Plugins are loaded on first use (a broken
 * plugin fails the profile operations with `PluginFailed`, not every
 * command).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<
  ProfileStore,
  never,
  ConfigPaths | Registry | FileSystem.FileSystem | Path.Path
> = Layer.effect(
  ProfileStore,
  Effect.gen(function*() {
    const paths = yield* ConfigPaths
    const registry = yield* Registry
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const scope = yield* Scope.Scope
    const user = yield* fromDirectory(paths.profilesDir, { _tag: "User" })
    const vendor = yield* fromDirectory(vendorDir(), { _tag: "Vendor" })
    const store = yield* Effect.cached(
      Effect.gen(function*() {
        const { ids, reposRoot } = yield* registry.load.pipe(
          Effect.map((d) => ({ ids: d.plugins.profiles, reposRoot: expandHome(d.defaults.reposRoot, paths.home) })),
          Effect.orElseSucceed(() => ({ ids: [] as ReadonlyArray<string>, reposRoot: undefined }))
        )
        const plugins = yield* Effect.forEach(
          ids,
          (id) =>
            loadPlugin(id, { configDir: paths.configDir, reposRoot, scope }).pipe(
              Effect.map((s) => withOrigin(s, { _tag: "Plugin", id }))
            )
        )
        return combine([user, ...plugins, vendor])
      }).pipe(Effect.provideService(FileSystem.FileSystem, fs), Effect.provideService(Path.Path, path))
    )
    return ProfileStore.of({
      list: () => Effect.flatMap(store, (s) => s.list()),
      read: (name) => Effect.flatMap(store, (s) => s.read(name)),
      render: (name, variables) => Effect.flatMap(store, (s) => s.render(name, variables))
    })
  })
)

/**
 * A library held in memory: profile texts by name, with one origin (tests,
 * examples, plugins that carry their YAML in code).
 *
 * @since 0.1.0
 * @category utils
 */
export const fromTexts = (
  texts: Readonly<Record<string, string>>,
  origin: ProfileOrigin = { _tag: "User" }
): ProfileStore["Service"] =>
  make({
    origin,
    list: Effect.forEach(Object.keys(texts), (name) => {
      const parsed = asProfileName(name)
      return parsed._tag === "Some"
        ? Effect.succeed({ name: parsed.value, location: `memory:${name}` })
        : Effect.fail(
          new ProfileError({ reason: new Malformed({ file: `memory:${name}`, detail: "not a valid profile name" }) })
        )
    }),
    read: (entry) => Effect.succeed(texts[entry.name] ?? "")
  })

/**
 * {@link fromTexts} as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory = (
  texts: Readonly<Record<string, string>>,
  origin?: ProfileOrigin
): Layer.Layer<ProfileStore> => Layer.succeed(ProfileStore, fromTexts(texts, origin))
