/**
 * The cluster part of the Incus runtime: the members of a clustered server,
 * and the check a `target` passes before anything is made (Incus itself
 * answers "Target only allowed when clustered" and "Cluster member not
 * found", but only as the create request fails; repoman says which members
 * there are).
 */
import {
  ClusterMember,
  type ContainerRuntime,
  type InstanceSpec,
  mountsHostPaths,
  NotFound,
  OperationFailed,
  placement
} from "@repoman/core/ContainerRuntime"
import { MemberName } from "@repoman/core/Ids"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { mapErrors, type RuntimeContext, runtimeError } from "./context.ts"

type Shape = ContainerRuntime["Service"]

const asMemberName = Schema.decodeUnknownOption(MemberName)

/**
 * The members of the server's cluster; `None` when the server is not
 * clustered. The member that answers on the local socket is this host.
 */
export const clusterMembers = (ctx: RuntimeContext) =>
  Effect.gen(function*() {
    const mapped = mapErrors(ctx, { kind: "cluster member", name: "*", operation: "list cluster members" })
    const server = yield* ctx.client.getServer().pipe(mapped)
    if (server.environment?.server_clustered !== true) return Option.none<ReadonlyArray<ClusterMember>>()
    const here = ctx.client.local ? server.environment.server_name : undefined
    const members = yield* ctx.client.listClusterMembers().pipe(mapped)
    return Option.some(
      members.flatMap((m) =>
        Option.toArray(Option.map(
          asMemberName(m.server_name),
          (name) => new ClusterMember({ name, status: m.status, message: m.message, thisHost: m.server_name === here })
        ))
      )
    )
  })

/**
 * Where an instance made from `spec` goes (see `placement`): the member to
 * target, or `undefined` (the server is not clustered, or Incus chooses).
 * Fails before anything is made: `OperationFailed` for a target on a server
 * that is not clustered or on another machine while the spec mounts this
 * host's paths, `NotFound` (kind `cluster member`) for a name no member has.
 * Asks the server only when there is a target or a host path to place.
 */
export const placeInstance = (ctx: RuntimeContext, spec: InstanceSpec) =>
  Effect.gen(function*() {
    if (spec.target === undefined && !(ctx.client.local && mountsHostPaths(spec))) return undefined
    const members = yield* clusterMembers(ctx)
    if (Option.isNone(members)) {
      if (spec.target === undefined) return undefined
      return yield* runtimeError(
        new OperationFailed({
          kind: "instance",
          name: spec.name,
          operation: "create",
          detail: `the Incus server is not a cluster: there is no member ${spec.target} to target`
        })
      )
    }
    const placed = placement(spec, members.value)
    if (!("refused" in placed)) return placed.target
    return yield* runtimeError(
      placed.refused === "unknown"
        ? new NotFound({ kind: "cluster member", name: spec.target ?? "" })
        : new OperationFailed({ kind: "instance", name: spec.name, operation: "create", detail: placed.detail })
    )
  })

export const make = (ctx: RuntimeContext): Pick<Shape, "clusterMembers"> => ({
  clusterMembers: Effect.fn("IncusContainerRuntime.clusterMembers")(function*() {
    return yield* clusterMembers(ctx)
  })
})
