/**
 * `status`: the health of one project or all: container state, whose it is
 * (a container another user's repoman made, or no repoman, is not looked
 * into: no probe runs in it), whether it has a host id range of its own, its
 * limits, the repo mount, a write probe as uid 1000 (must land on the host
 * owned by the host user), a write probe as container root (must not land
 * as host root), the age of the last sync (a warning past
 * `[backup].last_sync_warning_hours`), the backup target (reachable,
 * mounted, filesystem type, free space), the git seal (see
 * `GitSeal.checkSeal`: from the container's config, its mount table read on
 * the host and the host `.git`, never from what runs in the container) and
 * who owns the repo's files (see `Ownership`).
 *
 * Text in a status that came from a container (a probe's stderr) or a repo
 * (file names) is returned as it is: the CLI escapes it for the terminal,
 * and JSON carries it as data.
 *
 * @since 0.1.0
 * @module
 */
import { BackupTarget, MirrorSource, type TargetStatus } from "@repoman/core/BackupTarget"
import { Checkpoints } from "@repoman/core/Checkpoints"
import { ConfigPaths, expandHome } from "@repoman/core/ConfigPaths"
import { ContainerRuntime, type InstanceStatus } from "@repoman/core/ContainerRuntime"
import type { TreeScan } from "@repoman/core/HostFiles"
import { HostInfo } from "@repoman/core/HostInfo"
import { CONTAINER_ID, type UidMode } from "@repoman/core/IdMapping"
import type { ProjectName } from "@repoman/core/Ids"
import { mapsUser, ownership, refusalOf } from "@repoman/core/Ownership"
import { type GitMode, gitModeOf, type Project, type RepoLocation, storageOf } from "@repoman/core/Project"
import { Registry } from "@repoman/core/Registry"
import { type LimitsView, limitsView } from "@repoman/core/ResourceLimits"
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import * as Path from "effect/Path"
import { checkSeal, type SealReport } from "./GitSeal.ts"
import { LifecycleError, NotYours } from "./LifecycleError.ts"
import { ownershipProblem, scanRepo, STATUS_SCAN_LIMIT } from "./Ownership.ts"
import { SHIFT_WARNING } from "./Setup.ts"
import { volumeSource } from "./VolumeBackups.ts"
import { kindOf, listVolumeCheckpoints } from "./VolumeCheckpoints.ts"

/**
 * The outcome of one write probe.
 *
 * @since 0.1.0
 * @category models
 */
export interface Probe {
  /** Whether the result is the safe, expected one. */
  readonly ok: boolean
  /** Whether the write went through. */
  readonly wrote: boolean
  /** Owner uid of the probe file on the host, when it was written. */
  readonly hostUid: number | null
  readonly detail: string
}

/**
 * What the backup target's check found (the same for every project).
 *
 * @since 0.1.0
 * @category models
 */
export interface BackupReport {
  readonly location: string
  readonly reachable: boolean
  readonly mounted: boolean
  /** Whether `sync` requires the root to be mounted (`[backup].require_mount`). */
  readonly requireMount: boolean
  readonly fsType: string | null
  readonly freeBytes: number | null
  readonly writable: boolean
  /** Why the check failed (a timeout, say), or `null`. */
  readonly error: string | null
  /** Whether a sync could write there now. */
  readonly ok: boolean
  /** How the target keeps history (generations, filesystem snapshots), or `null`. */
  readonly history: string | null
}

/**
 * The checkpoints of a project's repo.
 *
 * @since 0.1.0
 * @category models
 */
export interface CheckpointReport {
  readonly count: number
  readonly last: {
    readonly id: string
    readonly created: string
    readonly kind: string
    /** The session's command, as given (escape it before printing). */
    readonly label: string
    readonly ageSeconds: number
  } | null
  /** Why they could not be read, or `null`. */
  readonly error: string | null
}

/**
 * The generations of a project's backup.
 *
 * @since 0.1.0
 * @category models
 */
export interface GenerationsReport {
  /** Generations the target keeps (the latest included). */
  readonly count: number
  readonly latest: string | null
  /** Snapshots of the backup root's filesystem (ZFS `.zfs/snapshot`) that hold the repo. */
  readonly snapshots: number
  /** Why they could not be read (a target without history, say), or `null`. */
  readonly error: string | null
}

/**
 * The status of one project.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProjectStatus {
  readonly name: string
  readonly namespace: string
  /** Where the repo lives: a host directory, or a volume of a remote engine. */
  readonly storage: RepoLocation
  readonly state: InstanceStatus | "Missing"
  readonly repoPath: string
  readonly mountPresent: boolean | null
  readonly userProbe: Probe | null
  readonly rootProbe: Probe | null
  readonly lastSync: string | null
  readonly lastSyncAgeSeconds: number | null
  /** The backup target; `null` when the project has `backup = false` or no target is configured. */
  readonly backup: BackupReport | null
  readonly uidMode: UidMode
  /** The container's resource limits; `null` when the container is missing. */
  readonly limits: LimitsView | null
  /** The project's git mode (`shared` for one made before the seal). */
  readonly git: GitMode
  /** The git seal (see `GitSeal.SealReport`). */
  readonly seal: SealReport
  /** Who owns the repo's files (`null` when the repo dir cannot be walked). */
  readonly ownership: TreeScan | null
  /**
   * The container's own host id range (`"1196608+65536"`), `"shared"` when it
   * shares one with other containers, `null` when the container is missing.
   */
  readonly idRange: string | null
  /**
   * The cluster member the container is on; `null` when the container is
   * missing or the Incus server is not a cluster.
   */
  readonly location: string | null
  /** The repo's checkpoints: how many, and the newest. */
  readonly checkpoints: CheckpointReport
  /** The generations of the backup; `null` when the project has `backup = false`. */
  readonly generations: GenerationsReport | null
  readonly warnings: ReadonlyArray<string>
  readonly healthy: boolean
}

const probeName = (who: string) => `.repoman-probe-${who}-${Math.random().toString(36).slice(2, 10)}`

const backupReport = (requireMount: boolean) =>
  Effect.gen(function*() {
    const target = yield* BackupTarget
    const fromStatus = (s: TargetStatus): BackupReport => ({
      location: s.location,
      reachable: s.reachable,
      mounted: s.mounted,
      requireMount,
      fsType: Option.getOrNull(s.fsType),
      freeBytes: Option.getOrNull(s.freeBytes),
      writable: s.writable,
      error: null,
      ok: s.reachable && s.writable && (s.mounted || !requireMount),
      history: s.history ?? null
    })
    return yield* target.check().pipe(
      Effect.map(fromStatus),
      Effect.catchTag("BackupError", (e) =>
        Effect.succeed<BackupReport>({
          location: "location" in e.reason ? e.reason.location : "",
          reachable: false,
          mounted: false,
          requireMount,
          fsType: null,
          freeBytes: null,
          writable: false,
          error: e.message,
          ok: false,
          history: null
        }))
    )
  })

const checkpointReport = (project: Project, now: number) =>
  Effect.gen(function*() {
    const checkpoints = yield* Checkpoints
    return yield* checkpoints.list(project.name).pipe(
      Effect.map((all): CheckpointReport => {
        const last = all.at(-1)
        return {
          count: all.length,
          last: last === undefined ? null : {
            id: last.id,
            created: last.created,
            kind: last.kind,
            label: last.label,
            ageSeconds: Math.max(0, Math.round((now - Date.parse(last.created)) / 1000))
          },
          error: null
        }
      }),
      Effect.catchTag("CheckpointError", (e) =>
        Effect.succeed<CheckpointReport>({ count: 0, last: null, error: e.message }))
    )
  })

/** A volume repo's checkpoints: the engine's snapshots of its volume. */
const snapshotReport = (project: Project, now: number) =>
  listVolumeCheckpoints(project.name).pipe(
    Effect.map((all): CheckpointReport => {
      const last = all.at(-1)
      if (last === undefined) return { count: 0, last: null, error: null }
      const created = DateTime.formatIso(last.createdAt)
      return {
        count: all.length,
        last: {
          id: last.name,
          created,
          kind: kindOf(last.name),
          label: "volume snapshot",
          ageSeconds: Math.max(0, Math.round((now - Date.parse(created)) / 1000))
        },
        error: null
      }
    }),
    Effect.catchTag("ContainerRuntimeError", (e) =>
      Effect.succeed<CheckpointReport>({ count: 0, last: null, error: e.message }))
  )

const generationsReport = (project: Project, repoPath: string) =>
  Effect.gen(function*() {
    const target = yield* BackupTarget
    const source = storageOf(project) === "volume"
      ? yield* volumeSource(project)
      : new MirrorSource({ project: project.name, path: repoPath })
    return yield* target.listGenerations(source).pipe(
      Effect.map((all): GenerationsReport => ({
        count: all.filter((g) => g.kind === "generation").length,
        latest: all.find((g) => g.latest)?.name ?? null,
        snapshots: all.filter((g) => g.kind === "snapshot").length,
        error: null
      })),
      Effect.catchTag("BackupError", (e) =>
        Effect.succeed<GenerationsReport>({ count: 0, latest: null, snapshots: 0, error: e.message }))
    )
  })

const lastSyncWarning = (project: Project, now: number, thresholdHours: number): ReadonlyArray<string> => {
  if (!project.backup) return []
  const limit = thresholdHours * 3_600_000
  if (project.lastSync === undefined) {
    return now - Date.parse(project.created) > limit
      ? [`${project.name} has never been backed up (created ${project.created}); run 'repoman sync ${project.name}'`]
      : []
  }
  const age = now - Date.parse(project.lastSync)
  return age > limit
    ? [`the last sync of ${project.name} is ${Math.floor(age / 3_600_000)} h old (warning after ${thresholdHours} h)`]
    : []
}

/**
 * Whether the repo is mounted at `repoPath` in the running container, asked
 * of the engine, never of the image: the mount table the host reads when
 * it can, else what the file API finds at that path (a directory). No
 * command runs inside (an image need not have `test`).
 */
const repoMounted = (name: ProjectName, repoPath: string) =>
  Effect.gen(function*() {
    const runtime = yield* ContainerRuntime
    const table = yield* runtime.mountTable(name).pipe(Effect.orElseSucceed(() => Option.none()))
    if (Option.isSome(table)) return table.value.some((e) => e.mountPoint === repoPath)
    return yield* runtime.fileInfo(name, repoPath).pipe(
      Effect.map((info) => Option.isSome(info) && info.value.type === "directory"),
      Effect.orElseSucceed(() => false)
    )
  })

const statusOf = (
  project: Project,
  reposRoot: string,
  uidMode: UidMode,
  now: number,
  backup: BackupReport | null,
  thresholdHours: number,
  refuseForeign: boolean
) =>
  Effect.gen(function*() {
    const runtime = yield* ContainerRuntime
    const host = yield* HostInfo
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const repoPath = path.join(reposRoot, project.repo)
    const lastSyncAgeSeconds = project.lastSync === undefined
      ? null
      : Math.max(0, Math.round((now - Date.parse(project.lastSync)) / 1000))
    const instance = yield* runtime.get(project.name).pipe(
      Effect.map(Option.some),
      Effect.catchReason("ContainerRuntimeError", "NotFound", () => Effect.succeedNone)
    )
    // A volume repo is not on this host: no seal to check, no tree to walk here.
    const inVolume = storageOf(project) === "volume"
    const real = yield* fs.realPath(repoPath).pipe(Effect.orElseSucceed(() => repoPath))
    const seal: SealReport = inVolume
      ? { state: "sealed", mode: "volume", checks: [], warnings: [] }
      : yield* checkSeal({
        name: project.name,
        mode: gitModeOf(project),
        legacy: project.git === undefined,
        repo: real,
        repoPath,
        instance
      })
    const scan = inVolume
      ? null
      : Option.getOrNull(yield* scanRepo(real, { maxEntries: STATUS_SCAN_LIMIT }).pipe(Effect.option))
    const owned = scan === null ? Option.none<string>() : ownershipProblem(project.name, scan)
    const base = {
      name: project.name,
      namespace: runtime.namespace,
      storage: storageOf(project),
      repoPath,
      lastSync: project.lastSync ?? null,
      lastSyncAgeSeconds,
      backup: project.backup ? backup : null,
      uidMode,
      git: inVolume ? "sealed" as const : gitModeOf(project),
      seal,
      ownership: scan,
      checkpoints: inVolume ? yield* snapshotReport(project, now) : yield* checkpointReport(project, now),
      generations: project.backup && backup !== null && backup.ok ? yield* generationsReport(project, repoPath) : null
    }
    // One truth: every line the report marks FAIL makes the project unhealthy.
    const sealed = seal.state !== "broken" && Option.isNone(owned) && (base.backup === null || base.backup.ok) &&
      base.checkpoints.error === null
    const modeWarnings = [
      ...(uidMode === "shift" ? [SHIFT_WARNING] : []),
      ...lastSyncWarning(project, now, thresholdHours),
      ...seal.warnings,
      ...Option.toArray(owned),
      ...(scan !== null && !scan.complete
        ? [`the ownership check looked at the first ${scan.entries} entries only`]
        : []),
      ...(scan !== null && scan.nestedGitDirs.count > 0
        ? [
          `${scan.nestedGitDirs.count} nested .git in the repo (${
            scan.nestedGitDirs.sample.slice(0, 3).join(", ")
          }): running git inside one on the host runs what that .git says, and the container can write it`
        ]
        : [])
    ]
    if (Option.isNone(instance)) {
      return {
        ...base,
        state: "Missing",
        limits: null,
        idRange: null,
        location: null,
        mountPresent: null,
        userProbe: null,
        rootProbe: null,
        warnings: [...modeWarnings, `the container of ${project.name} does not exist`],
        healthy: false
      } satisfies ProjectStatus
    }
    const i = instance.value
    // Another user's container (or none of repoman's) is not looked into.
    const notYours = refusalOf(ownership(i, runtime.owner, mapsUser(i.idMapping, runtime.owner)))
    if (notYours !== undefined) {
      if (refuseForeign) {
        return yield* new LifecycleError({
          reason: new NotYours({ kind: "container", name: project.name, namespace: runtime.namespace, why: notYours })
        })
      }
      return {
        ...base,
        state: i.status,
        limits: null,
        idRange: null,
        location: Option.getOrNull(i.location),
        mountPresent: null,
        userProbe: null,
        rootProbe: null,
        warnings: [`container ${project.name} in Incus project ${runtime.namespace} ${notYours}: not inspected`],
        healthy: false
      } satisfies ProjectStatus
    }
    const idRange = Option.match(i.idRange, { onNone: () => "shared", onSome: (r) => `${r.base}+${r.size}` })
    const isolation = Option.isSome(i.idRange) ? [] : [
      `the container of ${project.name} shares its host ids with other containers (made before repoman gave each ` +
      `its own range): recreate it ('repoman remove ${project.name}', then 'repoman new')`
    ]
    if (i.status !== "Running") {
      return {
        ...base,
        state: i.status,
        limits: limitsView(i.limits),
        idRange,
        location: Option.getOrNull(i.location),
        mountPresent: null,
        userProbe: null,
        rootProbe: null,
        warnings: [...modeWarnings, ...isolation],
        healthy: sealed && isolation.length === 0
      } satisfies ProjectStatus
    }

    const mountPresent = yield* repoMounted(project.name, repoPath)
    if (inVolume) {
      // The volume is the engine's: uid 1000 must write it, as seen inside (container root is no host root there).
      const file = path.join(repoPath, probeName("user"))
      const wrote = yield* runtime.exec(project.name, ["touch", file], {
        user: CONTAINER_ID,
        group: CONTAINER_ID,
        cwd: "/"
      })
      const info = yield* runtime.fileInfo(project.name, file).pipe(Effect.orElseSucceed(() => Option.none()))
      yield* Effect.ignore(
        runtime.exec(project.name, ["rm", "-f", "--", file], { user: CONTAINER_ID, group: CONTAINER_ID, cwd: "/" })
      )
      const ok = wrote.exitCode === 0 && Option.isSome(info) && info.value.uid === CONTAINER_ID
      return {
        ...base,
        state: i.status,
        limits: limitsView(i.limits),
        idRange,
        location: Option.getOrNull(i.location),
        mountPresent,
        userProbe: {
          ok,
          wrote: wrote.exitCode === 0,
          hostUid: null,
          detail: ok
            ? `uid ${CONTAINER_ID} writes the repo volume`
            : `uid ${CONTAINER_ID} cannot write the repo volume${
              wrote.stderr.trim() === "" ? "" : `: ${wrote.stderr.trim()}`
            }`
        },
        rootProbe: null,
        warnings: [...modeWarnings, ...isolation],
        healthy: sealed && isolation.length === 0 && mountPresent && ok
      } satisfies ProjectStatus
    }
    const probe = (uid: number) =>
      Effect.gen(function*() {
        const file = path.join(repoPath, probeName(uid === 0 ? "root" : "user"))
        const result = yield* runtime.exec(project.name, ["touch", file], { user: uid, group: uid, cwd: "/" })
        const owner = yield* fs.stat(file).pipe(
          Effect.map((info) => Option.getOrNull(info.uid)),
          Effect.orElseSucceed(() => null)
        )
        yield* Effect.ignore(fs.remove(file))
        return { wrote: result.exitCode === 0 && owner !== null, owner, stderr: result.stderr.trim() }
      })

    const user = yield* probe(CONTAINER_ID)
    const userProbe: Probe = {
      ok: user.wrote && user.owner === host.uid,
      wrote: user.wrote,
      hostUid: user.owner,
      detail: !user.wrote
        ? `uid ${CONTAINER_ID} cannot write the repo${user.stderr === "" ? "" : `: ${user.stderr}`}`
        : user.owner === host.uid
        ? `uid ${CONTAINER_ID} writes as ${host.user} (host uid ${host.uid})`
        : `uid ${CONTAINER_ID} writes as host uid ${user.owner}, not ${host.user} (${host.uid})`
    }
    const root = yield* probe(0)
    const rootProbe: Probe = {
      ok: !root.wrote || root.owner !== 0,
      wrote: root.wrote,
      hostUid: root.owner,
      detail: !root.wrote
        ? "container root cannot write the repo"
        : root.owner === 0
        ? "container root writes as HOST ROOT into the repo"
        : `container root writes as unprivileged host uid ${root.owner}`
    }
    return {
      ...base,
      state: i.status,
      limits: limitsView(i.limits),
      idRange,
      location: Option.getOrNull(i.location),
      mountPresent,
      userProbe,
      rootProbe,
      warnings: [...modeWarnings, ...isolation],
      healthy: mountPresent && userProbe.ok && rootProbe.ok && sealed && isolation.length === 0
    } satisfies ProjectStatus
  })

/**
 * The status of the named project (`NotYours` when its container is another
 * user's, or no repoman's), or of every project (such a container is then
 * reported unhealthy and not looked into).
 *
 * @since 0.1.0
 * @category programs
 */
export const projectStatus = Effect.fn("projectStatus")(function*(name?: ProjectName) {
  const registry = yield* Registry
  const { home } = yield* ConfigPaths
  const document = yield* registry.load
  const projects = name === undefined ? document.projects : [yield* registry.getProject(name)]
  const reposRoot = expandHome(document.defaults.reposRoot, home)
  const now = yield* Clock.currentTimeMillis
  const backup = projects.some((p) => p.backup) ? yield* backupReport(document.backup.requireMount) : null
  return yield* Effect.forEach(
    projects,
    (p) =>
      statusOf(
        p,
        reposRoot,
        document.defaults.uidMode,
        now,
        backup,
        document.backup.lastSyncWarningHours,
        name !== undefined
      )
  )
})
