/**
 * The cluster resource of the Incus REST API (`/1.0/cluster/members`): the
 * members of a clustered server. Part of {@link IncusClient}. Whether the
 * server is clustered at all is in `GET /1.0`
 * (`environment.server_clustered`): the members of a server that is not
 * answer an error.
 *
 * @since 0.1.0
 * @module
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { ClusterMember } from "./IncusApi.ts"
import type { IncusError } from "./IncusError.ts"
import type { Call, Transport } from "./IncusTransport.ts"

/**
 * The cluster calls.
 *
 * @since 0.1.0
 * @category models
 */
export interface ClusterClient {
  /** `GET /1.0/cluster/members?recursion=1`: every member of the cluster, with its state. */
  readonly listClusterMembers: () => Effect.Effect<ReadonlyArray<ClusterMember>, IncusError>
}

/**
 * The cluster calls over `transport`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (transport: Transport): ClusterClient => ({
  listClusterMembers: Effect.fn("IncusClient.listClusterMembers")(function*() {
    const call: Call = { method: "GET", path: "/1.0/cluster/members", params: { recursion: "1" } }
    return (yield* transport.getSync(call, Schema.Array(ClusterMember))).value
  })
})
