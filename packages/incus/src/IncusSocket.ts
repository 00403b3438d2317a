/**
 * Where the Incus unix socket is, found the way the `incus` client finds it.
 *
 * - `$INCUS_SOCKET`, when set, is used as given;
 * - else `$INCUS_DIR/unix.socket`, when `$INCUS_DIR` is set, is used as given;
 * - else the first of `/var/lib/incus/unix.socket` and
 *   `/run/incus/unix.socket` that exists;
 * - else `/var/lib/incus/unix.socket`, so that the "no such socket" error
 *   names the usual place.
 *
 * A path the user set explicitly is never replaced by a default: pointing
 * `INCUS_SOCKET` at the wrong place must fail, not quietly talk to another
 * daemon.
 *
 * @since 0.1.0
 * @module
 */
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as fs from "node:fs"

/**
 * The socket of a packaged incusd (Debian, Ubuntu, Fedora, Arch).
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultPath = "/var/lib/incus/unix.socket"

/**
 * The socket of an incusd started with its state in `/run` (some distributions).
 *
 * @since 0.1.0
 * @category constants
 */
export const runPath = "/run/incus/unix.socket"

/**
 * The environment variables that choose the socket.
 *
 * @since 0.1.0
 * @category models
 */
export interface SocketEnvironment {
  readonly INCUS_SOCKET?: string | undefined
  readonly INCUS_DIR?: string | undefined
}

const nonEmpty = (s: string | undefined): s is string => s !== undefined && s.length > 0

/**
 * Resolves the socket path from the environment and an existence check.
 *
 * @example
 * ```ts
 * import * as IncusSocket from "@repoman/incus/IncusSocket"
 * IncusSocket.resolve({ INCUS_DIR: "/opt/incus" }, () => false) // "/opt/incus/unix.socket"
 * IncusSocket.resolve({}, (p) => p === IncusSocket.runPath)    // "/run/incus/unix.socket"
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const resolve = (env: SocketEnvironment, exists: (path: string) => boolean): string => {
  if (nonEmpty(env.INCUS_SOCKET)) return env.INCUS_SOCKET
  if (nonEmpty(env.INCUS_DIR)) return `${env.INCUS_DIR.replace(/\/+$/, "")}/unix.socket`
  return [defaultPath, runPath].find(exists) ?? defaultPath
}

const optionalString = (name: string) =>
  Config.String(name).pipe(
    Config.option,
    Config.map(Option.getOrUndefined),
    // A malformed provider entry reads as "not set".
    Config.orElse(() => Config.succeed(undefined))
  )

/**
 * The socket path, from `INCUS_SOCKET` and `INCUS_DIR` as the current
 * `ConfigProvider` gives them (the process environment by default).
 *
 * @since 0.1.0
 * @category utils
 */
export const fromEnvironment: Effect.Effect<string> = Effect.gen(function*() {
  const INCUS_SOCKET = yield* optionalString("INCUS_SOCKET")
  const INCUS_DIR = yield* optionalString("INCUS_DIR")
  return resolve({ INCUS_SOCKET, INCUS_DIR }, (path) => fs.existsSync(path))
}).pipe(Effect.orDie)
