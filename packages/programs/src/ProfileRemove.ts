/**
 * `repoman profile remove`: deletes an installed profile.
 *
 * @since 0.1.0
 * @module
 */
import { ContainerRuntime } from "@repoman/core/ContainerRuntime"
import type { ProfileName } from "@repoman/core/Ids"
import * as Effect from "effect/Effect"
import { failWith, InUse } from "./ProfileInstallError.ts"

/**
 * Deletes an installed profile; `InUse` (naming the instances) while any use
 * it. Host files are never touched, and the namespace's allowed paths stay.
 *
 * @since 0.1.0
 * @category programs
 */
export const removeProfile = Effect.fn("ProfileRemove.removeProfile")(function*(name: ProfileName) {
  const runtime = yield* ContainerRuntime
  const profile = yield* runtime.getProfile(name)
  if (profile.usedBy.length > 0) return yield* failWith(new InUse({ profile: name, users: profile.usedBy }))
  yield* runtime.deleteProfile(name)
})
