/**
 * `RepomanLive` as a script uses it: the type-level contract (a replacement
 * BackupTarget layer changes nothing else) and the overrides at run time.
 */
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import { BackupTarget } from "@repoman/core/BackupTarget"
import * as BackupTargetMemory from "@repoman/core/BackupTargetMemory"
import { ConfigPaths } from "@repoman/core/ConfigPaths"
import type { HostInfoError } from "@repoman/core/HostInfo"
import type { Registry } from "@repoman/core/Registry"
import { listProjects } from "@repoman/programs/ListProjects"
import { syncProjects } from "@repoman/programs/SyncProjects"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as RepomanLive from "../src/RepomanLive.ts"

type Provided<L> = L extends Layer.Layer<infer A, infer _E, infer _R> ? A : never
type Failure<L> = L extends Layer.Layer<infer _A, infer E, infer _R> ? E : never
type Required<L> = L extends Layer.Layer<infer _A, infer _E, infer R> ? R : never

describe("RepomanLive", () => {
  it("a replacement BackupTarget layer leaves the stack's type unchanged", () => {
    const replaced = RepomanLive.layer({ backupTarget: BackupTargetMemory.layer() })
    expectTypeOf(replaced).toEqualTypeOf<typeof RepomanLive.RepomanLive>()
    expectTypeOf<Provided<typeof replaced>>().toEqualTypeOf<RepomanLive.Services>()
    expectTypeOf<Failure<typeof replaced>>().toEqualTypeOf<HostInfoError>()
    expectTypeOf<Required<typeof replaced>>().toEqualTypeOf<never>()

    // A replacement may use what the stack provides (here the registry) ...
    const fromRegistry: Layer.Layer<BackupTarget, never, Registry> = BackupTargetMemory.layer()
    expectTypeOf(RepomanLive.layer({ backupTarget: fromRegistry })).toEqualTypeOf<typeof RepomanLive.RepomanLive>()
    // ... and its errors join the stack's.
    const failing = Layer.effect(BackupTarget, Effect.fail("no target" as const))
    expectTypeOf<Failure<ReturnType<typeof RepomanLive.layer<"no target">>>>().toEqualTypeOf<
      HostInfoError | "no target"
    >()
    expectTypeOf(RepomanLive.layer({ backupTarget: failing })).toEqualTypeOf<
      Layer.Layer<RepomanLive.Services, HostInfoError | "no target">
    >()

    // A script needing the core use cases runs on either stack, with nothing left to provide.
    const script = Effect.gen(function*() {
      const rows = yield* listProjects
      const events = yield* Stream.runCollect(syncProjects({ delete: false, dryRun: true }))
      return { rows, events }
    })
    const onReplaced = script.pipe(Effect.provide(replaced))
    expectTypeOf(onReplaced).toEqualTypeOf(script.pipe(Effect.provide(RepomanLive.RepomanLive)))
    expectTypeOf<Effect.Services<typeof onReplaced>>().toEqualTypeOf<never>()
  })

  it.effect("builds with another config dir and the replacement target", () =>
    Effect.gen(function*() {
      const paths = yield* ConfigPaths
      assert.strictEqual(paths.configDir, "/srv/repoman-config")
      assert.strictEqual(paths.registryFile, "/srv/repoman-config/repoman.toml")
      const status = yield* (yield* BackupTarget).check()
      assert.strictEqual(status.location, "memory:/elsewhere")
    }).pipe(
      Effect.provide(RepomanLive.layer({
        configDir: "/srv/repoman-config",
        incusProject: "elsewhere",
        incusSocket: "/nonexistent/incus.socket",
        backupTarget: BackupTargetMemory.layer({ location: "memory:/elsewhere" })
      }))
    ))
})
