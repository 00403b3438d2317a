/**
 * The Incus servers the `incus` client knows ("remotes"), read the way it
 * reads them, so that repoman talks to whatever `incus remote add` set up:
 *
 * - the config dir is `$INCUS_CONF`, else `~/.config/incus`;
 * - `config.yml` names the remotes (`remotes: NAME: {addr, protocol,
 *   auth_type, project, public}`) and the `default-remote` (not used by
 *   repoman: a remote is chosen explicitly, else the unix socket);
 * - the client certificate is `clientcerts/NAME.crt`/`.key` when both exist
 *   (a certificate of that remote's own), else `client.crt`/`client.key`;
 * - the server certificate pinned for the remote is `servercerts/NAME.crt`;
 *   `client.ca`, when present, is the CA a server certificate that is not
 *   pinned must chain to (else the system's CAs).
 *
 * `local` is always the unix socket (the built-in remote of the client,
 * `addr: unix://`). A remote repoman can use is `protocol: incus` over
 * `https://`, not public, with TLS client authentication; anything else
 * (an image server, OIDC) is refused with a reason.
 *
 * {@link parseConfig} and {@link select} are pure; {@link load} reads the
 * files.
 *
 * @since 0.1.0
 * @module
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import * as os from "node:os"
import { parse } from "yaml"

/**
 * One entry of `remotes:` in `config.yml`.
 *
 * @since 0.1.0
 * @category models
 */
export const RemoteEntry = Schema.Struct({
  addr: Schema.String,
  protocol: Schema.optionalKey(Schema.String),
  auth_type: Schema.optionalKey(Schema.String),
  project: Schema.optionalKey(Schema.String),
  public: Schema.optionalKey(Schema.Boolean)
})
/**
 * The decoded type of the `RemoteEntry` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type RemoteEntry = typeof RemoteEntry.Type

/**
 * The part of the `incus` client's `config.yml` repoman reads; other keys
 * (aliases, defaults) are ignored.
 *
 * @since 0.1.0
 * @category models
 */
export const ClientConfig = Schema.Struct({
  "default-remote": Schema.optionalKey(Schema.String),
  remotes: Schema.optionalKey(Schema.Record(Schema.String, RemoteEntry))
})
/**
 * The decoded type of the `ClientConfig` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type ClientConfig = typeof ClientConfig.Type

/**
 * A remote repoman can talk to over HTTPS: where, and the names of the
 * files that authenticate both ends (relative to the config dir).
 *
 * @since 0.1.0
 * @category models
 */
export interface HttpsRemote {
  readonly _tag: "Https"
  readonly name: string
  /** `https://host[:port]` as configured. */
  readonly address: string
  readonly host: string
  readonly port: number
  /** The project the remote names in `config.yml` (repoman uses its own; named in errors). */
  readonly project: string | undefined
}

/**
 * The unix socket (`local`, or any remote whose `addr` is `unix://...`).
 *
 * @since 0.1.0
 * @category models
 */
export interface UnixRemote {
  readonly _tag: "Unix"
  readonly name: string
  /** The socket path, when the remote names one (`unix:///path`); else the usual resolution. */
  readonly socketPath: string | undefined
}

/**
 * A selected remote.
 *
 * @since 0.1.0
 * @category models
 */
export type Remote = HttpsRemote | UnixRemote

/**
 * Why a remote cannot be used, before any connection is tried.
 *
 * - `unknown`: no remote of that name (`known` lists those there are);
 * - `unsupported`: an image server, a public remote, or not TLS client
 *   authentication (OIDC);
 * - `client-certificate`: `client.crt`/`client.key` missing or unreadable;
 * - `config`: `config.yml` cannot be read or decoded.
 *
 * @since 0.1.0
 * @category errors
 */
export class RemoteProblem extends Schema.TaggedClass<RemoteProblem>("@repoman/incus/IncusRemotes/RemoteProblem")(
  "RemoteProblem",
  {
    remote: Schema.String,
    problem: Schema.Literals(["unknown", "unsupported", "client-certificate", "config"]),
    detail: Schema.String,
    known: Schema.Array(Schema.String)
  }
) {
  /** Whether the user named a remote that does not exist (exit 2). */
  get usage(): boolean {
    return this.problem === "unknown"
  }

  /** What is wrong, without the remote's name. */
  get explanation(): string {
    return this.problem === "unknown"
      ? `${this.detail}; known remotes: ${this.known.join(", ")} (add one with 'incus remote add NAME TOKEN')`
      : this.detail
  }

  /** One line for the user. */
  get message(): string {
    return `Incus remote "${this.remote}": ${this.explanation}`
  }
}

/**
 * The built-in `local` remote: the unix socket.
 *
 * @since 0.1.0
 * @category constants
 */
export const LOCAL = "local"

/**
 * The `incus` client's config dir: `$INCUS_CONF`, else `<home>/.config/incus`.
 *
 * @since 0.1.0
 * @category utils
 */
export const configDir = (env: { readonly INCUS_CONF?: string | undefined }, home: string): string =>
  env.INCUS_CONF !== undefined && env.INCUS_CONF.length > 0 ? env.INCUS_CONF : `${home}/.config/incus`

/**
 * Decodes the text of `config.yml`. A missing file is `undefined` text: no
 * remotes but `local`.
 *
 * @since 0.1.0
 * @category utils
 */
export const parseConfig = (name: string, text: string | undefined): Effect.Effect<ClientConfig, RemoteProblem> =>
  text === undefined ? Effect.succeed({}) : Effect.try({
    try: (): unknown => parse(text),
    catch: (cause) => problem(name, "config", `config.yml is not YAML: ${messageOf(cause)}`)
  }).pipe(
    Effect.flatMap((value) =>
      Schema.decodeUnknownEffect(ClientConfig)(value ?? {}).pipe(
        Effect.mapError((cause) => problem(name, "config", `config.yml: ${cause.message.split("\n")[0]}`))
      )
    )
  )

/**
 * The Incus servers `config` names (no image servers), `local` included, sorted.
 *
 * @since 0.1.0
 * @category utils
 */
export const names = (config: ClientConfig): ReadonlyArray<string> =>
  [
    ...new Set([
      LOCAL,
      ...Object.entries(config.remotes ?? {}).filter(([, r]) =>
        (r.protocol ?? "incus") === "incus" && r.public !== true
      )
        .map(([name]) => name)
    ])
  ].sort()

/**
 * The remote `name` of `config`, or why it cannot be used.
 *
 * @example
 * ```ts
 * import * as IncusRemotes from "@repoman/incus/IncusRemotes"
 * import * as Effect from "effect/Effect"
 * const config = { remotes: { lab: { addr: "https://lab.example:8443", protocol: "incus" } } }
 * Effect.runSync(IncusRemotes.select(config, "lab")) // { _tag: "Https", host: "lab.example", port: 8443, ... }
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const select = (config: ClientConfig, name: string): Effect.Effect<Remote, RemoteProblem> => {
  const entry = config.remotes?.[name]
  if (entry === undefined) {
    return name === LOCAL
      ? Effect.succeed({ _tag: "Unix", name, socketPath: undefined })
      : Effect.fail(problem(name, "unknown", "no such remote in the incus client's config.yml", names(config)))
  }
  if (entry.addr.startsWith("unix:")) {
    const path = entry.addr.replace(/^unix:(\/\/)?/, "")
    return Effect.succeed({ _tag: "Unix", name, socketPath: path.length > 0 ? path : undefined })
  }
  if ((entry.protocol ?? "incus") !== "incus") {
    return Effect.fail(
      problem(name, "unsupported", `a ${entry.protocol} server (an image server), not an Incus server`)
    )
  }
  if (entry.public === true) {
    return Effect.fail(problem(name, "unsupported", "a public remote (images only): repoman needs a trusted client"))
  }
  if (entry.auth_type !== undefined && entry.auth_type !== "tls") {
    return Effect.fail(
      problem(name, "unsupported", `authentication "${entry.auth_type}": repoman supports TLS client certificates only`)
    )
  }
  let url: URL
  try {
    url = new URL(entry.addr)
  } catch {
    return Effect.fail(problem(name, "config", `address "${entry.addr}" is not a URL`))
  }
  if (url.protocol !== "https:" || url.hostname.length === 0) {
    return Effect.fail(problem(name, "unsupported", `address "${entry.addr}": only https:// and unix:// are supported`))
  }
  return Effect.succeed({
    _tag: "Https",
    name,
    address: entry.addr,
    // URL keeps the brackets of an IPv6 literal; a socket wants the bare address.
    host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: url.port.length > 0 ? Number(url.port) : 8443,
    project: entry.project
  })
}

/**
 * What TLS needs for an HTTPS remote, read from the config dir.
 *
 * @since 0.1.0
 * @category models
 */
export interface Credentials {
  /** The client certificate and key (PEM). */
  readonly cert: string
  readonly key: string
  /** The pinned server certificate (`servercerts/NAME.crt`), if any. */
  readonly serverCert: string | undefined
  /** `client.ca` (PEM), if any. */
  readonly ca: string | undefined
  /** The config dir they were read from. */
  readonly configDir: string
  /** The paths, for error messages. */
  readonly serverCertPath: string
  readonly certPath: string
}

/**
 * Reads the client certificate, its key, the pinned server certificate and
 * `client.ca` for `remote` from `dir`, as the `incus` client does (a
 * certificate of the remote's own in `clientcerts/` first).
 *
 * @since 0.1.0
 * @category utils
 */
export const credentials = (dir: string, remote: HttpsRemote): Effect.Effect<Credentials, RemoteProblem> =>
  Effect.gen(function*() {
    const own = `${dir}/clientcerts/${remote.name}`
    const base = fs.existsSync(`${own}.crt`) && fs.existsSync(`${own}.key`) ? own : `${dir}/client`
    const read = (path: string) =>
      Effect.try({
        try: () => fs.readFileSync(path, "utf8"),
        catch: (cause) =>
          problem(
            remote.name,
            "client-certificate",
            `cannot read ${path} (${codeOf(cause)}): the client certificate is made by 'incus remote add'`
          )
      })
    const optional = (path: string) => fs.existsSync(path) ? read(path) : Effect.succeed(undefined)
    const serverCertPath = `${dir}/servercerts/${remote.name}.crt`
    return {
      cert: yield* read(`${base}.crt`),
      key: yield* read(`${base}.key`),
      serverCert: yield* optional(serverCertPath),
      ca: yield* optional(`${dir}/client.ca`),
      configDir: dir,
      serverCertPath,
      certPath: `${base}.crt`
    }
  })

/**
 * A remote chosen by name, with what it takes to reach it.
 *
 * @since 0.1.0
 * @category models
 */
export type Resolved =
  | UnixRemote
  | (HttpsRemote & { readonly credentials: Credentials })

/**
 * Reads the `incus` client's config dir (`$INCUS_CONF`, else
 * `~/.config/incus`) and resolves remote `name`.
 *
 * @since 0.1.0
 * @category utils
 */
export const load = (
  name: string,
  env: { readonly INCUS_CONF?: string | undefined } = process.env
): Effect.Effect<Resolved, RemoteProblem> =>
  Effect.gen(function*() {
    const dir = configDir(env, os.homedir())
    const path = `${dir}/config.yml`
    const text = yield* Effect.try({
      try: () => fs.existsSync(path) ? fs.readFileSync(path, "utf8") : undefined,
      catch: (cause) => problem(name, "config", `cannot read ${path} (${codeOf(cause)})`)
    })
    const remote = yield* select(yield* parseConfig(name, text), name)
    if (remote._tag === "Unix") return remote
    return { ...remote, credentials: yield* credentials(dir, remote) }
  })

const problem = (
  remote: string,
  kind: RemoteProblem["problem"],
  detail: string,
  known: ReadonlyArray<string> = []
) => new RemoteProblem({ remote, problem: kind, detail, known })

const messageOf = (cause: unknown) => (cause instanceof Error ? cause.message : String(cause)).split("\n")[0] ?? ""

const codeOf = (cause: unknown) =>
  typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string"
    ? cause.code
    : messageOf(cause)
