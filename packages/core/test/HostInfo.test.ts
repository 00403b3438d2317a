import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as HostInfo from "../src/HostInfo.ts"

describe("HostInfo", () => {
  it.effect("layerTest provides defaults and overrides", () =>
    Effect.gen(function*() {
      const host = yield* HostInfo.HostInfo
      assert.deepStrictEqual(
        [host.user, host.uid, host.gid, host.home, host.lanIp],
        ["dev", 1234, 1000, "/home/dev", Option.some("192.168.1.42")]
      )
    }).pipe(Effect.provide(HostInfo.layerTest({ uid: 1234, lanIp: Option.some("192.168.1.42") }))))
})
