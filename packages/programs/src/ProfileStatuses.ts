/**
 * How the profile library stands against the namespace: `repoman profile
 * list` (installed? in sync?), `diff` (the library version beside the
 * installed one), `show` (the rendered library version), and the check
 * `new` makes before it creates a container ({@link requireProfiles}).
 *
 * @since 0.1.0
 * @module
 */
import { ContainerRuntime, type ProfileInfo, ProfileSpec } from "@repoman/core/ContainerRuntime"
import { HostInfo } from "@repoman/core/HostInfo"
import type { ProfileName } from "@repoman/core/Ids"
import { type ProfileEntry, type ProfileOrigin, ProfileStore } from "@repoman/core/ProfileStore"
import type { RegistryDocument } from "@repoman/core/RegistryDocument"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { requireOwnProfile } from "./Owners.ts"
import { contextNow, prepareContext, prepareProfile, sameSpec } from "./PreparedProfile.ts"
import { Drifted, failWith, NotAllowed, NotInstalled } from "./ProfileInstallError.ts"

/**
 * One row of `repoman profile list`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProfileStatus {
  readonly name: ProfileName
  readonly origin: ProfileOrigin
  readonly shadows: boolean
  readonly location: string
  readonly installed: boolean
  /** `null` when not installed, or when the library version cannot be rendered (see `problem`). */
  readonly inSync: boolean | null
  readonly problem: string | null
}

/**
 * The library with, for each profile, whether it is installed in the
 * namespace and in sync with the library.
 *
 * @since 0.1.0
 * @category programs
 */
export const profileStatuses = Effect.fn("ProfileStatuses.profileStatuses")(function*() {
  const store = yield* ProfileStore
  const runtime = yield* ContainerRuntime
  const context = yield* contextNow
  const entries = yield* store.list()
  const installed = new Map((yield* runtime.listProfiles()).map((p) => [p.name as string, p]))
  return yield* Effect.forEach(entries, (entry: ProfileEntry) =>
    Effect.gen(function*() {
      const current = installed.get(entry.name)
      const prepared = yield* prepareProfile(entry.name, context).pipe(Effect.result)
      const problem = prepared._tag === "Failure" ? prepared.failure.message : null
      const inSync = current === undefined || prepared._tag === "Failure"
        ? null
        : sameSpec(prepared.success.spec, current)
      return {
        name: entry.name,
        origin: entry.origin,
        shadows: entry.shadows,
        location: entry.location,
        installed: current !== undefined,
        inSync,
        problem
      } satisfies ProfileStatus
    }))
})

/**
 * The two sides of `diff`: the rendered library version and the installed
 * one (`None` when not installed).
 *
 * @since 0.1.0
 * @category models
 */
export interface ProfileComparison {
  readonly name: ProfileName
  readonly library: ProfileSpec
  readonly installed: Option.Option<ProfileSpec>
  readonly equal: boolean
}

/**
 * Compares the rendered library version of a profile with the installed one.
 *
 * @since 0.1.0
 * @category programs
 */
export const compareProfile = Effect.fn("ProfileStatuses.compareProfile")(function*(name: ProfileName) {
  const runtime = yield* ContainerRuntime
  const prepared = yield* prepareProfile(name, yield* contextNow)
  const installed = yield* runtime.getProfile(name).pipe(
    Effect.map((p) =>
      Option.some(new ProfileSpec({ description: p.description, config: p.config, devices: p.devices }))
    ),
    Effect.catchReason("ContainerRuntimeError", "NotFound", () => Effect.succeedNone)
  )
  return {
    name,
    library: prepared.spec,
    installed,
    equal: Option.match(installed, { onNone: () => false, onSome: (i) => sameSpec(prepared.spec, i) })
  } satisfies ProfileComparison
})

/**
 * Renders a library profile for this host (what `show` prints).
 *
 * @since 0.1.0
 * @category programs
 */
export const renderProfile = Effect.fn("ProfileStatuses.renderProfile")(function*(name: ProfileName) {
  const store = yield* ProfileStore
  return yield* store.render(name, (yield* contextNow).variables)
})

/**
 * An installed profile a new container will get, as the runtime reads it.
 *
 * @since 0.1.0
 * @category models
 */
export interface RequiredProfile {
  readonly name: ProfileName
  readonly info: ProfileInfo
}

/**
 * Checks the profiles a new container will get, against the registry
 * `document` the caller has loaded: each must be installed, be the user's
 * (`NotYours` otherwise), pass the runtime's allow list (one put there by
 * other means may not), and one from the library must match its rendered
 * library version. The namespace's
 * `default` profile always exists and is not the library's, so it is not
 * looked at. Returns the others as installed, read by the runtime.
 *
 * @since 0.1.0
 * @category programs
 */
export const requireProfiles = Effect.fn("ProfileStatuses.requireProfiles")(function*(
  requested: ReadonlyArray<ProfileName>,
  document: RegistryDocument
) {
  const names = requested.filter((name) => name !== "default")
  // Nothing to check: skip reading the library and the host's variables.
  if (names.length === 0) return []
  const runtime = yield* ContainerRuntime
  const store = yield* ProfileStore
  const context = prepareContext(yield* HostInfo, document)
  const library = new Set((yield* store.list()).map((e) => e.name as string))
  const required: Array<RequiredProfile> = []
  for (const name of names) {
    const installed = yield* runtime.getProfile(name).pipe(
      Effect.catchReason("ContainerRuntimeError", "NotFound", () => failWith(new NotInstalled({ profile: name })))
    )
    yield* requireOwnProfile(installed)
    if (library.has(name)) {
      const prepared = yield* prepareProfile(name, context)
      if (!sameSpec(prepared.spec, installed)) return yield* failWith(new Drifted({ profile: name }))
    }
    const info = runtime.inspectProfile(installed, context.idMapping)
    if (Option.isSome(info.refusal)) {
      return yield* failWith(new NotAllowed({ profile: name, detail: info.refusal.value }))
    }
    required.push({ name, info })
  }
  return required as ReadonlyArray<RequiredProfile>
})
