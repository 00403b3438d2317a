/**
 * What the parts of the Incus runtime share: the client and project they act
 * on, and how an {@link IncusError} becomes a {@link ContainerRuntimeError}
 * that names the object the call was about and keeps the Incus error as its
 * cause.
 */
import {
  AlreadyExists,
  Conflict,
  ContainerRuntimeError,
  type ContainerRuntimeErrorReason,
  type EngineAccess,
  Forbidden,
  NotFound,
  type ObjectKind,
  OperationFailed,
  Unavailable
} from "@repoman/core/ContainerRuntime"
import type { ProcessSignalsShape } from "@repoman/core/ProcessSignals"
import * as Effect from "effect/Effect"
import type * as FileSystem from "effect/FileSystem"
import type { IncusClientShape } from "../../IncusClient.ts"
import type { IncusError } from "../../IncusError.ts"
import type { SessionIo } from "./session.ts"

/** What a call was about. */
export interface Subject {
  readonly kind: ObjectKind
  readonly name: string
  /** What was being done, for `OperationFailed` ("create", "start", ...). */
  readonly operation: string
  /** The image a create asked for. */
  readonly image?: string
  /**
   * Whether Incus's "invalid in this state" answer (HTTP 400) means the
   * object's state does not allow the call (start, stop, exec, delete).
   */
  readonly stateful?: boolean
}

export interface RuntimeContext {
  readonly client: IncusClientShape
  readonly project: string
  /** The host uid recorded as the owner of what the runtime makes. */
  readonly owner: number
  /** What the client may do (read once per runtime, then remembered). */
  readonly access: Effect.Effect<EngineAccess, ContainerRuntimeError>
  readonly fs: FileSystem.FileSystem
  /** Where the process's signals go while a `shell` session runs. */
  readonly signals: ProcessSignalsShape
  /** What a `shell` session is attached to (the process's stdio). */
  readonly io: () => SessionIo
  /** The `incus` command of `attachCommand`. */
  readonly incusCommand: string
  /** The config dir of that command's client, repoman's own. */
  readonly clientConfigDir: string
  /** Seconds a graceful stop or restart may take. */
  readonly stopTimeout: number
}

export const runtimeError = (reason: ContainerRuntimeErrorReason, cause?: unknown) =>
  new ContainerRuntimeError({ reason, ...(cause === undefined ? {} : { cause }) })

/**
 * Maps an {@link IncusError} to the runtime's error for `subject` in
 * `project`. A `NotFound` names the missing object when Incus's answer does
 * (a profile or image a create needs), else the subject.
 */
export const toRuntimeError = (project: string, subject: Subject) => (error: IncusError): ContainerRuntimeError => {
  const r = error.reason
  const { kind, name } = subject
  switch (r._tag) {
    case "Unavailable":
      return runtimeError(
        new Unavailable({ kind, name, detail: `${r.socketPath}: ${r.code || r.detail}`, hint: r.hint }),
        error
      )
    case "NotFound":
      return runtimeError(
        r.missing === undefined
          ? new NotFound({ kind, name })
          : new NotFound({
            kind: r.missing.kind,
            name: r.missing.name ?? (r.missing.kind === "image" ? subject.image ?? name : name)
          }),
        error
      )
    case "AlreadyExists":
      return runtimeError(new AlreadyExists({ kind, name }), error)
    case "Conflict":
      return runtimeError(new Conflict({ kind, name, detail: r.detail }), error)
    case "Forbidden":
      return runtimeError(new Forbidden({ kind, name, namespace: project, detail: r.detail }), error)
    case "Invalid":
      return runtimeError(
        subject.stateful === true
          ? new Conflict({ kind, name, detail: r.detail })
          : new OperationFailed({ kind, name, operation: subject.operation, detail: r.detail }),
        error
      )
    case "OperationFailed":
      return runtimeError(new OperationFailed({ kind, name, operation: subject.operation, detail: r.detail }), error)
    case "RemoteFailed":
      // The daemon refused the project: a restriction, as the unix socket's are.
      return runtimeError(
        r.problem === "project-not-allowed"
          ? new Forbidden({ kind, name, namespace: project, detail: r.message })
          : new Unavailable({ kind, name, detail: r.message, hint: r.hint }),
        error
      )
  }
}

/**
 * Maps the Incus errors of `effect` for `subject`. Incus answers 404 both for
 * a missing object and for a missing project; when an object of the project
 * is not found, one more GET tells the two apart (only on that failure).
 */
export const mapErrors =
  (ctx: RuntimeContext, subject: Subject) =>
  <A, R>(effect: Effect.Effect<A, IncusError, R>): Effect.Effect<A, ContainerRuntimeError, R> =>
    effect.pipe(Effect.catch((error) => {
      const mapped = toRuntimeError(ctx.project, subject)(error)
      const missingHere = mapped.reason._tag === "NotFound" && error.reason._tag === "NotFound" &&
        error.reason.missing === undefined && subject.kind !== "namespace"
      if (!missingHere) return Effect.fail(mapped)
      return ctx.client.getProject(ctx.project).pipe(
        Effect.matchEffect({
          onFailure: (e) =>
            Effect.fail(
              e.reason._tag === "NotFound"
                ? runtimeError(new NotFound({ kind: "namespace", name: ctx.project }), e)
                : mapped
            ),
          onSuccess: () => Effect.fail(mapped)
        })
      )
    }))

/** Maps the Incus errors of `effect` for `subject` in `project`, without the extra GET of {@link mapErrors}. */
export const mapErrorsIn =
  (project: string, subject: Subject) =>
  <A, R>(effect: Effect.Effect<A, IncusError, R>): Effect.Effect<A, ContainerRuntimeError, R> =>
    effect.pipe(Effect.mapError(toRuntimeError(project, subject)))
