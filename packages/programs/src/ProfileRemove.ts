/**
 * `repoman profile remove`: deletes an installed profile, and takes back the
 * host paths the namespace allowed only for it.
 *
 * @since 0.1.0
 * @module
 */
import { ConfigPaths, expandHome } from "@repoman/core/ConfigPaths"
import { ContainerRuntime, coveredBy } from "@repoman/core/ContainerRuntime"
import type { ProfileName } from "@repoman/core/Ids"
import { Registry } from "@repoman/core/Registry"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import { requireOwnProfile } from "./Owners.ts"
import { failWith, InUse } from "./ProfileInstallError.ts"

/**
 * What `remove` did: the allowed host paths it took back from the
 * namespace (those only the profile needed).
 *
 * @since 0.1.0
 * @category models
 */
export interface RemoveReport {
  readonly name: ProfileName
  readonly disallowed: ReadonlyArray<string>
}

/**
 * Deletes an installed profile; `InUse` (naming the instances) while any use
 * it, `NotYours` when another user's repoman (or no repoman) made it. Then
 * takes back the namespace's allowed paths that were the profile's sources
 * and that nothing else needs: no other profile mounts from them, no
 * container mounts from them, and the repos root is not in them. Host files
 * are never touched. With restricted access (an admin set the paths) none
 * are taken back.
 *
 * @since 0.1.0
 * @category programs
 */
export const removeProfile = Effect.fn("ProfileRemove.removeProfile")(function*(name: ProfileName) {
  const runtime = yield* ContainerRuntime
  const registry = yield* Registry
  const { home } = yield* ConfigPaths
  const fs = yield* FileSystem.FileSystem
  const profile = yield* requireOwnProfile(yield* runtime.getProfile(name))
  if (profile.usedBy.length > 0) return yield* failWith(new InUse({ profile: name, users: profile.usedBy }))
  const namespace = yield* runtime.getNamespace(runtime.namespace)
  const idMapping = Option.getOrElse(namespace.idMapping, () => ({ _tag: "Shift" as const }))
  const sources = runtime.inspectProfile(profile, idMapping).mounts.map((m) => m.source)
  yield* runtime.deleteProfile(name)
  // A restricted client never widened the namespace (an admin set its paths): nothing to take back.
  if ((yield* runtime.access()).restricted) return { name, disallowed: [] } satisfies RemoveReport

  // What still needs an allowed path: the other profiles' and the containers' host sources, and the repos root.
  const others = (yield* runtime.listProfiles()).flatMap((p) =>
    runtime.inspectProfile(p, idMapping).mounts.map((m) => m.source)
  )
  const mounted = (yield* runtime.list()).flatMap((i) => [
    ...Option.toArray(i.repo).flatMap((r) => r._tag === "HostPath" ? [r.source] : []),
    ...i.mounts.map((m) => m.source)
  ])
  const document = yield* registry.load
  const root = expandHome(document.defaults.reposRoot, home)
  const realRoot = yield* fs.realPath(root).pipe(Effect.orElseSucceed(() => root))
  const needed = [...others, ...mounted, root, realRoot]
  const disallowed = [...new Set(sources)].filter((p) =>
    namespace.allowedPaths.includes(p) && !needed.some((n) => coveredBy(n, [p]))
  )
  if (disallowed.length > 0) yield* runtime.disallowPaths(disallowed)
  return { name, disallowed } satisfies RemoveReport
})
