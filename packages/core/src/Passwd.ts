/**
 * Entries of an `/etc/passwd` file, as read from a container. The file is
 * the container's, so nothing in it is trusted: a field that is not what
 * its place requires (an absolute path for a home or a shell, a name
 * without control characters) reads as missing.
 *
 * @since 0.1.0
 * @module
 */

/**
 * One user of a passwd file.
 *
 * @since 0.1.0
 * @category models
 */
export interface PasswdEntry {
  readonly name: string
  readonly uid: number
  readonly gid: number
  /** The home directory; `undefined` when the field is empty or not an absolute path. */
  readonly home: string | undefined
  /** The login shell; `undefined` when the field is empty or not an absolute path. */
  readonly shell: string | undefined
}

/** Whether `text` holds a control character (C0 or DEL). */
const hasControl = (text: string): boolean => [...text].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)

const absolute = (path: string | undefined): string | undefined =>
  path !== undefined && path.startsWith("/") && !hasControl(path) ? path : undefined

/**
 * The first entry of `passwd` for `uid`, or `undefined`.
 *
 * @example
 * ```ts
 * import { findUser } from "@repoman/core/Passwd"
 * findUser("root:x:0:0:root:/root:/bin/sh\nada:x:1000:1000::/home/ada:/bin/bash\n", 1000)?.shell // "/bin/bash"
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const findUser = (passwd: string, uid: number): PasswdEntry | undefined => {
  for (const line of passwd.split("\n")) {
    const [name = "", , uidField, gidField = "", , home, shell] = line.split(":")
    if (uidField !== String(uid) || name.length === 0 || hasControl(name)) continue
    const gid = /^\d{1,10}$/.test(gidField) ? Number(gidField) : uid
    return { name, uid, gid, home: absolute(home), shell: absolute(shell) }
  }
  return undefined
}
