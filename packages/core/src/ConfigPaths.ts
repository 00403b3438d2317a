/**
 * Where repoman keeps its files on the host: the config dir (registry
 * `repoman.toml`, overrides in `repos.d/`, user profiles in `profiles.d/`),
 * the state dir and the home directory, as one service.
 *
 * This module holds the service and how the locations derive from a home and
 * a config dir; `@repoman/node/NodeConfigPaths` resolves them from the
 * environment (`$REPOMAN_CONFIG_DIR`, `$XDG_CONFIG_HOME`, `$XDG_STATE_HOME`).
 *
 * @since 0.1.0
 * @module
 */
import * as Context from "effect/Context"
import * as Layer from "effect/Layer"

/**
 * Joins absolute or relative POSIX path segments and normalizes the result
 * (`.` and `..` resolved, repeated `/` folded), as `node:path`'s `posix.join`
 * does.
 *
 * @example
 * ```ts
 * import { joinPath } from "@repoman/core/ConfigPaths"
 * joinPath("/home/ada", ".config", "repoman") // "/home/ada/.config/repoman"
 * ```
 *
 * @since 0.1.0
 * @category paths
 */
export const joinPath = (...segments: ReadonlyArray<string>): string => {
  const joined = segments.filter((s) => s.length > 0).join("/")
  if (joined.length === 0) return "."
  const absolute = joined.startsWith("/")
  const out: Array<string> = []
  for (const part of joined.split("/")) {
    if (part === "" || part === ".") continue
    if (part === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop()
      else if (!absolute) out.push("..")
      continue
    }
    out.push(part)
  }
  const body = out.join("/")
  return absolute ? `/${body}` : body.length === 0 ? "." : body
}

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
 * @category utils
 */
export const expandHome = (path: string, home: string): string =>
  path === "~" ? home : path.startsWith("~/") ? joinPath(home, path.slice(2)) : path

/**
 * The resolved locations.
 *
 * @since 0.1.0
 * @category models
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
 * @category utils
 */
export const paths = (
  options: { readonly home: string; readonly configDir: string; readonly stateDir?: string }
): Paths => ({
  home: options.home,
  configDir: options.configDir,
  stateDir: options.stateDir ?? joinPath(options.home, ".local", "state", "repoman"),
  registryFile: joinPath(options.configDir, "repoman.toml"),
  overridesDir: joinPath(options.configDir, "repos.d"),
  profilesDir: joinPath(options.configDir, "profiles.d")
})

/**
 * The ConfigPaths service.
 *
 * @since 0.1.0
 * @category services
 */
export class ConfigPaths extends Context.Service<ConfigPaths, Paths>()("@repoman/core/ConfigPaths") {
  /** Fixed locations, for tests and for scripts that keep repoman's files elsewhere. */
  static readonly layerFrom = (
    options: { readonly home: string; readonly configDir: string; readonly stateDir?: string }
  ) => Layer.succeed(ConfigPaths, paths(options))
}
