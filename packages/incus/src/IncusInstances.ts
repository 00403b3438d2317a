/**
 * The instances resource of the Incus REST API (`/1.0/instances`): list,
 * read, create, replace, delete, and change the state (start, stop,
 * restart). Part of {@link IncusClient}.
 *
 * @since 0.1.0
 * @module
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import {
  Instance,
  type InstancePatch,
  type InstancePut,
  type InstancesPost,
  InstanceState,
  type InstanceStatePut,
  type Operation,
  type Versioned
} from "./IncusApi.ts"
import type { IncusError } from "./IncusError.ts"
import { type Call, seg, type Transport } from "./IncusTransport.ts"

/**
 * The instance calls. Each method is one REST call (plus the wait for an
 * asynchronous one).
 *
 * @since 0.1.0
 * @category models
 */
export interface InstancesClient {
  /** `GET /1.0/instances`: the instances of a project (with their state when `withState`). */
  readonly listInstances: (
    project: string,
    options?: { readonly withState?: boolean }
  ) => Effect.Effect<ReadonlyArray<Instance>, IncusError>
  /** `GET /1.0/instances/NAME`: one instance and its ETag. */
  readonly getInstance: (project: string, name: string) => Effect.Effect<Versioned<Instance>, IncusError>
  /** `GET /1.0/instances/NAME/state`: the live state of one instance. */
  readonly getInstanceState: (project: string, name: string) => Effect.Effect<InstanceState, IncusError>
  /**
   * Creates (and with `start: true` starts) an instance, exactly as `body`
   * says, on cluster member `options.target` when given (`?target=`);
   * waits for the operation.
   */
  readonly createInstance: (
    project: string,
    body: InstancesPost,
    options?: { readonly target?: string }
  ) => Effect.Effect<Operation, IncusError>
  /** Replaces the instance's own settings; waits for the operation. */
  readonly updateInstance: (
    project: string,
    name: string,
    body: InstancePut,
    etag?: string
  ) => Effect.Effect<Operation, IncusError>
  /** `PATCH /1.0/instances/NAME`: merges config keys into the instance's own (synchronous). */
  readonly patchInstance: (project: string, name: string, body: InstancePatch) => Effect.Effect<void, IncusError>
  /** Deletes a stopped instance; waits for the operation. */
  readonly deleteInstance: (project: string, name: string) => Effect.Effect<Operation, IncusError>
  /** Starts, stops, restarts, freezes or unfreezes; waits for the operation. */
  readonly updateInstanceState: (
    project: string,
    name: string,
    body: InstanceStatePut
  ) => Effect.Effect<Operation, IncusError>
}

/**
 * The path of one instance.
 *
 * @since 0.1.0
 * @category utils
 */
export const instancePath = (name: string): string => `/1.0/instances/${seg(name)}`

/**
 * The instance calls over `transport`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (transport: Transport): InstancesClient => ({
  listInstances: Effect.fn("IncusClient.listInstances")(function*(project, options) {
    const recursion = options?.withState === true ? "2" : "1"
    const call: Call = { method: "GET", path: "/1.0/instances", project, params: { recursion } }
    return (yield* transport.getSync(call, Schema.Array(Instance))).value
  }),

  getInstance: Effect.fn("IncusClient.getInstance")(function*(project, name) {
    return yield* transport.getSync({ method: "GET", path: instancePath(name), project }, Instance)
  }),

  getInstanceState: Effect.fn("IncusClient.getInstanceState")(function*(project, name) {
    const call: Call = { method: "GET", path: `${instancePath(name)}/state`, project }
    return (yield* transport.getSync(call, InstanceState)).value
  }),

  createInstance: Effect.fn("IncusClient.createInstance")(function*(project, body, options) {
    const target = options?.target
    return yield* transport.asOperation({
      method: "POST",
      path: "/1.0/instances",
      project,
      body,
      ...(target === undefined ? {} : { params: { target } })
    })
  }),

  updateInstance: Effect.fn("IncusClient.updateInstance")(function*(project, name, body, etag) {
    return yield* transport.asOperation({ method: "PUT", path: instancePath(name), project, body, etag })
  }),

  patchInstance: Effect.fn("IncusClient.patchInstance")(function*(project, name, body) {
    return yield* transport.asVoid({ method: "PATCH", path: instancePath(name), project, body })
  }),

  deleteInstance: Effect.fn("IncusClient.deleteInstance")(function*(project, name) {
    return yield* transport.asOperation({ method: "DELETE", path: instancePath(name), project })
  }),

  updateInstanceState: Effect.fn("IncusClient.updateInstanceState")(function*(project, name, body) {
    return yield* transport.asOperation({ method: "PUT", path: `${instancePath(name)}/state`, project, body })
  })
})
