/**
 * The one error of the Incus boundary, with a `reason` per kind of failure.
 *
 * Incus reports errors as an HTTP status (the envelope's `error_code`) plus a
 * text. {@link classify} goes by the status first: 404, 403, 409 and 412 say
 * what happened. Incus also answers 400 and 500 for refusals that have a
 * kind of their own (restriction violations, duplicate names, a missing
 * profile or image, a profile in use, a state that does not allow the
 * request; every failed background operation comes back as 500 or 400), so
 * for those two statuses, and only for them, the text decides between the
 * known refusals; anything else is {@link Invalid} (400) or
 * {@link OperationFailed}. A text such as `Command not found` is therefore
 * never read as a missing object. Transport failures on the unix socket
 * become {@link Unavailable}, with a hint that tells the user what to do.
 *
 * @since 0.1.0
 * @module
 */
import * as Schema from "effect/Schema"

const fields = {
  /** The request, e.g. `POST /1.0/instances?project=repoman`. */
  request: Schema.String,
  /** The HTTP status or Incus `error_code` (0 when Incus gave none). */
  status: Schema.Number,
  /** Incus's error text. */
  detail: Schema.String,
  /**
   * The id of the background operation that failed, when the request was
   * accepted and failed later (Incus may then have made something already).
   */
  operation: Schema.optionalKey(Schema.String)
}

/**
 * incusd cannot be reached through the socket: the socket file is missing
 * (`ENOENT`), nothing listens on it (`ECONNREFUSED`), the user may not open
 * it (`EACCES`), or the connection broke.
 *
 * @since 0.1.0
 * @category models
 */
export class Unavailable extends Schema.TaggedClass<Unavailable>("@repoman/incus/IncusError/Unavailable")(
  "Unavailable",
  {
    socketPath: Schema.String,
    /** The errno code (`ENOENT`, `ECONNREFUSED`, `EACCES`, ...), or `""`. */
    code: Schema.String,
    detail: Schema.String
  }
) {
  /** What the user should do about it. */
  get hint(): string {
    switch (this.code) {
      case "ENOENT":
        return `there is no Incus socket at ${this.socketPath}: install Incus and start incusd ` +
          `(e.g. 'sudo systemctl start incus'), or point INCUS_SOCKET at the right socket`
      case "ECONNREFUSED":
        return `incusd is not running (nothing listens on ${this.socketPath}): start it ` +
          `(e.g. 'sudo systemctl start incus') and try again`
      case "EACCES":
      case "EPERM":
        return `you may not use ${this.socketPath}: ask an admin to add you to the incus group ` +
          `('sudo usermod -aG incus $USER': a restricted project of your own through incus-user, see repoman's ` +
          `README) or to incus-admin (full control of Incus, which is root on the host), then log in again`
      default:
        return `the connection to incusd on ${this.socketPath} failed: check that incusd is running`
    }
  }

  /** One line for the user. */
  get message(): string {
    return `cannot reach incusd at ${this.socketPath} (${this.code || this.detail}): ${this.hint}`
  }
}

/**
 * The object does not exist. `missing` names it when Incus's answer does
 * (a profile or image a create needs); otherwise it is the object the
 * request was about.
 *
 * @since 0.1.0
 * @category errors
 */
export class NotFound extends Schema.TaggedClass<NotFound>("@repoman/incus/IncusError/NotFound")("NotFound", {
  ...fields,
  missing: Schema.optionalKey(
    Schema.Struct({ kind: Schema.Literals(["profile", "image"]), name: Schema.optionalKey(Schema.String) })
  )
}) {
  /** One line for the user. */
  get message(): string {
    return `${this.request}: not found: ${this.detail}`
  }
}

/**
 * An object with that name exists already.
 *
 * @since 0.1.0
 * @category errors
 */
export class AlreadyExists extends Schema.TaggedClass<AlreadyExists>("@repoman/incus/IncusError/AlreadyExists")(
  "AlreadyExists",
  fields
) {
  /** One line for the user. */
  get message(): string {
    return `${this.request}: already exists: ${this.detail}`
  }
}

/**
 * The restrictions of the Incus project refuse the request (a disk path
 * outside the allowed ones, a privileged container, `raw.idmap` for foreign
 * ids, `shift` on a restricted path), or the host does not delegate the ids
 * asked for.
 *
 * @since 0.1.0
 * @category errors
 */
export class Forbidden extends Schema.TaggedClass<Forbidden>("@repoman/incus/IncusError/Forbidden")(
  "Forbidden",
  fields
) {
  /** One line for the user. */
  get message(): string {
    return `${this.request}: forbidden: ${this.detail}`
  }
}

/**
 * The object is in a state that does not allow the request: already running
 * or stopped, not running, in use, not empty, or changed since it was read
 * (ETag mismatch).
 *
 * @since 0.1.0
 * @category errors
 */
export class Conflict extends Schema.TaggedClass<Conflict>("@repoman/incus/IncusError/Conflict")("Conflict", fields) {
  /** One line for the user. */
  get message(): string {
    return `${this.request}: conflict: ${this.detail}`
  }
}

/**
 * Incus refused the request as invalid (HTTP 400) for a reason that has no
 * kind of its own: a bad name or value, a command that could not be started
 * (`Command not found`).
 *
 * @since 0.1.0
 * @category errors
 */
export class Invalid extends Schema.TaggedClass<Invalid>("@repoman/incus/IncusError/Invalid")("Invalid", fields) {
  /** One line for the user. */
  get message(): string {
    return `${this.request}: refused: ${this.detail}`
  }
}

/**
 * Incus took the request and failed it for another reason, or answered with
 * something this client cannot read.
 *
 * @since 0.1.0
 * @category errors
 */
export class OperationFailed extends Schema.TaggedClass<OperationFailed>(
  "@repoman/incus/IncusError/OperationFailed"
)("OperationFailed", fields) {
  /** One line for the user. */
  get message(): string {
    return `${this.request} failed: ${this.detail}`
  }
}

/**
 * An Incus remote reached over HTTPS (or chosen by name) cannot be used,
 * and why:
 *
 * - `unreachable`: the connection failed (refused, timed out, no such host);
 * - `certificate`: the server's certificate is not the one pinned for the
 *   remote (`servercerts/NAME.crt`), or there is no pin and no CA vouches
 *   for it: nothing was sent to that server;
 * - `not-trusted`: the server does not trust our client certificate;
 * - `project-not-allowed`: the client certificate is restricted to other
 *   projects than the one asked for;
 * - `unknown`, `unsupported`, `client-certificate`, `config`: the remote
 *   cannot be used as the `incus` client's config describes it.
 *
 * @since 0.1.0
 * @category errors
 */
export class RemoteFailed extends Schema.TaggedClass<RemoteFailed>("@repoman/incus/IncusError/RemoteFailed")(
  "RemoteFailed",
  {
    remote: Schema.String,
    /** `https://host:port`, or `""` when the remote could not be resolved. */
    address: Schema.String,
    problem: Schema.Literals([
      "unreachable",
      "certificate",
      "not-trusted",
      "project-not-allowed",
      "unknown",
      "unsupported",
      "client-certificate",
      "config"
    ]),
    detail: Schema.String,
    /** The errno or TLS code of a connection failure, else `""`. */
    code: Schema.String,
    /** The background operation the refusal came from, if any (see `OperationFailed`). */
    operation: Schema.optionalKey(Schema.String)
  }
) {
  /** Whether the user named something that does not exist (exit 2). */
  get usage(): boolean {
    return this.problem === "unknown"
  }

  /** What the user should do about it. */
  get hint(): string {
    switch (this.problem) {
      case "unreachable":
        return "check the address in the incus client's config.yml, that the server listens there " +
          "(core.https_address) and that the network lets you through"
      case "certificate":
        return "nothing was sent; if the server's certificate changed on purpose, check its fingerprint " +
          "and add the remote again ('incus remote remove NAME', 'incus remote add NAME TOKEN')"
      case "not-trusted":
        return "on the server, issue a trust token ('incus config trust add NAME --restricted --projects " +
          "PROJECT') and add the remote with it ('incus remote add NAME TOKEN'); see docs/remote.md"
      case "project-not-allowed":
        return "use the project the certificate is restricted to ([defaults] incus_project), or allow it " +
          "on the server ('incus config trust edit FINGERPRINT'); see docs/remote.md"
      case "client-certificate":
        return "add the remote with 'incus remote add NAME TOKEN', which makes client.crt and client.key"
      default:
        return "see 'incus remote list' and docs/remote.md"
    }
  }

  /** One line for the user. */
  get message(): string {
    const where = this.address.length > 0 ? ` (${this.address})` : ""
    return `Incus remote "${this.remote}"${where}: ${this.detail}`
  }
}

/**
 * Why an {@link IncusError} happened.
 *
 * @since 0.1.0
 * @category errors
 */
export const IncusErrorReason = Schema.Union([
  Unavailable,
  NotFound,
  AlreadyExists,
  Forbidden,
  Conflict,
  Invalid,
  OperationFailed,
  RemoteFailed
])
/**
 * The decoded type of the `IncusErrorReason` schema.
 *
 * @since 0.1.0
 * @category errors
 */
export type IncusErrorReason = typeof IncusErrorReason.Type

/**
 * The one error of the Incus client. Match on `reason` with
 * `Effect.catchReason("IncusError", "NotFound", ...)`.
 *
 * @since 0.1.0
 * @category errors
 */
export class IncusError extends Schema.TaggedError<IncusError>("@repoman/incus/IncusError")("IncusError", {
  reason: IncusErrorReason,
  cause: Schema.optional(Schema.Defect())
}) {
  /** The reason's one-line message. */
  override get message(): string {
    return this.reason.message
  }
}

// The texts of the refusals Incus answers with a 400 or 500 (verified on
// Incus 6.0.4; see the cases in test/IncusError.test.ts).
const alreadyExists = /already exists|UNIQUE constraint failed/i
const forbidden =
  /\bforbidden\b|\bnot allowed\b|restricted (?:parent )?source path|Certificate is restricted|does not have permission/i
const conflict =
  /already (?:running|stopped)|\bis (?:not )?running\b|isn't running|\bin use\b|only empty projects|cannot be deleted|can't be cancelled|cannot be (?:enabled|disabled) on non-empty|\bis busy\b|\bis frozen\b/i
const missingProfile = /Requested profile "([^"]+)" doesn't exist/
const missingImage = /Image not provided|\bimage "[^"]*" not found/i

/**
 * Picks the reason for an Incus error from its status, and for a 400 or 500
 * from its text (see the module's overview).
 *
 * @example
 * ```ts
 * import { classify } from "@repoman/incus/IncusError"
 * classify("POST /1.0/profiles", 500, "Error inserting \"p\" into database: The profile already exists")._tag
 * // "AlreadyExists"
 * classify("GET /1.0/operations/x/wait", 400, "Command not found", "x")._tag
 * // "Invalid"
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export const classify = (
  request: string,
  status: number,
  detail: string,
  operation?: string
): IncusErrorReason => {
  const args = { request, status, detail, ...(operation === undefined ? {} : { operation }) }
  switch (status) {
    case 404:
      return new NotFound(args)
    case 403:
      return new Forbidden(args)
    case 409:
      return new AlreadyExists(args)
    case 412:
      return new Conflict(args)
  }
  if (alreadyExists.test(detail)) return new AlreadyExists(args)
  if (forbidden.test(detail)) return new Forbidden(args)
  if (conflict.test(detail)) return new Conflict(args)
  const profile = missingProfile.exec(detail)
  if (profile !== null) return new NotFound({ ...args, missing: { kind: "profile", name: profile[1] ?? "" } })
  if (missingImage.test(detail)) return new NotFound({ ...args, missing: { kind: "image" } })
  return status === 400 ? new Invalid(args) : new OperationFailed(args)
}

/**
 * The errno code of a Node error (`ENOENT`, ...), or `""`.
 *
 * @since 0.1.0
 * @category utils
 */
export const errnoCode = (cause: unknown): string => {
  if (typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string") {
    return cause.code
  }
  if (typeof cause === "object" && cause !== null && "cause" in cause && cause.cause !== cause) {
    return errnoCode(cause.cause)
  }
  return ""
}

/**
 * The reason for a transport failure on the socket.
 *
 * @since 0.1.0
 * @category utils
 */
export const unavailable = (socketPath: string, cause: unknown): Unavailable =>
  new Unavailable({
    socketPath,
    code: errnoCode(cause),
    detail: cause instanceof Error ? cause.message : String(cause)
  })
