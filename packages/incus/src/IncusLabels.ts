/**
 * How repoman marks and labels what it writes into Incus: every object it
 * makes carries `user.repoman.managed=true`, `user.repoman.version` and
 * `user.repoman.owner` (the host uid it was made for; {@link markManaged},
 * the one place these keys are added), and repoman's labels (`project`,
 * `repo`, `link.<name>`, ...) are `user.repoman.<label>` config keys. An
 * instance also records the image it was made from in `user.repoman.image`.
 *
 * @since 0.1.0
 * @module
 */
import type { Labels } from "@repoman/core/ContainerRuntime"
import { version } from "@repoman/core/Version"
import * as Option from "effect/Option"
import type { StringMap } from "./IncusApi.ts"

/**
 * The prefix of repoman's config keys.
 *
 * @since 0.1.0
 * @category labels
 */
export const PREFIX = "user.repoman."

/**
 * The config keys that mark an Incus object as made by repoman.
 *
 * @since 0.1.0
 * @category labels
 */
export const managedConfig: StringMap = {
  [`${PREFIX}managed`]: "true",
  [`${PREFIX}version`]: version
}

/**
 * The config key recording the host uid an object was made for.
 *
 * @since 0.1.0
 * @category labels
 */
export const ownerKey = `${PREFIX}owner`

/**
 * The instance config key recording the image an instance was created from.
 *
 * @since 0.1.0
 * @category labels
 */
export const imageKey = `${PREFIX}image`

/**
 * `config` with repoman's managed keys added, and the owner's uid.
 *
 * @since 0.1.0
 * @category labels
 */
export const markManaged = (config: StringMap, owner: number): StringMap => ({
  ...config,
  ...managedConfig,
  [ownerKey]: String(owner)
})

/**
 * The owner an object's config records, if any.
 *
 * @since 0.1.0
 * @category labels
 */
export const ownerOf = (config: StringMap): Option.Option<number> => {
  const value = config[ownerKey]
  return value !== undefined && /^\d+$/.test(value) ? Option.some(Number(value)) : Option.none()
}

/**
 * Whether an object's config carries repoman's managed key: repoman made it.
 *
 * @since 0.1.0
 * @category labels
 */
export const isManaged = (config: StringMap): boolean => config[`${PREFIX}managed`] === "true"

/**
 * `config` without repoman's managed keys and owner (a profile reads back as
 * it was put).
 *
 * @since 0.1.0
 * @category labels
 */
export const withoutManaged = (config: StringMap): StringMap =>
  Object.fromEntries(Object.entries(config).filter(([key]) => !(key in managedConfig) && key !== ownerKey))

/**
 * The config keys of `labels`.
 *
 * @since 0.1.0
 * @category labels
 */
export const labelConfig = (labels: Labels): StringMap =>
  Object.fromEntries(Object.entries(labels).map(([k, v]) => [`${PREFIX}${k}`, v]))

const ownKeys = new Set(["managed", "version", "owner", "image"].map((k) => `${PREFIX}${k}`))

/**
 * repoman's labels in a config map: the `user.repoman.*` keys other than
 * the ones the runtime keeps for itself.
 *
 * @since 0.1.0
 * @category labels
 */
export const labelsOf = (config: StringMap): Labels =>
  Object.fromEntries(
    Object.entries(config).flatMap(([k, v]) =>
      k.startsWith(PREFIX) && !ownKeys.has(k) ? [[k.slice(PREFIX.length), v]] : []
    )
  )
