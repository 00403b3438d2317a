/**
 * The REST transport under {@link IncusClient}: one request/response
 * round trip to incusd, the response envelope, and background operations.
 *
 * - Every response is an envelope ({@link IncusApi.Response}) decoded with
 *   Schema; a `type: "error"` envelope is a failure even when the HTTP status
 *   is 200 (that is how `/1.0/operations/<id>/wait` reports a failed
 *   operation), classified by {@link IncusError.classify}.
 * - Asynchronous requests are waited on at once through
 *   `/1.0/operations/<id>/wait`.
 * - Transport failures on the socket become `Unavailable`, with the socket
 *   path and errno.
 *
 * The resource modules (`IncusInstances`, `IncusInstanceFiles`,
 * `IncusProjects`, `IncusProfiles`, `IncusStoragePools`) are built on it.
 *
 * @since 0.1.0
 * @module
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as HttpClient from "effect/http/HttpClient"
import type * as HttpClientError from "effect/http/HttpClientError"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import type * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { Operation, Response, type Versioned } from "./IncusApi.ts"
import { classify, IncusError, type IncusErrorReason, OperationFailed, unavailable } from "./IncusError.ts"

/**
 * The HTTP methods the client uses.
 *
 * @since 0.1.0
 * @category models
 */
export type Method = "GET" | "HEAD" | "POST" | "PUT" | "DELETE"

/**
 * One REST request.
 *
 * @since 0.1.0
 * @category models
 */
export interface Call {
  readonly method: Method
  /** The path, e.g. `/1.0/instances/isurus`. */
  readonly path: string
  /** The Incus project (`?project=`), for project-scoped resources. */
  readonly project?: string | undefined
  readonly params?: Readonly<Record<string, string>>
  /** A JSON body. */
  readonly body?: unknown
  /** Sent as `If-Match` when non-empty. */
  readonly etag?: string | undefined
  readonly headers?: Readonly<Record<string, string>>
  /** A raw body (sent as application/octet-stream) instead of JSON. */
  readonly text?: string
}

/**
 * A decoded response envelope with the ETag and status it came with.
 *
 * @since 0.1.0
 * @category models
 */
export interface Reply {
  readonly envelope: Response
  readonly etag: string
  readonly status: number
}

/**
 * What the resource modules build on.
 *
 * @since 0.1.0
 * @category models
 */
export interface Transport {
  /** The socket incusd is reached on (for error messages). */
  readonly socketPath: string
  /** Sends the call; the raw response (any status). */
  readonly send: (call: Call) => Effect.Effect<HttpClientResponse.HttpClientResponse, IncusError>
  /** Sends the call; the envelope (sync or async, not waited on), or the failure it reports. */
  readonly submit: (call: Call) => Effect.Effect<Reply, IncusError>
  /** The envelope of a response already received, or the failure it reports. */
  readonly envelopeOf: (
    label: string,
    response: HttpClientResponse.HttpClientResponse
  ) => Effect.Effect<Response, IncusError>
  /** Waits for operation `id`; `label` names the request that started it. */
  readonly wait: (label: string, id: string) => Effect.Effect<Operation, IncusError>
  /** A synchronous GET decoded with `schema`, with its ETag. */
  readonly getSync: <S extends Schema.Constraint & { readonly DecodingServices: never }>(
    call: Call,
    schema: S
  ) => Effect.Effect<Versioned<S["Type"]>, IncusError>
  /** Sends a call Incus answers with an operation, and waits for it. */
  readonly asOperation: (call: Call) => Effect.Effect<Operation, IncusError>
  /** Sends a call (waiting for its operation, if it starts one) and drops the answer. */
  readonly asVoid: (call: Call) => Effect.Effect<void, IncusError>
  /** A body that is not an envelope (a file, a log), or the failure the envelope reports. */
  readonly readText: (call: Call) => Effect.Effect<string, IncusError>
  /**
   * Like `readText`, but reads at most `maxBytes` bytes of the body (the
   * rest is not read): the text, and whether it was cut.
   */
  readonly readTextBounded: (
    call: Call,
    maxBytes: number
  ) => Effect.Effect<{ readonly text: string; readonly truncated: boolean }, IncusError>
  /** A body that is not an envelope, as a stream of bytes (the failure the envelope reports, if any). */
  readonly readStream: (call: Call) => Stream.Stream<Uint8Array, IncusError>
  /** Decodes `value` with `schema`; a mismatch is an `OperationFailed` naming `label`. */
  readonly decode: <S extends Schema.Constraint & { readonly DecodingServices: never }>(
    label: string,
    schema: S,
    value: unknown
  ) => Effect.Effect<S["Type"], IncusError>
}

/**
 * Options of {@link make}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The socket path, used in error messages (the HttpClient does the dialling). */
  readonly socketPath: string
  /** How long to wait for one operation before failing it. Default 10 minutes. */
  readonly operationTimeout?: Duration.Input
}

/**
 * A path segment, escaped.
 *
 * @since 0.1.0
 * @category utils
 */
export const seg = encodeURIComponent

/**
 * The request as errors name it, e.g. `POST /1.0/instances?project=repoman`.
 *
 * @since 0.1.0
 * @category utils
 */
export const labelOf = (call: Call): string => {
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

/**
 * Builds the transport on an `HttpClient` that reaches incusd.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (http: HttpClient.HttpClient, options: Options): Transport => {
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
    return http.execute(withBody).pipe(Effect.mapError(transportError(labelOf(call))))
  }

  const readEnvelope = (label: string, response: HttpClientResponse.HttpClientResponse) =>
    response.json.pipe(
      Effect.flatMap(Schema.decodeUnknownEffect(Response)),
      Effect.catch((cause) =>
        failed(label, response.status, `unexpected response (HTTP ${response.status}): ${cause.message}`, cause)
      )
    )

  /** The failure an error envelope reports: its `error_code` (else the HTTP status) and text. */
  const reported = (label: string, envelope: Response, status: number, operation?: string) =>
    fail(classify(label, envelope.error_code || status, envelope.error || `HTTP ${status}`, operation))

  const envelopeOf = (label: string, response: HttpClientResponse.HttpClientResponse) =>
    Effect.gen(function*() {
      const envelope = yield* readEnvelope(label, response)
      if (envelope.type === "error" || response.status >= 400) return yield* reported(label, envelope, response.status)
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

  const submit = (call: Call) =>
    Effect.gen(function*() {
      const response = yield* send(call)
      const envelope = yield* envelopeOf(labelOf(call), response)
      return { envelope, etag: response.headers["etag"] ?? "", status: response.status } satisfies Reply
    })

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
        if (/context deadline exceeded/.test(envelope.error)) {
          return yield* fail(
            new OperationFailed({
              request: label,
              status: 0,
              detail: `still running after ${waitSeconds} s`,
              operation: id
            })
          )
        }
        return yield* reported(label, envelope, response.status, id)
      }
      const operation = yield* decode(label, Operation, envelope.metadata)
      if (operation.status_code >= 400) {
        // An operation's own status code is not an HTTP status: 400 means "Failure".
        return yield* fail(classify(label, 500, operation.err || operation.status, id))
      }
      return operation
    })

  /** Sends the call and, if Incus answers with an operation, waits for it. */
  const run = (call: Call) =>
    Effect.gen(function*() {
      const reply = yield* submit(call)
      if (reply.envelope.type !== "async") return { reply, operation: undefined }
      const label = labelOf(call)
      const started = yield* decode(label, Operation, reply.envelope.metadata)
      return { reply, operation: yield* wait(label, started.id) }
    })

  return {
    socketPath,
    send,
    submit,
    envelopeOf,
    wait,
    decode,
    getSync: (call, schema) =>
      submit(call).pipe(
        Effect.flatMap((reply) =>
          decode(labelOf(call), schema, reply.envelope.metadata).pipe(
            Effect.map((value) => ({ value, etag: reply.etag }))
          )
        )
      ),
    asOperation: (call) =>
      run(call).pipe(
        Effect.flatMap(({ operation, reply }) =>
          operation === undefined
            ? failed(labelOf(call), reply.status, "expected an asynchronous operation, got a synchronous answer")
            : Effect.succeed(operation)
        )
      ),
    asVoid: (call) => Effect.asVoid(run(call)),
    readText: (call) =>
      Effect.gen(function*() {
        const label = labelOf(call)
        const response = yield* send(call)
        if (response.status >= 400) return yield* envelopeOf(label, response).pipe(Effect.as(""))
        return yield* response.text.pipe(Effect.mapError(transportError(label)))
      }),
    readTextBounded: (call, maxBytes) =>
      Effect.gen(function*() {
        const label = labelOf(call)
        const response = yield* send(call)
        if (response.status >= 400) {
          return yield* envelopeOf(label, response).pipe(Effect.as({ text: "", truncated: false }))
        }
        const chunks: Array<Uint8Array> = []
        let total = 0
        let truncated = false
        yield* response.stream.pipe(
          Stream.takeUntil((chunk) => {
            const room = maxBytes - total
            if (chunk.length > room) {
              truncated = true
              if (room > 0) chunks.push(chunk.subarray(0, room))
              total = maxBytes
              return true
            }
            chunks.push(chunk)
            total += chunk.length
            return false
          }),
          Stream.runDrain,
          Effect.mapError(transportError(label))
        )
        const bytes = new Uint8Array(total)
        let offset = 0
        for (const chunk of chunks) {
          bytes.set(chunk, offset)
          offset += chunk.length
        }
        return { text: new TextDecoder().decode(bytes), truncated }
      }),
    readStream: (call) =>
      Stream.unwrap(Effect.gen(function*() {
        const label = labelOf(call)
        const response = yield* send(call)
        if (response.status >= 400) return yield* envelopeOf(label, response).pipe(Effect.as(Stream.empty))
        return response.stream.pipe(Stream.mapError(transportError(label)))
      }))
  }
}
