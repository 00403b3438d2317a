/**
 * What runs and lies inside an instance, through the Incus REST API: exec
 * with recorded output (`/1.0/instances/NAME/exec` and its logs) and the file
 * API (`/1.0/instances/NAME/files`). Part of {@link IncusClient}.
 *
 * @since 0.1.0
 * @module
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import {
  ExecMetadata,
  type ExecOutput,
  ExecReturn,
  ExecSessionMetadata,
  type InstanceDirectoryPost,
  type InstanceExecPost,
  type InstanceExecSessionPost,
  InstanceFileHeaders,
  Operation
} from "./IncusApi.ts"
import { classify, errnoCode, IncusError, OperationFailed, unavailable } from "./IncusError.ts"
import { instancePath } from "./IncusInstances.ts"
import { type Call, labelOf, seg, target as callTarget, type Transport } from "./IncusTransport.ts"
import { FX_NO_SUCH_FILE, SftpRefused, SftpSession, SftpStatus } from "./internal/wire/sftp.ts"

/**
 * An exec session Incus has set up: its operation and the secret of each
 * channel's websocket (see {@link execWebsocketPath}). The command starts
 * once the channels it needs are connected.
 *
 * @since 0.1.0
 * @category models
 */
export interface ExecSession {
  readonly operation: string
  readonly fds: Readonly<Record<string, string>>
}

/**
 * How an exec session's command ended: its exit status (128 + N when
 * signal N killed it) and, when Incus reported the status as a failure of
 * the operation (127 "Command not found", 126 "Command not executable"),
 * Incus's words.
 *
 * @since 0.1.0
 * @category models
 */
export interface ExecStatus {
  readonly code: number
  readonly failure?: string
}

/**
 * What {@link InstanceFilesClient.createInstanceFile} did: wrote the file,
 * found a directory at the path (nothing written), or had the creation
 * refused (the parent is missing or not a directory, or something was put
 * at the path meanwhile: `detail` is the server's word).
 *
 * @since 0.1.0
 * @category models
 */
export type CreateFileOutcome =
  | { readonly _tag: "Written" }
  | { readonly _tag: "Directory" }
  | { readonly _tag: "Refused"; readonly missing: boolean; readonly detail: string }

/** The statuses Incus reports as failed operations, by its message. */
const failureStatus: Readonly<Record<string, number>> = {
  "Command not found": 127,
  "Command not executable": 126
}

/**
 * The path of one channel's websocket of an exec session.
 *
 * @since 0.1.0
 * @category utils
 */
export const execWebsocketPath = (operation: string, secret: string): string =>
  `/1.0/operations/${seg(operation)}/websocket?secret=${encodeURIComponent(secret)}`

/**
 * The exec and file calls.
 *
 * @since 0.1.0
 * @category models
 */
export interface InstanceFilesClient {
  /**
   * Runs a command without a terminal, records its output, reads it and
   * deletes the logs. A non-zero exit code is a result; a command Incus
   * cannot start fails the operation (`Invalid`, "Command not found").
   * At most {@link MAX_EXEC_OUTPUT} bytes of each stream are read (what a
   * container prints is attacker input); a longer one ends with a note that
   * it was cut.
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

  /**
   * `GET /1.0/instances/NAME/files?path=PATH`: the bytes of a file, as a
   * stream (Incus follows symlinks inside the instance; a directory answers
   * with a JSON listing, which the caller must not take for content: check
   * the type with `statInstanceFile` first).
   */
  readonly streamInstanceFile: (project: string, name: string, path: string) => Stream.Stream<Uint8Array, IncusError>

  /**
   * `POST /1.0/instances/NAME/files?path=PATH` with `X-Incus-Type: file`:
   * writes a file (replacing one that is there) with `content`, owner and
   * mode. Works on a stopped instance; the parent must exist.
   */
  readonly pushInstanceFile: (
    project: string,
    name: string,
    path: string,
    content: string,
    owner: InstanceDirectoryPost
  ) => Effect.Effect<void, IncusError>

  /**
   * Writes the regular file at `path` over the instance's SFTP endpoint,
   * never through a symlink: what is at `path` (a file, a symlink: not a
   * directory) is removed, the file is created anew with `O_EXCL` (so a
   * link planted meanwhile fails it), `content` is written as it is read,
   * then owner and mode are set on the open file. A failed write removes
   * what it made. A failure of `content` is passed on as it was thrown.
   */
  readonly createInstanceFile: (
    project: string,
    name: string,
    path: string,
    content: AsyncIterable<Uint8Array>,
    owner: InstanceDirectoryPost
  ) => Effect.Effect<CreateFileOutcome, IncusError>

  /**
   * `DELETE /1.0/instances/NAME/files?path=PATH`: deletes a file, a symlink
   * (not what it points to) or an empty directory; `NotFound` when nothing
   * is there.
   */
  readonly deleteInstanceFile: (project: string, name: string, path: string) => Effect.Effect<void, IncusError>

  /**
   * `GET /1.0/instances/NAME/files?path=PATH` of a directory: the names in
   * it as Incus lists them (at most `maxBytes` of listing); `None` when
   * nothing is there; `Some(undefined)` when it is not a directory.
   */
  readonly listInstanceDirectory: (
    project: string,
    name: string,
    path: string,
    maxBytes: number
  ) => Effect.Effect<Option.Option<ReadonlyArray<string> | undefined>, IncusError>

  /**
   * The target of the symlink at `path`, as it is written (a relative one
   * stays relative), read over the instance's SFTP endpoint
   * (`/1.0/instances/NAME/sftp`): the file API answers with the target made
   * absolute. `NotFound` when nothing is there; `OperationFailed` when it is
   * not a symlink or its target is not UTF-8.
   */
  readonly readInstanceSymlink: (project: string, name: string, path: string) => Effect.Effect<string, IncusError>

  /**
   * `POST /1.0/instances/NAME/exec` with `wait-for-websocket`: sets up a
   * session whose channels the caller connects (see {@link ExecSession}).
   */
  readonly startExecSession: (
    project: string,
    name: string,
    body: InstanceExecSessionPost
  ) => Effect.Effect<ExecSession, IncusError>

  /**
   * Waits, without a time limit, for an exec session's command to end, and
   * returns how it ended. Incus fails the operation when the status is 127
   * or 126 (even for a script's own `exit 127`); the status then comes from
   * the operation's record.
   */
  readonly execSessionStatus: (operation: string) => Effect.Effect<ExecStatus, IncusError>

  /**
   * `GET /1.0/instances/NAME/files?path=PATH` of a regular file: its
   * content, at most `maxBytes`; `None` when nothing is there or it is not
   * a regular file.
   */
  readonly readInstanceFile: (
    project: string,
    name: string,
    path: string,
    maxBytes: number
  ) => Effect.Effect<Option.Option<string>, IncusError>

  /** The recorded exec outputs still kept for an instance (log URLs). */
  readonly listExecOutputs: (project: string, name: string) => Effect.Effect<ReadonlyArray<string>, IncusError>
}

/**
 * The most bytes of each of a command's stdout and stderr that
 * `execInstance` reads (8 MiB).
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_EXEC_OUTPUT = 8 * 1024 * 1024

/**
 * The exec and file calls over `transport`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (transport: Transport): InstanceFilesClient => {
  const readLog = (project: string, path: string) =>
    transport.readTextBounded({ method: "GET", path, project }, MAX_EXEC_OUTPUT).pipe(
      Effect.map(({ text, truncated }) =>
        truncated ? `${text}\n[repoman: output cut at ${MAX_EXEC_OUTPUT} bytes]\n` : text
      )
    )

  const deleteLog = (project: string, path: string) =>
    Effect.ignore(transport.asVoid({ method: "DELETE", path, project }))

  const filesCall = (project: string, name: string, path: string, method: Call["method"]): Call => ({
    method,
    path: `${instancePath(name)}/files`,
    project,
    params: { path }
  })

  /**
   * Runs `use` on an SFTP session to the instance (closed when it ends or
   * the effect is interrupted). A status the server answers fails with
   * `NotFound` (no such file) or `OperationFailed`; a refused upgrade with
   * what its answer says (a missing instance is `NotFound`).
   */
  const withSftp = <A>(project: string, name: string, what: string, use: (session: SftpSession) => Promise<A>) => {
    const call: Call = { method: "GET", path: `${instancePath(name)}/sftp`, project }
    const label = `${labelOf(call)} (${what})`
    return Effect.tryPromise({
      try: async (signal) => {
        const session = await SftpSession.open({ dial: transport.dial, path: callTarget(call) })
        const abort = () => session.close()
        signal.addEventListener("abort", abort)
        try {
          return await use(session)
        } finally {
          signal.removeEventListener("abort", abort)
          session.close()
        }
      },
      catch: (cause) =>
        new IncusError({
          reason: cause instanceof SftpRefused
            ? classify(label, cause.status, cause.body.trim() || `HTTP ${cause.status}`)
            : cause instanceof SftpStatus
            ? classify(label, cause.code === FX_NO_SUCH_FILE ? 404 : 500, cause.message)
            : errnoCode(cause) !== ""
            ? unavailable(transport.socketPath, cause)
            : new OperationFailed({
              request: label,
              status: 0,
              detail: cause instanceof Error ? cause.message : String(cause)
            }),
          cause
        })
    })
  }

  return {
    execInstance: Effect.fn("IncusClient.execInstance")(function*(project, name, body) {
      const call: Call = {
        method: "POST",
        path: `${instancePath(name)}/exec`,
        project,
        body: { ...body, "wait-for-websocket": false, "record-output": true, interactive: false }
      }
      const label = labelOf(call)
      const reply = yield* transport.submit(call)
      const started = yield* transport.decode(label, Operation, reply.envelope.metadata)
      // Incus names the logs after the operation; they exist even when the
      // command was not found, and stay until deleted.
      const logDir = `${instancePath(name)}/logs/exec-output/exec_${started.id}`
      const logs = [`${logDir}.stdout`, `${logDir}.stderr`] as const
      const cleanup = Effect.forEach(logs, (path) => deleteLog(project, path), {
        concurrency: "unbounded",
        discard: true
      })
      return yield* Effect.gen(function*() {
        const finished = yield* transport.wait(label, started.id)
        const result = yield* transport.decode(label, ExecMetadata, finished.metadata)
        // The paths Incus reports lack `?project=`; the call adds it.
        const [stdout, stderr] = yield* Effect.all([
          readLog(project, result.output["1"] ?? logs[0]),
          readLog(project, result.output["2"] ?? logs[1])
        ], { concurrency: "unbounded" })
        return { exitCode: result.return, stdout, stderr } satisfies ExecOutput
      }).pipe(Effect.ensuring(cleanup))
    }),

    statInstanceFile: Effect.fn("IncusClient.statInstanceFile")(function*(project, name, path) {
      const call = filesCall(project, name, path, "HEAD")
      const label = labelOf(call)
      const response = yield* transport.send(call)
      // A HEAD answer has no body: the status and the headers are all there is.
      if (response.status === 404) return Option.none()
      if (response.status >= 400) {
        return yield* new IncusError({ reason: classify(label, response.status, `HTTP ${response.status}`) })
      }
      return Option.some(yield* transport.decode(label, InstanceFileHeaders, response.headers))
    }),

    createInstanceDirectory: Effect.fn("IncusClient.createInstanceDirectory")(function*(project, name, path, owner) {
      yield* transport.asVoid({
        ...filesCall(project, name, path, "POST"),
        headers: {
          "X-Incus-Type": "directory",
          "X-Incus-Uid": String(owner.uid),
          "X-Incus-Gid": String(owner.gid),
          "X-Incus-Mode": owner.mode.toString(8).padStart(4, "0")
        }
      })
    }),

    createInstanceSymlink: Effect.fn("IncusClient.createInstanceSymlink")(function*(project, name, path, target) {
      yield* transport.asVoid({
        ...filesCall(project, name, path, "POST"),
        headers: { "X-Incus-Type": "symlink" },
        text: target
      })
    }),

    streamInstanceFile: (project, name, path) => transport.readStream(filesCall(project, name, path, "GET")),

    pushInstanceFile: Effect.fn("IncusClient.pushInstanceFile")(function*(project, name, path, content, owner) {
      yield* transport.asVoid({
        ...filesCall(project, name, path, "POST"),
        headers: {
          "X-Incus-Type": "file",
          "X-Incus-Write": "overwrite",
          "X-Incus-Uid": String(owner.uid),
          "X-Incus-Gid": String(owner.gid),
          "X-Incus-Mode": owner.mode.toString(8).padStart(4, "0")
        },
        text: content
      })
    }),

    createInstanceFile: (project, name, path, content, owner) =>
      withSftp(project, name, `write ${path}`, async (session): Promise<CreateFileOutcome> => {
        try {
          const there = await session.lstat(path)
          if (there?.type === "directory") return { _tag: "Directory" }
          if (there !== undefined) await session.remove(path)
          await session.createFile(path, content, owner)
          return { _tag: "Written" }
        } catch (cause) {
          if (cause instanceof SftpStatus) {
            return { _tag: "Refused", missing: cause.code === FX_NO_SUCH_FILE, detail: cause.message }
          }
          throw cause
        }
      }),

    deleteInstanceFile: Effect.fn("IncusClient.deleteInstanceFile")(function*(project, name, path) {
      yield* transport.asVoid(filesCall(project, name, path, "DELETE"))
    }),

    listInstanceDirectory: Effect.fn("IncusClient.listInstanceDirectory")(function*(project, name, path, maxBytes) {
      const call: Call = { ...filesCall(project, name, path, "GET"), maxBody: maxBytes }
      const label = labelOf(call)
      const answer = yield* transport.send(call)
      if (answer.status === 404) return Option.none()
      if (answer.status >= 400) return yield* transport.envelopeOf(label, answer).pipe(Effect.as(Option.none()))
      // A file answers with its bytes, which are not read as a listing.
      if (answer.headers["x-incus-type"] !== "directory") return Option.some(undefined)
      const envelope = yield* transport.envelopeOf(label, answer)
      return Option.some(yield* transport.decode(label, Schema.Array(Schema.String), envelope.metadata))
    }),

    readInstanceSymlink: (project, name, path) =>
      Effect.flatMap(
        withSftp(project, name, `readlink ${path}`, (session) => session.readlink(path)),
        (bytes) => {
          // Bytes that are not UTF-8 would not decode back to themselves.
          const text = bytes.toString("utf8")
          return Buffer.from(text, "utf8").equals(bytes)
            ? Effect.succeed(text)
            : Effect.fail(
              new IncusError({
                reason: classify(`readlink ${path}`, 500, `the target of ${path} is not UTF-8`)
              })
            )
        }
      ),

    startExecSession: Effect.fn("IncusClient.startExecSession")(function*(project, name, body) {
      const call: Call = {
        method: "POST",
        path: `${instancePath(name)}/exec`,
        project,
        body: { ...body, "wait-for-websocket": true, "record-output": false }
      }
      const label = labelOf(call)
      const reply = yield* transport.submit(call)
      const started = yield* transport.decode(label, Operation, reply.envelope.metadata)
      const { fds } = yield* transport.decode(label, ExecSessionMetadata, started.metadata)
      return { operation: started.id, fds } satisfies ExecSession
    }),

    execSessionStatus: Effect.fn("IncusClient.execSessionStatus")(function*(operation) {
      const label = `exec operation ${operation}`
      return yield* transport.wait(label, operation, { unbounded: true }).pipe(
        Effect.flatMap((finished) => transport.decode(label, ExecReturn, finished.metadata)),
        Effect.map((ended): ExecStatus => ({ code: ended.return })),
        Effect.catchIf(
          (e) => e.reason._tag !== "Unavailable" && e.reason.detail in failureStatus,
          (e) => {
            const failure = e.reason.detail
            // The record of the operation (kept a few seconds) has the status itself.
            return transport.getSync({ method: "GET", path: `/1.0/operations/${seg(operation)}` }, Operation).pipe(
              Effect.flatMap(({ value }) => transport.decode(label, ExecReturn, value.metadata)),
              Effect.map((ended): ExecStatus => ({ code: ended.return, failure })),
              Effect.orElseSucceed((): ExecStatus => ({ code: failureStatus[failure] ?? 1, failure }))
            )
          }
        )
      )
    }),

    readInstanceFile: Effect.fn("IncusClient.readInstanceFile")(function*(project, name, path, maxBytes) {
      // A directory answers with a JSON listing, so leave room for one.
      const call: Call = { ...filesCall(project, name, path, "GET"), maxBody: Math.max(maxBytes, 64 * 1024) }
      const label = labelOf(call)
      const answer = yield* transport.send(call)
      if (answer.status === 404) return Option.none()
      if (answer.status >= 400) return yield* transport.envelopeOf(label, answer).pipe(Effect.as(Option.none()))
      if (answer.headers["x-incus-type"] !== "file") return Option.none()
      if (answer.body.length > maxBytes) {
        return yield* new IncusError({
          reason: classify(label, 413, `${path} is larger than ${maxBytes} bytes`)
        })
      }
      return Option.some(Buffer.from(answer.body).toString("utf8"))
    }),

    listExecOutputs: Effect.fn("IncusClient.listExecOutputs")(function*(project, name) {
      const call: Call = { method: "GET", path: `${instancePath(name)}/logs/exec-output`, project }
      return (yield* transport.getSync(call, Schema.Array(Schema.String))).value
    })
  }
}
