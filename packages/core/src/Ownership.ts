/**
 * Whose an object of the container engine is. Every namespace, instance and
 * profile repoman makes records the host uid it was made for (its owner);
 * repoman acts only on objects it made for the same user:
 *
 * - `Own`: made by repoman for this user;
 * - `OtherUser`: recorded as another host user's (by their repoman, or by an
 *   admin who made it for them);
 * - `NotRepoman`: not made by repoman at all;
 * - `Legacy`: made by a repoman older than owners (no owner recorded), and
 *   something only this user could have set says it is theirs (its id
 *   mapping names their uid): it is adopted, its owner recorded;
 * - `Unproven`: made by an older repoman, and nothing says whose it is.
 *
 * @since 0.1.0
 * @module
 */
import * as Option from "effect/Option"
import type { IdMapping } from "./IdMapping.ts"

/**
 * What {@link ownership} found.
 *
 * @since 0.1.0
 * @category models
 */
export type Ownership =
  | { readonly _tag: "Own" }
  | { readonly _tag: "Legacy" }
  | { readonly _tag: "OtherUser"; readonly owner: number }
  | { readonly _tag: "NotRepoman" }
  | { readonly _tag: "Unproven" }

/**
 * What an object says about its maker.
 *
 * @since 0.1.0
 * @category models
 */
export interface Owned {
  readonly managed: boolean
  readonly owner: Option.Option<number>
}

/**
 * Whose `object` is, for host user `uid`. `evidence` says whether something
 * only that user could have set names them (see {@link mapsUser}); it
 * matters only for objects that record no owner.
 *
 * @example
 * ```ts
 * import * as Option from "effect/Option"
 * import { ownership } from "@repoman/core/Ownership"
 * ownership({ managed: true, owner: Option.some(1501) }, 1500, false) // { _tag: "OtherUser", owner: 1501 }
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const ownership = (object: Owned, uid: number, evidence: boolean): Ownership => {
  // An owner recorded for someone else (by their repoman, or by an admin who
  // made the object for them) makes it theirs, whoever made it.
  if (Option.isSome(object.owner) && object.owner.value !== uid) {
    return { _tag: "OtherUser", owner: object.owner.value }
  }
  if (!object.managed) return { _tag: "NotRepoman" }
  if (Option.isSome(object.owner)) return { _tag: "Own" }
  return evidence ? { _tag: "Legacy" } : { _tag: "Unproven" }
}

/**
 * Whether an id mapping maps exactly host user `uid` in (what repoman's
 * `idmap` mode records on a namespace and an instance): the evidence that a
 * legacy object is that user's.
 *
 * @since 0.1.0
 * @category utils
 */
export const mapsUser = (idMapping: Option.Option<IdMapping>, uid: number): boolean =>
  Option.isSome(idMapping) && idMapping.value._tag === "HostUser" && idMapping.value.uid === uid

/**
 * Whether repoman may act on the object: it is the user's, or a legacy one
 * it may adopt.
 *
 * @since 0.1.0
 * @category utils
 */
export const isUsable = (o: Ownership): boolean => o._tag === "Own" || o._tag === "Legacy"

/**
 * Why repoman leaves an object alone, in a few words (`belongs to host uid
 * 1501`), or `undefined` when it may act on it.
 *
 * @since 0.1.0
 * @category utils
 */
export const refusalOf = (o: Ownership): string | undefined => {
  switch (o._tag) {
    case "Own":
    case "Legacy":
      return undefined
    case "OtherUser":
      return `belongs to another user (host uid ${o.owner})`
    case "NotRepoman":
      return "was not made by repoman"
    case "Unproven":
      return "was made by an older repoman that recorded no owner, and nothing shows it is yours " +
        "(if it is, record your uid in its user.repoman.owner)"
  }
}
