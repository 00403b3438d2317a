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
 * It speaks HTTP/1.1 itself, one connection per request, through a
 * {@link Dial} (the unix socket by default), not through `node:http`, whose
 * loading and first request cost a CLI start-up ~60 ms (issue 17). The dial
 * is also the seam for HTTPS remotes: a TLS connection is all they change.
 *
 * The resource modules (`IncusInstances`, `IncusInstanceFiles`,
 * `IncusProjects`, `IncusProfiles`, `IncusStoragePools`) are built on it.
 *
 * @since 0.1.0
 * @module
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { connect, type Socket } from "node:net"
import { PassThrough } from "node:stream"
import { Operation, Response, type Versioned } from "./IncusApi.ts"
import {
  classify,
  errnoCode,
  IncusError,
  type IncusErrorReason,
  OperationFailed,
  RemoteFailed,
  unavailable
} from "./IncusError.ts"
import { request as httpRequest } from "./internal/wire/http1.ts"

/**
 * Opens one connection to incusd: the unix socket (`net.connect(path)`), or
 * for an HTTPS remote a TLS socket.
 *
 * @since 0.1.0
 * @category models
 */
export type Dial = () => Socket

/**
 * The HTTP methods the client uses.
 *
 * @since 0.1.0
 * @category models
 */
export type Method = "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE"

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
  /** A raw body sent as it is read (application/octet-stream, chunked), instead of JSON. */
  readonly upload?: AsyncIterable<Uint8Array>
  /** The largest answer body accepted (default 64 MiB). */
  readonly maxBody?: number
}

/**
 * An HTTP answer as received: its status, its headers (lower-case names)
 * and its body.
 *
 * @since 0.1.0
 * @category models
 */
export interface Answer {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: Uint8Array
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
  /**
   * Whether incusd runs on this host and can mount its paths: true for the
   * unix socket, false for a remote reached over HTTPS.
   */
  readonly local: boolean
  /** Opens a connection to incusd (for websockets). */
  readonly dial: Dial
  /** The HTTPS remote reached, if any. */
  readonly remote: RemoteLabel | undefined
  /** Sends the call; the raw answer (any status). */
  readonly send: (call: Call) => Effect.Effect<Answer, IncusError>
  /** Sends the call; the envelope (sync or async, not waited on), or the failure it reports. */
  readonly submit: (call: Call) => Effect.Effect<Reply, IncusError>
  /** The envelope of an answer already received, or the failure it reports. */
  readonly envelopeOf: (label: string, answer: Answer) => Effect.Effect<Response, IncusError>
  /**
   * Waits for operation `id`; `label` names the request that started it.
   * `unbounded`: as long as it takes (a session), instead of the operation
   * timeout.
   */
  readonly wait: (
    label: string,
    id: string,
    options?: { readonly unbounded?: boolean }
  ) => Effect.Effect<Operation, IncusError>
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
  /** The unix socket incusd listens on (also named in error messages). */
  readonly socketPath: string
  /** How to open a connection (default: the unix socket at `socketPath`). */
  readonly dial?: Dial
  /** Whether incusd runs on this host and can mount its paths (default true: the unix socket). */
  readonly local?: boolean
  /** How long to wait for one operation before failing it. Default 10 minutes. */
  readonly operationTimeout?: Duration.Input
  /**
   * The Incus remote the dial reaches (HTTPS): connection failures, refused
   * certificates and refusals of our certificate become
   * {@link RemoteFailed} reasons naming it.
   */
  readonly remote?: RemoteLabel | undefined
  /** Why the remote cannot be used at all: every request fails with it, and nothing is dialled. */
  readonly refused?: RemoteFailed | undefined
}

/**
 * The HTTPS remote a transport reaches, as errors name it.
 *
 * @since 0.1.0
 * @category models
 */
export interface RemoteLabel {
  readonly name: string
  readonly address: string
  /** The pinned server certificate's path, when there is one. */
  readonly pinned?: string | undefined
  /** The `incus` client's config dir the remote is defined in (for `incus exec NAME:...`). */
  readonly configDir?: string | undefined
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
export const labelOf = (call: Call): string => `${call.method} ${target(call)}`

const fail = (reason: IncusErrorReason, cause?: unknown) =>
  Effect.fail(new IncusError({ reason, ...(cause === undefined ? {} : { cause }) }))

const failed = (request: string, status: number, detail: string, cause?: unknown) =>
  fail(new OperationFailed({ request, status, detail }), cause)

/**
 * The path and query of a call.
 *
 * @since 0.1.0
 * @category utils
 */
export const target = (call: Call): string => {
  const params = new URLSearchParams({
    ...(call.project === undefined ? {} : { project: call.project }),
    ...call.params
  }).toString()
  return `${call.path}${params.length > 0 ? `?${params}` : ""}`
}

/**
 * Builds the transport on the socket (or the dial) of `options`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Transport => {
  const { socketPath } = options
  const dial = options.dial ?? (() => connect(socketPath))
  const waitSeconds = Math.max(1, Math.ceil(Duration.toSeconds(options.operationTimeout ?? "10 minutes")))

  const requestOf = (call: Call) => {
    const body = call.text !== undefined
      ? Buffer.from(call.text, "utf8")
      : call.body === undefined
      ? undefined
      : Buffer.from(JSON.stringify(call.body), "utf8")
    return {
      dial,
      method: call.method,
      path: target(call),
      headers: {
        Accept: "application/json",
        ...(body === undefined && call.upload === undefined
          ? {}
          : {
            "Content-Type": call.text !== undefined || call.upload !== undefined
              ? "application/octet-stream"
              : "application/json"
          }),
        ...call.headers,
        ...(call.etag === undefined || call.etag.length === 0 ? {} : { "If-Match": call.etag })
      },
      ...(body === undefined ? {} : { body }),
      ...(call.upload === undefined ? {} : { upload: call.upload }),
      ...(call.maxBody === undefined ? {} : { maxBody: call.maxBody })
    }
  }

  const answerOf = (label: string, result: Parameters<Parameters<typeof httpRequest>[1]>[0]) => {
    if (result instanceof Error) {
      // No errno: the peer broke the protocol (a malformed or oversized answer), whichever the transport.
      const reason = errnoCode(result) === ""
        ? new OperationFailed({ request: label, status: 0, detail: result.message })
        : options.remote !== undefined
        ? remoteFailure(options.remote, label, result)
        : unavailable(socketPath, result)
      return Effect.fail(new IncusError({ reason, cause: result }))
    }
    if (result._tag === "Upgraded") {
      result.socket.destroy()
      return failed(label, 101, "unexpected protocol switch")
    }
    return Effect.succeed<Answer>({
      status: result.status,
      headers: Object.fromEntries(result.headers),
      body: result.body
    })
  }

  const refused = options.refused
  const send = (call: Call): Effect.Effect<Answer, IncusError> =>
    refused !== undefined ? fail(refused) : Effect.callback<Answer, IncusError>((resume) => {
      const cancel = httpRequest(requestOf(call), (result) => resume(answerOf(labelOf(call), result)))
      return Effect.sync(cancel)
    })

  /**
   * A 2xx answer's body as it arrives, read only as fast as it is consumed
   * (the socket pauses while a MiB waits); the failure the envelope of any
   * other answer reports. Stopping early closes the connection. No bound
   * here: the consumer caps what it reads.
   */
  const stream = (call: Call): Stream.Stream<Uint8Array, IncusError> =>
    refused !== undefined ? Stream.fail(new IncusError({ reason: refused })) : Stream.unwrap(Effect.sync(() => {
      const label = labelOf(call)
      const out = new PassThrough({ highWaterMark: 1 << 20 })
      let ended: Effect.Effect<void, IncusError> = failed(label, 0, "the answer did not end")
      const cancel = httpRequest({
        ...requestOf(call),
        maxBody: Number.POSITIVE_INFINITY,
        sink: (chunk, socket) => {
          if (!out.write(chunk)) {
            socket.pause()
            out.once("drain", () => socket.resume())
          }
        }
      }, (result) => {
        ended = Effect.flatMap(
          answerOf(label, result),
          (answer) => answer.status >= 400 ? Effect.asVoid(envelopeOf(label, answer)) : Effect.void
        )
        out.end()
      })
      return Stream.fromAsyncIterable(
        out as AsyncIterable<Buffer>,
        (cause) => new IncusError({ reason: new OperationFailed({ request: label, status: 0, detail: String(cause) }) })
      ).pipe(
        Stream.concat(Stream.drain(Stream.fromEffect(Effect.suspend(() => ended)))),
        Stream.ensuring(Effect.sync(cancel))
      )
    }))

  const readEnvelope = (label: string, answer: Answer) =>
    Effect.try({
      try: (): unknown => JSON.parse(Buffer.from(answer.body).toString("utf8")),
      catch: (cause) => new Error(`not JSON: ${cause instanceof Error ? cause.message : String(cause)}`)
    }).pipe(
      Effect.flatMap(Schema.decodeUnknownEffect(Response)),
      Effect.catch((cause) =>
        failed(label, answer.status, `unexpected response (HTTP ${answer.status}): ${cause.message}`, cause)
      )
    )

  /** The failure an error envelope reports: its `error_code` (else the HTTP status) and text. */
  const reported = (label: string, envelope: Response, status: number, operation?: string) => {
    const code = envelope.error_code || status
    const detail = envelope.error || `HTTP ${status}`
    const refusal = options.remote === undefined ? undefined : remoteRefusal(options.remote, code, detail, operation)
    return fail(refusal ?? classify(label, code, detail, operation))
  }

  const envelopeOf = (label: string, response: Answer) =>
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

  const wait = (label: string, id: string, waitOptions?: { readonly unbounded?: boolean }) =>
    Effect.gen(function*() {
      const call: Call = {
        method: "GET",
        path: `/1.0/operations/${seg(id)}/wait`,
        params: { timeout: waitOptions?.unbounded === true ? "-1" : String(waitSeconds) }
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
    local: options.local ?? true,
    dial,
    remote: options.remote,
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
        return Buffer.from(response.body).toString("utf8")
      }),
    readTextBounded: (call, maxBytes) =>
      Effect.gen(function*() {
        const chunks: Array<Uint8Array> = []
        let total = 0
        let truncated = false
        yield* stream(call).pipe(
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
          Stream.runDrain
        )
        return { text: Buffer.concat(chunks, total).toString("utf8"), truncated }
      }),
    readStream: stream
  }
}

/** Node's codes for a server certificate that does not verify, and for a failed TLS handshake. */
const certificateCode = /CERT|SIGNATURE|ISSUER|ALTNAME|PINNED|^ERR_SSL_|^ERR_TLS_/

/**
 * The reason for a failed connection to an HTTPS remote: a certificate
 * that does not verify, else the server being unreachable.
 *
 * @since 0.1.0
 * @category utils
 */
export const remoteFailure = (
  remote: RemoteLabel,
  label: string,
  cause: Error
): RemoteFailed => {
  const code = errnoCode(cause)
  const base = { remote: remote.name, address: remote.address, code }
  if (certificateCode.test(code)) {
    return new RemoteFailed({
      ...base,
      problem: "certificate",
      detail: code === "ERR_TLS_CERT_ALTNAME_INVALID" || !/CERT|SIGNATURE|ISSUER|PINNED/.test(code)
        ? `the server's certificate was refused (${code}: ${cause.message})`
        : remote.pinned === undefined
        ? `the server's certificate was refused: no certificate is pinned for it and no trusted CA signed it (${code})`
        : `the server's certificate is not the one pinned in ${remote.pinned} (${code})`
    })
  }
  return new RemoteFailed({
    ...base,
    problem: "unreachable",
    detail: `cannot reach the server (${code || cause.message}) for ${label}`
  })
}

/**
 * The reason for an answer of an HTTPS remote that refuses our certificate
 * ("not authorized": it is not in the trust store) or the project (a
 * restricted certificate); `undefined` for any other answer.
 *
 * @since 0.1.0
 * @category utils
 */
export const remoteRefusal = (
  remote: RemoteLabel,
  status: number,
  detail: string,
  operation?: string
): RemoteFailed | undefined => {
  const base = {
    remote: remote.name,
    address: remote.address,
    code: "",
    ...(operation === undefined ? {} : { operation })
  }
  if (status === 403 && /^not authorized$/i.test(detail.trim())) {
    return new RemoteFailed({
      ...base,
      problem: "not-trusted",
      detail: "the server does not trust this client's certificate (not authorized)"
    })
  }
  const project = /User does not have permissions? for project "([^"]*)"/.exec(detail)
  if (project !== null && (status === 403 || status === 500)) {
    return new RemoteFailed({
      ...base,
      problem: "project-not-allowed",
      detail: `the client certificate is restricted and may not use project "${project[1]}" (${detail})`
    })
  }
  return undefined
}
