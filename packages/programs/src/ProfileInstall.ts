/**
 * `repoman profile install`: library profiles into the repoman namespace,
 * after validating them: every host source exists, none is sensitive (see
 * `@repoman/core/SensitivePaths`) unless the user named it, everything is on
 * the runtime's allow list of keys and devices, every source is one the
 * namespace can allow, and no profile of that name belongs to another user.
 *
 * The engine does not check a profile against the namespace's restrictions
 * when it is created (Incus: one bad profile then blocks every later call in
 * the project), so {@link installProfiles} checks first and puts nothing
 * until every requested profile has passed.
 *
 * @since 0.1.0
 * @module
 */
import { AGENT_LABEL, installVariable, projectsDir, ToolId, TOOLS } from "@repoman/core/Agents"
import { ConfigPaths } from "@repoman/core/ConfigPaths"
import { ContainerRuntime } from "@repoman/core/ContainerRuntime"
import { fileLinks } from "@repoman/core/FileLink"
import { HostInfo } from "@repoman/core/HostInfo"
import type { ProfileName } from "@repoman/core/Ids"
import { ProfileStore } from "@repoman/core/ProfileStore"
import { Registry } from "@repoman/core/Registry"
import { allowedBy, checkSource, type Exposure, type SensitiveContext } from "@repoman/core/SensitivePaths"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import {
  AgentInstallError,
  allAgentErrors,
  moveLoginIntoStore,
  type PreparedHost,
  prepareHost,
  resolveInstall,
  type StoreReport
} from "./AgentInstall.ts"
import { requireOwnProfile } from "./Owners.ts"
import { contextNow, prepareContext, prepareProfile } from "./PreparedProfile.ts"
import { failWith, NotAllowed, SensitiveSource, SourceMissing } from "./ProfileInstallError.ts"
import { type HostLinkState, hostLinkState, linkOnHost } from "./SharedFiles.ts"

/**
 * What `install` did for one profile.
 *
 * @since 0.1.0
 * @category models
 */
export interface InstallReport {
  readonly name: ProfileName
  /** The host sources (real paths) the profile mounts. */
  readonly sources: ReadonlyArray<string>
  /** Sensitive sources installed because `allowSensitive` named them. */
  readonly exposures: ReadonlyArray<Exposure>
  /** The profile's shared files (see `SharedFiles`) and where each stands on the host. */
  readonly links: ReadonlyArray<LinkReport>
  /** For a tool profile (`user.repoman.agent`): the tools made ready on the host (with Node for agents that need it). */
  readonly tools: ReadonlyArray<PreparedHost>
  /** For a tool with a shared credential store: what install did with the host's login. */
  readonly stores: ReadonlyArray<StoreReport>
}

/**
 * A shared file after `install`: `Moved` when this install linked it (with
 * `linkFiles`), else its {@link HostLinkState} (`detail` says why when
 * `Blocked`).
 *
 * @since 0.1.0
 * @category models
 */
export interface LinkReport {
  readonly file: string
  readonly target: string
  readonly state: "Moved" | HostLinkState["_tag"]
  readonly detail: string
}

/**
 * What `install` did: one report per profile, and the paths added to the
 * namespace's allowed paths.
 *
 * @since 0.1.0
 * @category models
 */
export interface InstallResult {
  readonly profiles: ReadonlyArray<InstallReport>
  readonly addedPaths: ReadonlyArray<string>
}

/** The shared files of an inspected profile, each checked like a source; `NotAllowed` for a bad declaration. */
const linksOf = (name: ProfileName, info: Parameters<typeof fileLinks>[0], context: SensitiveContext) =>
  Effect.gen(function*() {
    const links = fileLinks(info)
    if (Result.isFailure(links)) return yield* failWith(new NotAllowed({ profile: name, detail: links.failure }))
    const exposures: Array<Exposure> = []
    for (const link of links.success) {
      // A shared file is exposed the way the mount that holds its target is (read-only or not).
      const holder = info.mounts.find((m) => link.target.startsWith(`${m.path}/`))
      for (const p of [link.file, link.target]) {
        const found = yield* checkSource(p, context, { readOnly: holder?.readOnly ?? false })
        if (found !== undefined) exposures.push(found)
      }
    }
    return { links: links.success, exposures }
  })

/** The exposures the user's `--allow-sensitive` paths do not name. */
const unnamed = (exposures: ReadonlyArray<Exposure>, allowed: ReadonlyArray<string>) =>
  exposures.filter((e) => !allowedBy(e, allowed))

/**
 * Installs library profiles into the namespace: renders each, refuses a
 * missing source (naming it), a sensitive one that `allowSensitive` does not
 * name (the source itself or the sensitive path it touches), anything not on
 * the runtime's allow list, and a profile of the same name that another
 * user's repoman (or no repoman) made; then lets the namespace's instances
 * mount the sources (`ContainerRuntime.allowPaths`) and puts each profile.
 * Nothing changes in the namespace unless every profile passes; if a put
 * fails, the paths added are taken back. With `linkFiles`, the single files
 * the profiles share are first moved into their shared directories on the
 * host, leaving symlinks (`SharedFiles.linkOnHost`); that step stands on its
 * own and is not undone when the install fails.
 *
 * @since 0.1.0
 * @category programs
 */
export const installProfiles = Effect.fn("ProfileInstall.installProfiles")(function*(
  names: ReadonlyArray<ProfileName>,
  options: {
    readonly allowSensitive: ReadonlyArray<string>
    readonly linkFiles?: boolean
    /** Install directories of tools (`--agent-dir NAME=DIR`), checked and written to `[agents]` first. */
    readonly agentDirs?: Readonly<Partial<Record<ToolId, string>>>
  }
) {
  const runtime = yield* ContainerRuntime
  const host = yield* HostInfo
  const registry = yield* Registry
  const store = yield* ProfileStore
  const paths = yield* ConfigPaths
  const { stateDir } = paths
  const sensitive: SensitiveContext = { home: host.home, stateDir: paths.stateDir, configDir: paths.configDir }
  // Installs named by hand: checked now, rendered with, and saved in [agents] once the profiles are in.
  const named = Object.entries(options.agentDirs ?? {}).flatMap(([t, d]) =>
    d === undefined ? [] : [[t as ToolId, d] as const]
  )
  // Every directory named wrong is reported at once, not one per run.
  const checkedDirs = yield* Effect.forEach(
    named,
    ([tool, dir]) => Effect.result(Effect.map(resolveInstall(tool, dir, host.home), (real) => [tool, real] as const))
  )
  const badDirs = allAgentErrors(checkedDirs.flatMap((r) => Result.isFailure(r) ? [r.failure] : []))
  if (badDirs !== undefined) return yield* badDirs
  const resolved = Object.fromEntries(checkedDirs.flatMap((r) => Result.isSuccess(r) ? [r.success] : []))
  const loaded = yield* registry.load
  const context = yield* prepareContext(host, { ...loaded, agents: { ...loaded.agents, ...resolved } })
  const requested = [...new Set(names)]

  // Tool profiles: the host side they need (shim dirs, the credential store,
  // the projects' state dir) is made first, in repoman's own state dir, so
  // that their sources exist for the checks below.
  const tools = new Map<ProfileName, ReadonlyArray<PreparedHost>>()
  // Every tool that is not installed is named at once (before any host side is made).
  const notInstalled: Array<AgentInstallError> = []
  for (const name of requested) {
    if (name === "default") continue
    const add = (e: AgentInstallError) => {
      if (!notInstalled.some((n) => n.tool === e.tool)) notInstalled.push(e)
    }
    // A profile that renders with a tool's install dir fails to render without it.
    const rendered = yield* prepareProfile(name, context).pipe(
      Effect.map(Option.some),
      Effect.catchTag("AgentInstallError", (e) => Effect.sync(() => add(e)).pipe(Effect.as(Option.none())))
    )
    const label = Option.isSome(rendered) ? rendered.value.info.labels[AGENT_LABEL] : undefined
    if (label === undefined || !Schema.is(ToolId)(label)) continue
    const needed: ReadonlyArray<ToolId> = TOOLS[label].needsNode && label !== "node" ? [label, "node"] : [label]
    for (const tool of needed) {
      const missing = context.missing[installVariable(tool)]
      if (context.variables[installVariable(tool)] === undefined) {
        add(new AgentInstallError({ tool, detail: missing?.detail ?? "not installed", usage: false }))
      }
    }
  }
  const allMissing = allAgentErrors(notInstalled)
  if (allMissing !== undefined) return yield* allMissing
  for (const name of requested) {
    if (name === "default") continue
    const rendered = yield* prepareProfile(name, context)
    const label = rendered.info.labels[AGENT_LABEL]
    if (label === undefined) continue
    if (!Schema.is(ToolId)(label)) {
      return yield* failWith(
        new NotAllowed({
          profile: name,
          detail: `user.repoman.agent "${label}" is not one of ${Object.keys(TOOLS).join(", ")}`
        })
      )
    }
    const needed: ReadonlyArray<ToolId> = TOOLS[label].needsNode && label !== "node" ? [label, "node"] : [label]
    tools.set(
      name,
      yield* Effect.forEach(needed, (tool) => {
        const install = context.variables[installVariable(tool)]
        const missing = context.missing[installVariable(tool)]
        return install === undefined
          ? Effect.fail(new AgentInstallError({ tool, detail: missing?.detail ?? "not installed", usage: false }))
          : prepareHost(tool, install)
      })
    )
  }

  // First, on request, the host side of shared files: this may make the
  // directory a source needs (~/.config/git for ~/.gitconfig), and leaves a
  // working host set-up whatever happens to the install below.
  const moved = new Set<string>()
  if (options.linkFiles === true) {
    for (const name of requested) {
      if (name === "default") continue
      const rendered = yield* store.render(name, context.variables)
      const { exposures, links } = yield* linksOf(name, runtime.inspectProfile(rendered, context.idMapping), sensitive)
      const refused = unnamed(exposures, options.allowSensitive)
      if (refused.length > 0) return yield* failWith(new SensitiveSource({ profile: name, exposures: refused }))
      for (const link of links) {
        if ((yield* linkOnHost(link))._tag === "Movable") moved.add(link.file)
      }
    }
  }

  const checked = yield* Effect.forEach(requested, (name) =>
    Effect.gen(function*() {
      if (name === "default") {
        return yield* failWith(
          new NotAllowed({ profile: name, detail: "default is the project's own profile (it holds the root disk)" })
        )
      }
      const prepared = yield* prepareProfile(name, context)
      const shared = yield* linksOf(name, prepared.info, sensitive)
      // What a profile may not do at all, then what it may not share, then whether its sources exist.
      if (Option.isSome(prepared.info.refusal)) {
        return yield* failWith(new NotAllowed({ profile: name, detail: prepared.info.refusal.value }))
      }
      const exposures: Array<Exposure> = [...shared.exposures]
      const readOnly = new Map(prepared.info.mounts.map((m) => [m.name, m.readOnly]))
      for (const s of prepared.sources) {
        const found = yield* checkSource(s.source, sensitive, { readOnly: readOnly.get(s.mount) ?? false })
        if (found !== undefined) exposures.push(found)
      }
      const refused = unnamed(exposures, options.allowSensitive)
      if (refused.length > 0) return yield* failWith(new SensitiveSource({ profile: name, exposures: refused }))
      // Every missing source of every profile is named at once (after the loop), not one per run.
      const missing: Array<SourceMissing> = []
      for (const s of prepared.sources) {
        if (Option.isNone(s.real)) {
          const movable = yield* Effect.filter(
            shared.links.filter((l) => l.target.startsWith(`${s.source}/`)),
            (l) => Effect.map(hostLinkState(l), (state) => state._tag === "Movable")
          )
          missing.push(
            new SourceMissing({
              profile: name,
              device: s.mount,
              source: s.source,
              ...(movable[0] === undefined ? {} : { linkable: movable[0].file })
            })
          )
        }
      }
      if (missing.length > 0) return { prepared, exposures, links: [], missing }
      // Never over a profile another user's repoman (or no repoman) made.
      yield* runtime.getProfile(name).pipe(
        Effect.flatMap(requireOwnProfile),
        Effect.catchReason("ContainerRuntimeError", "NotFound", () => Effect.void)
      )
      const links = yield* Effect.forEach(shared.links, (link) =>
        Effect.map(hostLinkState(link), (state): LinkReport => ({
          file: link.file,
          target: link.target,
          state: moved.has(link.file) ? "Moved" : state._tag,
          detail: state._tag === "Blocked" ? state.detail : ""
        })))
      return { prepared, exposures, links, missing: [] as ReadonlyArray<SourceMissing> }
    }))
  const [firstMissing, ...otherMissing] = checked.flatMap((c) => c.missing)
  if (firstMissing !== undefined) {
    return yield* failWith(
      new SourceMissing({
        profile: firstMissing.profile,
        device: firstMissing.device,
        source: firstMissing.source,
        ...(firstMissing.linkable === undefined ? {} : { linkable: firstMissing.linkable }),
        others: otherMissing.map((m) => ({
          profile: m.profile,
          device: m.device,
          source: m.source,
          ...(m.linkable === undefined ? {} : { linkable: m.linkable })
        }))
      })
    )
  }

  // The namespace: let its instances mount the sources (all or nothing).
  const stateful = [...tools.values()].flat().some((t) => TOOLS[t.tool].stateDir !== undefined)
  const sources = [
    ...checked.flatMap((c) => c.prepared.info.mounts.map((m) => m.source)),
    ...(stateful ? [projectsDir(stateDir)] : [])
  ]
  const allowed = yield* runtime.allowPaths(sources)
  const [refused] = allowed.refused
  if (refused !== undefined) {
    const owner = checked.flatMap((c) =>
      c.prepared.info.mounts.filter((m) =>
        m.source === refused.path
      ).map((m) => ({ profile: c.prepared.name, m }))
    )[0]
    return yield* failWith(
      new NotAllowed({
        profile: owner?.profile ?? requested.join(", "),
        detail: `the source ${refused.path}${owner === undefined ? "" : ` of mount "${owner.m.name}"`} cannot be ` +
          `allowed (${refused.reason}), so share the directory that holds it, or the file through a shared ` +
          `directory (user.repoman.link.*)`
      })
    )
  }
  const restore = allowed.added.length === 0 ? Effect.void : Effect.ignore(runtime.disallowPaths(allowed.added))
  yield* Effect.forEach(checked, (c) => runtime.putProfile(c.prepared.name, c.prepared.spec), { discard: true }).pipe(
    Effect.onExit((exit) => Exit.isFailure(exit) ? restore : Effect.void)
  )
  if (named.length > 0) {
    yield* registry.modify((document) =>
      Effect.succeed([undefined, { ...document, agents: { ...document.agents, ...resolved } }] as const)
    )
  }
  // Last, the host's login into a shared store (Claude Code's), once the profiles are in.
  const stores = new Map<ProfileName, ReadonlyArray<StoreReport>>()
  for (const [name, prepared] of tools) {
    stores.set(
      name,
      yield* Effect.forEach(prepared.filter((p) => p.store !== null), (p) => moveLoginIntoStore(p.tool, host))
    )
  }
  return {
    profiles: checked.map((c) => ({
      name: c.prepared.name,
      sources: c.prepared.info.mounts.map((m) => m.source),
      exposures: c.exposures,
      links: c.links,
      tools: tools.get(c.prepared.name) ?? [],
      stores: stores.get(c.prepared.name) ?? []
    })),
    addedPaths: allowed.added
  } satisfies InstallResult
})

/**
 * The shared files of the named profiles that `installProfiles` with
 * `linkFiles` would move on the host (their `HostLinkState` is `Movable`), so
 * that a caller can ask first. Profiles that do not render are skipped here;
 * `installProfiles` reports them.
 *
 * @since 0.1.0
 * @category programs
 */
export const movableLinks = Effect.fn("ProfileInstall.movableLinks")(function*(names: ReadonlyArray<ProfileName>) {
  const store = yield* ProfileStore
  const runtime = yield* ContainerRuntime
  const { idMapping, variables } = yield* contextNow
  const links = yield* Effect.forEach([...new Set(names)], (name) =>
    store.render(name, variables).pipe(
      Effect.map((spec) => Result.getOrElse(fileLinks(runtime.inspectProfile(spec, idMapping)), () => [])),
      Effect.orElseSucceed(() => [])
    ))
  return yield* Effect.filter(links.flat(), (link) => Effect.map(hostLinkState(link), (s) => s._tag === "Movable"))
})
