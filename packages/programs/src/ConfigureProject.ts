/**
 * `config`: change an existing project's profiles, mounts, environment and
 * limits without re-creating its container, all or nothing.
 *
 * The change is worked out against the container as the engine reports it
 * and checked the way `new` checks (the container and its profiles must be
 * the user's, an added profile installed and not drifted from the library,
 * an added mount's source real, not sensitive unless named with
 * `allowSensitive`, and never the repo or its git seal); then the registry
 * entry is written, and the runtime applies the change in one request
 * (`ContainerRuntime.update`). If the runtime refuses, the registry entry
 * and the namespace's allowed paths are put back, and the container is as
 * it was (the runtime's update is all or nothing).
 *
 * A change the runtime can only apply at start (a kernel setting) needs a
 * restart of a running container: without `restart` it fails with
 * {@link RestartNeeded}, changing nothing.
 *
 * An added agent's profile or one sharing single files gets what `new`
 * prepares (`AgentState.makeProjectState`, `NewProject.prepareStoreParents`,
 * `NewProject.linkSharedFiles`), in a running container only, and only
 * after every path it mounts or links at has been looked at step by step in
 * the container (which a hostile agent may have used): a symlink or file
 * on the way refuses it. The seeded state directory is made before the
 * change and deleted if it fails; a removed agent's state mount goes, and
 * its directory once nothing mounts it (`AgentState.removeToolState`).
 *
 * @since 0.1.0
 * @module
 */
import { projectsDir, stateMountName, toolOfStateMount, TOOLS } from "@repoman/core/Agents"
import { ConfigPaths, expandHome } from "@repoman/core/ConfigPaths"
import {
  ContainerRuntime,
  type ContainerRuntimeError,
  GITFILE_TARGET,
  Instance,
  InstanceChange,
  Mount,
  type ProfileInfo
} from "@repoman/core/ContainerRuntime"
import { type FileLink, fileLinks } from "@repoman/core/FileLink"
import { HostInfo } from "@repoman/core/HostInfo"
import type { ProfileName, ProjectName } from "@repoman/core/Ids"
import type { Project } from "@repoman/core/Project"
import { Registry } from "@repoman/core/Registry"
import { type LimitsView, limitsView, mergeLimits, type ResourceLimits } from "@repoman/core/ResourceLimits"
import { allowedBy, checkSource, type SensitiveContext } from "@repoman/core/SensitivePaths"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { agentTools, makeProjectState, removeToolState } from "./AgentState.ts"
import { ORIGIN, PATCHES } from "./Hermetic.ts"
import { ownInstanceMountParents } from "./HomeParents.ts"
import { linkSharedFiles, prepareStoreParents } from "./NewProject.ts"
import { ownInstance, requireOwnNamespace } from "./Owners.ts"
import { requireProfiles } from "./ProfileStatuses.ts"

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/**
 * A mount the user asked for (`--mount`, `--unmount`) that may not be made
 * or taken away: the repo, its git seal, a sensitive host path, a path that
 * does not exist.
 *
 * @since 0.1.0
 * @category errors
 */
export class MountRefused extends Schema.TaggedClass<MountRefused>("@repoman/programs/ConfigureProject/MountRefused")(
  "MountRefused",
  { path: Schema.String, detail: Schema.String }
) {
  /** One line for the user. */
  get message(): string {
    return `${this.path}: ${this.detail}; nothing was changed`
  }
}

/**
 * A profile that cannot be added or removed this way.
 *
 * @since 0.1.0
 * @category errors
 */
export class ProfileRefused
  extends Schema.TaggedClass<ProfileRefused>("@repoman/programs/ConfigureProject/ProfileRefused")("ProfileRefused", {
    profile: Schema.String,
    detail: Schema.String
  })
{
  /** One line for the user. */
  get message(): string {
    return `profile ${this.profile}: ${this.detail}; nothing was changed`
  }
}

/**
 * An environment variable that cannot be set or unset as asked.
 *
 * @since 0.1.0
 * @category errors
 */
export class EnvRefused extends Schema.TaggedClass<EnvRefused>("@repoman/programs/ConfigureProject/EnvRefused")(
  "EnvRefused",
  { key: Schema.String, detail: Schema.String }
) {
  /** One line for the user. */
  get message(): string {
    return `environment variable ${this.key}: ${this.detail}; nothing was changed`
  }
}

/**
 * The change needs the running container restarted, and that was not
 * allowed (`restart`).
 *
 * @since 0.1.0
 * @category errors
 */
export class RestartNeeded
  extends Schema.TaggedClass<RestartNeeded>("@repoman/programs/ConfigureProject/RestartNeeded")("RestartNeeded", {
    name: Schema.String,
    reasons: Schema.Array(Schema.String)
  })
{
  /** One line for the user. */
  get message(): string {
    return `this change restarts ${this.name} (${
      this.reasons.join("; ")
    }); nothing was changed (give --restart to allow it)`
  }
}

/**
 * Why {@link ConfigureError} happened.
 *
 * @since 0.1.0
 * @category errors
 */
export const ConfigureErrorReason = Schema.Union([MountRefused, ProfileRefused, EnvRefused, RestartNeeded])
/**
 * The decoded type of the `ConfigureErrorReason` schema.
 *
 * @since 0.1.0
 * @category errors
 */
export type ConfigureErrorReason = typeof ConfigureErrorReason.Type

/**
 * The error of {@link configureProject}: what the user asked for cannot be
 * done (the CLI exits 2). Nothing was changed.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConfigureError
  extends Schema.TaggedError<ConfigureError>("@repoman/programs/ConfigureProject/ConfigureError")("ConfigureError", {
    reason: ConfigureErrorReason
  })
{
  override get message(): string {
    return this.reason.message
  }

  /** The user's request was at fault: the CLI exits 2. */
  get usage(): boolean {
    return true
  }
}

const refuse = (reason: ConfigureErrorReason) => Effect.fail(new ConfigureError({ reason }))

// ---------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------

/**
 * A host directory to mount: `source` on the host (`~` allowed), `path`
 * inside, read-only or not.
 *
 * @since 0.1.0
 * @category models
 */
export interface MountRequest {
  readonly source: string
  readonly path: string
  readonly readOnly: boolean
}

/**
 * What the user asked to change; everything optional.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConfigureInput {
  readonly name: ProjectName
  readonly addProfiles?: ReadonlyArray<ProfileName>
  readonly removeProfiles?: ReadonlyArray<ProfileName>
  /** Mounts to add; one at a path already mounted replaces it. */
  readonly mounts?: ReadonlyArray<MountRequest>
  /** Paths inside whose mounts are taken away. */
  readonly unmounts?: ReadonlyArray<string>
  readonly env?: Readonly<Record<string, string>>
  readonly unsetEnv?: ReadonlyArray<string>
  /** Limits to set, key by key over the container's. */
  readonly limits?: ResourceLimits
  /** Sensitive host paths the user names as shared anyway (as `profile install --allow-sensitive`). */
  readonly allowSensitive?: ReadonlyArray<string>
  /** Allow restarting a running container when the change needs it. */
  readonly restart?: boolean
}

/**
 * A project's settings as its container has them.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProjectSettings {
  readonly name: string
  readonly status: string
  readonly profiles: ReadonlyArray<string>
  readonly mounts: ReadonlyArray<{ readonly source: string; readonly path: string; readonly readOnly: boolean }>
  readonly env: Readonly<Record<string, string>>
  readonly limits: LimitsView
}

/**
 * What {@link configureProject} did: the settings before and after, and
 * whether a restart was needed and made (`changed: false`: the request
 * changed nothing, and nothing was written).
 *
 * @since 0.1.0
 * @category models
 */
export interface ConfigureResult {
  readonly changed: boolean
  readonly before: ProjectSettings
  readonly after: ProjectSettings
  readonly restartReasons: ReadonlyArray<string>
  readonly restarted: boolean
  /** What was prepared or taken away for agents (their state directories) and what seeding left out. */
  readonly notes: ReadonlyArray<string>
}

/**
 * The settings view of an instance.
 *
 * @since 0.1.0
 * @category utils
 */
export const settingsOf = (instance: Instance): ProjectSettings => ({
  name: instance.name,
  status: instance.status,
  profiles: instance.profiles,
  mounts: instance.mounts.map((m) => ({ source: m.source, path: m.path, readOnly: m.readOnly })),
  env: instance.env,
  limits: limitsView(instance.limits)
})

// ---------------------------------------------------------------------------
// Programs
// ---------------------------------------------------------------------------

const within = (path: string, dir: string): boolean =>
  path === dir || path.startsWith(dir.endsWith("/") ? dir : `${dir}/`)

/** Whether two paths overlap: one is the other or lies in it. */
const overlaps = (a: string, b: string): boolean => within(a, b) || within(b, a)

/** A path with `.`, `..` and repeated or trailing slashes resolved as text (`/a/../b/` is `/b`). */
const normalize = (p: string): string => {
  const parts: Array<string> = []
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue
    if (part === "..") parts.pop()
    else parts.push(part)
  }
  return p.startsWith("/") ? `/${parts.join("/")}` : parts.join("/")
}

/**
 * Why a mount at `target` (absolute) could be steered: the first step of
 * the path the container has as something other than a directory (a
 * symlink planted to steer the mount onto the seal, say, or a file Incus
 * would put the mount in place of, gone once the mount is taken away).
 */
const blockedStep = (name: ProjectName, target: string) =>
  Effect.gen(function*() {
    const runtime = yield* ContainerRuntime
    const steps = target.split("/").filter((x) => x.length > 0).map((_, i, all) => `/${all.slice(0, i + 1).join("/")}`)
    for (const step of steps) {
      const there = yield* runtime.fileInfo(name, step)
      if (Option.isNone(there)) break
      if (there.value.type !== "directory") {
        return Option.some(`${step} is a ${there.value.type} in the container, not a directory`)
      }
    }
    return Option.none<string>()
  })

/** The shared files a profile declares (none when its declaration is malformed). */
const linksOf = (info: ProfileInfo): ReadonlyArray<FileLink> => {
  const links = fileLinks(info)
  return Result.isSuccess(links) ? links.success : []
}

/** An environment variable name as the override files take it. */
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * The registered project `name` and its container, which must be the
 * user's (`NotYours` otherwise).
 *
 * @since 0.1.0
 * @category programs
 */
export const projectSettings = Effect.fn("ConfigureProject.projectSettings")(function*(name: ProjectName) {
  const registry = yield* Registry
  const runtime = yield* ContainerRuntime
  const project = yield* registry.getProject(name)
  yield* requireOwnNamespace(runtime.namespace)
  const instance = yield* ownInstance(name)
  return { project, instance, settings: settingsOf(instance) }
})

/** Whether two instances have the same profiles, mounts, environment and limits (order of mounts and keys aside). */
const sameSettings = (a: Instance, b: Instance): boolean => {
  const key = (i: Instance) => {
    const { limits, mounts, profiles } = settingsOf(i)
    return JSON.stringify({
      profiles,
      mounts: [...mounts].sort((x, y) => x.path.localeCompare(y.path)),
      env: Object.entries(i.env).sort(([x], [y]) => x.localeCompare(y)),
      limits
    })
  }
  return key(a) === key(b)
}

/** The container paths that are the repo, its seal or repoman's own, which `--mount`/`--unmount` may not touch. */
const protectedPaths = (instance: Instance): ReadonlyArray<string> => [
  ...Option.match(instance.repo, { onNone: () => [], onSome: (r) => [r.path] }),
  ...(Option.isSome(instance.gitCover) ? [GITFILE_TARGET] : []),
  ORIGIN,
  PATCHES
]

/** The host paths an added mount may not reach: the repo (and its `.git`) and the seal's gitdirs. */
const protectedSources = (instance: Instance): ReadonlyArray<string> => [
  ...Option.toArray(instance.repo).flatMap((r) => r._tag === "HostPath" ? [r.source] : []),
  // The directory of every project's sealed gitdir, not only this one's.
  ...Option.match(instance.gitCover, {
    onNone: () => [],
    onSome: (c) => [c.gitDir.replace(/\/[^/]+$/, ""), ...(c.gitFile === undefined ? [] : [c.gitFile])]
  })
]

/**
 * Changes project `input.name` as asked (see the module): nothing when the
 * request changes nothing. Fails without changing anything with
 * {@link ConfigureError} for a request that cannot be done, `NotYours` for
 * a container or profile that is not the user's, `ProfileInstallError` for
 * a profile not installed or drifted, and the runtime's error when the
 * engine refuses.
 *
 * @since 0.1.0
 * @category programs
 */
export const configureProject = Effect.fn("ConfigureProject.configureProject")(function*(input: ConfigureInput) {
  const registry = yield* Registry
  const runtime = yield* ContainerRuntime
  const host = yield* HostInfo
  const paths = yield* ConfigPaths
  const fs = yield* FileSystem.FileSystem
  const { instance, project, settings: before } = yield* projectSettings(input.name)
  const document = yield* registry.load

  // Profiles.
  let profiles: ReadonlyArray<ProfileName> = instance.profiles
  for (const p of input.removeProfiles ?? []) {
    if (p === "default") {
      return yield* refuse(new ProfileRefused({ profile: p, detail: "default holds the root disk and stays" }))
    }
    if (!profiles.includes(p)) {
      return yield* refuse(
        new ProfileRefused({ profile: p, detail: `${input.name} does not have it (it has ${profiles.join(", ")})` })
      )
    }
    profiles = profiles.filter((q) => q !== p)
  }
  const added = [...new Set(input.addProfiles ?? [])].filter((p) => !profiles.includes(p))
  // Installed, the user's, allowed, and as the library has it: as `new` checks.
  const required = yield* requireProfiles(added, document)
  for (const r of required) {
    if (Result.isFailure(fileLinks(r.info))) {
      return yield* refuse(new ProfileRefused({ profile: r.name, detail: "its shared-file declaration is malformed" }))
    }
  }
  // What `new` prepares for agents and shared files, prepared here in a
  // lived-in container: everything at those paths inside is the agent's.
  const addedTools = agentTools(required)
  const addedLinks = required.flatMap((r) => linksOf(r.info))
  const preparing = required.find((r) => agentTools([r]).length > 0 || linksOf(r.info).length > 0)
  if (preparing !== undefined && instance.status !== "Running") {
    return yield* refuse(
      new ProfileRefused({
        profile: preparing.name,
        detail: `${input.name} is ${instance.status.toLowerCase()}: an agent's state and shared files are ` +
          `prepared in the running container (start it with 'repoman start ${input.name}' first)`
      })
    )
  }
  const stateTools = addedTools.filter((t) =>
    TOOLS[t].stateDir !== undefined && !instance.mounts.some((m) => m.name === stateMountName(t))
  )
  const targets = [
    ...stateTools.map((t) => `${host.home}/${TOOLS[t].stateDir}`),
    ...required.flatMap((r) => r.info.mounts.map((m) => m.path)),
    ...addedLinks.map((l) => l.file.replace(/\/[^/]+$/, ""))
  ]
  for (const target of targets) {
    const blocked = yield* blockedStep(input.name, target)
    if (Option.isSome(blocked)) {
      const by = required.find((r) => r.info.mounts.some((m) => m.path === target)) ?? preparing ?? required[0]
      return yield* refuse(new ProfileRefused({ profile: by?.name ?? "", detail: blocked.value }))
    }
  }
  for (const link of addedLinks) {
    const there = yield* runtime.fileInfo(input.name, link.file)
    if (Option.isSome(there) && !(there.value.type === "symlink" && there.value.target === link.target)) {
      const by = required.find((r) => linksOf(r.info).includes(link))
      return yield* refuse(
        new ProfileRefused({
          profile: by?.name ?? "",
          detail: `${link.file} is a ${there.value.type} in the container, where the shared file's link goes ` +
            `(move it away inside, then add the profile again)`
        })
      )
    }
  }
  // Agents whose last profile goes: their state mount goes too, and its directory once the change is made.
  const idMapping = Option.getOrElse(instance.idMapping, () => ({ _tag: "Shift" } as const))
  const infoOf = (p: ProfileName) =>
    runtime.getProfile(p).pipe(
      Effect.map((profile) => [{ info: runtime.inspectProfile(profile, idMapping) }]),
      Effect.orElseSucceed(() => [])
    )
  const removedTools = agentTools((yield* Effect.forEach(input.removeProfiles ?? [], infoOf)).flat())
  const keptTools = removedTools.length === 0
    ? []
    : [...agentTools((yield* Effect.forEach(profiles, infoOf)).flat()), ...addedTools]
  const dropped = instance.mounts.filter((m) => {
    const tool = toolOfStateMount(m.name)
    return tool !== undefined && removedTools.includes(tool) && !keptTools.includes(tool) &&
      m.source.startsWith(`${projectsDir(paths.stateDir)}/`)
  })
  profiles = [...profiles, ...added]

  // Mounts.
  const guarded = protectedPaths(instance)
  let mounts: ReadonlyArray<Mount> = instance.mounts.filter((m) => !dropped.includes(m))
  for (const raw of input.unmounts ?? []) {
    const target = normalize(raw)
    const shielded = guarded.find((g) => overlaps(target, g))
    if (shielded !== undefined) {
      return yield* refuse(
        new MountRefused({ path: raw, detail: `the repo and its git seal (${shielded}) stay mounted` })
      )
    }
    if (!mounts.some((m) => m.path === target)) {
      return yield* refuse(
        new MountRefused({
          path: raw,
          detail: `nothing is mounted there (mounts: ${mounts.map((m) => m.path).join(", ") || "none"})`
        })
      )
    }
    mounts = mounts.filter((m) => m.path !== target)
  }
  const sensitive: SensitiveContext = { home: host.home, stateDir: paths.stateDir, configDir: paths.configDir }
  const sources = protectedSources(instance)
  const newSources: Array<string> = []
  const reposRoot = expandHome(document.defaults.reposRoot, paths.home)
  for (const m of input.mounts ?? []) {
    const target = normalize(m.path)
    if (!target.startsWith("/") || target.includes("\0")) {
      return yield* refuse(new MountRefused({ path: m.path, detail: "the path inside must be absolute" }))
    }
    const shielded = guarded.find((g) => overlaps(target, g))
    if (shielded !== undefined) {
      return yield* refuse(
        new MountRefused({ path: m.path, detail: `a mount there would cover the repo or its git seal (${shielded})` })
      )
    }
    // Each step of the path as the container has it: a symlink (planted to
    // steer the mount onto the seal, say) or a file (Incus would put the
    // mount in its place, and it is gone once the mount is taken away) is refused.
    const blocked = yield* blockedStep(input.name, target)
    if (Option.isSome(blocked)) return yield* refuse(new MountRefused({ path: m.path, detail: blocked.value }))
    const source = expandHome(m.source, paths.home)
    if (!source.startsWith("/") || source.includes("\0")) {
      return yield* refuse(
        new MountRefused({ path: m.source, detail: "the host path must be absolute or start with ~/" })
      )
    }
    const real = yield* fs.realPath(source).pipe(
      Effect.catch(() => refuse(new MountRefused({ path: m.source, detail: "does not exist on the host" })))
    )
    const reached = sources.find((s) => overlaps(real, s))
    if (reached !== undefined) {
      return yield* refuse(
        new MountRefused({
          path: m.source,
          detail: `would share the repo or its git seal (${reached}) around the seal`
        })
      )
    }
    const found = yield* checkSource(source, sensitive, { readOnly: m.readOnly })
    if (found !== undefined && !allowedBy(found, input.allowSensitive ?? [])) {
      return yield* refuse(
        new MountRefused({
          path: m.source,
          detail: `would expose ${found.exposes} to the container (if that is really what you want: ` +
            `--allow-sensitive ${found.path})`
        })
      )
    }
    if (document.defaults.uidMode === "shift" && !within(real, reposRoot)) {
      return yield* refuse(
        new MountRefused({ path: m.source, detail: `outside the repos root ${reposRoot} (uid mode shift)` })
      )
    }
    const taken = new Set(mounts.filter((x) => x.path !== target).map((x) => x.name))
    let n = 0
    while (taken.has(`mount${n}`)) n++
    mounts = [
      ...mounts.filter((x) => x.path !== target),
      new Mount({ name: `mount${n}`, source: real, path: target, readOnly: m.readOnly })
    ]
    newSources.push(real)
  }

  // Environment.
  const env: Record<string, string> = { ...instance.env }
  for (const [key, value] of Object.entries(input.env ?? {})) {
    if (!ENV_KEY.test(key)) {
      return yield* refuse(
        new EnvRefused({ key, detail: "a name is letters, digits and _, not starting with a digit" })
      )
    }
    if (value.includes("\0")) return yield* refuse(new EnvRefused({ key, detail: "a value may not hold a NUL byte" }))
    env[key] = value
  }
  for (const key of input.unsetEnv ?? []) {
    if (!(key in env)) return yield* refuse(new EnvRefused({ key, detail: `is not set on ${input.name}` }))
    delete env[key]
  }

  // The added agents' state: fresh, seeded on the host before the container mounts it; deleted again on failure.
  const state = yield* makeProjectState(input.name, stateTools)
  mounts = [...mounts, ...Option.match(state, { onNone: () => [], onSome: (st) => st.mounts })]
  // Unless the container kept the change after all (a restart that failed after the engine took it).
  const discardState = Option.match(state, {
    onNone: () => Effect.void,
    onSome: (st) =>
      runtime.get(input.name).pipe(
        Effect.map((now) => now.mounts.some((m) => m.source.startsWith(`${st.root}/`))),
        Effect.orElseSucceed(() => true),
        Effect.flatMap((mounted) => mounted ? Effect.void : Effect.ignore(fs.remove(st.root, { recursive: true })))
      )
  })
  return yield* Effect.gen(function*() {
    const limits = mergeLimits(instance.limits, input.limits)
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)
    const sameMounts = same(
      mounts.map((m) => [m.name, m.source, m.path, m.readOnly]),
      instance.mounts.map((m) => [m.name, m.source, m.path, m.readOnly])
    )
    const change = new InstanceChange({
      ...(same(profiles, instance.profiles) ? {} : { profiles }),
      ...(sameMounts ? {} : { mounts }),
      ...(same(Object.entries(env).sort(), Object.entries(instance.env).sort()) ? {} : { env }),
      ...(same(limitsView(limits), limitsView(instance.limits)) ? {} : { limits })
    })
    if (Object.keys(change).length === 0) {
      return {
        changed: false,
        before,
        after: before,
        restartReasons: [],
        restarted: false,
        notes: []
      } satisfies ConfigureResult
    }

    const reasons = yield* runtime.planUpdate(input.name, change)
    if (reasons.length > 0 && input.restart !== true) {
      return yield* refuse(new RestartNeeded({ name: input.name, reasons }))
    }

    // The namespace lets the container mount the new sources (as `profile install` does); taken back on failure.
    const allowed = newSources.length === 0 ? { added: [], refused: [] } : yield* runtime.allowPaths(newSources)
    const [refusedPath] = allowed.refused
    if (refusedPath !== undefined) {
      return yield* refuse(new MountRefused({ path: refusedPath.path, detail: refusedPath.reason }))
    }
    const disallow = allowed.added.length === 0 ? Effect.void : Effect.ignore(runtime.disallowPaths(allowed.added))

    const recorded: Project = {
      ...project,
      profiles,
      mounts: mounts.map((m) => ({ source: m.source, path: m.path, readOnly: m.readOnly })),
      env,
      limits
    }
    /** Whether the container has the change (the engine took it, and what failed came after: a restart). */
    const applied = runtime.get(input.name).pipe(
      Effect.map((now) => sameSettings(now, new Instance({ ...instance, ...change }))),
      Effect.orElseSucceed(() => false)
    )
    const result = yield* registry.updateProject(input.name, () => recorded).pipe(
      Effect.tapError(() => disallow),
      Effect.andThen(
        runtime.update(input.name, change, { restart: input.restart === true }).pipe(
          // The engine refused: the entry (and the allowed paths) go back to what they were. A change
          // the engine took before something later failed stays recorded, as the container has it.
          Effect.tapError(() =>
            Effect.flatMap(applied, (kept) =>
              kept
                ? Effect.void
                : Effect.andThen(Effect.ignore(registry.updateProject(input.name, () => project)), disallow))
          )
        )
      ),
      Effect.catchReason(
        "ContainerRuntimeError",
        "Conflict",
        (reason, error): Effect.Effect<never, ConfigureError | ContainerRuntimeError> =>
          // Planned live, but the engine now wants a restart: as if planned so.
          reason.detail.startsWith("needs a restart") && input.restart !== true
            ? refuse(new RestartNeeded({ name: input.name, reasons: [reason.detail] }))
            : Effect.fail(error)
      )
    )
    const after = yield* runtime.get(input.name)
    // Directories Incus made above a new mount under the home: the container user's (see `HomeParents`);
    // then what `new` prepares for the added agents and shared files. Should that fail, the change goes back.
    yield* Effect.gen(function*() {
      if (!sameMounts || !same(profiles, instance.profiles)) yield* ownInstanceMountParents(after, host.home)
      yield* prepareStoreParents(input.name, addedTools)
      yield* linkSharedFiles(input.name, required)
    }).pipe(
      Effect.tapError(() =>
        result.restarted || (addedTools.length === 0 && addedLinks.length === 0)
          ? Effect.void
          : Effect.andThen(
            Effect.ignore(
              runtime.update(
                input.name,
                new InstanceChange({ profiles: instance.profiles, mounts: instance.mounts }),
                { restart: false }
              )
            ),
            Effect.ignore(registry.updateProject(input.name, () => project))
          )
      )
    )
    // The state of agents taken away, now that nothing mounts it.
    const removedState = dropped.length === 0 ? [] : yield* removeToolState(dropped)
    return {
      changed: true,
      before,
      after: settingsOf(after),
      restartReasons: result.restartReasons,
      restarted: result.restarted,
      notes: [
        ...Option.match(state, {
          onNone: () => [],
          onSome: (st) => [
            `agent state of this project: ${st.root} (${st.mounts.map((m) => m.path).join(", ")} inside; ` +
            `removed with the project or the profile)`,
            ...st.notes
          ]
        }),
        ...removedState.map((dir) => `agent state deleted: ${dir}`)
      ]
    } satisfies ConfigureResult
  }).pipe(Effect.onError(() => discardState))
})
