/**
 * The TLS {@link IncusTransport.Dial} of an HTTPS remote: our client
 * certificate, and the server's certificate checked the way the `incus`
 * client checks it, only stricter about pins.
 *
 * - A pinned certificate (`servercerts/NAME.crt`, written by `incus remote
 *   add`) is the only certificate trusted: it is the only CA of the
 *   connection, and the server must present exactly it (same SHA-256
 *   fingerprint). As with the `incus` client, the host name is not checked
 *   against it (Incus's self-signed certificates name the server, not the
 *   address it is reached on). Unlike it, a certificate signed by a public CA
 *   does not stand in for a pinned one that no longer matches.
 * - Without a pin (a server whose certificate a CA signed: `incus remote add`
 *   pins nothing then), the certificate must chain to `client.ca` when it
 *   exists, else to the system's CAs, and name the host, as for any HTTPS.
 * - TLS 1.3 only, as the `incus` client (unless `INCUS_INSECURE_TLS`).
 *
 * Nothing is sent before the server is verified: writes are held (corked)
 * until the handshake has succeeded, so a server with another certificate
 * never sees a request (its path, its body).
 *
 * @since 0.1.0
 * @module
 */
import { X509Certificate } from "node:crypto"
import type { Socket } from "node:net"
import * as tls from "node:tls"
import type { Dial } from "./IncusTransport.ts"

/**
 * Options of {@link dial}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly host: string
  readonly port: number
  /** The client certificate and its key (PEM). */
  readonly cert: string
  readonly key: string
  /** The pinned server certificate (PEM), if any. */
  readonly serverCert?: string | undefined
  /** The CA an unpinned server certificate must chain to (PEM; default: the system's). */
  readonly ca?: string | undefined
  /** How long the connection and handshake may take (default 10 s). */
  readonly connectTimeoutMs?: number
  /** Allow TLS 1.2 (as `INCUS_INSECURE_TLS` does for the `incus` client). */
  readonly allowTls12?: boolean
}

/**
 * A certificate that is not the pinned one (Node's verification passed: the
 * pinned certificate signed it).
 *
 * @since 0.1.0
 * @category errors
 */
export class PinMismatch extends Error {
  readonly code = "ERR_REPOMAN_PINNED_CERT_MISMATCH"
}

/**
 * The handshake did not finish in time.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectTimeout extends Error {
  readonly code = "ETIMEDOUT"
}

/**
 * The certificates of {@link Options} cannot be used: `which` says whose
 * (`server`: the pinned certificate is not one; `client`: the client
 * certificate, its key (a password-protected key included) or `ca`).
 *
 * @since 0.1.0
 * @category errors
 */
export class TlsSetupError extends Error {
  readonly which: "server" | "client"
  constructor(which: "server" | "client", message: string) {
    super(message)
    this.which = which
  }
}

/**
 * The SHA-256 fingerprint of a PEM certificate, as Node writes it
 * (`AB:CD:...`).
 *
 * @since 0.1.0
 * @category utils
 */
export const fingerprint = (pem: string): string => new X509Certificate(pem).fingerprint256

const systemCas = (): ReadonlyArray<string> => {
  const get = (tls as { getCACertificates?: (type: string) => Array<string> }).getCACertificates
  return get === undefined ? tls.rootCertificates : [...new Set([...get("system"), ...get("default")])]
}

/**
 * The dial: one verified TLS connection per call. Throws a
 * {@link TlsSetupError} when a certificate or key cannot be used.
 *
 * @example
 * ```ts
 * import * as IncusTls from "@repoman/incus/IncusTls"
 * import * as IncusClient from "@repoman/incus/IncusClient"
 * declare const cert: string, key: string, pinned: string
 * const client = IncusClient.make({
 *   socketPath: "https://lab.example:8443",
 *   dial: IncusTls.dial({ host: "lab.example", port: 8443, cert, key, serverCert: pinned }),
 *   local: false
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const dial = (options: Options): Dial => {
  const pinned = options.serverCert === undefined ? undefined : pinOf(options.serverCert)
  const timeout = options.connectTimeoutMs ?? 10_000
  const minVersion = options.allowTls12 === true ? "TLSv1.2" : "TLSv1.3"
  // Built once: a certificate or key that cannot be used fails here, not at each connection.
  const secureContext = contextOf({
    cert: options.cert,
    key: options.key,
    minVersion,
    ...(pinned === undefined
      ? { ca: options.ca === undefined ? [...systemCas()] : [options.ca] }
      : { ca: [options.serverCert ?? ""] })
  })
  const base: tls.ConnectionOptions = {
    host: options.host,
    port: options.port,
    secureContext,
    rejectUnauthorized: true,
    // SNI takes a host name, never an IP address.
    ...(/^[\d.]+$|:/.test(options.host) ? {} : { servername: options.host })
  }
  const verify: tls.ConnectionOptions = pinned === undefined ? {} : {
    checkServerIdentity: (_host, cert) =>
      cert.fingerprint256 === pinned
        ? undefined
        : new PinMismatch(`the server presented ${cert.fingerprint256}, not the pinned ${pinned}`)
  }
  return (): Socket => {
    const socket = tls.connect({ ...base, ...verify })
    socket.cork()
    const timer = setTimeout(
      () => socket.destroy(new ConnectTimeout(`no TLS connection to ${options.host}:${options.port} in ${timeout} ms`)),
      timeout
    )
    const settle = () => clearTimeout(timer)
    socket.once("secureConnect", () => {
      settle()
      socket.uncork()
    })
    socket.once("close", settle)
    return socket
  }
}

const messageOf = (cause: unknown) => cause instanceof Error ? cause.message : String(cause)

const pinOf = (pem: string): string => {
  try {
    return fingerprint(pem)
  } catch (cause) {
    throw new TlsSetupError("server", `the pinned certificate is not a certificate (${messageOf(cause)})`)
  }
}

const contextOf = (options: tls.SecureContextOptions): tls.SecureContext => {
  try {
    return tls.createSecureContext(options)
  } catch (cause) {
    throw new TlsSetupError("client", `the client certificate or its key cannot be used (${messageOf(cause)})`)
  }
}
