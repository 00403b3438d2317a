/**
 * The directories Incus makes for a mount under the home (`~/.config` for a
 * mount at `~/.config/git`, `~/.local` and `~/.local/share` for one at
 * `~/.local/share/x`) belong to root inside, so tools run as the container
 * user cannot make `~/.config/gh` or `~/.local/bin` next to them. After
 * `new` (and after anything that adds a mount), they are given to the
 * container user (uid/gid 1000).
 *
 * Only directories of the container's own root filesystem: never a mount
 * point and never anything under one (a chown there would reach the host),
 * as the host reads the container's mount table (`ContainerRuntime.mountTable`,
 * which nothing inside can fake); when the engine cannot tell, nothing is
 * changed. Only directories root owns (what Incus made), each looked at
 * without following a symlink, and changed by `chown -h` (a symlink planted
 * meanwhile is changed itself, not what it points to). Incus keeps the
 * owner across restarts, so once is enough.
 *
 * @since 0.1.0
 * @module
 */
import { ContainerRuntime, ContainerRuntimeError, OperationFailed } from "@repoman/core/ContainerRuntime"
import type { Instance } from "@repoman/core/ContainerRuntime"
import { CONTAINER_ID } from "@repoman/core/IdMapping"
import type { ProjectName } from "@repoman/core/Ids"
import type { MountEntry } from "@repoman/core/Mountinfo"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { InvalidPath, LifecycleError } from "./LifecycleError.ts"

const inside = (path: string, dir: string) => path.startsWith(dir === "/" ? "/" : `${dir}/`)

/**
 * The directories strictly between `home` and each mount path under it,
 * shallowest first, leaving out any that is a mount path or lies under one.
 *
 * @since 0.1.0
 * @category utils
 */
export const mountParents = (home: string, mountPaths: ReadonlyArray<string>): ReadonlyArray<string> => {
  const parents = new Set<string>()
  for (const path of mountPaths) {
    if (!inside(path, home)) continue
    const rest = path.slice(home.length + 1).split("/").filter((p) => p.length > 0)
    for (let i = 1; i < rest.length; i++) parents.add(`${home}/${rest.slice(0, i).join("/")}`)
  }
  return [...parents]
    .filter((p) => !mountPaths.some((m) => p === m || inside(p, m)))
    .sort((a, b) => a.split("/").length - b.split("/").length || a.localeCompare(b))
}

/**
 * Whether `path` lies on the root filesystem of a mount table: the deepest
 * mount point holding it is `/` (and it is not a mount point itself).
 *
 * @since 0.1.0
 * @category utils
 */
export const onRootFilesystem = (table: ReadonlyArray<MountEntry>, path: string): boolean => {
  const holders = table.map((e) => e.mountPoint).filter((m) => path === m || inside(path, m))
  return holders.length > 0 && holders.every((m) => m === "/")
}

/**
 * Gives the container user the root-owned parents of the mounts under
 * `home` in a running container (see the module's overview); returns the
 * directories it changed.
 *
 * @since 0.1.0
 * @category programs
 */
export const ownMountParents = Effect.fn("ownMountParents")(
  function*(name: ProjectName, home: string, mountPaths: ReadonlyArray<string>) {
    const runtime = yield* ContainerRuntime
    const candidates = mountParents(home, mountPaths)
    if (candidates.length === 0) return []
    const table = yield* runtime.mountTable(name)
    if (Option.isNone(table)) return []
    const owned = yield* Effect.forEach(
      candidates.filter((p) => onRootFilesystem(table.value, p)),
      (path) =>
        Effect.map(
          runtime.fileInfo(name, path),
          (info) => Option.isSome(info) && info.value.type === "directory" && info.value.uid === 0 ? [path] : []
        ),
      { concurrency: 4 }
    )
    const paths = owned.flat()
    if (paths.length === 0) return []
    const out = yield* runtime.exec(name, ["chown", "-h", `${CONTAINER_ID}:${CONTAINER_ID}`, "--", ...paths])
    if (out.exitCode !== 0) {
      return yield* new ContainerRuntimeError({
        reason: new OperationFailed({
          kind: "instance",
          name,
          operation: "chown",
          detail: `chown ${paths.join(" ")}: ${out.stderr.trim()}`
        })
      })
    }
    return paths
  }
)

/**
 * {@link ownMountParents} for every mount an instance has now: its repo,
 * its own mounts and its profiles' (for `config`, after it changed them;
 * nothing happens unless the instance runs).
 *
 * @since 0.1.0
 * @category programs
 */
export const ownInstanceMountParents = Effect.fn("ownInstanceMountParents")(
  function*(instance: Instance, home: string) {
    const runtime = yield* ContainerRuntime
    if (instance.status !== "Running") return []
    const idMapping = Option.getOrElse(instance.idMapping, () => ({ _tag: "Shift" } as const))
    const profileMounts = yield* Effect.forEach(instance.profiles, (p) =>
      runtime.getProfile(p).pipe(
        Effect.map((profile) => runtime.inspectProfile(profile, idMapping).mounts.map((m) => m.path)),
        Effect.orElseSucceed((): ReadonlyArray<string> => [])
      ), { concurrency: "unbounded" })
    return yield* ownMountParents(instance.name, home, [
      ...Option.toArray(instance.repo).map((r) => r.path),
      ...instance.mounts.map((m) => m.path),
      ...profileMounts.flat()
    ])
  }
)

/**
 * Gives the container user a home at the host user's home path, owned by
 * uid/gid 1000, so that `~/...` means the same place on both sides: profiles
 * mount `~/.claude` and friends there, and agents that key state by path agree.
 *
 * @since 0.1.0
 * @category programs
 */
export const prepareHome = (name: ProjectName, home: string) =>
  Effect.gen(function*() {
    const runtime = yield* ContainerRuntime
    yield* runtime.makeDirectory(name, home, { uid: CONTAINER_ID, gid: CONTAINER_ID }).pipe(
      Effect.catchTag("ContainerRuntimeError", (e) =>
        Effect.fail(
          new LifecycleError({
            reason: new InvalidPath({ path: home, detail: `cannot prepare the home directory: ${e.message}` })
          })
        ))
    )
  })
