/**
 * Facts about the host repoman runs on: the user (name, uid, gid, home) and
 * the LAN address containers reach host services on. A service so tests can
 * fake the host; `@repoman/node/NodeHostInfo` reads the real one through
 * `node:os`.
 *
 * @since 0.1.0
 * @module
 */
import * as Context from "effect/Context"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

/**
 * The facts {@link HostInfo} provides.
 *
 * @since 0.1.0
 * @category models
 */
export interface HostInfoValues {
  /** Login name of the user running repoman. */
  readonly user: string
  /** Numeric user id (the id mapped to uid 1000 inside containers). */
  readonly uid: number
  /** Numeric primary group id (mapped to gid 1000 inside containers). */
  readonly gid: number
  /** Home directory, what a leading `~` expands to. */
  readonly home: string
  /** The host's LAN IPv4 address, if one was found. */
  readonly lanIp: Option.Option<string>
  /** The process's environment variables (a session passes the terminal's on: TERM, LANG, ...). */
  readonly environment: Readonly<Record<string, string>>
}

/**
 * The host facts, read once when the layer is built.
 *
 * @example
 * ```ts
 *  * import * as HostInfo from "@repoman/core/HostInfo"
 *
 * const idmap = Effect.gen(function*() {
 *   const host = yield* HostInfo.HostInfo
 *   return `uid ${host.uid} 1000\ngid ${host.gid} 1000`
 * })
 * ```
 *
 * @since 0.1.0
 * @category services
 */
export class HostInfo extends Context.Service<HostInfo, HostInfoValues>()("@repoman/core/HostInfo") {}

/**
 * The OS could not tell who the current user is (no passwd entry, say).
 *
 * @since 0.1.0
 * @category errors
 */
export class HostInfoError extends Schema.TaggedError<HostInfoError>("@repoman/core/HostInfo/HostInfoError")(
  "HostInfoError",
  { detail: Schema.String, cause: Schema.optional(Schema.Defect()) }
) {
  /** One line for the user. */
  override get message(): string {
    return `cannot read the current user from the OS: ${this.detail}`
  }
}

/**
 * A fixed {@link HostInfo}: user `dev`, uid and gid 1000, home `/home/dev`,
 * no LAN IP, an empty environment, each overridable.
 *
 * @example
 * ```ts
 * import * as Option from "effect/Option"
 * import * as HostInfo from "@repoman/core/HostInfo"
 * const layer = HostInfo.layerTest({ uid: 1234, lanIp: Option.some("192.168.1.42") })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTest = (values: Partial<HostInfoValues> = {}): Layer.Layer<HostInfo> =>
  Layer.succeed(
    HostInfo,
    HostInfo.of({
      user: "dev",
      uid: 1000,
      gid: 1000,
      home: "/home/dev",
      lanIp: Option.none(),
      environment: {},
      ...values
    })
  )
