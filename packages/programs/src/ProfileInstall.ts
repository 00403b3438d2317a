/**
 * The use cases of `repoman profile`: what the library holds and whether it
 * is installed and in sync, installing profiles into the repoman namespace
 * (after validating them: every host source exists, none is sensitive unless
 * allowed, nothing the namespace's restrictions forbid), the comparison
 * behind `diff`, and removal. `new` uses {@link requireProfiles} to refuse a
 * profile that is missing or has drifted.
 *
 * Incus does not check a profile against the project restrictions when it is
 * created, and one bad profile then blocks every later call in the project
 * (incus-notes.md §2, §5), so {@link installProfiles} checks first and puts
 * nothing until every requested profile has passed.
 *
 * @since 0.1.0
 */
import { ContainerRuntime, type DeviceMap, NamespaceSpec, ProfileSpec } from "@repoman/core/ContainerRuntime"
import { HostInfo, type HostInfoValues } from "@repoman/core/HostInfo"
import type { UidMode } from "@repoman/core/Idmap"
import { ProfileName } from "@repoman/core/Ids"
import { type ProfileEntry, type ProfileOrigin, ProfileStore, type ProfileVariables } from "@repoman/core/ProfileStore"
import { Registry } from "@repoman/core/Registry"
import { emptyDocument, type RegistryDocument } from "@repoman/core/RegistryDocument"
import { checkSource, type Exposure } from "@repoman/core/SensitivePaths"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { fileLinks, type HostLinkState, hostLinkState, linkOnHost } from "./SharedFiles.ts"

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/**
 * A disk device of the profile names a host source that does not exist.
 *
 * @since 0.1.0
 */
export class SourceMissing extends Schema.TaggedClass<SourceMissing>("@repoman/programs/ProfileInstall/SourceMissing")(
  "SourceMissing",
  {
    profile: Schema.String,
    device: Schema.String,
    source: Schema.String,
    /** A file of the host that `--link-files` would move into the missing source (which it then makes). */
    linkable: Schema.optionalKey(Schema.String)
  }
) {
  /** One line for the user. */
  get message(): string {
    const fix = this.linkable === undefined
      ? "create it, or shadow the profile with your own in profiles.d/"
      : `'repoman profile install ${this.profile} --link-files' makes it and moves ${this.linkable} there`
    return `profile ${this.profile}: the source ${this.source} of device "${this.device}" does not exist on this host ` +
      `(${fix})`
  }
}

/**
 * The profile exposes sensitive host paths and `--allow-sensitive` was not given.
 *
 * @since 0.1.0
 */
export class SensitiveSource extends Schema.TaggedClass<SensitiveSource>(
  "@repoman/programs/ProfileInstall/SensitiveSource"
)("SensitiveSource", {
  profile: Schema.String,
  exposures: Schema.Array(Schema.Struct({ path: Schema.String, exposes: Schema.String }))
}) {
  /** One line for the user. */
  get message(): string {
    return `profile ${this.profile} would expose ${
      this.exposures.map((e) => `${e.path} (${e.exposes})`).join(", ")
    } to its containers; pass --allow-sensitive if that is really what you want`
  }
}

/**
 * The profile asks for something the repoman namespace's restrictions forbid;
 * Incus would accept the profile and then refuse every later request.
 *
 * @since 0.1.0
 */
export class NotAllowed extends Schema.TaggedClass<NotAllowed>("@repoman/programs/ProfileInstall/NotAllowed")(
  "NotAllowed",
  { profile: Schema.String, detail: Schema.String }
) {
  /** One line for the user. */
  get message(): string {
    return `profile ${this.profile}: ${this.detail} (the repoman project forbids it)`
  }
}

/**
 * The profile is not installed in the namespace.
 *
 * @since 0.1.0
 */
export class NotInstalled extends Schema.TaggedClass<NotInstalled>("@repoman/programs/ProfileInstall/NotInstalled")(
  "NotInstalled",
  { profile: Schema.String }
) {
  /** One line for the user. */
  get message(): string {
    return `profile ${this.profile} is not installed: run 'repoman profile install ${this.profile}'`
  }
}

/**
 * The installed profile differs from the rendered library version.
 *
 * @since 0.1.0
 */
export class Drifted extends Schema.TaggedClass<Drifted>("@repoman/programs/ProfileInstall/Drifted")("Drifted", {
  profile: Schema.String
}) {
  /** One line for the user. */
  get message(): string {
    return `the installed profile ${this.profile} differs from the library ('repoman profile diff ${this.profile}' ` +
      `shows how): run 'repoman profile install ${this.profile}'`
  }
}

/**
 * Instances still use the profile.
 *
 * @since 0.1.0
 */
export class InUse extends Schema.TaggedClass<InUse>("@repoman/programs/ProfileInstall/InUse")("InUse", {
  profile: Schema.String,
  users: Schema.Array(Schema.String)
}) {
  /** One line for the user. */
  get message(): string {
    return `profile ${this.profile} is used by ${this.users.join(", ")}: remove those projects first`
  }
}

/**
 * Why a {@link ProfileInstallError} happened.
 *
 * @since 0.1.0
 */
export const ProfileInstallErrorReason = Schema.Union([
  SourceMissing,
  SensitiveSource,
  NotAllowed,
  NotInstalled,
  Drifted,
  InUse
])
/**
 * The decoded type of the `ProfileInstallErrorReason` schema.
 *
 * @since 0.1.0
 */
export type ProfileInstallErrorReason = typeof ProfileInstallErrorReason.Type

/**
 * The error of the profile use cases. Errors of the services they call
 * (profile store, container runtime, registry) pass through as they are.
 *
 * @since 0.1.0
 */
export class ProfileInstallError extends Schema.TaggedError<ProfileInstallError>(
  "@repoman/programs/ProfileInstall/ProfileInstallError"
)("ProfileInstallError", { reason: ProfileInstallErrorReason }) {
  /** The reason's one-line message. */
  override get message(): string {
    return this.reason.message
  }
}

const failWith = (reason: ProfileInstallErrorReason) => Effect.fail(new ProfileInstallError({ reason }))

// ---------------------------------------------------------------------------
// Pure helpers
// ---------------------------------------------------------------------------

/**
 * The `${NAME}` values profiles are rendered with: `USER`, `HOME`, `UID`,
 * `GID` from the host, `HOST_LAN_IP` from the registry's `[host].lan_ip` (else
 * the detected address; absent when neither is known, so a profile that needs
 * it fails to render with `UnknownVariable`).
 *
 * @since 0.1.0
 */
export const profileVariables = (host: HostInfoValues, document: RegistryDocument): ProfileVariables => {
  const lanIp = document.host.lanIp ?? Option.getOrUndefined(host.lanIp)
  return {
    USER: host.user,
    HOME: host.home,
    UID: String(host.uid),
    GID: String(host.gid),
    ...(lanIp === undefined ? {} : { HOST_LAN_IP: lanIp })
  }
}

/**
 * The host sources of a profile: its disk devices with an absolute `source`
 * (pool volumes are not host paths), by device name.
 *
 * @since 0.1.0
 */
export const hostSources = (devices: DeviceMap): ReadonlyArray<{ readonly device: string; readonly source: string }> =>
  Object.entries(devices).flatMap(([device, options]) =>
    options["type"] === "disk" && options["pool"] === undefined && (options["source"] ?? "").startsWith("/")
      ? [{ device, source: options["source"] ?? "" }]
      : []
  )

const canonical = (value: unknown): unknown =>
  typeof value === "object" && value !== null && !Array.isArray(value)
    ? Object.fromEntries(
      Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])])
    )
    : value

/**
 * Whether two profile contents are the same, key order aside.
 *
 * @since 0.1.0
 */
export const sameSpec = (a: ProfileSpec, b: ProfileSpec): boolean =>
  JSON.stringify(canonical({ d: a.description, c: a.config, v: a.devices })) ===
    JSON.stringify(canonical({ d: b.description, c: b.config, v: b.devices }))

const FORBIDDEN_CONFIG: ReadonlyArray<readonly [RegExp, string]> = [
  [/^raw\./, "low-level raw.* config"],
  [/^security\.privileged$/, "a privileged container"],
  [/^security\.nesting$/, "container nesting"],
  [/^security\.idmap\./, "a custom idmap"],
  [/^linux\.kernel_modules$/, "loading kernel modules"]
]

const ALLOWED_DEVICES = new Set(["disk", "nic", "none"])

/**
 * Checks a rendered profile against what the repoman namespace restricts
 * (`restricted=true`, disks only from allowed paths, no privileged or nested
 * containers, no raw config, only managed NICs). Returns the first problem.
 *
 * @since 0.1.0
 */
export const restrictionProblem = (spec: ProfileSpec, uidMode: "idmap" | "shift"): string | undefined => {
  for (const [key, value] of Object.entries(spec.config)) {
    for (const [pattern, what] of FORBIDDEN_CONFIG) {
      if (pattern.test(key) && !(key.startsWith("security.") && value === "false")) {
        return `config ${key} asks for ${what}`
      }
    }
  }
  for (const [device, options] of Object.entries(spec.devices)) {
    const type = options["type"] ?? ""
    if (!ALLOWED_DEVICES.has(type)) {
      return `device "${device}" has type "${type}"; only disk and managed nic are allowed`
    }
    if (type === "nic" && options["network"] === undefined) {
      return `device "${device}" is a nic without a managed network`
    }
    if (type === "disk" && options["pool"] === undefined && !(options["source"] ?? "").startsWith("/")) {
      if (options["path"] !== "/") return `disk device "${device}" needs an absolute host source or a pool`
    }
    if (type === "disk" && options["shift"] === "true" && uidMode === "idmap") {
      return `disk device "${device}" uses shift=true, which restricted source paths forbid (uid mode idmap)`
    }
  }
  return undefined
}

/**
 * Whether `path` is covered by one of the comma-separated prefixes of a
 * `restricted.devices.disk.paths` value (a whole path component match, as
 * Incus checks it).
 *
 * @since 0.1.0
 */
export const coveredBy = (path: string, allowed: ReadonlyArray<string>): boolean =>
  allowed.some((a) => path === a || path.startsWith(a.endsWith("/") ? a : `${a}/`))

const DISK_PATHS = "restricted.devices.disk.paths"

const splitPaths = (value: string | undefined): ReadonlyArray<string> =>
  (value ?? "").split(",").filter((p) => p.length > 0)

// ---------------------------------------------------------------------------
// Use cases
// ---------------------------------------------------------------------------

/**
 * A profile rendered for this host, with its host sources resolved to real
 * paths (what `install` puts and what `diff`, `list` and `new` compare with).
 *
 * @since 0.1.0
 */
export interface PreparedProfile {
  readonly name: ProfileName
  readonly spec: ProfileSpec
  readonly sources: ReadonlyArray<PreparedSource>
}

/**
 * One host source of a prepared profile: as written, resolved (`None` when
 * it does not exist) and whether it is a directory.
 *
 * @since 0.1.0
 */
export interface PreparedSource {
  readonly device: string
  readonly source: string
  readonly real: Option.Option<string>
  readonly directory: boolean
}

/** The variables now; before `setup` there is no registry, and the host's own facts are used. */
const variablesNow = Effect.gen(function*() {
  const registry = yield* Registry
  const host = yield* HostInfo
  const document = yield* registry.load.pipe(
    Effect.catchReason("RegistryError", "NotInitialized", () => Effect.succeed(emptyDocument))
  )
  return { variables: profileVariables(host, document), uidMode: document.defaults.uidMode }
})

/**
 * Renders a library profile for this host and resolves its host sources
 * (sources that do not exist are kept as written; `real` is then `None`).
 * In uid mode `shift` (no idmap) host disks get `shift: "true"`, as the repo
 * disk does, so the host user's files show as uid 1000 inside.
 *
 * @since 0.1.0
 */
export const prepareProfile = Effect.fn("ProfileInstall.prepareProfile")(function*(
  name: ProfileName,
  context: { readonly variables: ProfileVariables; readonly uidMode: UidMode }
) {
  const { variables } = context
  const store = yield* ProfileStore
  const fs = yield* FileSystem.FileSystem
  const rendered = yield* store.render(name, variables)
  const sources = yield* Effect.forEach(hostSources(rendered.devices), ({ device, source }) =>
    Effect.gen(function*() {
      const real = yield* fs.realPath(source).pipe(
        Effect.map(Option.some),
        Effect.orElseSucceed(() => Option.none<string>())
      )
      const directory = Option.isSome(real) &&
        (yield* fs.stat(real.value).pipe(Effect.map((i) => i.type === "Directory"), Effect.orElseSucceed(() => false)))
      return { device, source, real, directory } satisfies PreparedSource
    }))
  const devices: Record<string, DeviceMap[string]> = { ...rendered.devices }
  for (const s of sources) {
    const options = devices[s.device]
    if (options === undefined) continue
    devices[s.device] = {
      ...options,
      ...(Option.isSome(s.real) ? { source: s.real.value } : {}),
      ...(context.uidMode === "shift" && options["shift"] === undefined ? { shift: "true" } : {})
    }
  }
  return {
    name,
    spec: new ProfileSpec({ description: rendered.description, config: rendered.config, devices }),
    sources
  } satisfies PreparedProfile
})

/**
 * One row of `repoman profile list`.
 *
 * @since 0.1.0
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
}

/**
 * The library with, for each profile, whether it is installed in the
 * namespace and in sync with the library.
 *
 * @since 0.1.0
 */
export const profileStatuses = Effect.fn("ProfileInstall.profileStatuses")(function*() {
  const store = yield* ProfileStore
  const runtime = yield* ContainerRuntime
  const context = yield* variablesNow
  const entries = yield* store.list()
  const installed = new Map((yield* runtime.listProfiles()).map((p) => [p.name as string, p]))
  return yield* Effect.forEach(entries, (entry: ProfileEntry) =>
    Effect.gen(function*() {
      const current = installed.get(entry.name)
      const prepared = yield* prepareProfile(entry.name, context).pipe(Effect.result)
      const problem = prepared._tag === "Failure" ? prepared.failure.message : null
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
        problem
      } satisfies ProfileStatus
    }))
})

/**
 * What `install` did for one profile.
 *
 * @since 0.1.0
 */
export interface InstallReport {
  readonly name: ProfileName
  /** The host sources (real paths) the profile mounts. */
  readonly sources: ReadonlyArray<string>
  /** Sensitive sources installed because `allowSensitive` was given. */
  readonly exposures: ReadonlyArray<Exposure>
  /** The profile's shared files (see `SharedFiles`) and where each stands on the host. */
  readonly links: ReadonlyArray<LinkReport>
}

/**
 * A shared file after `install`: `Moved` when this install linked it (with
 * `linkFiles`), else its {@link HostLinkState} (`detail` says why when
 * `Blocked`).
 *
 * @since 0.1.0
 */
export interface LinkReport {
  readonly file: string
  readonly target: string
  readonly state: "Moved" | HostLinkState["_tag"]
  readonly detail: string
}

/**
 * What `install` did: one report per profile, and the paths added to the
 * namespace's allowed disk paths.
 *
 * @since 0.1.0
 */
export interface InstallResult {
  readonly profiles: ReadonlyArray<InstallReport>
  readonly addedPaths: ReadonlyArray<string>
}

/**
 * Installs library profiles into the namespace: renders each, refuses a
 * missing source (naming it), a sensitive one without `allowSensitive`, and
 * anything the restrictions forbid; then adds the sources to the namespace's
 * `restricted.devices.disk.paths` (GET, merge, PUT of the whole config) and
 * puts each profile. Nothing changes in the namespace unless every profile
 * passes; if a put fails the namespace config is restored. With `linkFiles`,
 * the single files the profiles share are first moved into their shared
 * directories on the host, leaving symlinks (`SharedFiles.linkOnHost`); that
 * step stands on its own and is not undone when the install fails.
 *
 * @since 0.1.0
 */
export const installProfiles = Effect.fn("ProfileInstall.installProfiles")(function*(
  names: ReadonlyArray<ProfileName>,
  options: { readonly allowSensitive: boolean; readonly linkFiles?: boolean }
) {
  const runtime = yield* ContainerRuntime
  const host = yield* HostInfo
  const registry = yield* Registry
  const store = yield* ProfileStore
  const document = yield* registry.load
  const uidMode = document.defaults.uidMode
  const context = { variables: profileVariables(host, document), uidMode }
  const requested = [...new Set(names)]

  /** The shared files of a rendered profile, each checked like a source; `NotAllowed` for a bad declaration. */
  const linksOf = (name: ProfileName, spec: ProfileSpec) =>
    Effect.gen(function*() {
      const links = fileLinks(spec)
      if (Result.isFailure(links)) return yield* failWith(new NotAllowed({ profile: name, detail: links.failure }))
      const exposures: Array<Exposure> = []
      for (const link of links.success) {
        for (const p of [link.file, link.target]) {
          const found = yield* checkSource(p, host.home)
          if (found !== undefined) exposures.push(found)
        }
      }
      return { links: links.success, exposures }
    })

  // First, on request, the host side of shared files: this may make the
  // directory a source needs (~/.config/git for ~/.gitconfig), and leaves a
  // working host set-up whatever happens to the install below.
  const moved = new Set<string>()
  if (options.linkFiles === true) {
    for (const name of requested) {
      if (name === "default") continue
      const { exposures, links } = yield* linksOf(name, yield* store.render(name, context.variables))
      if (exposures.length > 0 && !options.allowSensitive) {
        return yield* failWith(new SensitiveSource({ profile: name, exposures }))
      }
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
      const shared = yield* linksOf(name, prepared.spec)
      for (const s of prepared.sources) {
        if (Option.isNone(s.real)) {
          const movable = yield* Effect.filter(
            shared.links.filter((l) => l.target.startsWith(`${s.source}/`)),
            (l) => Effect.map(hostLinkState(l), (state) => state._tag === "Movable")
          )
          return yield* failWith(
            new SourceMissing({
              profile: name,
              device: s.device,
              source: s.source,
              ...(movable[0] === undefined ? {} : { linkable: movable[0].file })
            })
          )
        }
      }
      const problem = restrictionProblem(prepared.spec, uidMode)
      if (problem !== undefined) return yield* failWith(new NotAllowed({ profile: name, detail: problem }))
      const exposures: Array<Exposure> = [...shared.exposures]
      for (const s of prepared.sources) {
        const found = yield* checkSource(s.source, host.home)
        if (found !== undefined) exposures.push(found)
      }
      if (exposures.length > 0 && !options.allowSensitive) {
        return yield* failWith(new SensitiveSource({ profile: name, exposures }))
      }
      const links = yield* Effect.forEach(shared.links, (link) =>
        Effect.map(hostLinkState(link), (state): LinkReport => ({
          file: link.file,
          target: link.target,
          state: moved.has(link.file) ? "Moved" : state._tag,
          detail: state._tag === "Blocked" ? state.detail : ""
        })))
      return { prepared, exposures, links }
    }))

  // The namespace: allow the sources (idmap mode; shift mode has no path list).
  const namespace = yield* runtime.getNamespace(runtime.namespace)
  const allowed = splitPaths(namespace.config[DISK_PATHS])
  if (uidMode === "idmap") {
    for (const c of checked) {
      for (const s of c.prepared.sources) {
        const real = Option.getOrElse(s.real, () => s.source)
        if (!s.directory && !coveredBy(real, allowed)) {
          // Incus opens an allowed path as a directory ("not a directory" at
          // start), so a file can only be shared from an allowed directory.
          return yield* failWith(
            new NotAllowed({
              profile: c.prepared.name,
              detail: `the source ${s.source} of device "${s.device}" is a file; Incus can only allow directories ` +
                `as disk sources, so share the directory that holds it, or the file through a shared directory (user.repoman.link.*)`
            })
          )
        }
      }
    }
  }
  const wanted = checked.flatMap((c) => hostSources(c.prepared.spec.devices).map((s) => s.source))
  const addedPaths = uidMode === "idmap" ? [...new Set(wanted.filter((p) => !coveredBy(p, allowed)))] : []
  const restore = addedPaths.length === 0 ? Effect.void : yield* Effect.gen(function*() {
    const defaultProfile = yield* runtime.getProfile(ProfileName.make("default")).pipe(Effect.option)
    const pool = Option.flatMap(
      defaultProfile,
      (p) => Option.fromNullishOr(Object.values(p.devices).find((d) => d["path"] === "/")?.["pool"])
    ).pipe(
      Option.getOrElse(() => "default")
    )
    const specWith = (config: Readonly<Record<string, string>>) =>
      new NamespaceSpec({ name: namespace.name, description: namespace.description, config, rootDiskPool: pool })
    yield* runtime.ensureNamespace(
      specWith({ ...namespace.config, [DISK_PATHS]: [...allowed, ...addedPaths].join(",") })
    )
    return Effect.ignore(runtime.ensureNamespace(specWith(namespace.config)))
  })

  yield* Effect.forEach(checked, (c) => runtime.putProfile(c.prepared.name, c.prepared.spec), { discard: true }).pipe(
    Effect.onExit((exit) => Exit.isFailure(exit) ? restore : Effect.void)
  )
  return {
    profiles: checked.map((c) => ({
      name: c.prepared.name,
      sources: hostSources(c.prepared.spec.devices).map((s) => s.source),
      exposures: c.exposures,
      links: c.links
    })),
    addedPaths
  } satisfies InstallResult
})

/**
 * The shared files of the named profiles that `installProfiles` with
 * `linkFiles` would move on the host (their `HostLinkState` is `Movable`), so
 * that a caller can ask first. Profiles that do not render are skipped here;
 * `installProfiles` reports them.
 *
 * @since 0.1.0
 */
export const movableLinks = Effect.fn("ProfileInstall.movableLinks")(function*(names: ReadonlyArray<ProfileName>) {
  const store = yield* ProfileStore
  const { variables } = yield* variablesNow
  const links = yield* Effect.forEach([...new Set(names)], (name) =>
    store.render(name, variables).pipe(
      Effect.map((spec) => Result.getOrElse(fileLinks(spec), () => [])),
      Effect.orElseSucceed(() => [])
    ))
  return yield* Effect.filter(links.flat(), (link) => Effect.map(hostLinkState(link), (s) => s._tag === "Movable"))
})

/**
 * The two sides of `diff`: the rendered library version and the installed
 * one (`None` when not installed).
 *
 * @since 0.1.0
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
 */
export const compareProfile = Effect.fn("ProfileInstall.compareProfile")(function*(name: ProfileName) {
  const runtime = yield* ContainerRuntime
  const prepared = yield* prepareProfile(name, yield* variablesNow)
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
 */
export const renderProfile = Effect.fn("ProfileInstall.renderProfile")(function*(name: ProfileName) {
  const store = yield* ProfileStore
  return yield* store.render(name, (yield* variablesNow).variables)
})

/**
 * Deletes an installed profile; `InUse` (naming the instances) while any use
 * it. Host files are never touched, and the allowed disk paths stay.
 *
 * @since 0.1.0
 */
export const removeProfile = Effect.fn("ProfileInstall.removeProfile")(function*(name: ProfileName) {
  const runtime = yield* ContainerRuntime
  const profile = yield* runtime.getProfile(name)
  if (profile.usedBy.length > 0) return yield* failWith(new InUse({ profile: name, users: profile.usedBy }))
  yield* runtime.deleteProfile(name)
})

/**
 * Checks the profiles a new container will get: each must be installed, and
 * one from the library must match its rendered library version. The
 * namespace's `default` profile always exists and is not the library's, so
 * it is not looked at.
 *
 * @since 0.1.0
 */
export const requireProfiles = Effect.fn("ProfileInstall.requireProfiles")(function*(
  requested: ReadonlyArray<ProfileName>
) {
  const names = requested.filter((name) => name !== "default")
  // Nothing to check: skip reading the library and the host's variables.
  if (names.length === 0) return
  const runtime = yield* ContainerRuntime
  const store = yield* ProfileStore
  const context = yield* variablesNow
  const library = new Set((yield* store.list()).map((e) => e.name as string))
  for (const name of names) {
    const installed = yield* runtime.getProfile(name).pipe(
      Effect.catchReason("ContainerRuntimeError", "NotFound", () => failWith(new NotInstalled({ profile: name })))
    )
    if (!library.has(name)) continue
    const prepared = yield* prepareProfile(name, context)
    if (!sameSpec(prepared.spec, installed)) return yield* failWith(new Drifted({ profile: name }))
  }
})
