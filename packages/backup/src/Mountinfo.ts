/**
 * The question the backup guard asks of the host's mount table (see
 * `@repoman/core/Mountinfo`): is the backup root on a different mount than
 * the repos root?
 *
 * @since 0.1.0
 * @module
 */
import { type MountEntry, mountOf } from "@repoman/core/Mountinfo"
import * as Option from "effect/Option"

export {
  /**
   * One mount (see `@repoman/core/Mountinfo`).
   *
   * @since 0.1.0
   * @category models
   */
  type MountEntry,
  /**
   * The mount holding a path (see `@repoman/core/Mountinfo`).
   *
   * @since 0.1.0
   * @category utils
   */
  mountOf,
  /**
   * Parses a mount table (see `@repoman/core/Mountinfo`).
   *
   * @since 0.1.0
   * @category utils
   */
  parse,
  /**
   * Reads and parses `/proc/self/mountinfo` (see `@repoman/core/Mountinfo`).
   *
   * @since 0.1.0
   * @category utils
   */
  read
} from "@repoman/core/Mountinfo"

/**
 * Whether `backupRoot` is on a mount of its own: a different filesystem
 * (mount and device) than the one holding `reposRoot` (when given), and not
 * the root filesystem or a bare `autofs` trigger.
 *
 * @since 0.1.0
 * @category utils
 */
export const separateMount = (
  entries: ReadonlyArray<MountEntry>,
  backupRoot: string,
  reposRoot: string | undefined
): { readonly mounted: boolean; readonly mount: Option.Option<MountEntry> } => {
  const mount = mountOf(entries, backupRoot)
  if (Option.isNone(mount)) return { mounted: false, mount }
  if (mount.value.mountPoint === "/" || mount.value.fsType === "autofs") return { mounted: false, mount }
  if (reposRoot === undefined) return { mounted: true, mount }
  const repos = mountOf(entries, reposRoot)
  const same = Option.isSome(repos) && (repos.value.id === mount.value.id || repos.value.device === mount.value.device)
  return { mounted: !same, mount }
}
