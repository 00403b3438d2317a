/**
 * `setup`: first-time bootstrap, idempotent. Creates (or brings in line) the
 * restricted Incus project, picks the storage pool, writes the registry and
 * the user profile directory.
 *
 * @since 0.1.0
 * @module
 */
import { ConfigPaths, expandHome } from "@repoman/core/ConfigPaths"
import { ContainerRuntime, NamespaceSpec, type StoragePool } from "@repoman/core/ContainerRuntime"
import { HostInfo } from "@repoman/core/HostInfo"
import { checkDelegation, delegationCommands, idMappingFor, type UidMode } from "@repoman/core/IdMapping"
import type { ImageRef } from "@repoman/core/Ids"
import { Registry } from "@repoman/core/Registry"
import { emptyDocument, type RegistryDocument } from "@repoman/core/RegistryDocument"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import * as Path from "effect/Path"
import { IdmapNotDelegated, InvalidPath, LifecycleError, StoragePoolMissing } from "./LifecycleError.ts"

/**
 * What the user chose; anything left out keeps its current (or default) value.
 *
 * @since 0.1.0
 * @category models
 */
export interface SetupInput {
  readonly reposRoot?: string
  readonly backupRoot?: string
  readonly incusProject?: string
  readonly image?: ImageRef
  readonly storagePool?: string
  readonly uidMode?: UidMode
  readonly lanIp?: string
}

/**
 * What setup did.
 *
 * @since 0.1.0
 * @category models
 */
export interface SetupReport {
  readonly registryFile: string
  readonly registry: "created" | "updated" | "unchanged"
  readonly namespace: string
  readonly pool: StoragePool
  readonly reposRoot: string
  readonly uidMode: UidMode
  readonly lanIp: Option.Option<string>
  readonly warnings: ReadonlyArray<string>
}

const COPY_ON_WRITE = new Set(["btrfs", "zfs", "lvm", "lvmcluster"])

/**
 * Warnings for a storage pool driver: `dir` copies the whole image for every
 * new container.
 *
 * @since 0.1.0
 * @category utils
 */
export const poolWarnings = (pool: StoragePool): ReadonlyArray<string> =>
  COPY_ON_WRITE.has(pool.driver)
    ? []
    : [
      `storage pool ${pool.name} uses the ${pool.driver} driver: every 'repoman new' copies the whole image (seconds per GB). ` +
      `A copy-on-write pool (btrfs, zfs, lvm-thin) clones it at once: e.g. 'incus storage create fast btrfs', then 'repoman setup --storage-pool fast'`
    ]

/**
 * The warning printed by setup and status when container root can write
 * host-root-owned files.
 *
 * @since 0.1.0
 * @category constants
 */
export const SHIFT_WARNING =
  "uid mode 'shift': container root writes files owned by host root (setuid ones too) into the repo; " +
  "'repoman setup --uid-mode idmap' maps only your own ids"

const lifecycle = (reason: LifecycleError["reason"]) => new LifecycleError({ reason })

const choosePool = (pools: ReadonlyArray<StoragePool>, wanted: string | undefined) => {
  const byName = (n: string) => pools.find((p) => p.name === n)
  const pool = wanted === undefined ? byName("default") ?? pools[0] : byName(wanted)
  return pool === undefined
    ? Effect.fail(lifecycle(
      new StoragePoolMissing({ ...(wanted === undefined ? {} : { wanted }), available: pools.map((p) => p.name) })
    ))
    : Effect.succeed(pool)
}

/**
 * Runs setup. Fails with `IdmapNotDelegated` (in `idmap` mode) before changing
 * anything when the host has not delegated the user's ids to Incus.
 *
 * @since 0.1.0
 * @category programs
 */
export const setup = Effect.fn("setup")(function*(
  input: SetupInput,
  idFiles?: { readonly subuid: string; readonly subgid: string }
) {
  const registry = yield* Registry
  const runtime = yield* ContainerRuntime
  const host = yield* HostInfo
  const paths = yield* ConfigPaths
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path

  const existing = yield* registry.load.pipe(
    Effect.map(Option.some),
    Effect.catchReason("RegistryError", "NotInitialized", () => Effect.succeedNone)
  )
  const current = Option.getOrElse(existing, () => emptyDocument)
  const defaults = {
    ...current.defaults,
    ...(input.reposRoot === undefined ? {} : { reposRoot: input.reposRoot }),
    ...(input.backupRoot === undefined ? {} : { backupRoot: input.backupRoot }),
    ...(input.incusProject === undefined ? {} : { incusProject: input.incusProject }),
    ...(input.image === undefined ? {} : { defaultImage: input.image }),
    ...(input.uidMode === undefined ? {} : { uidMode: input.uidMode })
  }
  const lanIp = input.lanIp !== undefined
    ? Option.some(input.lanIp)
    : current.host.lanIp !== undefined
    ? Option.some(current.host.lanIp)
    : host.lanIp

  // 1. The host side: delegation and the repos root.
  if (defaults.uidMode === "idmap") {
    const delegation = yield* checkDelegation(host, idFiles).pipe(Effect.provideService(FileSystem.FileSystem, fs))
    if (delegation.missing.length > 0) {
      return yield* lifecycle(
        new IdmapNotDelegated({
          missing: delegation.missing.map((m) => `${m.line} in ${m.file}`),
          commands: delegationCommands(delegation)
        })
      )
    }
  }
  const reposRoot = expandHome(defaults.reposRoot, host.home)
  if (!path.isAbsolute(reposRoot)) {
    return yield* lifecycle(new InvalidPath({ path: reposRoot, detail: "the repos root must be an absolute path" }))
  }
  yield* fs.makeDirectory(reposRoot, { recursive: true }).pipe(
    Effect.mapError((e) => lifecycle(new InvalidPath({ path: reposRoot, detail: e.message })))
  )
  const realRoot = yield* fs.realPath(reposRoot).pipe(
    Effect.mapError((e) => lifecycle(new InvalidPath({ path: reposRoot, detail: e.message })))
  )

  // 2. The engine: the pool and the restricted namespace (paths others allowed are kept).
  const pool = yield* choosePool(yield* runtime.listStoragePools(), input.storagePool)
  const kept = yield* runtime.getNamespace(defaults.incusProject).pipe(
    Effect.map((ns) => ns.allowedPaths),
    Effect.catchReason("ContainerRuntimeError", "NotFound", () => Effect.succeed<ReadonlyArray<string>>([]))
  )
  yield* runtime.ensureNamespace(
    new NamespaceSpec({
      name: defaults.incusProject,
      description: "repoman: one container per project",
      allowedPaths: [...new Set([realRoot, ...kept])],
      idMapping: idMappingFor(defaults.uidMode, host),
      rootDiskPool: pool.name
    })
  )

  // 3. The registry and the user's profile directory.
  const next: RegistryDocument = {
    ...current,
    host: Option.match(lanIp, { onNone: () => current.host, onSome: (ip) => ({ ...current.host, lanIp: ip }) }),
    defaults
  }
  const action = Option.isNone(existing)
    ? (yield* registry.initialize(next)) ? "created" as const : "unchanged" as const
    : yield* registry.modify((d) => {
      const updated = { ...d, host: next.host, defaults: next.defaults }
      return Effect.succeed(
        [JSON.stringify(updated) === JSON.stringify(d) ? "unchanged" as const : "updated" as const, updated] as const
      )
    })
  yield* fs.makeDirectory(paths.profilesDir, { recursive: true }).pipe(
    Effect.mapError((e) => lifecycle(new InvalidPath({ path: paths.profilesDir, detail: e.message })))
  )

  return {
    registryFile: registry.location,
    registry: action,
    namespace: defaults.incusProject,
    pool,
    reposRoot,
    uidMode: defaults.uidMode,
    lanIp,
    warnings: [...poolWarnings(pool), ...(defaults.uidMode === "shift" ? [SHIFT_WARNING] : [])]
  } satisfies SetupReport
})
