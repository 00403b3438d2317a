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
  NotFound,
  OperationFailed
} from "@repoman/core/ContainerRuntime"
import { MemberName } from "@repoman/core/Ids"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { mapErrors, type RuntimeContext, runtimeError } from "./context.ts"

type Shape = ContainerRuntime["Service"]

const asMemberName = Schema.decodeUnknownOption(MemberName)

/** The members of the server's cluster; `None` when the server is not clustered. */
export const clusterMembers = (ctx: RuntimeContext) =>
  Effect.gen(function*() {
    const mapped = mapErrors(ctx, { kind: "cluster member", name: "*", operation: "list cluster members" })
    const server = yield* ctx.client.getServer().pipe(mapped)
    if (server.environment?.server_clustered !== true) return Option.none<ReadonlyArray<ClusterMember>>()
    const members = yield* ctx.client.listClusterMembers().pipe(mapped)
    return Option.some(
      members.flatMap((m) =>
        Option.toArray(Option.map(
          asMemberName(m.server_name),
          (name) => new ClusterMember({ name, status: m.status, message: m.message })
        ))
      )
    )
  })

/**
 * Fails unless `spec.target` is absent or a member of the server's cluster:
 * `OperationFailed` when the server is not clustered, `NotFound` (kind
 * `cluster member`) when no member has that name.
 */
export const requireTarget = (ctx: RuntimeContext, spec: InstanceSpec) =>
  Effect.gen(function*() {
    const target = spec.target
    if (target === undefined) return
    const members = yield* clusterMembers(ctx)
    if (Option.isNone(members)) {
      return yield* runtimeError(
        new OperationFailed({
          kind: "instance",
          name: spec.name,
          operation: "create",
          detail: `the Incus server is not a cluster: there is no member ${target} to target`
        })
      )
    }
    if (!members.value.some((m) => m.name === target)) {
      return yield* runtimeError(new NotFound({ kind: "cluster member", name: target }))
    }
  })

export const make = (ctx: RuntimeContext): Pick<Shape, "clusterMembers"> => ({
  clusterMembers: Effect.fn("IncusContainerRuntime.clusterMembers")(function*() {
    return yield* clusterMembers(ctx)
  })
})
