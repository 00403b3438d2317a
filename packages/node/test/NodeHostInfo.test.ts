import { assert, describe, it } from "@effect/vitest"
import { HostInfo } from "@repoman/core/HostInfo"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as os from "node:os"
import * as NodeHostInfo from "../src/NodeHostInfo.ts"

const nic = (address: string, family: "IPv4" | "IPv6" = "IPv4", internal = false): os.NetworkInterfaceInfo =>
  family === "IPv4"
    ? { address, family, internal, netmask: "255.255.255.0", mac: "00:00:00:00:00:00", cidr: `${address}/24` }
    : { address, family, internal, netmask: "ffff::", mac: "00:00:00:00:00:00", cidr: `${address}/64`, scopeid: 0 }

describe("NodeHostInfo", () => {
  it.effect("layerNode reads the current user", () =>
    Effect.gen(function*() {
      const host = yield* HostInfo
      const user = os.userInfo()
      assert.deepStrictEqual([host.user, host.uid, host.gid, host.home], [
        user.username,
        user.uid,
        user.gid,
        os.homedir()
      ])
    }).pipe(Effect.provide(NodeHostInfo.layer)))

  describe("pickLanIp", () => {
    it("skips loopback, container bridges, VPNs, link-local and IPv6 addresses", () => {
      const ip = NodeHostInfo.pickLanIp({
        lo: [nic("127.0.0.1", "IPv4", true)],
        incusbr0: [nic("10.120.0.1")],
        docker0: [nic("172.17.0.1")],
        tailscale0: [nic("100.64.0.2")],
        eth1: [nic("169.254.3.4"), nic("fe80::1", "IPv6")],
        br0: [nic("fd00::2", "IPv6"), nic("192.168.1.42")],
        eth0: [nic("192.168.7.7")]
      })
      assert.deepStrictEqual(ip, Option.some("192.168.1.42"))
    })

    it("is None when no interface qualifies", () => {
      assert.deepStrictEqual(
        NodeHostInfo.pickLanIp({
          lo: [nic("127.0.0.1", "IPv4", true)],
          eth0: undefined,
          virbr0: [nic("10.0.0.1")]
        }),
        Option.none()
      )
    })
  })
})
