/**
 * A typed client of the Incus REST API over the local unix socket.
 *
 * - One keep-alive connection pool (`node:http` Agent on the socket).
 * - Every response is decoded with the Schemas of {@link IncusApi}.
 * - Asynchronous requests are waited on at once through
 *   `/1.0/operations/<id>/wait`; a `type: "error"` body is a failure even
 *   when the HTTP status is 200 (that is how `/wait` reports a failed
 *   operation).
 * - Every failure is one {@link IncusError} whose `reason` tells what
 *   happened (see {@link IncusError.classify}).
 * - Every object the client creates carries `user.repoman.managed=true` and
 *   `user.repoman.version`.
 * - Project config is only changed by GET, change, then PUT with the ETag
 *   ({@link IncusClientShape.modifyProject}): Incus's PATCH replaces the whole
 *   config map.
 *
 * @since 0.1.0
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { version } from "@repoman/core/Version"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as HttpClient from "effect/http/HttpClient"
import type * as HttpClientError from "effect/http/HttpClientError"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import type * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import {
  ExecMetadata,
  Instance,
  type InstanceDirectoryPost,
  type InstanceExecPost,
  InstanceFileHeaders,
  type InstancePut,
  type InstancesPost,
  InstanceState,
  type InstanceStatePut,
  Operation,
  Profile,
  type ProfilePut,
  type ProfilesPost,
  Project,
  type ProjectPut,
  type ProjectsPost,
  Response,
  Server,
  StoragePool,
  type StoragePoolPut,
  type StoragePoolsPost,
  type StringMap
} from "./IncusApi.ts"
import { classify, IncusError, type IncusErrorReason, OperationFailed, unavailable } from "./IncusError.ts"
import * as IncusSocket from "./IncusSocket.ts"

/**
 * The config keys that mark an Incus object as made by repoman.
 *
 * @since 0.1.0
 */
export const managedConfig: StringMap = {
  "user.repoman.managed": "true",
  "user.repoman.version": version
}

/**
 * A resource together with the ETag of the response it came in; pass the
 * ETag back on the PUT that replaces it (`If-Match`).
 *
 * @since 0.1.0
 */
export interface Versioned<A> {
  readonly value: A
  /** The `Etag` header as sent (quoted), or `""` if there was none. */
  readonly etag: string
}

/**
 * What a command run with recorded output left behind.
 *
 * @since 0.1.0
 */
export interface ExecOutput {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
}

/**
 * The client's operations. Each method is one REST call (plus the wait for
 * an asynchronous one); none has requirements.
 *
 * @since 0.1.0
 */
export interface IncusClientShape {
  /** The socket the client talks to. */
  readonly socketPath: string

  /** `GET /1.0`: API extensions and the server environment (kernel features, driver, ...). */
  readonly getServer: () => Effect.Effect<Server, IncusError>

  // Instances
  /** `GET /1.0/instances`: the instances of a project (with their state when `withState`). */
  readonly listInstances: (
    project: string,
    options?: { readonly withState?: boolean }
  ) => Effect.Effect<ReadonlyArray<Instance>, IncusError>
  /** `GET /1.0/instances/NAME`: one instance and its ETag. */
  readonly getInstance: (project: string, name: string) => Effect.Effect<Versioned<Instance>, IncusError>
  /** `GET /1.0/instances/NAME/state`: the live state of one instance. */
  readonly getInstanceState: (project: string, name: string) => Effect.Effect<InstanceState, IncusError>
  /** Creates (and with `start: true` starts) an instance; waits for the operation. */
  readonly createInstance: (project: string, body: InstancesPost) => Effect.Effect<Operation, IncusError>
  /** Replaces the instance's own settings; waits for the operation. */
  readonly updateInstance: (
    project: string,
    name: string,
    body: InstancePut,
    etag?: string
  ) => Effect.Effect<Operation, IncusError>
  /** Deletes a stopped instance; waits for the operation. */
  readonly deleteInstance: (project: string, name: string) => Effect.Effect<Operation, IncusError>
  /** Starts, stops, restarts, freezes or unfreezes; waits for the operation. */
  readonly updateInstanceState: (
    project: string,
    name: string,
    body: InstanceStatePut
  ) => Effect.Effect<Operation, IncusError>
  /**
   * Runs a command without a terminal, records its output, reads it and
   * deletes the logs. A non-zero exit code is a result; a missing command is
   * `NotFound` ("Command not found").
   */
  readonly execInstance: (
    project: string,
    name: string,
    body: InstanceExecPost
  ) => Effect.Effect<ExecOutput, IncusError>

  /**
   * `HEAD /1.0/instances/NAME/files?path=PATH`: what is at `path` in the
   * instance, its owner and mode; `None` when Incus answers 404 (nothing is
   * there, or the instance does not exist).
   */
  readonly statInstanceFile: (
    project: string,
    name: string,
    path: string
  ) => Effect.Effect<Option.Option<InstanceFileHeaders>, IncusError>
  /**
   * `POST /1.0/instances/NAME/files?path=PATH` with `X-Incus-Type: directory`:
   * makes one directory whose parent exists. Incus leaves an existing
   * directory as it is (owner and mode unchanged) and answers 404
   * (`NotFound`) when the parent is missing.
   */
  readonly createInstanceDirectory: (
    project: string,
    name: string,
    path: string,
    owner: InstanceDirectoryPost
  ) => Effect.Effect<void, IncusError>

  /**
   * `POST /1.0/instances/NAME/files?path=PATH` with `X-Incus-Type: symlink`
   * and the target as the body: makes a symlink (owned by root; Incus ignores
   * the owner headers for links). Incus answers 500 "file exists" when
   * something is at `path`.
   */
  readonly createInstanceSymlink: (
    project: string,
    name: string,
    path: string,
    target: string
  ) => Effect.Effect<void, IncusError>
  /** `GET /1.0/instances/NAME/files?path=PATH` of a symlink: its target (the body). */
  readonly readInstanceSymlink: (project: string, name: string, path: string) => Effect.Effect<string, IncusError>

  /** The recorded exec outputs still kept for an instance (log URLs). */
  readonly listExecOutputs: (project: string, name: string) => Effect.Effect<ReadonlyArray<string>, IncusError>

  // Projects
  /** `GET /1.0/projects`: every Incus project. */
  readonly listProjects: () => Effect.Effect<ReadonlyArray<Project>, IncusError>
  /** `GET /1.0/projects/NAME`: one project and its ETag. */
  readonly getProject: (name: string) => Effect.Effect<Versioned<Project>, IncusError>
  /** `POST /1.0/projects`: creates a project. */
  readonly createProject: (body: ProjectsPost) => Effect.Effect<void, IncusError>
  /** Replaces description and config of a project read with that `etag`. */
  readonly updateProject: (name: string, body: ProjectPut, etag: string) => Effect.Effect<void, IncusError>
  /**
   * Reads the project, computes the new description and config from it, and
   * writes them with `If-Match` (nothing when they are unchanged); starts over
   * (a few times) when someone else changed the project in between.
   */
  readonly modifyProject: (
    name: string,
    f: (current: Project) => ProjectPut
  ) => Effect.Effect<Project, IncusError>
  /** `force` also deletes the project's instances, profiles, images and volumes. */
  readonly deleteProject: (name: string, options?: { readonly force?: boolean }) => Effect.Effect<void, IncusError>

  // Profiles
  /** `GET /1.0/profiles`: the profiles of a project. */
  readonly listProfiles: (project: string) => Effect.Effect<ReadonlyArray<Profile>, IncusError>
  /** `GET /1.0/profiles/NAME`: one profile and its ETag. */
  readonly getProfile: (project: string, name: string) => Effect.Effect<Versioned<Profile>, IncusError>
  /** `POST /1.0/profiles`: creates a profile in a project. */
  readonly createProfile: (project: string, body: ProfilesPost) => Effect.Effect<void, IncusError>
  /** `PUT /1.0/profiles/NAME`: replaces a profile (with `If-Match` when `etag` is given). */
  readonly updateProfile: (
    project: string,
    name: string,
    body: ProfilePut,
    etag?: string
  ) => Effect.Effect<void, IncusError>
  /** `DELETE /1.0/profiles/NAME`: deletes a profile no instance uses. */
  readonly deleteProfile: (project: string, name: string) => Effect.Effect<void, IncusError>

  // Storage pools
  /** `GET /1.0/storage-pools`: every storage pool. */
  readonly listStoragePools: () => Effect.Effect<ReadonlyArray<StoragePool>, IncusError>
  /** `GET /1.0/storage-pools/NAME`: one storage pool and its ETag. */
  readonly getStoragePool: (name: string) => Effect.Effect<Versioned<StoragePool>, IncusError>
  /** `POST /1.0/storage-pools`: creates a storage pool. */
  readonly createStoragePool: (body: StoragePoolsPost) => Effect.Effect<void, IncusError>
  /** `PUT /1.0/storage-pools/NAME`: replaces a pool's settings (with `If-Match` when `etag` is given). */
  readonly updateStoragePool: (name: string, body: StoragePoolPut, etag?: string) => Effect.Effect<void, IncusError>
  /** `DELETE /1.0/storage-pools/NAME`: deletes an unused storage pool. */
  readonly deleteStoragePool: (name: string) => Effect.Effect<void, IncusError>

  // Operations
  /** `GET /1.0/operations/ID`: one operation, without waiting. */
  readonly getOperation: (id: string) => Effect.Effect<Operation, IncusError>
  /** Waits for an operation to end; fails with the operation's error if it failed. */
  readonly waitOperation: (id: string) => Effect.Effect<Operation, IncusError>
}

/**
 * The Incus client service.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import * as IncusClient from "@repoman/incus/IncusClient"
 *
 * const driver = Effect.gen(function*() {
 *   const incus = yield* IncusClient.IncusClient
 *   const pool = yield* incus.getStoragePool("default")
 *   return pool.value.driver
 * }).pipe(Effect.provide(IncusClient.layer()))
 * ```
 *
 * @since 0.1.0
 */
export class IncusClient extends Context.Service<IncusClient, IncusClientShape>()("@repoman/incus/IncusClient") {}

/**
 * Options of {@link make}.
 *
 * @since 0.1.0
 */
export interface MakeOptions {
  /** The socket path, used in error messages (the HttpClient does the dialling). */
  readonly socketPath: string
  /** How long to wait for one operation before failing it. Default 10 minutes. */
  readonly operationTimeout?: Duration.Input
}

/**
 * Options of {@link layer}.
 *
 * @since 0.1.0
 */
export interface Options {
  /** The socket; default: resolved by {@link IncusSocket.fromEnvironment}. */
  readonly socketPath?: string
  /** How long to wait for one operation before failing it. Default 10 minutes. */
  readonly operationTimeout?: Duration.Input
}

type Method = "GET" | "HEAD" | "POST" | "PUT" | "DELETE"

interface Call {
  readonly method: Method
  readonly path: string
  readonly project?: string | undefined
  readonly params?: Readonly<Record<string, string>>
  readonly body?: unknown
  readonly etag?: string | undefined
  readonly headers?: Readonly<Record<string, string>>
  /** A raw body (sent as application/octet-stream) instead of JSON. */
  readonly text?: string
}

interface Reply {
  readonly envelope: Response
  readonly etag: string
  readonly status: number
}

const seg = encodeURIComponent

const labelOf = (call: Call): string => {
  const params = new URLSearchParams({
    ...(call.project === undefined ? {} : { project: call.project }),
    ...call.params
  }).toString()
  return `${call.method} ${call.path}${params.length > 0 ? `?${params}` : ""}`
}

const fail = (reason: IncusErrorReason, cause?: unknown) =>
  Effect.fail(new IncusError({ reason, ...(cause === undefined ? {} : { cause }) }))

const failed = (request: string, status: number, detail: string, cause?: unknown) =>
  fail(new OperationFailed({ request, status, detail }), cause)

const withManaged = (config: StringMap): StringMap => ({ ...config, ...managedConfig })

const sameMap = (a: StringMap, b: StringMap): boolean => {
  const keys = Object.keys(a)
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k])
}

/**
 * Builds the client on top of an `HttpClient` that reaches incusd (over the
 * socket, or a fake in tests).
 *
 * @since 0.1.0
 */
export const make = (options: MakeOptions): Effect.Effect<IncusClientShape, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const http = yield* HttpClient.HttpClient
    const { socketPath } = options
    const waitSeconds = Math.max(1, Math.ceil(Duration.toSeconds(options.operationTimeout ?? "10 minutes")))

    const transportError = (label: string) => (error: HttpClientError.HttpClientError) =>
      new IncusError({
        reason: error.reason._tag === "TransportError"
          ? unavailable(socketPath, error.reason.cause ?? error)
          : new OperationFailed({ request: label, status: 0, detail: error.message }),
        cause: error
      })

    const send = (call: Call): Effect.Effect<HttpClientResponse.HttpClientResponse, IncusError> => {
      const request = HttpClientRequest.make(call.method)(`http://incus${call.path}`, {
        urlParams: { ...(call.project === undefined ? {} : { project: call.project }), ...call.params },
        headers: {
          ...call.headers,
          ...(call.etag === undefined || call.etag.length === 0 ? {} : { "If-Match": call.etag })
        },
        acceptJson: true
      })
      const withBody = call.text !== undefined
        ? HttpClientRequest.bodyText(request, call.text, "application/octet-stream")
        : call.body === undefined
        ? request
        : HttpClientRequest.bodyJsonUnsafe(request, call.body)
      return http.execute(withBody)
        .pipe(
          Effect.mapError(transportError(labelOf(call)))
        )
    }

    const readEnvelope = (label: string, response: HttpClientResponse.HttpClientResponse) =>
      response.json.pipe(
        Effect.flatMap(Schema.decodeUnknownEffect(Response)),
        Effect.catch((cause) =>
          failed(label, response.status, `unexpected response (HTTP ${response.status}): ${cause.message}`, cause)
        )
      )

    /** The response envelope, or the failure it reports. */
    const envelopeOf = (label: string, response: HttpClientResponse.HttpClientResponse) =>
      Effect.gen(function*() {
        const envelope = yield* readEnvelope(label, response)
        if (envelope.type === "error" || response.status >= 400) {
          const status = envelope.error_code ?? response.status
          return yield* fail(classify(label, status, envelope.error || `HTTP ${response.status}`))
        }
        return envelope
      })

    const decode = <S extends Schema.Constraint & { readonly DecodingServices: never }>(
      label: string,
      schema: S,
      value: unknown
    ): Effect.Effect<S["Type"], IncusError> =>
      Schema.decodeUnknownEffect(schema)(value).pipe(
        Effect.catch((cause) => failed(label, 200, `unexpected response: ${cause.message}`, cause))
      )

    /** Sends the call; returns the envelope (sync or async, not waited on). */
    const submit = (call: Call) =>
      Effect.gen(function*() {
        const label = labelOf(call)
        const response = yield* send(call)
        const envelope = yield* envelopeOf(label, response)
        return { envelope, etag: response.headers["etag"] ?? "", status: response.status } satisfies Reply
      })

    /** Waits for operation `id`; `label` names the request that started it. */
    const wait = (label: string, id: string) =>
      Effect.gen(function*() {
        const call: Call = {
          method: "GET",
          path: `/1.0/operations/${seg(id)}/wait`,
          params: { timeout: String(waitSeconds) }
        }
        const response = yield* send(call)
        const envelope = yield* readEnvelope(label, response)
        if (envelope.type === "error" || response.status >= 400) {
          const detail = envelope.error || `HTTP ${response.status}`
          if (/context deadline exceeded/.test(detail)) {
            return yield* fail(
              new OperationFailed({
                request: label,
                status: 0,
                detail: `still running after ${waitSeconds} s`,
                operation: id
              })
            )
          }
          return yield* fail(classify(label, envelope.error_code ?? response.status, detail, id))
        }
        const operation = yield* decode(label, Operation, envelope.metadata)
        if (operation.status_code >= 400) {
          return yield* fail(classify(label, operation.status_code, operation.err || operation.status, id))
        }
        return operation
      })

    /** Sends the call and, if Incus answers with an operation, waits for it. */
    const run = (call: Call) =>
      Effect.gen(function*() {
        const label = labelOf(call)
        const reply = yield* submit(call)
        if (reply.envelope.type !== "async") return { reply, operation: undefined }
        const started = yield* decode(label, Operation, reply.envelope.metadata)
        return { reply, operation: yield* wait(label, started.id) }
      })

    const getSync = <S extends Schema.Constraint & { readonly DecodingServices: never }>(call: Call, schema: S) =>
      submit(call).pipe(
        Effect.flatMap((reply) =>
          decode(labelOf(call), schema, reply.envelope.metadata).pipe(
            Effect.map((value): Versioned<S["Type"]> => ({ value, etag: reply.etag }))
          )
        )
      )

    const asOperation = (call: Call) =>
      run(call).pipe(
        Effect.flatMap(({ operation, reply }) =>
          operation === undefined
            ? failed(labelOf(call), reply.status, "expected an asynchronous operation, got a synchronous answer")
            : Effect.succeed(operation)
        )
      )

    const asVoid = (call: Call) => Effect.asVoid(run(call))

    const readLog = (project: string, label: string, path: string) =>
      Effect.gen(function*() {
        const response = yield* send({ method: "GET", path, project })
        if (response.status >= 400) return yield* envelopeOf(label, response).pipe(Effect.as(""))
        return yield* response.text.pipe(Effect.mapError(transportError(label)))
      })

    const deleteLog = (project: string, path: string) => Effect.ignore(run({ method: "DELETE", path, project }))

    const instancePath = (name: string) => `/1.0/instances/${seg(name)}`

    const service: IncusClientShape = {
      socketPath,

      getServer: Effect.fn("IncusClient.getServer")(function*() {
        return (yield* getSync({ method: "GET", path: "/1.0" }, Server)).value
      }),

      listInstances: Effect.fn("IncusClient.listInstances")(function*(project, listOptions) {
        const recursion = listOptions?.withState === true ? "2" : "1"
        const call: Call = { method: "GET", path: "/1.0/instances", project, params: { recursion } }
        return (yield* getSync(call, Schema.Array(Instance))).value
      }),

      getInstance: Effect.fn("IncusClient.getInstance")(function*(project, name) {
        return yield* getSync({ method: "GET", path: instancePath(name), project }, Instance)
      }),

      getInstanceState: Effect.fn("IncusClient.getInstanceState")(function*(project, name) {
        return (yield* getSync({ method: "GET", path: `${instancePath(name)}/state`, project }, InstanceState)).value
      }),

      createInstance: Effect.fn("IncusClient.createInstance")(function*(project, body) {
        const post: InstancesPost = { ...body, config: withManaged(body.config) }
        return yield* asOperation({ method: "POST", path: "/1.0/instances", project, body: post })
      }),

      updateInstance: Effect.fn("IncusClient.updateInstance")(function*(project, name, body, etag) {
        return yield* asOperation({ method: "PUT", path: instancePath(name), project, body, etag })
      }),

      deleteInstance: Effect.fn("IncusClient.deleteInstance")(function*(project, name) {
        return yield* asOperation({ method: "DELETE", path: instancePath(name), project })
      }),

      updateInstanceState: Effect.fn("IncusClient.updateInstanceState")(function*(project, name, body) {
        return yield* asOperation({ method: "PUT", path: `${instancePath(name)}/state`, project, body })
      }),

      execInstance: Effect.fn("IncusClient.execInstance")(function*(project, name, body) {
        const call: Call = {
          method: "POST",
          path: `${instancePath(name)}/exec`,
          project,
          body: { ...body, "wait-for-websocket": false, "record-output": true, interactive: false }
        }
        const label = labelOf(call)
        const reply = yield* submit(call)
        const started = yield* decode(label, Operation, reply.envelope.metadata)
        // Incus names the logs after the operation; they exist even when the
        // command was not found, and stay until deleted.
        const logDir = `${instancePath(name)}/logs/exec-output/exec_${started.id}`
        const logs = [`${logDir}.stdout`, `${logDir}.stderr`] as const
        const cleanup = Effect.forEach(logs, (path) => deleteLog(project, path), {
          concurrency: "unbounded",
          discard: true
        })
        return yield* Effect.gen(function*() {
          const finished = yield* wait(label, started.id)
          const result = yield* decode(label, ExecMetadata, finished.metadata)
          // The paths Incus reports lack `?project=`; `readLog` adds it.
          const [stdout, stderr] = yield* Effect.all([
            readLog(project, label, result.output["1"] ?? logs[0]),
            readLog(project, label, result.output["2"] ?? logs[1])
          ], { concurrency: "unbounded" })
          return { exitCode: result.return, stdout, stderr } satisfies ExecOutput
        }).pipe(Effect.ensuring(cleanup))
      }),

      statInstanceFile: Effect.fn("IncusClient.statInstanceFile")(function*(project, name, path) {
        const call: Call = { method: "HEAD", path: `${instancePath(name)}/files`, project, params: { path } }
        const label = labelOf(call)
        const response = yield* send(call)
        // A HEAD answer has no body: the status and the headers are all there is.
        if (response.status === 404) return Option.none()
        if (response.status >= 400) return yield* fail(classify(label, response.status, `HTTP ${response.status}`))
        return Option.some(yield* decode(label, InstanceFileHeaders, response.headers))
      }),

      createInstanceDirectory: Effect.fn("IncusClient.createInstanceDirectory")(function*(project, name, path, owner) {
        yield* asVoid({
          method: "POST",
          path: `${instancePath(name)}/files`,
          project,
          params: { path },
          headers: {
            "X-Incus-Type": "directory",
            "X-Incus-Uid": String(owner.uid),
            "X-Incus-Gid": String(owner.gid),
            "X-Incus-Mode": owner.mode.toString(8).padStart(4, "0")
          }
        })
      }),

      createInstanceSymlink: Effect.fn("IncusClient.createInstanceSymlink")(function*(project, name, path, target) {
        yield* asVoid({
          method: "POST",
          path: `${instancePath(name)}/files`,
          project,
          params: { path },
          headers: { "X-Incus-Type": "symlink" },
          text: target
        })
      }),

      readInstanceSymlink: Effect.fn("IncusClient.readInstanceSymlink")(function*(project, name, path) {
        const call: Call = { method: "GET", path: `${instancePath(name)}/files`, project, params: { path } }
        const label = labelOf(call)
        const response = yield* send(call)
        if (response.status >= 400) return yield* envelopeOf(label, response).pipe(Effect.as(""))
        return yield* response.text.pipe(Effect.mapError(transportError(label)))
      }),

      listExecOutputs: Effect.fn("IncusClient.listExecOutputs")(function*(project, name) {
        const call: Call = { method: "GET", path: `${instancePath(name)}/logs/exec-output`, project }
        return (yield* getSync(call, Schema.Array(Schema.String))).value
      }),

      listProjects: Effect.fn("IncusClient.listProjects")(function*() {
        const call: Call = { method: "GET", path: "/1.0/projects", params: { recursion: "1" } }
        return (yield* getSync(call, Schema.Array(Project))).value
      }),

      getProject: Effect.fn("IncusClient.getProject")(function*(name) {
        return yield* getSync({ method: "GET", path: `/1.0/projects/${seg(name)}` }, Project)
      }),

      createProject: Effect.fn("IncusClient.createProject")(function*(body) {
        yield* asVoid({ method: "POST", path: "/1.0/projects", body: { ...body, config: withManaged(body.config) } })
      }),

      updateProject: Effect.fn("IncusClient.updateProject")(function*(name, body, etag) {
        yield* asVoid({ method: "PUT", path: `/1.0/projects/${seg(name)}`, body, etag })
      }),

      modifyProject: Effect.fn("IncusClient.modifyProject")(function*(name, f) {
        const path = `/1.0/projects/${seg(name)}`
        const once = Effect.gen(function*() {
          const current = yield* getSync({ method: "GET", path }, Project)
          const body = f(current.value)
          if (body.description === current.value.description && sameMap(body.config, current.value.config)) {
            return current
          }
          yield* asVoid({ method: "PUT", path, body, etag: current.etag })
          return yield* getSync({ method: "GET", path }, Project)
        })
        const updated = yield* once.pipe(
          Effect.retry({
            // 412: the project changed between our GET and PUT.
            while: (e) => e.reason._tag === "Conflict" && e.reason.status === 412,
            times: 4,
            schedule: Schedule.exponential("20 millis")
          })
        )
        return updated.value
      }),

      deleteProject: Effect.fn("IncusClient.deleteProject")(function*(name, deleteOptions) {
        const params: Record<string, string> = deleteOptions?.force === true ? { force: "true" } : {}
        yield* asVoid({ method: "DELETE", path: `/1.0/projects/${seg(name)}`, params })
      }),

      listProfiles: Effect.fn("IncusClient.listProfiles")(function*(project) {
        const call: Call = { method: "GET", path: "/1.0/profiles", project, params: { recursion: "1" } }
        return (yield* getSync(call, Schema.Array(Profile))).value
      }),

      getProfile: Effect.fn("IncusClient.getProfile")(function*(project, name) {
        return yield* getSync({ method: "GET", path: `/1.0/profiles/${seg(name)}`, project }, Profile)
      }),

      createProfile: Effect.fn("IncusClient.createProfile")(function*(project, body) {
        const post: ProfilesPost = { ...body, config: withManaged(body.config) }
        yield* asVoid({ method: "POST", path: "/1.0/profiles", project, body: post })
      }),

      updateProfile: Effect.fn("IncusClient.updateProfile")(function*(project, name, body, etag) {
        yield* asVoid({ method: "PUT", path: `/1.0/profiles/${seg(name)}`, project, body, etag })
      }),

      deleteProfile: Effect.fn("IncusClient.deleteProfile")(function*(project, name) {
        yield* asVoid({ method: "DELETE", path: `/1.0/profiles/${seg(name)}`, project })
      }),

      listStoragePools: Effect.fn("IncusClient.listStoragePools")(function*() {
        const call: Call = { method: "GET", path: "/1.0/storage-pools", params: { recursion: "1" } }
        return (yield* getSync(call, Schema.Array(StoragePool))).value
      }),

      getStoragePool: Effect.fn("IncusClient.getStoragePool")(function*(name) {
        return yield* getSync({ method: "GET", path: `/1.0/storage-pools/${seg(name)}` }, StoragePool)
      }),

      createStoragePool: Effect.fn("IncusClient.createStoragePool")(function*(body) {
        const post: StoragePoolsPost = { ...body, config: withManaged(body.config) }
        yield* asVoid({ method: "POST", path: "/1.0/storage-pools", body: post })
      }),

      updateStoragePool: Effect.fn("IncusClient.updateStoragePool")(function*(name, body, etag) {
        yield* asVoid({ method: "PUT", path: `/1.0/storage-pools/${seg(name)}`, body, etag })
      }),

      deleteStoragePool: Effect.fn("IncusClient.deleteStoragePool")(function*(name) {
        yield* asVoid({ method: "DELETE", path: `/1.0/storage-pools/${seg(name)}` })
      }),

      getOperation: Effect.fn("IncusClient.getOperation")(function*(id) {
        return (yield* getSync({ method: "GET", path: `/1.0/operations/${seg(id)}` }, Operation)).value
      }),

      waitOperation: Effect.fn("IncusClient.waitOperation")(function*(id) {
        return yield* wait(`wait for operation ${id}`, id)
      })
    }
    return service
  })

/**
 * The client over an `HttpClient` you provide (a fake server in tests).
 *
 * @since 0.1.0
 */
export const layerNoDependencies = (options: MakeOptions): Layer.Layer<IncusClient, never, HttpClient.HttpClient> =>
  Layer.effect(IncusClient, make(options))

/**
 * The live client: the socket from `options` or the environment, one
 * keep-alive `node:http` Agent on it.
 *
 * @example
 * ```ts
 * import * as IncusClient from "@repoman/incus/IncusClient"
 * const live = IncusClient.layer()                                           // $INCUS_SOCKET, ... as `incus` does
 * const other = IncusClient.layer({ socketPath: "/run/incus/unix.socket" })
 * ```
 *
 * @since 0.1.0
 */
export const layer = (options: Options = {}): Layer.Layer<IncusClient> =>
  Layer.unwrap(
    Effect.map(
      options.socketPath === undefined ? IncusSocket.fromEnvironment : Effect.succeed(options.socketPath),
      (socketPath) =>
        layerNoDependencies({
          socketPath,
          ...(options.operationTimeout === undefined ? {} : { operationTimeout: options.operationTimeout })
        }).pipe(Layer.provide(NodeHttpClient.layerNodeHttpOptions({ socketPath, keepAlive: true })))
    )
  )
