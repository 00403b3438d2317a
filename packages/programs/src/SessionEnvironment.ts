/**
 * The environment of a command run in a container on the user's behalf
 * (`shell`, `exec`, `run`): the terminal's variables from the host (TERM,
 * COLORTERM, LANG and LC_*, TZ), USER and LOGNAME set to the host user's
 * name, HOME to the host home path (the same path on both sides, see
 * `new`), then what the user asked for (`--env`, the override's `[env]` is
 * already the instance's).
 *
 * A locale the image does not have makes every bash and perl start warn
 * (`setlocale: LC_ALL: cannot change locale`); such a value becomes
 * `C.UTF-8`, which every current image has. Which locales an image has is
 * recorded at `new` (see `ContainerUser`); for a container made before,
 * only the built-in ones (C, C.UTF-8, POSIX) count as present.
 *
 * @since 0.1.0
 * @module
 */
import type { Env } from "@repoman/core/ContainerRuntime"
import * as Option from "effect/Option"

/**
 * The fallback for a locale the container lacks.
 *
 * @since 0.1.0
 * @category constants
 */
export const FALLBACK_LOCALE = "C.UTF-8"

/**
 * Whether a host variable is one of the terminal's, passed into sessions.
 *
 * @since 0.1.0
 * @category utils
 */
export const isTerminalVariable = (name: string): boolean =>
  name === "TERM" || name === "COLORTERM" || name === "LANG" || name === "TZ" || /^LC_[A-Z_]+$/.test(name)

/**
 * A locale name as glibc compares them: the codeset lower-cased without
 * punctuation (`en_US.UTF-8` and `en_US.utf8` are one locale).
 *
 * @since 0.1.0
 * @category utils
 */
export const normalizeLocale = (locale: string): string => {
  const at = locale.indexOf("@")
  const modifier = at >= 0 ? locale.slice(at) : ""
  const base = at >= 0 ? locale.slice(0, at) : locale
  const dot = base.indexOf(".")
  if (dot < 0) return base + modifier
  return `${base.slice(0, dot)}.${base.slice(dot + 1).toLowerCase().replace(/[^a-z0-9]/g, "")}${modifier}`
}

const builtIn = ["C", "POSIX", "C.utf8"]

/**
 * The terminal's variables of `host` (the host's environment), with each
 * locale the container lacks (`locales`: what `new` recorded, `None` when
 * unknown) replaced by {@link FALLBACK_LOCALE}.
 *
 * @example
 * ```ts
 * import * as Option from "effect/Option"
 * import { terminalEnv } from "@repoman/programs/SessionEnvironment"
 * terminalEnv({ TERM: "xterm-256color", LANG: "de_DE.UTF-8", PATH: "/usr/bin" }, Option.some(["C", "C.utf8"]))
 * // { TERM: "xterm-256color", LANG: "C.UTF-8" }
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const terminalEnv = (host: Env, locales: Option.Option<ReadonlyArray<string>>): Env => {
  const present = new Set([...builtIn, ...Option.getOrElse(locales, () => [])].map(normalizeLocale))
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(host)) {
    if (!isTerminalVariable(name)) continue
    const isLocale = name === "LANG" || name.startsWith("LC_")
    out[name] = isLocale && value !== "" && !present.has(normalizeLocale(value)) ? FALLBACK_LOCALE : value
  }
  return out
}

/**
 * The whole environment of a session, in order of precedence: `extra`
 * (the user's `--env`), then HOME, USER and LOGNAME, then the terminal's.
 *
 * @since 0.1.0
 * @category utils
 */
export const sessionEnv = (options: {
  readonly host: Env
  readonly locales: Option.Option<ReadonlyArray<string>>
  readonly user: string
  readonly home: string
  readonly extra?: Env | undefined
}): Env => ({
  ...terminalEnv(options.host, options.locales),
  HOME: options.home,
  USER: options.user,
  LOGNAME: options.user,
  ...options.extra
})
