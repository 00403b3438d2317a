/**
 * `node main.ts`: the morning routine on the real stack (`RepomanLive`:
 * your registry, Incus and backup target).
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { RepomanLive } from "@repoman/live/RepomanLive"
import * as Effect from "effect/Effect"
import { morning } from "./src/morning.ts"

morning.pipe(Effect.provide(RepomanLive), NodeRuntime.runMain)
