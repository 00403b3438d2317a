/**
 * How the ids of a container map to the host: container uid/gid 1000 is the
 * host user, and nothing else of the host is mapped in.
 *
 * - `idmap` (the registry's default uid mode, {@link IdMapping} `HostUser`):
 *   the host user's uid and gid are mapped to 1000 inside, and the namespace
 *   restricts host paths and id maps to exactly those. The host must
 *   delegate the user's ids to the engine once: `root:<uid>:1` in
 *   /etc/subuid and `root:<gid>:1` in /etc/subgid ({@link checkDelegation}),
 *   beside the range the engine gives each container of its own (at least
 *   {@link RANGE_SIZE} ids for root; Incus's packages add
 *   `root:1000000:1000000000`).
 * - `shift` (`Shift`): host mounts are shifted instead (container root then
 *   writes host-root-owned files into the repo); the namespace cannot
 *   restrict host paths, so repoman checks every path itself.
 *
 * How an engine expresses either (Incus: `raw.idmap`, `shift=true`,
 * `restricted.idmap.*`) is the runtime's business.
 *
 * @since 0.1.0
 * @module
 */
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Schema from "effect/Schema"

/**
 * The uid mode of the registry (`[defaults] uid_mode`).
 *
 * @since 0.1.0
 * @category models
 */
export const UidMode = Schema.Literals(["idmap", "shift"])
/**
 * The decoded type of the `UidMode` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type UidMode = typeof UidMode.Type

/**
 * The uid and gid inside the container that stand for the host user.
 *
 * @since 0.1.0
 * @category constants
 */
export const CONTAINER_ID = 1000

/**
 * The host user's uid and gid are mapped to {@link CONTAINER_ID} inside;
 * container root is an unprivileged host id.
 *
 * @since 0.1.0
 * @category models
 */
export const HostUser = Schema.TaggedStruct("HostUser", { uid: Schema.Int, gid: Schema.Int })

/**
 * Host mounts are shifted (the legacy `shift` mode): container root writes
 * host-root-owned files into them.
 *
 * @since 0.1.0
 * @category models
 */
export const Shift = Schema.TaggedStruct("Shift", {})

/**
 * How an instance's (or a namespace's) ids map to the host.
 *
 * @since 0.1.0
 * @category models
 */
export const IdMapping = Schema.Union([HostUser, Shift])
/**
 * The decoded type of the `IdMapping` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type IdMapping = typeof IdMapping.Type

/**
 * The id mapping of a uid mode for the host user's `uid` and `gid`.
 *
 * @example
 * ```ts
 * import { idMappingFor } from "@repoman/core/IdMapping"
 * idMappingFor("idmap", { uid: 1500, gid: 1500 }) // { _tag: "HostUser", uid: 1500, gid: 1500 }
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const idMappingFor = (
  mode: UidMode,
  host: { readonly uid: number; readonly gid: number }
): IdMapping => mode === "shift" ? { _tag: "Shift" } : { _tag: "HostUser", uid: host.uid, gid: host.gid }

/**
 * Whether a subordinate-id file (`/etc/subuid` format: `owner:start:count`
 * per line) lets `root` (incusd) map `id`.
 *
 * @since 0.1.0
 * @category utils
 */
export const delegates = (content: string, id: number): boolean =>
  content.split("\n").some((line) => {
    const [owner, start, count] = line.trim().split(":")
    const s = Number(start)
    const c = Number(count)
    return owner === "root" && Number.isInteger(s) && Number.isInteger(c) && id >= s && id < s + c
  })

/**
 * How many host ids each container gets for its own range.
 *
 * @since 0.1.0
 * @category constants
 */
export const RANGE_SIZE = 65536

/**
 * How many containers with an id range of their own ({@link RANGE_SIZE}
 * ids each) the largest range of `root` in a subordinate-id file holds.
 *
 * @since 0.1.0
 * @category utils
 */
export const rangeRoom = (content: string): number =>
  Math.max(
    0,
    ...content.split("\n").map((line) => {
      const [owner, start, count] = line.trim().split(":")
      const c = Number(count)
      return owner === "root" && Number.isInteger(Number(start)) && Number.isInteger(c) ? Math.floor(c / RANGE_SIZE) : 0
    })
  )

/**
 * The lines missing from /etc/subuid and /etc/subgid for the host user.
 *
 * @since 0.1.0
 * @category models
 */
export interface Delegation {
  readonly missing: ReadonlyArray<{ readonly file: string; readonly line: string }>
  /** How many containers with a host id range of their own root's ranges hold. */
  readonly room: number
}

/**
 * Reads /etc/subuid and /etc/subgid (paths overridable for tests) and says
 * which delegation lines are missing.
 *
 * @since 0.1.0
 * @category utils
 */
export const checkDelegation = (
  ids: { readonly uid: number; readonly gid: number },
  files: { readonly subuid: string; readonly subgid: string } = { subuid: "/etc/subuid", subgid: "/etc/subgid" }
) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const read = (file: string) => fs.readFileString(file).pipe(Effect.orElseSucceed(() => ""))
    const missing: Array<{ file: string; line: string }> = []
    const subuid = yield* read(files.subuid)
    const subgid = yield* read(files.subgid)
    if (!delegates(subuid, ids.uid)) missing.push({ file: files.subuid, line: `root:${ids.uid}:1` })
    if (!delegates(subgid, ids.gid)) missing.push({ file: files.subgid, line: `root:${ids.gid}:1` })
    // Each container gets a range of its own from root's: there must be one.
    if (rangeRoom(subuid) === 0) missing.push({ file: files.subuid, line: "root:1000000:1000000000" })
    if (rangeRoom(subgid) === 0) missing.push({ file: files.subgid, line: "root:1000000:1000000000" })
    return { missing, room: Math.min(rangeRoom(subuid), rangeRoom(subgid)) } satisfies Delegation
  })

/**
 * The commands (as root) that add the missing lines. The user's own ids
 * need no restart (Incus maps them through `newuidmap`, which reads the
 * files at every container start); root's range for containers is read by
 * incusd when it starts, so adding that one needs a restart.
 *
 * @since 0.1.0
 * @category utils
 */
export const delegationCommands = (delegation: Delegation): ReadonlyArray<string> => [
  ...delegation.missing.map(({ file, line }) => `echo '${line}' >> ${file}`),
  ...(delegation.missing.some((m) => !m.line.endsWith(":1"))
    ? [
      "systemctl restart incus   # incusd reads root's range at start (without systemd: incus admin shutdown, start it)"
    ]
    : [])
]
