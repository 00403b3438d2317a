/**
 * `new`: create a project's container and register it, all or nothing.
 *
 * The registry is read once. One create request carries image, profiles,
 * repo, mounts, environment, limits, id mapping and labels, and starts the
 * container; then the home and shared files are prepared while the
 * container user's login shell and locales are recorded (see
 * `ContainerUser`); the registry is written last, and any failure after the
 * container exists deletes it again, so the registry and the engine never
 * disagree.
 *
 * @since 0.1.0
 * @module
 */
import { ConfigPaths, expandHome } from "@repoman/core/ConfigPaths"
import { ContainerRuntime, HostPath, InstanceSpec, Mount } from "@repoman/core/ContainerRuntime"
import { fileLinks } from "@repoman/core/FileLink"
import { HostInfo } from "@repoman/core/HostInfo"
import { CONTAINER_ID, idMappingFor } from "@repoman/core/IdMapping"
import type { ImageRef, ProfileName, ProjectName, RepoDir } from "@repoman/core/Ids"
import { type Project, timestampFromDate } from "@repoman/core/Project"
import { ProjectExists, Registry, RegistryError } from "@repoman/core/Registry"
import type { ProjectOverride, RegistryDocument } from "@repoman/core/RegistryDocument"
import { mergeLimits, type ResourceLimits } from "@repoman/core/ResourceLimits"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import * as Path from "effect/Path"
import * as Ref from "effect/Ref"
import * as Result from "effect/Result"
import { recordContainerUser } from "./ContainerUser.ts"
import { hermeticStorage, makeWorkingCopy, preparePatchesDir } from "./Hermetic.ts"
import { InvalidPath, LeftBehind, LifecycleError } from "./LifecycleError.ts"
import { type RequiredProfile, requireProfiles } from "./ProfileStatuses.ts"
import { type RepoPath, resolveRepo } from "./RepoPath.ts"
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
  /** Limits given to `new`; merged over `[defaults]` and the override's `[container]`. */
  readonly limits?: ResourceLimits
  /** Hermetic: the host patches dir (the repo then goes read-only at `Hermetic.ORIGIN`). */
  readonly hermetic?: { readonly patches: string }
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
      ...options.mounts.map((m, i) => new Mount({ name: `mount${i}`, source: m.source, path: m.path, readOnly: false }))
    ],
    env: Option.match(options.override, { onNone: () => ({}), onSome: (o) => o.env }),
    limits: mergeLimits(
      options.document.defaults.limits,
      Option.match(options.override, { onNone: () => undefined, onSome: (o) => o.container.limits }),
      options.limits
    ),
    idMapping: idMappingFor(options.document.defaults.uidMode, options.host),
    labels: { project: options.name, repo: options.repo.path }
  })
}

const unique = <A>(xs: ReadonlyArray<A>): ReadonlyArray<A> => [...new Set(xs)]

/**
 * Gives the container user a home at the host user's home path, owned by
 * uid/gid 1000, so that `~/...` means the same place on both sides: profiles
 * mount `~/.claude` and friends there, and agents that key state by path agree.
 */
const prepareHome = (name: ProjectName, home: string) =>
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

/**
 * Makes the shared files the container's profiles declare (see
 * `@repoman/core/FileLink`) symlinks into their shared directories. Profiles
 * whose declaration is malformed were refused by `profile install`; one put
 * there by other means shares nothing.
 */
const linkSharedFiles = (name: ProjectName, profiles: ReadonlyArray<RequiredProfile>) =>
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
 * taken, the repo is missing or outside the repos root, a profile is not
 * installed or differs from the library (`ProfileInstallError`, naming
 * `repoman profile install NAME`), or the engine refuses.
 *
 * @since 0.1.0
 * @category programs
 */
export const newProject = Effect.fn("newProject")(function*(input: NewProjectInput) {
  const registry = yield* Registry
  const runtime = yield* ContainerRuntime
  const host = yield* HostInfo
  const { home } = yield* ConfigPaths
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path

  const document = yield* registry.load
  if (document.projects.some((p) => p.name === input.name)) {
    return yield* new RegistryError({ reason: new ProjectExists({ name: input.name }) })
  }
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

  const overrideImage = Option.flatMap(override, (o) => Option.fromNullishOr(o.container.image))
  const image = input.image ?? Option.getOrElse(overrideImage, () => document.defaults.defaultImage)
  const profiles = unique([
    ...document.defaults.profiles,
    ...Option.match(override, { onNone: () => [], onSome: (o) => o.container.profiles }),
    ...(input.profiles ?? [])
  ])
  // Every profile must be installed, and a library profile must match the library.
  const required = yield* requireProfiles(profiles, document)
  const spec = instanceSpec({
    name: input.name,
    image,
    profiles,
    repo,
    document,
    override,
    mounts,
    host,
    ...(input.limits === undefined ? {} : { limits: input.limits }),
    ...(input.hermetic === true ? { hermetic: { patches: yield* preparePatchesDir(input.name) } } : {})
  })
  const created = timestampFromDate(new Date(yield* Clock.currentTimeMillis))
  const project: Project = {
    name: input.name,
    repo: input.repo ?? (input.name as string as RepoDir),
    image,
    profiles,
    created,
    backup: input.backup ?? true
  }

  // Set when a failure after create could not delete the container again.
  const leftBehind = yield* Ref.make(false)
  return yield* Effect.scoped(Effect.gen(function*() {
    const instance = yield* Effect.acquireRelease(
      runtime.create(spec),
      (_, exit) =>
        Exit.isFailure(exit)
          ? runtime.remove(input.name).pipe(
            Effect.catchReason("ContainerRuntimeError", "NotFound", () => Effect.void),
            Effect.catch(() => Ref.set(leftBehind, true))
          )
          : Effect.void
    )
    // What sessions need to know about the container is read now, beside
    // the other set-up steps, before any agent has run in it.
    yield* Effect.all([
      Effect.gen(function*() {
        yield* prepareHome(input.name, host.home)
        yield* linkSharedFiles(input.name, required)
        if (input.hermetic === true) yield* makeWorkingCopy(input.name, repo.path)
      }),
      recordContainerUser(input.name)
    ], { concurrency: "unbounded", discard: true })
    yield* registry.addProject(project)
    return { project, instance, repo }
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
