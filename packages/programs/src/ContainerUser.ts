/**
 * The container user that stands for the host user: uid/gid 1000, its name
 * and home read from the container's /etc/passwd (images differ: `ubuntu`,
 * `debian`, a cloud-init user...).
 *
 * @since 0.1.0
 * @module
 */
import { ContainerRuntime } from "@repoman/core/ContainerRuntime"
import { CONTAINER_ID } from "@repoman/core/IdMapping"
import type { ProjectName } from "@repoman/core/Ids"
import * as Effect from "effect/Effect"

/**
 * The uid-1000 user of a container.
 *
 * @since 0.1.0
 * @category models
 */
export interface ContainerUser {
  readonly uid: number
  readonly gid: number
  readonly name: string
  readonly home: string
}

/**
 * Finds the uid-1000 entry of an /etc/passwd text.
 *
 * @since 0.1.0
 * @category utils
 */
export const fromPasswd = (passwd: string): ContainerUser | undefined => {
  for (const line of passwd.split("\n")) {
    const [name, , uid, gid, , home] = line.split(":")
    if (uid === String(CONTAINER_ID) && name !== undefined && name.length > 0) {
      return { uid: CONTAINER_ID, gid: Number(gid ?? CONTAINER_ID), name, home: home || `/home/${name}` }
    }
  }
  return undefined
}

/**
 * Reads the uid-1000 user of a running container; when the image has none,
 * falls back to `fallbackHome` as home so tools still get a writable HOME.
 *
 * @since 0.1.0
 * @category programs
 */
export const containerUser = (name: ProjectName, fallbackHome: string) =>
  Effect.gen(function*() {
    const runtime = yield* ContainerRuntime
    const result = yield* runtime.exec(name, ["cat", "/etc/passwd"])
    return fromPasswd(result.stdout) ?? { uid: CONTAINER_ID, gid: CONTAINER_ID, name: "user", home: fallbackHome }
  })
