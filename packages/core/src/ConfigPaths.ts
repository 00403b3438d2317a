/**
 * Where repoman keeps its files on the host, resolved once from the
 * environment:
 *
 * - config dir: `$REPOMAN_CONFIG_DIR`, else `$XDG_CONFIG_HOME/repoman`, else `~/.config/repoman`;
 * - state dir: `$XDG_STATE_HOME/repoman`, else `~/.local/state/repoman`.
 *
 * The registry is `<config dir>/repoman.toml`, overrides live in
 * `<config dir>/repos.d/`, user profiles in `<config dir>/profiles.d/`.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { homedir } from "node:os"
import { join } from "node:path"

/**
 * Expands a leading `~` (alone or followed by `/`) to `home`.
 *
 * @example
 * ```ts
 * import { expandHome } from "@repoman/core/ConfigPaths"
 * expandHome("~/repos", "/home/ada") // "/home/ada/repos"
 * ```
 *
 * @since 0.1.0
 */
export const expandHome = (path: string, home: string): string =>
  path === "~" ? home : path.startsWith("~/") ? join(home, path.slice(2)) : path

/**
 * The resolved locations.
 *
 * @since 0.1.0
 */
export interface Paths {
  readonly home: string
  readonly configDir: string
  readonly stateDir: string
  readonly registryFile: string
  readonly overridesDir: string
  readonly profilesDir: string
}

/**
 * Builds every location from a home directory and a config dir (and optional state dir).
 *
 * @since 0.1.0
 */
export const paths = (
  options: { readonly home: string; readonly configDir: string; readonly stateDir?: string }
): Paths => ({
  home: options.home,
  configDir: options.configDir,
  stateDir: options.stateDir ?? join(options.home, ".local", "state", "repoman"),
  registryFile: join(options.configDir, "repoman.toml"),
  overridesDir: join(options.configDir, "repos.d"),
  profilesDir: join(options.configDir, "profiles.d")
})

/**
 * The ConfigPaths service.
 *
 * @since 0.1.0
 */
export class ConfigPaths extends Context.Service<ConfigPaths, Paths>()("@repoman/core/ConfigPaths") {
  /**
   * Resolves the locations from the environment (through Effect's
   * ConfigProvider, so tests can supply their own).
   */
  static readonly layer = Layer.effect(
    ConfigPaths,
    Effect.gen(function*() {
      const opt = (name: string) => Config.option(Config.NonEmptyString(name)).pipe(Effect.map(Option.getOrUndefined))
      const home = (yield* opt("HOME")) ?? homedir()
      const explicit = yield* opt("REPOMAN_CONFIG_DIR")
      const xdgConfig = yield* opt("XDG_CONFIG_HOME")
      const xdgState = yield* opt("XDG_STATE_HOME")
      return paths({
        home,
        configDir: explicit !== undefined
          ? expandHome(explicit, home)
          : join(xdgConfig ?? join(home, ".config"), "repoman"),
        stateDir: join(xdgState ?? join(home, ".local", "state"), "repoman")
      })
    }).pipe(Effect.orDie)
  )

  /** Fixed locations, for tests and for scripts that keep repoman's files elsewhere. */
  static readonly layerFrom = (
    options: { readonly home: string; readonly configDir: string; readonly stateDir?: string }
  ) => Layer.succeed(ConfigPaths, paths(options))
}
