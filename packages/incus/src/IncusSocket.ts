/**
 * Where the Incus unix socket is, found the way the `incus` client finds it.
 *
 * - `$INCUS_SOCKET`, when set, is used as given;
 * - else the directory is `$INCUS_DIR` when set, else the first of
 *   `/var/lib/incus` and `/run/incus` whose `unix.socket` exists, else
 *   `/var/lib/incus` (so that the "no such socket" error names the usual
 *   place);
 * - in it, `unix.socket` (the admin socket, group `incus-admin`) unless the
 *   user may not write it and may write `unix.socket.user` (the `incus-user`
 *   socket, group `incus`): then that one, which confines the user to a
 *   project of their own.
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
 * Resolves the socket path from the environment, an existence check and a
 * write-permission check (default: every path is writable, so the admin
 * socket is picked).
 *
 * @example
 * ```ts
 * import * as IncusSocket from "@repoman/incus/IncusSocket"
 * IncusSocket.resolve({ INCUS_DIR: "/opt/incus" }, () => false) // "/opt/incus/unix.socket"
 * IncusSocket.resolve({}, (p) => p === IncusSocket.runPath)    // "/run/incus/unix.socket"
 * // a member of group incus only:
 * IncusSocket.resolve({}, () => true, (p) => p.endsWith(".user")) // "/var/lib/incus/unix.socket.user"
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const resolve = (
  env: SocketEnvironment,
  exists: (path: string) => boolean,
  writable: (path: string) => boolean = () => true
): string => {
  if (nonEmpty(env.INCUS_SOCKET)) return env.INCUS_SOCKET
  const admin = nonEmpty(env.INCUS_DIR)
    ? `${env.INCUS_DIR.replace(/\/+$/, "")}/unix.socket`
    : [defaultPath, runPath].find(exists) ?? defaultPath
  const user = `${admin}.user`
  return !writable(admin) && writable(user) ? user : admin
}

/**
 * Whether the process may write (connect to) `path`.
 *
 * @since 0.1.0
 * @category utils
 */
export const isWritable = (path: string): boolean => {
  try {
    fs.accessSync(path, fs.constants.W_OK)
    return true
  } catch {
    return false
  }
}

/**
 * An environment variable as the current `ConfigProvider` gives it;
 * `undefined` when it is not set or malformed.
 *
 * @since 0.1.0
 * @category utils
 */
export const optionalString = (name: string) =>
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
  return resolve({ INCUS_SOCKET, INCUS_DIR }, (path) => fs.existsSync(path), isWritable)
}).pipe(Effect.orDie)
