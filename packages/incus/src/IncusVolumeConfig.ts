/**
 * How a repo volume (`Volume` of `@repoman/core/ContainerRuntime`) is an Incus custom storage volume: the
 * Incus policy of repoman's repo volumes.
 *
 * | intent | Incus |
 * | --- | --- |
 * | the volume of instance `NAME` | custom volume `NAME` in the project, in the pool of the default profile's root disk |
 * | made by repoman, for whom | `user.repoman.managed`, `user.repoman.version`, `user.repoman.owner` ({@link markManaged}) |
 * | made for instance `NAME` | `user.repoman.instance=NAME` |
 * | its root is the container user's | `initial.uid=1000`, `initial.gid=1000`, `initial.mode=0755` |
 * | automatic snapshots | `snapshots.schedule`, `snapshots.expiry` |
 * | mounted at `path` | disk device `repo` with `pool`, `source=NAME`, `path` |
 *
 * @since 0.1.0
 * @module
 */
import { RepoVolume, type SnapshotPolicy } from "@repoman/core/ContainerRuntime"
import { CONTAINER_ID } from "@repoman/core/IdMapping"
import { ProjectName } from "@repoman/core/Ids"
import * as DateTime from "effect/DateTime"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { nameFromUrl, type StorageVolume, type StringMap } from "./IncusApi.ts"
import { isManaged, markManaged, ownerOf, PREFIX } from "./IncusLabels.ts"

/**
 * The volume config key recording the instance a repo volume was made for.
 *
 * @since 0.1.0
 * @category labels
 */
export const instanceKey = `${PREFIX}instance`

const SCHEDULE = "snapshots.schedule"
const EXPIRY = "snapshots.expiry"

/**
 * The config of a new repo volume for instance `name`, owned by host uid
 * `owner`: its root the container user's.
 *
 * @since 0.1.0
 * @category volumes
 */
export const repoVolumeConfig = (name: string, owner: number): StringMap =>
  markManaged({
    [instanceKey]: name,
    "initial.uid": String(CONTAINER_ID),
    "initial.gid": String(CONTAINER_ID),
    "initial.mode": "0755"
  }, owner)

/**
 * A volume's config made repoman's for instance `name` and host uid `owner`
 * (an imported one: what its archive said of owners and schedules goes).
 *
 * @since 0.1.0
 * @category volumes
 */
export const adoptedConfig = (config: StringMap, name: string, owner: number): StringMap => ({
  ...Object.fromEntries(
    Object.entries(config).filter(([k]) => !k.startsWith(PREFIX) && k !== SCHEDULE && k !== EXPIRY)
  ),
  ...repoVolumeConfig(name, owner)
})

/**
 * A volume's config with the automatic snapshots of `policy` (none: taken away).
 *
 * @since 0.1.0
 * @category volumes
 */
export const withSnapshotPolicy = (config: StringMap, policy: SnapshotPolicy | undefined): StringMap => {
  const { [EXPIRY]: _expiry, [SCHEDULE]: _schedule, ...rest } = config
  return {
    ...rest,
    ...(policy === undefined ? {} : { [SCHEDULE]: policy.schedule }),
    ...(policy?.expiry === undefined ? {} : { [EXPIRY]: policy.expiry })
  }
}

/**
 * Why volume `name` may not be used as the repo volume of instance `name`
 * for host uid `owner`, if it may not: not repoman's, another owner's, or
 * made for another instance.
 *
 * @since 0.1.0
 * @category volumes
 */
export const volumeRefusal = (config: StringMap, name: string, owner: number): string | undefined => {
  if (!isManaged(config)) return "was not made by repoman"
  const recorded = ownerOf(config)
  if (Option.isNone(recorded)) return "records no owner"
  if (recorded.value !== owner) return `belongs to host uid ${recorded.value}`
  const made = config[instanceKey]
  return made === name ? undefined : `was made for ${made === undefined ? "no instance" : `instance ${made}`}`
}

const asProjectName = Schema.decodeUnknownOption(ProjectName)

/**
 * A custom volume as a {@link RepoVolume}, when its name can be an
 * instance's (`None` otherwise).
 *
 * @since 0.1.0
 * @category volumes
 */
export const toRepoVolume = (volume: StorageVolume): Option.Option<RepoVolume> =>
  Option.map(asProjectName(volume.name), (name) =>
    new RepoVolume({
      name,
      usedBy: volume.used_by.filter((u) => u.startsWith("/1.0/instances/")).flatMap((u) =>
        Option.toArray(asProjectName(nameFromUrl(u)))
      ),
      managed: isManaged(volume.config),
      owner: ownerOf(volume.config),
      createdAt: Option.getOrElse(DateTime.make(volume.created_at), () => DateTime.makeUnsafe(0)),
      snapshotSchedule: Option.fromUndefinedOr(volume.config[SCHEDULE]),
      snapshotExpiry: Option.fromUndefinedOr(volume.config[EXPIRY])
    }))
