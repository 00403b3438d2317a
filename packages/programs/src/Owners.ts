/**
 * The owner check every command makes before it acts on an object of the
 * container engine (see `@repoman/core/Ownership`): repoman acts only on
 * namespaces, containers and profiles it made for the same host user.
 *
 * - A container or profile another user's repoman made, or that no repoman
 *   made, is refused with {@link NotYours}.
 * - One made by a repoman older than owners is adopted (its owner recorded)
 *   when something only this user could have set names them: a container's
 *   or a namespace's id mapping maps their uid; a profile lies in a
 *   namespace that is theirs. Otherwise it is refused too.
 * - A namespace an admin granted to a restricted client (`incus-user`'s
 *   `user-<uid>`) is the user's as long as no other user's repoman made it:
 *   the engine itself binds it to them.
 *
 * @since 0.1.0
 * @module
 */
import { ContainerRuntime, type Instance, type Namespace, type Profile } from "@repoman/core/ContainerRuntime"
import type { ProjectName } from "@repoman/core/Ids"
import { isUsable, mapsUser, type Ownership, ownership, refusalOf } from "@repoman/core/Ownership"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { LifecycleError, NotYours } from "./LifecycleError.ts"

const refuse = (kind: string, name: string, namespace: string, why: string) =>
  Effect.fail(new LifecycleError({ reason: new NotYours({ kind, name, namespace, why }) }))

/**
 * Whose a namespace is for the runtime's user: a restricted client's
 * granted namespace counts as theirs unless another user's repoman made it.
 *
 * @since 0.1.0
 * @category programs
 */
export const namespaceOwnership = Effect.fn("Owners.namespaceOwnership")(function*(namespace: Namespace) {
  const runtime = yield* ContainerRuntime
  const access = yield* runtime.access()
  const found = ownership(namespace, runtime.owner, mapsUser(namespace.idMapping, runtime.owner))
  if (access.restricted && access.namespaces.includes(namespace.name) && found._tag !== "OtherUser") {
    return { _tag: "Own" } satisfies Ownership
  }
  return found
})

/**
 * Reads namespace `name` and fails with {@link NotYours} unless it is the
 * user's; a legacy one is adopted (its owner recorded). Errors of the
 * runtime (a missing namespace is `NotFound`) pass through.
 *
 * @since 0.1.0
 * @category programs
 */
export const requireOwnNamespace = Effect.fn("Owners.requireOwnNamespace")(function*(name: string) {
  const runtime = yield* ContainerRuntime
  const namespace = yield* runtime.getNamespace(name)
  const found = yield* namespaceOwnership(namespace)
  const why = refusalOf(found)
  if (why !== undefined) return yield* refuse("Incus project", name, name, why)
  if (found._tag === "Legacy") yield* runtime.adopt("namespace", name)
  return namespace
})

/**
 * Fails with {@link NotYours} unless `instance` is the user's; a legacy one
 * whose id mapping maps the user's uid is adopted.
 *
 * @since 0.1.0
 * @category programs
 */
export const requireOwnInstance = Effect.fn("Owners.requireOwnInstance")(function*(instance: Instance) {
  const runtime = yield* ContainerRuntime
  const found = ownership(instance, runtime.owner, mapsUser(instance.idMapping, runtime.owner))
  const why = refusalOf(found)
  if (why !== undefined) return yield* refuse("container", instance.name, runtime.namespace, why)
  if (found._tag === "Legacy") yield* runtime.adopt("instance", instance.name)
  return instance
})

/**
 * Reads container `name` and fails with {@link NotYours} unless it is the
 * user's (see {@link requireOwnInstance}).
 *
 * @since 0.1.0
 * @category programs
 */
export const ownInstance = Effect.fn("Owners.ownInstance")(function*(name: ProjectName) {
  const runtime = yield* ContainerRuntime
  return yield* requireOwnInstance(yield* runtime.get(name))
})

/**
 * Fails with {@link NotYours} unless `profile` is the user's; a legacy one
 * is adopted when the runtime's namespace is the user's.
 *
 * @since 0.1.0
 * @category programs
 */
export const requireOwnProfile = Effect.fn("Owners.requireOwnProfile")(function*(profile: Profile) {
  const runtime = yield* ContainerRuntime
  const legacy = profile.managed && Option.isNone(profile.owner)
  const namespaceIsOwn = legacy &&
    isUsable(yield* namespaceOwnership(yield* runtime.getNamespace(runtime.namespace)))
  const found = ownership(profile, runtime.owner, namespaceIsOwn)
  const why = refusalOf(found)
  if (why !== undefined) return yield* refuse("profile", profile.name, runtime.namespace, why)
  if (found._tag === "Legacy") yield* runtime.adopt("profile", profile.name)
  return profile
})
