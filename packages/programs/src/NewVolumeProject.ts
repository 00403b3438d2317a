/**
 * `new` against a remote engine: the repo lives in a storage volume there
 * (`ContainerRuntime.Volume`), attached at the same absolute path inside
 * as it would have on this host (`<repos_root>/<repo>`), so the paths agents
 * key their state by agree with a local project's.
 *
 * `NewProject.newProject` comes here when the runtime cannot mount this
 * host's paths (`ContainerRuntime.hostPaths`): the engine decides, never a
 * flag. The repo starts empty, or from a host directory sent through the
 * file API (`from`, see `RepoTransfer.pushTree`), or from a clone made
 * inside by the container's own git (`git`: hooks off, no `ext::`).
 *
 * What needs this host's files is refused before anything is made
 * (`NeedsLocalEngine`): the override's host mounts, hermetic mode, profiles
 * that mount host paths (the agents' shared state among them). The seal is
 * not needed: the repo's `.git` is never on the host.
 *
 * All or nothing, as locally: a failure after the container exists removes
 * it again, and the volume too when this `new` made it (a volume kept from
 * an earlier project of the same name is kept).
 *
 * @since 0.1.0
 * @module
 */
import { ConfigPaths, expandHome } from "@repoman/core/ConfigPaths"
import { ContainerRuntime, InstanceSpec, SnapshotPolicy, Volume } from "@repoman/core/ContainerRuntime"
import { HostFiles } from "@repoman/core/HostFiles"
import { HostInfo } from "@repoman/core/HostInfo"
import { CONTAINER_ID } from "@repoman/core/IdMapping"
import type { MemberName, ProfileName, RepoDir } from "@repoman/core/Ids"
import { type Project, timestampFromDate } from "@repoman/core/Project"
import { ProjectExists, Registry, RegistryError } from "@repoman/core/Registry"
import { DEFAULT_LIMITS, mergeLimits, type ResourceLimits } from "@repoman/core/ResourceLimits"
import * as TerminalText from "@repoman/core/TerminalText"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import { requireTarget } from "./ClusterTarget.ts"
import { recordContainerUser } from "./ContainerUser.ts"
import { cloneArgv, CloneFailed, cloneFailure, type GitUrl } from "./GitClone.ts"
import { prepareHome } from "./HomeParents.ts"
import { imageAndProfiles } from "./internal/projectSettings.ts"
import { InvalidPath, LeftBehind, LifecycleError, NeedsLocalEngine } from "./LifecycleError.ts"
import { requireOwnNamespace } from "./Owners.ts"
import { requireProfiles } from "./ProfileStatuses.ts"
import { pushTree, TransferError, type TransferResult } from "./RepoTransfer.ts"

/**
 * What a volume project starts with: an empty repo, a host directory sent
 * in, or a clone made inside.
 *
 * @since 0.1.0
 * @category models
 */
export interface VolumeSeed {
  /** A host directory to send into the repo (modes and symlinks kept). */
  readonly from?: string | undefined
  /** A URL the container's git clones into the repo. */
  readonly git?: GitUrl | undefined
}

/**
 * What {@link newVolumeProject} needs of `new`'s input.
 *
 * @since 0.1.0
 * @category models
 */
export interface VolumeProjectInput extends VolumeSeed {
  readonly name: Project["name"]
  readonly repo?: RepoDir | undefined
  readonly image?: Project["image"] | undefined
  readonly profiles?: ReadonlyArray<ProfileName> | undefined
  readonly backup?: boolean | undefined
  readonly limits?: ResourceLimits | undefined
  readonly hermetic?: boolean | undefined
  /** The cluster member to put the container and its volume on (see `ClusterTarget`). */
  readonly target?: MemberName | undefined
}

const needsLocal = (what: string) => new LifecycleError({ reason: new NeedsLocalEngine({ what }) })

/**
 * How long the container's `git clone` may take.
 */
const CLONE_TIMEOUT = "10 minutes"

/**
 * Creates a project whose repo is a storage volume of the (remote) engine.
 *
 * @since 0.1.0
 * @category programs
 */
export const newVolumeProject = Effect.fn("newVolumeProject")(function*(input: VolumeProjectInput) {
  const registry = yield* Registry
  const runtime = yield* ContainerRuntime
  const host = yield* HostInfo
  const { home } = yield* ConfigPaths

  const document = yield* registry.load
  if (document.projects.some((p) => p.name === input.name)) {
    return yield* new RegistryError({ reason: new ProjectExists({ name: input.name }) })
  }
  if (input.hermetic === true) return yield* needsLocal("--hermetic (a read-only mount of a host repo)")
  if (input.from !== undefined && input.git !== undefined) {
    return yield* new TransferError({ project: input.name, detail: "give --from or --git, not both", usage: true })
  }
  yield* requireOwnNamespace(runtime.namespace)
  // Any online member can take a volume repo: the volume is made beside the container.
  yield* requireTarget(input.target, { hostPaths: false })
  const override = yield* registry.getOverride(input.name)
  if (Option.isSome(override) && override.value.mounts.length > 0) {
    return yield* needsLocal(`the override's host mounts (${override.value.mounts.map((m) => m.source).join(", ")})`)
  }
  const repoDir = input.repo ?? (input.name as string as RepoDir)
  const repoPath = `${expandHome(document.defaults.reposRoot, home)}/${repoDir}`

  const { image, profiles } = imageAndProfiles(document, override, input)
  const required = yield* requireProfiles(profiles, document)
  const sharing = required.filter((p) => p.info.mounts.length > 0)
  if (sharing.length > 0) {
    return yield* needsLocal(
      `profile ${sharing.map((p) => `${p.name} (mounts ${p.info.mounts.map((m) => m.source).join(", ")})`).join(", ")}`
    )
  }
  if (input.from !== undefined) {
    // Checked before anything is made (pushTree checks again as it reads).
    const from = input.from
    const stat = yield* (yield* HostFiles).lstat(from).pipe(
      Effect.mapError((e) => new TransferError({ project: input.name, detail: e.message, usage: true, cause: e }))
    )
    if (Option.isNone(stat) || stat.value.type !== "directory") {
      return yield* new TransferError({ project: input.name, detail: `${from} is not a directory`, usage: true })
    }
  }

  // The engine's own scheduled snapshots of the volume ([checkpoints] volume_schedule, volume_expiry).
  const { volumeExpiry, volumeSchedule } = document.checkpoints
  const policy = volumeSchedule.length === 0 ? undefined : yield* Schema.decodeUnknownEffect(SnapshotPolicy)({
    schedule: volumeSchedule,
    ...(volumeExpiry.length === 0 ? {} : { expiry: volumeExpiry })
  }).pipe(
    Effect.mapError((e) =>
      new LifecycleError({
        reason: new InvalidPath({ path: "[checkpoints] volume_schedule/volume_expiry", detail: e.message })
      })
    )
  )

  const spec = new InstanceSpec({
    name: input.name,
    image,
    profiles,
    repo: new Volume({ path: repoPath }),
    env: Option.match(override, { onNone: () => ({}), onSome: (o) => o.env }),
    limits: mergeLimits(
      DEFAULT_LIMITS,
      document.defaults.limits,
      Option.match(override, { onNone: () => undefined, onSome: (o) => o.container.limits }),
      input.limits
    ),
    labels: { project: input.name, repo: repoPath },
    ...(input.target === undefined ? {} : { target: input.target })
  })
  const project: Project = {
    name: input.name,
    repo: repoDir,
    image,
    profiles,
    created: timestampFromDate(new Date(yield* Clock.currentTimeMillis)),
    backup: input.backup ?? true,
    storage: "volume"
  }

  // A volume kept from an earlier project of this name is taken up again, and kept on failure.
  const volumeExisted = yield* runtime.getRepoVolume(input.name).pipe(
    Effect.as(true),
    Effect.catchReason("ContainerRuntimeError", "NotFound", () => Effect.succeed(false))
  )
  const leftBehind = yield* Ref.make(false)
  const removeAgain = Effect.gen(function*() {
    yield* runtime.remove(input.name).pipe(Effect.catchReason("ContainerRuntimeError", "NotFound", () => Effect.void))
    if (!volumeExisted) {
      yield* runtime.deleteRepoVolume(input.name).pipe(
        Effect.catchReason("ContainerRuntimeError", "NotFound", () => Effect.void)
      )
    }
  }).pipe(Effect.catch(() => Ref.set(leftBehind, true)))

  return yield* Effect.scoped(Effect.gen(function*() {
    const instance = yield* Effect.acquireRelease(
      runtime.create(spec).pipe(Effect.tapError((e) => e.reason._tag === "AlreadyExists" ? Effect.void : removeAgain)),
      (_, exit) => Exit.isFailure(exit) ? removeAgain : Effect.void
    )
    yield* runtime.setRepoVolumeSnapshots(input.name, policy)
    yield* prepareHome(input.name, host.home)
    let transfer: Option.Option<TransferResult> = Option.none()
    if (input.from !== undefined) {
      transfer = Option.some(yield* pushTree(input.name, input.from, repoPath))
    } else if (input.git !== undefined) {
      const url = input.git
      const result = yield* runtime.exec(input.name, ["git", ...cloneArgv(url, repoPath)], {
        user: CONTAINER_ID,
        group: CONTAINER_ID,
        cwd: host.home,
        env: { HOME: host.home, GIT_TERMINAL_PROMPT: "0" }
      }).pipe(
        Effect.timeoutOrElse({
          duration: CLONE_TIMEOUT,
          orElse: () =>
            Effect.fail(new CloneFailed({ url, path: repoPath, detail: `still running after ${CLONE_TIMEOUT}` }))
        })
      )
      if (result.exitCode !== 0) {
        // The container's git wrote that text: escaped before it reaches a terminal.
        const detail = TerminalText.escape(cloneFailure(result.stderr, result.exitCode))
        return yield* new CloneFailed({ url, path: repoPath, detail })
      }
    }
    yield* recordContainerUser(input.name)
    yield* registry.addProject(project)
    return { project, instance, repoPath, transfer }
  })).pipe(
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
