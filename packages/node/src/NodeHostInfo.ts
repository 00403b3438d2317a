/**
 * The real {@link HostInfo}: the current user and the LAN address, read
 * through `node:os` once, when the layer is built.
 *
 * @since 0.1.0
 * @module
 */
import { HostInfo, HostInfoError } from "@repoman/core/HostInfo"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as os from "node:os"

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
 * import { pickLanIp } from "@repoman/node/NodeHostInfo"
 * const ip = pickLanIp(os.networkInterfaces())
 * ```
 *
 * @since 0.1.0
 * @category host
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
 * Reads the host facts. The home directory follows `$HOME`, as a shell's `~`
 * does.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<HostInfo["Service"], HostInfoError> = Effect.gen(function*() {
  const user = yield* Effect.try({
    try: () => os.userInfo(),
    catch: (cause) => new HostInfoError({ detail: String(cause), cause })
  })
  const home = yield* Effect.sync(() => os.homedir())
  const lanIp = yield* Effect.sync(() => pickLanIp(os.networkInterfaces()))
  const environment = yield* Effect.sync(() =>
    Object.fromEntries(Object.entries(process.env).flatMap(([k, v]) => v === undefined ? [] : [[k, v]]))
  )
  return HostInfo.of({ user: user.username, uid: user.uid, gid: user.gid, home, lanIp, environment })
})

/**
 * The real {@link HostInfo}.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<HostInfo, HostInfoError> = Layer.effect(HostInfo, make)
