/**
 * How the profile library stands against the namespace: `repoman profile
 * list` (installed? in sync?), `diff` (the library version beside the
 * installed one), `show` (the rendered library version), and the check
 * `new` makes before it creates a container ({@link requireProfiles}).
 *
 * @since 0.1.0
 * @module
 */
import { AGENT_LABEL, RETIRED_PROFILES, storeDir, ToolId, TOOLS } from "@repoman/core/Agents"
import { ContainerRuntime, type ProfileInfo, ProfileSpec } from "@repoman/core/ContainerRuntime"
import { HostInfo } from "@repoman/core/HostInfo"
import type { ProfileName } from "@repoman/core/Ids"
import { type ProfileEntry, type ProfileOrigin, ProfileStore } from "@repoman/core/ProfileStore"
import type { RegistryDocument } from "@repoman/core/RegistryDocument"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { hostStateDir, seedSource } from "./AgentInstall.ts"
import { requireOwnProfile } from "./Owners.ts"
import { contextNow, prepareContext, prepareProfile, sameSpec } from "./PreparedProfile.ts"
import { Drifted, failWith, NotAllowed, NotInstalled, Retired, UnknownProfile } from "./ProfileInstallError.ts"

/**
 * One row of `repoman profile list`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProfileStatus {
  readonly name: ProfileName
  readonly origin: ProfileOrigin
  readonly shadows: boolean
  readonly location: string
  readonly installed: boolean
  /** `null` when not installed, or when the library version cannot be rendered (see `problem`). */
  readonly inSync: boolean | null
  readonly problem: string | null
  /** For a profile of an older repoman that is still installed: the profile that replaces it. */
  readonly replacedBy: string | null
}

/**
 * The library with, for each profile, whether it is installed in the
 * namespace and in sync with the library.
 *
 * @since 0.1.0
 * @category programs
 */
export const profileStatuses = Effect.fn("ProfileStatuses.profileStatuses")(function*() {
  const store = yield* ProfileStore
  const runtime = yield* ContainerRuntime
  const context = yield* contextNow
  const entries = yield* store.list()
  const installed = new Map((yield* runtime.listProfiles()).map((p) => [p.name as string, p]))
  const rows = yield* Effect.forEach(entries, (entry: ProfileEntry) =>
    Effect.gen(function*() {
      const current = installed.get(entry.name)
      const prepared = yield* prepareProfile(entry.name, context).pipe(Effect.result)
      const problem = prepared._tag === "Failure"
        ? prepared.failure._tag === "AgentInstallError"
          ? `${prepared.failure.tool} is not installed on this host ('repoman profile show ${entry.name}' says how)`
          : prepared.failure.message
        : null
      const inSync = current === undefined || prepared._tag === "Failure"
        ? null
        : sameSpec(prepared.success.spec, current)
      return {
        name: entry.name,
        origin: entry.origin,
        shadows: entry.shadows,
        location: entry.location,
        installed: current !== undefined,
        inSync,
        problem,
        replacedBy: null
      } satisfies ProfileStatus
    }))
  const library = new Set(entries.map((e) => e.name as string))
  const retired = [...installed.values()].flatMap((p): ReadonlyArray<ProfileStatus> => {
    const replacement = RETIRED_PROFILES[p.name]
    return replacement === undefined || library.has(p.name) ? [] : [{
      name: p.name,
      origin: { _tag: "Vendor" },
      shadows: false,
      location: "(a vendor profile of an older repoman)",
      installed: true,
      inSync: false,
      problem: null,
      replacedBy: replacement
    }]
  })
  return [...rows, ...retired] as ReadonlyArray<ProfileStatus>
})

/**
 * The two sides of `diff`: the rendered library version and the installed
 * one (`None` when not installed).
 *
 * @since 0.1.0
 * @category models
 */
export interface ProfileComparison {
  readonly name: ProfileName
  readonly library: ProfileSpec
  readonly installed: Option.Option<ProfileSpec>
  readonly equal: boolean
}

/**
 * Compares the rendered library version of a profile with the installed one.
 *
 * @since 0.1.0
 * @category programs
 */
export const compareProfile = Effect.fn("ProfileStatuses.compareProfile")(function*(name: ProfileName) {
  const runtime = yield* ContainerRuntime
  const prepared = yield* prepareProfile(name, yield* contextNow)
  const installed = yield* runtime.getProfile(name).pipe(
    Effect.map((p) =>
      Option.some(new ProfileSpec({ description: p.description, config: p.config, devices: p.devices }))
    ),
    Effect.catchReason("ContainerRuntimeError", "NotFound", () => Effect.succeedNone)
  )
  return {
    name,
    library: prepared.spec,
    installed,
    equal: Option.match(installed, { onNone: () => false, onSome: (i) => sameSpec(prepared.spec, i) })
  } satisfies ProfileComparison
})

/**
 * Renders a library profile for this host (what `show` prints).
 *
 * @since 0.1.0
 * @category programs
 */
export const renderProfile = Effect.fn("ProfileStatuses.renderProfile")(function*(name: ProfileName) {
  const store = yield* ProfileStore
  return yield* store.render(name, (yield* contextNow).variables)
})

/**
 * An installed profile a new container will get, as the runtime reads it.
 *
 * @since 0.1.0
 * @category models
 */
export interface RequiredProfile {
  readonly name: ProfileName
  readonly info: ProfileInfo
}

/**
 * Checks the profiles a new container will get, against the registry
 * `document` the caller has loaded: each must be installed, be the user's
 * (`NotYours` otherwise), pass the runtime's allow list (one put there by
 * other means may not), and one from the library must match its rendered
 * library version. The namespace's
 * `default` profile always exists and is not the library's, so it is not
 * looked at. Returns the others as installed, read by the runtime.
 *
 * @since 0.1.0
 * @category programs
 */
export const requireProfiles = Effect.fn("ProfileStatuses.requireProfiles")(function*(
  requested: ReadonlyArray<ProfileName>,
  document: RegistryDocument
) {
  const names = requested.filter((name) => name !== "default")
  // Nothing to check: skip reading the library and the host's variables.
  if (names.length === 0) return []
  const runtime = yield* ContainerRuntime
  const store = yield* ProfileStore
  const library = new Set((yield* store.list()).map((e) => e.name as string))
  for (const name of names) {
    const replacement = RETIRED_PROFILES[name]
    if (replacement !== undefined && !library.has(name)) {
      return yield* failWith(new Retired({ profile: name, replacement }))
    }
  }
  const context = yield* prepareContext(yield* HostInfo, document)
  const required: Array<RequiredProfile> = []
  for (const name of names) {
    const installed = yield* runtime.getProfile(name).pipe(
      Effect.catchReason("ContainerRuntimeError", "NotFound", () =>
        library.has(name)
          ? failWith(new NotInstalled({ profile: name }))
          : Effect.flatMap(runtime.listProfiles(), (all) =>
            failWith(
              new UnknownProfile({
                profile: name,
                known: [...library, ...all.map((p) => p.name as string).filter((n) => n !== "default")]
              })
            )))
    )
    yield* requireOwnProfile(installed)
    if (library.has(name)) {
      const prepared = yield* prepareProfile(name, context)
      if (!sameSpec(prepared.spec, installed)) return yield* failWith(new Drifted({ profile: name }))
    }
    const info = runtime.inspectProfile(installed, context.idMapping)
    if (Option.isSome(info.refusal)) {
      return yield* failWith(new NotAllowed({ profile: name, detail: info.refusal.value }))
    }
    required.push({ name, info })
  }
  return required as ReadonlyArray<RequiredProfile>
})

/**
 * One host directory a profile mounts, as `profile show` tells it.
 *
 * @since 0.1.0
 * @category models
 */
export interface SharedMount {
  readonly source: string
  readonly path: string
  readonly access: "read-only" | "read-write"
}

/**
 * What `profile show` says about a profile: what it mounts from the host and
 * which way, its environment, and for a tool profile its sharing plan (what
 * is copied into each project at `new`, what stays per project, how the
 * login is shared, and what the host's shell must set). A tool that is not
 * installed on this host shows `missing` and `<not found>` in its paths.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProfileDescription {
  readonly name: ProfileName
  readonly spec: ProfileSpec
  readonly mounts: ReadonlyArray<SharedMount>
  readonly env: Readonly<Record<string, string>>
  readonly tool: ToolDescription | null
}

/**
 * The sharing plan of a tool profile, for this host.
 *
 * @since 0.1.0
 * @category models
 */
export interface ToolDescription {
  readonly id: ToolId
  readonly title: string
  readonly install: string | null
  readonly missing: string | null
  /** Where the project's own state dir is mounted inside (`~/.claude`), or null for Node. */
  readonly perProjectPath: string | null
  readonly perProject: string
  readonly copiedAtNew: ReadonlyArray<{ readonly from: string; readonly note: string }>
  readonly login: string
  /** The line the host's shell start-up file needs (Claude's credential store), or null. */
  readonly hostExport: string | null
}

const NOT_FOUND = "<not found>"

/**
 * Describes a library profile for `profile show`.
 *
 * @since 0.1.0
 * @category programs
 */
export const describeProfile = Effect.fn("ProfileStatuses.describeProfile")(function*(name: ProfileName) {
  const host = yield* HostInfo
  const context = yield* contextNow
  const filled = {
    ...context,
    variables: { ...Object.fromEntries(Object.keys(context.missing).map((k) => [k, NOT_FOUND])), ...context.variables }
  }
  const spec = yield* (yield* ProfileStore).render(name, filled.variables)
  const info = (yield* ContainerRuntime).inspectProfile(spec, context.idMapping)
  const label = info.labels[AGENT_LABEL]
  const tool = label !== undefined && Schema.is(ToolId)(label) ? TOOLS[label] : undefined
  const describeTool = (t: typeof TOOLS[ToolId]): ToolDescription => {
    const variable = `${t.id.toUpperCase()}_INSTALL`
    const hostDir = hostStateDir(t.id, host)
    const credentials = t.credentials
    const store = storeDir(context.variables["STATE_DIR"] ?? "", t.id)
    const copied = [
      ...t.seed.map((s) => ({ from: seedSource(t.id, s, host), note: s.note ?? "" })),
      ...(credentials?._tag === "Copied"
        ? [{ from: `${hostDir}/${credentials.hostFile}`, note: "checked; again when the host's is newer" }]
        : [])
    ]
    return {
      id: t.id,
      title: t.title,
      install: context.variables[variable] ?? null,
      missing: context.missing[variable]?.detail ?? null,
      perProjectPath: t.stateDir === undefined ? null : `${host.home}/${t.stateDir}`,
      perProject: t.perProject,
      copiedAtNew: copied,
      login: credentials === undefined
        ? "none"
        : credentials._tag === "SharedStore"
        ? `${store}/${credentials.file}, shared read-write with the host and every container (one refresh chain); ` +
          `${credentials.env}=${store} inside`
        : credentials.note,
      hostExport: credentials?._tag === "SharedStore" ? `export ${credentials.env}=${store}` : null
    }
  }
  return {
    name,
    spec,
    mounts: info.mounts.map((m) => ({
      source: m.source,
      path: m.path,
      access: m.readOnly ? "read-only" : "read-write"
    })),
    env: info.env,
    tool: tool === undefined ? null : describeTool(tool)
  } satisfies ProfileDescription
})
