/**
 * `list`: the registry merged with the live state of the namespace, from one
 * request to the engine. Containers repoman did not register show as
 * unmanaged; registered projects whose container is gone show as missing.
 *
 * @since 0.1.0
 * @module
 */
import { ConfigPaths, expandHome } from "@repoman/core/ConfigPaths"
import { ContainerRuntime, ContainerRuntimeError, type InstanceStatus } from "@repoman/core/ContainerRuntime"
import { isUsable, mapsUser, ownership } from "@repoman/core/Ownership"
import { Registry } from "@repoman/core/Registry"
import { type LimitsView, limitsView } from "@repoman/core/ResourceLimits"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"

/**
 * One line of `repoman list`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProjectRow {
  readonly name: string
  /**
   * `managed`: registered, with its container; `missing`: registered, the
   * container is gone; `unregistered`: a container repoman made (it carries
   * `user.repoman.managed`) with no registry entry, e.g. from a `new` cut
   * short by the daemon going away (`repoman remove NAME` deletes it);
   * `foreign`: a container another user's repoman made (or an older
   * repoman, for nobody provably), registered here or not: repoman leaves
   * it alone; `unmanaged`: a container repoman did not make.
   */
  readonly kind: "managed" | "missing" | "unregistered" | "foreign" | "unmanaged"
  readonly state: InstanceStatus | "Missing"
  readonly repoPath: string | null
  readonly image: string | null
  readonly profiles: ReadonlyArray<string>
  readonly created: string | null
  readonly lastSync: string | null
  readonly backup: boolean | null
  /** The container's resource limits; `null` when there is no container. */
  readonly limits: LimitsView | null
  /**
   * The cluster member the container is on; `null` when there is no
   * container or the Incus server is not a cluster.
   */
  readonly location: string | null
}

/**
 * Lists the projects with their live state, plus the override files
 * (`repos.d/`) that name no registered project (`orphans`).
 *
 * @since 0.1.0
 * @category programs
 */
export const listProjects = Effect.gen(function*() {
  const registry = yield* Registry
  const runtime = yield* ContainerRuntime
  const { home } = yield* ConfigPaths
  const document = yield* registry.load
  // Without the engine the registry still answers; the states are then unknown.
  const listed = yield* runtime.list().pipe(
    Effect.map((instances) => ({ instances, warning: null })),
    Effect.catchReason(
      "ContainerRuntimeError",
      "Unavailable",
      (r) => Effect.succeed({ instances: [], warning: `${r.message}: container states are unknown` })
    ),
    Effect.catchReason("ContainerRuntimeError", "NotFound", (r) =>
      r.kind === "namespace"
        ? Effect.succeed({ instances: [], warning: `${r.message}: run 'repoman setup'` })
        : Effect.fail(new ContainerRuntimeError({ reason: r })))
  )
  const instances = listed.instances
  const online = listed.warning === null
  const live = new Map(instances.map((i) => [i.name as string, i]))
  const reposRoot = expandHome(document.defaults.reposRoot, home)
  const uid = runtime.owner
  const mine = (i: (typeof instances)[number]) => isUsable(ownership(i, uid, mapsUser(i.idMapping, uid)))
  const rows: Array<ProjectRow> = document.projects.map((p) => {
    const instance = live.get(p.name)
    return {
      name: p.name,
      kind: instance === undefined ? (online ? "missing" : "managed") : mine(instance) ? "managed" : "foreign",
      state: instance !== undefined ? instance.status : online ? "Missing" : "Unknown",
      repoPath: `${reposRoot}/${p.repo}`,
      image: p.image,
      profiles: p.profiles,
      created: p.created,
      lastSync: p.lastSync ?? null,
      backup: p.backup,
      limits: instance === undefined ? null : limitsView(instance.limits),
      location: instance === undefined ? null : Option.getOrNull(instance.location)
    }
  })
  const registered = new Set<string>(document.projects.map((p) => p.name))
  for (const i of instances) {
    if (registered.has(i.name)) continue
    rows.push({
      name: i.name,
      kind: !i.managed ? "unmanaged" : mine(i) ? "unregistered" : "foreign",
      state: i.status,
      repoPath: i.labels["repo"] ?? null,
      image: null,
      profiles: i.profiles,
      created: null,
      lastSync: null,
      backup: null,
      limits: limitsView(i.limits),
      location: Option.getOrNull(i.location)
    })
  }
  const { orphans } = yield* registry.overrides
  return { rows, namespace: runtime.namespace, warning: listed.warning, orphans }
})
