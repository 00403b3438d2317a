/**
 * `setup`: first-time bootstrap, idempotent. Creates (or brings in line) the
 * restricted Incus project, picks the storage pool, writes the registry and
 * the user profile directory.
 *
 * It never takes over a project repoman did not make or made for another
 * user (`NotYours`, nothing changed). With restricted access (a member of
 * group `incus` through `incus-user`, who may not make or change projects)
 * it works in the project an admin gave the user (`user-<uid>` unless
 * `incusProject` names another granted one): it checks instead of creating,
 * and fails with `AdminStepsNeeded` (the exact commands) when something an
 * admin must set is missing; what it could not check is among the warnings.
 *
 * @since 0.1.0
 * @module
 */
import { ConfigPaths, expandHome } from "@repoman/core/ConfigPaths"
import {
  AdminStep,
  ContainerRuntime,
  ContainerRuntimeError,
  NamespaceSpec,
  type StoragePool
} from "@repoman/core/ContainerRuntime"
import { HostInfo } from "@repoman/core/HostInfo"
import { checkDelegation, delegationCommands, idMappingFor, type UidMode } from "@repoman/core/IdMapping"
import type { ImageRef } from "@repoman/core/Ids"
import { refusalOf } from "@repoman/core/Ownership"
import { Registry } from "@repoman/core/Registry"
import { emptyDocument, type RegistryDocument } from "@repoman/core/RegistryDocument"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import * as Path from "effect/Path"
import {
  AdminStepsNeeded,
  IdmapNotDelegated,
  InvalidPath,
  LifecycleError,
  NotYours,
  StoragePoolMissing
} from "./LifecycleError.ts"
import { namespaceOwnership } from "./Owners.ts"

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
  /**
   * The Incus remote to record as `[incus] remote` (the one this run talks
   * to: `--remote`); `"local"` records none (the unix socket).
   */
  readonly remote?: string
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
  /** How repoman reaches the engine, and whether that access is restricted (`incus-user`). */
  readonly access: { readonly via: string; readonly restricted: boolean }
  /** The pool of new root disks; `None` with restricted access (the project's default profile decides). */
  readonly pool: Option.Option<StoragePool>
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
  const access = yield* runtime.access()
  // A restricted client works in a project it was granted: the one asked
  // for, else the registry's if granted, else its own (user-<uid>).
  const incusProject = input.incusProject ?? (
    access.restricted && !access.namespaces.includes(current.defaults.incusProject)
      ? Option.getOrElse(access.defaultNamespace, () => current.defaults.incusProject)
      : current.defaults.incusProject
  )
  const defaults = {
    ...current.defaults,
    ...(input.reposRoot === undefined ? {} : { reposRoot: input.reposRoot }),
    ...(input.backupRoot === undefined ? {} : { backupRoot: input.backupRoot }),
    incusProject,
    ...(input.image === undefined ? {} : { defaultImage: input.image }),
    ...(input.uidMode === undefined ? {} : { uidMode: input.uidMode })
  }
  const lanIp = input.lanIp !== undefined
    ? Option.some(input.lanIp)
    : current.host.lanIp !== undefined
    ? Option.some(current.host.lanIp)
    : host.lanIp

  // 1. The host side: delegation (the user's ids, root's range for containers) and the repos root.
  // A remote engine maps no id of this host and mounts none of its paths: this host's
  // /etc/subuid is not its business, and its project allows no host path.
  const remote = !runtime.hostPaths
  const delegation = yield* checkDelegation(host, idFiles).pipe(Effect.provideService(FileSystem.FileSystem, fs))
  const missing = remote
    ? []
    : defaults.uidMode === "idmap"
    ? delegation.missing
    : delegation.missing.filter((m) => !m.line.endsWith(":1"))
  if (missing.length > 0 && !access.restricted) {
    return yield* lifecycle(
      new IdmapNotDelegated({
        missing: missing.map((m) => `${m.line} in ${m.file}`),
        commands: delegationCommands({ ...delegation, missing })
      })
    )
  }
  const delegationSteps = missing.length === 0 ? [] : [
    new AdminStep({
      problem: `Incus may not map your ids yet (missing ${missing.map((m) => `${m.line} in ${m.file}`).join(", ")})`,
      commands: delegationCommands({ ...delegation, missing })
    })
  ]
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

  // 2. The engine. Never a project repoman did not make, or made for another user.
  const found = yield* runtime.getNamespace(defaults.incusProject).pipe(
    Effect.map(Option.some),
    Effect.catchReason("ContainerRuntimeError", "NotFound", () => Effect.succeedNone),
    Effect.catchReason(
      "ContainerRuntimeError",
      "Forbidden",
      (r) => access.restricted ? Effect.succeedNone : Effect.fail(new ContainerRuntimeError({ reason: r }))
    )
  )
  if (Option.isSome(found)) {
    const why = refusalOf(yield* namespaceOwnership(found.value))
    if (why !== undefined) {
      return yield* lifecycle(
        new NotYours({ kind: "Incus project", name: defaults.incusProject, namespace: defaults.incusProject, why })
      )
    }
  }
  const spec = (allowedPaths: ReadonlyArray<string>, pool: string) =>
    new NamespaceSpec({
      name: defaults.incusProject,
      description: "repoman: one container per project",
      allowedPaths: remote ? [] : [...new Set(allowedPaths)],
      idMapping: idMappingFor(defaults.uidMode, host),
      rootDiskPool: pool
    })
  let pool: Option.Option<StoragePool> = Option.none()
  let notes: ReadonlyArray<string> = []
  let poolNote: ReadonlyArray<string> = []
  if (access.restricted) {
    // Nothing of the project may change: check it, and say exactly what an admin must do.
    const wanted = spec([realRoot], input.storagePool ?? "default")
    const check = yield* runtime.checkNamespace(wanted, defaults.defaultImage)
    const steps = [...delegationSteps, ...check.adminSteps]
    if (steps.length > 0) {
      return yield* lifecycle(new AdminStepsNeeded({ namespace: defaults.incusProject, via: access.via, steps }))
    }
    yield* runtime.ensureNamespace(wanted)
    notes = [...check.notes, ...check.unchecked.map((u) => `not checked: ${u}`)]
  } else {
    // The pool and the restricted namespace (paths others allowed are kept).
    const pools = yield* runtime.listStoragePools()
    const chosen = yield* choosePool(pools, input.storagePool)
    const kept = Option.match(found, { onNone: () => [], onSome: (ns) => ns.allowedPaths })
    const wanted = spec([realRoot, ...kept], chosen.name)
    const made = yield* runtime.ensureNamespace(wanted)
    // A namespace that already has a root disk keeps its pool: report that one, not the one asked for.
    const inUse = made.rootDiskPool === undefined ? chosen : pools.find((p) => p.name === made.rootDiskPool)
    pool = Option.some(inUse ?? chosen)
    poolNote = input.storagePool !== undefined && made.rootDiskPool !== undefined &&
        made.rootDiskPool !== input.storagePool
      ? [
        `Incus project ${defaults.incusProject} keeps storage pool ${made.rootDiskPool}: its default profile's root disk ` +
        `already uses it (containers made there live on it), so --storage-pool ${input.storagePool} was not applied`
      ]
      : []
    notes = (yield* runtime.checkNamespace(wanted, defaults.defaultImage)).notes
  }
  const roomWarning = !remote && delegation.room > 0 && delegation.room < 100
    ? [
      `root's id range in /etc/subuid holds only ${delegation.room} containers with host ids of their own; ` +
      `Incus's packages use root:1000000:1000000000`
    ]
    : []

  // 3. The registry and the user's profile directory.
  const incus = input.remote === undefined
    ? current.incus
    : input.remote === "local"
    ? {}
    : { ...current.incus, remote: input.remote }
  const next: RegistryDocument = {
    ...current,
    host: Option.match(lanIp, { onNone: () => current.host, onSome: (ip) => ({ ...current.host, lanIp: ip }) }),
    defaults,
    incus
  }
  const action = Option.isNone(existing)
    ? (yield* registry.initialize(next)) ? "created" as const : "unchanged" as const
    : yield* registry.modify((d) => {
      const updated = { ...d, host: next.host, defaults: next.defaults, incus: next.incus }
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
    access: { via: access.via, restricted: access.restricted },
    pool,
    reposRoot,
    uidMode: defaults.uidMode,
    lanIp,
    warnings: [
      ...poolNote,
      ...Option.match(pool, { onNone: () => [], onSome: poolWarnings }),
      ...(defaults.uidMode === "shift" ? [SHIFT_WARNING] : []),
      ...roomWarning,
      ...notes
    ]
  } satisfies SetupReport
})
