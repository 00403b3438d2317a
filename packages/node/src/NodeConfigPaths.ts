/**
 * Where repoman keeps its files on this host, resolved once from the
 * environment (through Effect's `ConfigProvider`, so tests can supply their
 * own):
 *
 * - config dir: `$REPOMAN_CONFIG_DIR` (`~` expanded), else
 *   `$XDG_CONFIG_HOME/repoman`, else `~/.config/repoman`;
 * - state dir: `$XDG_STATE_HOME/repoman`, else `~/.local/state/repoman`;
 * - home: `$HOME`, else what `node:os` says.
 *
 * @since 0.1.0
 * @module
 */
import { ConfigPaths, expandHome, joinPath, type Paths, paths } from "@repoman/core/ConfigPaths"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { homedir } from "node:os"

const optional = (name: string) => Config.option(Config.NonEmptyString(name)).pipe(Effect.map(Option.getOrUndefined))

/**
 * Resolves the locations from the environment.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<Paths> = Effect.gen(function*() {
  const home = (yield* optional("HOME")) ?? homedir()
  const explicit = yield* optional("REPOMAN_CONFIG_DIR")
  const xdgConfig = yield* optional("XDG_CONFIG_HOME")
  const xdgState = yield* optional("XDG_STATE_HOME")
  return paths({
    home,
    configDir: explicit !== undefined
      ? expandHome(explicit, home)
      : joinPath(xdgConfig ?? joinPath(home, ".config"), "repoman"),
    stateDir: joinPath(xdgState ?? joinPath(home, ".local", "state"), "repoman")
  })
}).pipe(Effect.orDie)

/**
 * {@link ConfigPaths} resolved from the environment.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<ConfigPaths> = Layer.effect(ConfigPaths, make)
