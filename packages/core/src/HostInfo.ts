/**
 * Facts about the host repoman runs on: the user (name, uid, gid, home) and
 * the LAN address containers reach host services on. A service so tests can
 * fake the host; {@link layerNode} reads the real one through `node:os`.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as os from "node:os"

/**
 * The facts {@link HostInfo} provides.
 *
 * @since 0.1.0
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
}

/**
 * The host facts, read once when the layer is built.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import * as HostInfo from "@repoman/core/HostInfo"
 *
 * const idmap = Effect.gen(function*() {
 *   const host = yield* HostInfo.HostInfo
 *   return `uid ${host.uid} 1000\ngid ${host.gid} 1000`
 * })
 * ```
 *
 * @since 0.1.0
 */
export class HostInfo extends Context.Service<HostInfo, HostInfoValues>()("@repoman/core/HostInfo") {}

/**
 * The OS could not tell who the current user is (no passwd entry, say).
 *
 * @since 0.1.0
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
 * no LAN IP, each overridable.
 *
 * @example
 * ```ts
 * import * as Option from "effect/Option"
 * import * as HostInfo from "@repoman/core/HostInfo"
 * const layer = HostInfo.layerTest({ uid: 1234, lanIp: Option.some("192.168.1.42") })
 * ```
 *
 * @since 0.1.0
 */
export const layerTest = (values: Partial<HostInfoValues> = {}): Layer.Layer<HostInfo> =>
  Layer.succeed(
    HostInfo,
    HostInfo.of({ user: "dev", uid: 1000, gid: 1000, home: "/home/dev", lanIp: Option.none(), ...values })
  )

// Bridges, tunnels and VPNs that are not the LAN. `br0` style bridges are
// kept: on a homelab host they usually carry the LAN address.
const virtualInterface = /^(?:lo|incusbr|lxdbr|docker|br-|virbr|veth|cni|flannel|tailscale|wg|tun|tap|zt)/

/**
 * Picks the LAN address from `os.networkInterfaces()` output: the first
 * non-internal, non-link-local IPv4 address of an interface that is not a
 * container bridge, tunnel or VPN.
 *
 * @example
 * ```ts
 * import * as os from "node:os"
 * import { pickLanIp } from "@repoman/core/HostInfo"
 * const ip = pickLanIp(os.networkInterfaces())
 * ```
 *
 * @since 0.1.0
 */
export const pickLanIp = (
  interfaces: Readonly<Record<string, ReadonlyArray<os.NetworkInterfaceInfo> | undefined>>
): Option.Option<string> => {
  for (const [name, addresses] of Object.entries(interfaces)) {
    if (addresses === undefined || virtualInterface.test(name)) continue
    const found = addresses.find((a) => a.family === "IPv4" && !a.internal && !a.address.startsWith("169.254."))
    if (found !== undefined) return Option.some(found.address)
  }
  return Option.none()
}

/**
 * The real {@link HostInfo}, read through `node:os`. The home directory
 * follows `$HOME`, as a shell's `~` does.
 *
 * @since 0.1.0
 */
export const layerNode: Layer.Layer<HostInfo, HostInfoError> = Layer.effect(
  HostInfo,
  Effect.gen(function*() {
    const user = yield* Effect.try({
      try: () => os.userInfo(),
      catch: (cause) => new HostInfoError({ detail: String(cause), cause })
    })
    const home = yield* Effect.sync(() => os.homedir())
    const lanIp = yield* Effect.sync(() => pickLanIp(os.networkInterfaces()))
    return HostInfo.of({ user: user.username, uid: user.uid, gid: user.gid, home, lanIp })
  })
)
