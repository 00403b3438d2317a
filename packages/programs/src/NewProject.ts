/**
 * `new`: create a project's container and register it, all or nothing.
 *
 * The registry is read once. One create request carries image, profiles,
 * repo, mounts, environment, limits, id mapping, labels and the git seal,
 * and starts the container; then the home and shared files are prepared
 * while the container user's login shell and locales are recorded (see
 * `ContainerUser`); the registry is written last, and any failure after the
 * container exists deletes it again (and the sealed gitdir with it), so the
 * registry and the engine never disagree.
 *
 * By default the project is sealed (see `GitSeal`): the container sees a
 * gitdir repoman seeds from the repo, never the host's `.git`, and cannot
 * undo its mounts. `gitMode: "shared"` mounts the host's `.git` as before.
 *
 * @since 0.1.0
 * @module
 */
import { storeDir, type ToolId, TOOLS } from "@repoman/core/Agents"
import { ConfigPaths, expandHome } from "@repoman/core/ConfigPaths"
import { ContainerRuntime, type GitCover, HostPath, InstanceSpec, Mount } from "@repoman/core/ContainerRuntime"
import { fileLinks } from "@repoman/core/FileLink"
import { HostInfo } from "@repoman/core/HostInfo"
import { CONTAINER_ID, idMappingFor } from "@repoman/core/IdMapping"
import type { ImageRef, MemberName, ProfileName, ProjectName, RepoDir } from "@repoman/core/Ids"
import { type GitMode, type Project, timestampFromDate } from "@repoman/core/Project"
import { ProjectExists, Registry, RegistryError } from "@repoman/core/Registry"
import type { ProjectOverride, RegistryDocument } from "@repoman/core/RegistryDocument"
import { DEFAULT_LIMITS, mergeLimits, type ResourceLimits } from "@repoman/core/ResourceLimits"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import * as Path from "effect/Path"
import * as Ref from "effect/Ref"
import * as Result from "effect/Result"
import { agentTools, makeProjectState } from "./AgentState.ts"
import { requireTarget } from "./ClusterTarget.ts"
import { recordContainerUser } from "./ContainerUser.ts"
import type { GitUrl } from "./GitClone.ts"
import { discardSeal, prepareSeal, writeSealRecord } from "./GitSeal.ts"
import { hermeticStorage, makeWorkingCopy, preparePatchesDir } from "./Hermetic.ts"
import { ownMountParents, prepareHome } from "./HomeParents.ts"
import { imageAndProfiles } from "./internal/projectSettings.ts"
import { InvalidPath, LeftBehind, LifecycleError } from "./LifecycleError.ts"
import { newVolumeProject } from "./NewVolumeProject.ts"
import { requireOwnNamespace } from "./Owners.ts"
import { type RequiredProfile, requireProfiles } from "./ProfileStatuses.ts"
import { type RepoPath, resolveRepo } from "./RepoPath.ts"
import { TransferError } from "./RepoTransfer.ts"
import { linkInContainer } from "./SharedFiles.ts"

/**
 * What the user asked for. `repo` defaults to the name, `image` to the
 * override's or the registry default; `profiles` add to the registry defaults
 * and the override's.
 *
 * @since 0.1.0
 * @category models
 */
export interface NewProjectInput {
  readonly name: ProjectName
  readonly repo?: RepoDir
  readonly image?: ImageRef
  readonly profiles?: ReadonlyArray<ProfileName>
  readonly backup?: boolean
  /** Limits over the registry's and the override's (`--cpu`, `--memory`). */
  readonly limits?: ResourceLimits
  /** Mount the repo read-only and work on a clone inside (see `Hermetic`). */
  readonly hermetic?: boolean
  /** `sealed` (the default) or `shared` (see `GitSeal`); a hermetic project is sealed by its read-only repo. */
  readonly gitMode?: GitMode
  /** Seal a repo with submodules all the same (see `GitSeal.prepareSeal`). */
  readonly acceptSubmoduleRisk?: boolean
  /**
   * The cluster member to put the container on (`--target`); refused
   * before anything is made unless it is an `Online` member of the Incus
   * server's cluster (see {@link requireTarget}). Default: Incus chooses.
   */
  readonly target?: MemberName
  /** Remote engine only (see `NewVolumeProject`): a host directory to send into the repo volume. */
  readonly from?: string
  /** Remote engine only: a URL the container's git clones into the repo volume (locally, clone first: `GitClone`). */
  readonly git?: GitUrl
}

/**
 * The instance spec `new` sends, derived from the registry, the override
 * and the host; exposed so callers can show it before creating.
 *
 * @since 0.1.0
 * @category utils
 */
export const instanceSpec = (options: {
  readonly name: ProjectName
  readonly image: ImageRef
  readonly profiles: ReadonlyArray<ProfileName>
  readonly repo: RepoPath
  readonly document: RegistryDocument
  readonly override: Option.Option<ProjectOverride>
  readonly mounts: ReadonlyArray<{ readonly source: string; readonly path: string }>
  readonly host: { readonly uid: number; readonly gid: number }
  /** Limits given to `new`; merged over the built-in defaults, `[defaults]` and the override's `[container]`. */
  readonly limits?: ResourceLimits
  /** Hermetic: the host patches dir (the repo then goes read-only at `Hermetic.ORIGIN`). */
  readonly hermetic?: { readonly patches: string }
  /** Sealed: the gitdir that covers the repo's `.git` (its mounts are then locked). */
  readonly gitCover?: GitCover
  /** The agents' per-project state dirs (see `AgentState`). */
  readonly agentMounts?: ReadonlyArray<Mount>
  /** The cluster member to put the container on. */
  readonly target?: MemberName
}): InstanceSpec => {
  const hermetic = options.hermetic === undefined
    ? undefined
    : hermeticStorage(options.repo.real, options.hermetic.patches)
  return new InstanceSpec({
    name: options.name,
    image: options.image,
    profiles: options.profiles,
    repo: hermetic?.repo ?? new HostPath({ source: options.repo.real, path: options.repo.path, readOnly: false }),
    mounts: [
      ...(hermetic === undefined ? [] : [hermetic.patches]),
      ...options.mounts.map((m, i) =>
        new Mount({ name: `mount${i}`, source: m.source, path: m.path, readOnly: false })
      ),
      ...(options.agentMounts ?? [])
    ],
    env: Option.match(options.override, { onNone: () => ({}), onSome: (o) => o.env }),
    limits: mergeLimits(
      DEFAULT_LIMITS,
      options.document.defaults.limits,
      Option.match(options.override, { onNone: () => undefined, onSome: (o) => o.container.limits }),
      options.limits
    ),
    idMapping: idMappingFor(options.document.defaults.uidMode, options.host),
    labels: { project: options.name, repo: options.repo.path },
    ...(options.gitCover === undefined || hermetic !== undefined
      ? {}
      : { gitCover: options.gitCover, lockMounts: true }),
    ...(options.target === undefined ? {} : { target: options.target })
  })
}

/** Gives the container user the directories Incus made above the mounts under the home (see `HomeParents`). */
const prepareMountParents = (name: ProjectName, home: string, mountPaths: ReadonlyArray<string>) =>
  ownMountParents(name, home, mountPaths).pipe(
    Effect.catchTag("ContainerRuntimeError", (e) =>
      Effect.fail(
        new LifecycleError({
          reason: new InvalidPath({
            path: home,
            detail: `cannot give the container user its home's dirs: ${e.message}`
          })
        })
      ))
  )

/**
 * Gives the container user the directory above a shared credential store
 * (inside the container only): Claude Code takes a legacy lock file next to
 * its store directory. Incus made that directory for the mount, owned by
 * root.
 *
 * @since 0.1.0
 * @category programs
 */
export const prepareStoreParents = (name: ProjectName, tools: ReadonlyArray<ToolId>) =>
  Effect.gen(function*() {
    const runtime = yield* ContainerRuntime
    const { stateDir } = yield* ConfigPaths
    for (const tool of tools) {
      if (TOOLS[tool].credentials?._tag !== "SharedStore") continue
      const parent = storeDir(stateDir, tool).replace(/\/[^/]+$/, "")
      yield* runtime.makeDirectory(name, parent, { uid: CONTAINER_ID, gid: CONTAINER_ID }).pipe(
        Effect.catchTag("ContainerRuntimeError", (e) =>
          Effect.fail(
            new LifecycleError({
              reason: new InvalidPath({
                path: parent,
                detail: `cannot prepare the ${tool} login's directory: ${e.message}`
              })
            })
          ))
      )
    }
  })

/**
 * Makes the shared files the container's profiles declare (see
 * `@repoman/core/FileLink`) symlinks into their shared directories. Profiles
 * whose declaration is malformed were refused by `profile install`; one put
 * there by other means shares nothing.
 *
 * @since 0.1.0
 * @category programs
 */
export const linkSharedFiles = (name: ProjectName, profiles: ReadonlyArray<RequiredProfile>) =>
  Effect.gen(function*() {
    for (const profile of profiles) {
      const links = fileLinks(profile.info)
      if (Result.isFailure(links) || links.success.length === 0) continue
      yield* linkInContainer(name, links.success).pipe(
        Effect.catchTag("ContainerRuntimeError", (e) =>
          Effect.fail(
            new LifecycleError({
              reason: new InvalidPath({
                path: links.success.map((l) => l.file).join(", "),
                detail: `cannot link the shared files of profile ${profile.name}: ${e.message}`
              })
            })
          ))
      )
    }
  })

/**
 * Creates the project. Fails without changing anything when the name is
 * taken, the repo is missing or outside the repos root, the namespace is
 * not the user's (`NotYours`), a profile is not installed, not the user's or
 * differs from the library (`ProfileInstallError`, naming `repoman profile
 * install NAME`), or the engine refuses.
 *
 * @since 0.1.0
 * @category programs
 */
export const newProject = Effect.fn("newProject")(function*(input: NewProjectInput) {
  const registry = yield* Registry
  const runtime = yield* ContainerRuntime
  // The engine decides where the repo lives: a remote one cannot mount this host's paths.
  if (!runtime.hostPaths) {
    return { storage: "volume" as const, ...(yield* newVolumeProject(input)) }
  }
  if (input.from !== undefined || input.git !== undefined) {
    return yield* new TransferError({
      project: input.name,
      detail: "--from is for a remote Incus (the repo then lives in a volume there); " +
        "locally the repo directory is mounted as it is",
      usage: true
    })
  }
  const host = yield* HostInfo
  const { home } = yield* ConfigPaths
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path

  const document = yield* registry.load
  if (document.projects.some((p) => p.name === input.name)) {
    return yield* new RegistryError({ reason: new ProjectExists({ name: input.name }) })
  }
  // Never a container in a namespace another user's repoman (or no repoman) made.
  yield* requireOwnNamespace(runtime.namespace)
  // A target the cluster cannot take is refused before anything is made.
  yield* requireTarget(input.target)
  const override = yield* registry.getOverride(input.name)
  const reposRoot = expandHome(document.defaults.reposRoot, home)
  const repo = yield* resolveRepo(reposRoot, input.repo ?? (input.name as string as RepoDir))

  // Extra mounts of the override: they must exist; in shift mode (no Incus path
  // restriction) they must also stay inside the repos root.
  const overrideMounts = Option.match(override, { onNone: () => [], onSome: (o) => o.mounts })
  const mounts = yield* Effect.forEach(overrideMounts, (m) =>
    Effect.gen(function*() {
      const source = expandHome(m.source, home)
      const real = yield* fs.realPath(source).pipe(
        Effect.mapError(() =>
          new LifecycleError({
            reason: new InvalidPath({ path: source, detail: "the override's mount source does not exist" })
          })
        )
      )
      if (document.defaults.uidMode === "shift" && !real.startsWith(`${repo.root}/`) && real !== repo.root) {
        return yield* new LifecycleError({
          reason: new InvalidPath({ path: source, detail: `outside the repos root ${repo.root} (uid mode shift)` })
        })
      }
      return { source: real, path: path.isAbsolute(m.path) ? m.path : path.join(repo.path, m.path) }
    }))

  const { image, profiles } = imageAndProfiles(document, override, input)
  // Every profile must be installed, and a library profile must match the library.
  const required = yield* requireProfiles(profiles, document)
  const gitMode: GitMode = input.gitMode ?? "sealed"
  const seal = input.hermetic === true
    ? undefined
    : yield* prepareSeal({
      name: input.name,
      repo: repo.real,
      mode: gitMode,
      acceptSubmoduleRisk: input.acceptSubmoduleRisk ?? false
    })
  const tools = agentTools(required)
  const patches = input.hermetic === true ? { hermetic: { patches: yield* preparePatchesDir(input.name) } } : {}
  const specWith = (agentMounts: ReadonlyArray<Mount>) =>
    instanceSpec({
      name: input.name,
      image,
      profiles,
      repo,
      document,
      override,
      mounts,
      host,
      ...(input.limits === undefined ? {} : { limits: input.limits }),
      ...(input.target === undefined ? {} : { target: input.target }),
      ...patches,
      agentMounts,
      ...(seal === undefined
        ? {}
        : Option.match(seal.cover, { onNone: () => ({}), onSome: (gitCover) => ({ gitCover }) }))
    })
  const created = timestampFromDate(new Date(yield* Clock.currentTimeMillis))
  const project: Project = {
    name: input.name,
    repo: input.repo ?? (input.name as string as RepoDir),
    image,
    profiles,
    created,
    backup: input.backup ?? true,
    git: input.hermetic === true ? "sealed" : gitMode
  }

  // Set when a failure after create could not delete the container again.
  const leftBehind = yield* Ref.make(false)
  const removeAgain = runtime.remove(input.name).pipe(
    Effect.catchReason("ContainerRuntimeError", "NotFound", () => Effect.void),
    Effect.catch(() => Ref.set(leftBehind, true))
  )
  return yield* Effect.scoped(Effect.gen(function*() {
    // The agents' state: a fresh directory for this project, seeded before any container mounts it.
    const agentState = yield* Effect.acquireRelease(
      makeProjectState(input.name, tools),
      (state, exit) =>
        Exit.isFailure(exit) && Option.isSome(state)
          ? Effect.ignore(fs.remove(state.value.root, { recursive: true }))
          : Effect.void
    )
    const spec = specWith(Option.match(agentState, { onNone: () => [], onSome: (s) => s.mounts }))
    const instance = yield* Effect.acquireRelease(
      // A create that failed part way (the engine went away between making
      // the container and starting it) may have left it: make sure it is
      // gone, or say it may be left. A taken name is someone else's.
      runtime.create(spec).pipe(
        Effect.tapError((e) => e.reason._tag === "AlreadyExists" ? Effect.void : removeAgain)
      ),
      (_, exit) => Exit.isFailure(exit) ? removeAgain : Effect.void
    )
    // What sessions need to know about the container is read now, beside
    // the other set-up steps, before any agent has run in it.
    yield* Effect.all([
      Effect.gen(function*() {
        yield* prepareHome(input.name, host.home)
        yield* prepareMountParents(input.name, host.home, [
          ...Option.toArray(Option.fromUndefinedOr(spec.repo)).map((r) => r.path),
          ...spec.mounts.map((m) => m.path),
          ...required.flatMap((p) => p.info.mounts.map((m) => m.path))
        ])
        yield* prepareStoreParents(input.name, tools)
        yield* linkSharedFiles(input.name, required)
        if (input.hermetic === true) yield* makeWorkingCopy(input.name, repo.path)
      }),
      recordContainerUser(input.name)
    ], { concurrency: "unbounded", discard: true })
    if (seal !== undefined) {
      yield* writeSealRecord(input.name, seal.record)
      // The seeded index carries the host's owner ids; inside they differ.
      // Refreshing it there spares the agent's first `git status` a rehash.
      if (Option.isSome(seal.cover)) {
        yield* Effect.ignore(runtime.exec(input.name, ["git", "update-index", "-q", "--refresh"], {
          user: CONTAINER_ID,
          group: CONTAINER_ID,
          cwd: repo.path,
          env: { HOME: host.home }
        }))
      }
    }
    yield* registry.addProject(project)
    return { storage: "host" as const, project, instance, repo, agentState, seal: Option.fromUndefinedOr(seal) }
  })).pipe(
    Effect.tapError(() =>
      seal === undefined ? Effect.void : Effect.gen(function*() {
        yield* discardSeal(input.name)
        if (seal.initialized) yield* Effect.ignore(fs.remove(`${repo.real}/.git`, { recursive: true }))
      })
    ),
    Effect.catch((error) =>
      Effect.flatMap(Ref.get(leftBehind), (left) =>
        Effect.fail(
          left
            ? new LifecycleError({ reason: new LeftBehind({ name: input.name, failure: error.message }), cause: error })
            : error
        ))
    )
  )
})
