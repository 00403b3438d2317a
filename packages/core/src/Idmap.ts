/**
 * The uid mapping (DESIGN.md, "Uid mapping"): container uid/gid 1000 is the
 * host user, and nothing else of the host is mapped in.
 *
 * - `idmap` (default): the instance gets `raw.idmap` for exactly the host
 *   user's uid and gid; the Incus project restricts disk paths to the repos
 *   root and idmaps to those ids. Needs `root:<uid>:1` in /etc/subuid and
 *   `root:<gid>:1` in /etc/subgid (incusd reads them at start).
 * - `shift`: the repo disk is mounted with `shift=true` (container root then
 *   writes host-root-owned files into the repo); the project cannot restrict
 *   disk paths, so repoman checks every path itself.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Schema from "effect/Schema"

/**
 * How container ids map to the host.
 *
 * @since 0.1.0
 */
export const UidMode = Schema.Literals(["idmap", "shift"])
/**
 * The decoded type of the `UidMode` schema.
 *
 * @since 0.1.0
 */
export type UidMode = typeof UidMode.Type

/** The uid and gid inside the container that stand for the host user. */
export const CONTAINER_ID = 1000

/**
 * The `raw.idmap` value mapping the host user to 1000:1000.
 *
 * @since 0.1.0
 */
export const rawIdmap = (uid: number, gid: number): string =>
  uid === gid ? `both ${uid} ${CONTAINER_ID}` : `uid ${uid} ${CONTAINER_ID}\ngid ${gid} ${CONTAINER_ID}`

/**
 * Whether a subordinate-id file (`/etc/subuid` format: `owner:start:count`
 * per line) lets `root` (incusd) map `id`.
 *
 * @since 0.1.0
 */
export const delegates = (content: string, id: number): boolean =>
  content.split("\n").some((line) => {
    const [owner, start, count] = line.trim().split(":")
    const s = Number(start)
    const c = Number(count)
    return owner === "root" && Number.isInteger(s) && Number.isInteger(c) && id >= s && id < s + c
  })

/**
 * The lines missing from /etc/subuid and /etc/subgid for the host user.
 *
 * @since 0.1.0
 */
export interface Delegation {
  readonly missing: ReadonlyArray<{ readonly file: string; readonly line: string }>
}

/**
 * Reads /etc/subuid and /etc/subgid (paths overridable for tests) and says
 * which delegation lines are missing.
 *
 * @since 0.1.0
 */
export const checkDelegation = (
  ids: { readonly uid: number; readonly gid: number },
  files: { readonly subuid: string; readonly subgid: string } = { subuid: "/etc/subuid", subgid: "/etc/subgid" }
) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const read = (file: string) => fs.readFileString(file).pipe(Effect.orElseSucceed(() => ""))
    const missing: Array<{ file: string; line: string }> = []
    if (!delegates(yield* read(files.subuid), ids.uid)) missing.push({ file: files.subuid, line: `root:${ids.uid}:1` })
    if (!delegates(yield* read(files.subgid), ids.gid)) missing.push({ file: files.subgid, line: `root:${ids.gid}:1` })
    return { missing } satisfies Delegation
  })

/**
 * The commands that add the missing lines and restart Incus.
 *
 * @since 0.1.0
 */
export const delegationCommands = (delegation: Delegation): ReadonlyArray<string> => [
  ...delegation.missing.map(({ file, line }) => `echo '${line}' >> ${file}`),
  "systemctl restart incus   # or, without systemd: incus admin shutdown, then start incusd again"
]

/**
 * The restriction keys of repoman's Incus project for a uid mode.
 *
 * @since 0.1.0
 */
export const projectRestrictions = (options: {
  readonly mode: UidMode
  readonly uid: number
  readonly gid: number
  readonly diskPaths: ReadonlyArray<string>
}): Readonly<Record<string, string>> => ({
  "restricted": "true",
  "restricted.containers.privilege": "unprivileged",
  "restricted.containers.nesting": "block",
  "restricted.containers.lowlevel": "block",
  "restricted.devices.disk": "allow",
  ...(options.mode === "idmap"
    ? {
      "restricted.devices.disk.paths": options.diskPaths.join(","),
      "restricted.idmap.uid": String(options.uid),
      "restricted.idmap.gid": String(options.gid)
    }
    : {}),
  "features.images": "false",
  "features.profiles": "true"
})
