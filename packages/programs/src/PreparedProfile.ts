/**
 * A library profile prepared for this host: rendered with the host's
 * variables, its host mounts resolved to real paths, and turned by the
 * runtime into the document installed in the namespace. This is what
 * `profile install` puts and what `list`, `diff` and `new` compare with.
 *
 * @since 0.1.0
 * @module
 */
import { ContainerRuntime, type ProfileInfo, type ProfileSpec } from "@repoman/core/ContainerRuntime"
import { HostInfo, type HostInfoValues } from "@repoman/core/HostInfo"
import { type IdMapping, idMappingFor } from "@repoman/core/IdMapping"
import type { ProfileName } from "@repoman/core/Ids"
import { type ProfileError, ProfileStore, type ProfileVariables } from "@repoman/core/ProfileStore"
import { Registry } from "@repoman/core/Registry"
import { emptyDocument, type RegistryDocument } from "@repoman/core/RegistryDocument"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import { AgentInstallError, type ToolVariables, toolVariables } from "./AgentInstall.ts"

/**
 * The `${NAME}` values profiles are rendered with: `USER`, `HOME`, `UID`,
 * `GID` from the host, `HOST_LAN_IP` from the registry's `[host].lan_ip` (else
 * the detected address; absent when neither is known, so a profile that needs
 * it fails to render with `UnknownVariable`).
 *
 * @since 0.1.0
 * @category utils
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
 * What a profile is prepared with: the render variables (the host's, and
 * the tool profiles' from `AgentInstall.toolVariables`), why a tool's
 * install variable is missing, and the id mapping of the namespace.
 *
 * @since 0.1.0
 * @category models
 */
export interface PrepareContext {
  readonly variables: ProfileVariables
  readonly missing: ToolVariables["missing"]
  readonly idMapping: IdMapping
}

/**
 * The context for a registry document and the host (the tools' installs
 * are looked up on the host).
 *
 * @since 0.1.0
 * @category utils
 */
export const prepareContext = Effect.fn("PreparedProfile.prepareContext")(function*(
  host: HostInfoValues,
  document: RegistryDocument
) {
  const tools = yield* toolVariables(document, host)
  return {
    variables: { ...tools.variables, ...profileVariables(host, document) },
    missing: tools.missing,
    idMapping: idMappingFor(document.defaults.uidMode, host)
  } satisfies PrepareContext
})

/**
 * The context now; before `setup` there is no registry, and the host's own
 * facts (and the default uid mode) are used.
 *
 * @since 0.1.0
 * @category programs
 */
export const contextNow = Effect.gen(function*() {
  const registry = yield* Registry
  const host = yield* HostInfo
  const document = yield* registry.load.pipe(
    Effect.catchReason("RegistryError", "NotInitialized", () => Effect.succeed(emptyDocument))
  )
  return yield* prepareContext(host, document)
})

const canonical = (value: unknown): unknown =>
  typeof value === "object" && value !== null && !Array.isArray(value)
    ? Object.fromEntries(
      Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])])
    )
    : value

/**
 * Whether two profile documents are the same, key order aside.
 *
 * @since 0.1.0
 * @category utils
 */
export const sameSpec = (a: ProfileSpec, b: ProfileSpec): boolean =>
  JSON.stringify(canonical({ d: a.description, c: a.config, v: a.devices })) ===
    JSON.stringify(canonical({ d: b.description, c: b.config, v: b.devices }))

/**
 * One host source of a prepared profile: the mount as written, its real
 * path (`None` when it does not exist) and whether it is a directory.
 *
 * @since 0.1.0
 * @category models
 */
export interface PreparedSource {
  readonly mount: string
  readonly source: string
  readonly real: Option.Option<string>
  readonly directory: boolean
}

/**
 * A profile rendered for this host and resolved by the runtime: the
 * document to install (`spec`), what it means (`info`, read from `spec`),
 * and its host sources.
 *
 * @since 0.1.0
 * @category models
 */
export interface PreparedProfile {
  readonly name: ProfileName
  readonly spec: ProfileSpec
  readonly info: ProfileInfo
  readonly sources: ReadonlyArray<PreparedSource>
}

/**
 * Renders a library profile for this host, resolves its host sources (a
 * source that does not exist is kept as written; `real` is then `None`),
 * and lets the runtime turn it into the document to install.
 *
 * @since 0.1.0
 * @category programs
 */
export const prepareProfile = Effect.fn("PreparedProfile.prepareProfile")(function*(
  name: ProfileName,
  context: PrepareContext
) {
  const store = yield* ProfileStore
  const runtime = yield* ContainerRuntime
  const fs = yield* FileSystem.FileSystem
  const rendered = yield* store.render(name, context.variables).pipe(
    Effect.catchReason("ProfileError", "UnknownVariable", (reason, error) => {
      const missing = context.missing[reason.placeholder]
      return Effect.fail<ProfileError | AgentInstallError>(
        missing === undefined
          ? error
          : new AgentInstallError({ tool: missing.tool, detail: missing.detail, usage: false })
      )
    })
  )
  const mounts = runtime.inspectProfile(rendered, context.idMapping).mounts
  const sources = yield* Effect.forEach(mounts, ({ name: mount, source }) =>
    Effect.gen(function*() {
      const real = yield* fs.realPath(source).pipe(
        Effect.map(Option.some),
        Effect.orElseSucceed(() => Option.none<string>())
      )
      const directory = Option.isSome(real) &&
        (yield* fs.stat(real.value).pipe(Effect.map((i) => i.type === "Directory"), Effect.orElseSucceed(() => false)))
      return { mount, source, real, directory } satisfies PreparedSource
    }))
  const realPaths = new Map(sources.flatMap((s) => Option.isSome(s.real) ? [[s.source, s.real.value] as const] : []))
  const spec = runtime.resolveProfile(rendered, { realPaths, idMapping: context.idMapping })
  return { name, spec, info: runtime.inspectProfile(spec, context.idMapping), sources } satisfies PreparedProfile
})
