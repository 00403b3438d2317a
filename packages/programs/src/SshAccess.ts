/**
 * Editor access over SSH without ports or network: `ssh-config NAME` prints
 * an OpenSSH `Host` block whose `ProxyCommand` is `repoman ssh-proxy NAME`.
 * The proxy does what `shell` does before a session (owner check,
 * checkpoint, start of a stopped container) and then runs `sshd -i` (inetd
 * mode) as root inside through the runtime, its stdio bridged to ssh's.
 * Each project gets its own key pair: the private key stays on the host
 * (`<state dir>/ssh/<name>/`), the public key goes into the uid-1000 user's
 * `authorized_keys` inside. `--install` keeps the block in `~/.ssh/config`
 * between markers, replacing it on a later call.
 *
 * Sessions get what `shell` gives: the profiles' and the instance's
 * environment (`PATH`, `CLAUDE_CONFIG_DIR`, ...), HOME at the host home path,
 * USER and LOGNAME, and the repo as working directory. The proxy computes
 * them on the host from the registry, the profiles and the instance's
 * settings (never from anything the container wrote) and hands them to sshd
 * as `SetEnv` and `ForceCommand` options on its command line, which win over
 * the image's sshd_config.
 *
 * `~/.ssh/config` is edited in place: a symlink stays a symlink (its target
 * is replaced atomically, with a temporary file made with `O_EXCL` next to
 * it), and a target inside anything a container can write (the repos root,
 * an instance's or a profile's host mount) is refused.
 *
 * The key and the marked block live as long as the project: `remove` and
 * `uninstall` delete both (see {@link removeSshAccess}); `new` installs a key
 * again when `~/.ssh/config` names the project's Host (see
 * {@link renewSshAccess}).
 *
 * @since 0.1.0
 * @module
 */
import { ConfigPaths, expandHome } from "@repoman/core/ConfigPaths"
import { ContainerRuntime, type Env, type Instance } from "@repoman/core/ContainerRuntime"
import { type FileStat, HostFiles } from "@repoman/core/HostFiles"
import { HostInfo } from "@repoman/core/HostInfo"
import * as HostProcess from "@repoman/core/HostProcess"
import type { ProjectName } from "@repoman/core/Ids"
import { ProjectNotFound, Registry, RegistryError } from "@repoman/core/Registry"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { containerUser, localesOf } from "./ContainerUser.ts"
import { readySession } from "./OpenShell.ts"
import { ownInstance } from "./Owners.ts"
import { terminalEnv } from "./SessionEnvironment.ts"

/**
 * Setting up SSH access failed; `detail` says what.
 *
 * @since 0.1.0
 * @category errors
 */
export class SshAccessError
  extends Schema.TaggedError<SshAccessError>("@repoman/programs/SshAccess/SshAccessError")("SshAccessError", {
    name: Schema.String,
    detail: Schema.String
  })
{
  /** One line for the user. */
  override get message(): string {
    return `ssh access to ${this.name}: ${this.detail}`
  }
}

/**
 * The `Host` alias of a project in the SSH config.
 *
 * @since 0.1.0
 * @category utils
 */
export const hostAlias = (name: ProjectName): string => `repoman-${name}`

/**
 * The pieces of a Host block.
 *
 * @since 0.1.0
 * @category models
 */
export interface HostBlockInput {
  readonly name: ProjectName
  /** The host command ssh runs to reach the container (`repoman ssh-proxy NAME`, see {@link proxyCommand}). */
  readonly proxy: ReadonlyArray<string>
  readonly user: string
  readonly identityFile: string
  readonly knownHostsFile: string
}

/** A word ssh's ProxyCommand line (run by the user's shell) holds as it is. */
const plainWord = /^[A-Za-z0-9._/:=@+,-]+$/

/**
 * One word of a ProxyCommand: quoted for the shell ssh runs it with when it
 * is not plain, `%` doubled (ssh expands `%h` and friends first).
 *
 * @since 0.1.0
 * @category utils
 */
export const proxyWord = (word: string): string =>
  (plainWord.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`).replace(/%/g, "%%")

/**
 * The OpenSSH Host block for a project.
 *
 * @since 0.1.0
 * @category utils
 */
export const hostBlock = (input: HostBlockInput): string =>
  [
    `Host ${hostAlias(input.name)}`,
    `  HostName ${input.name}`,
    `  User ${input.user}`,
    `  IdentityFile ${input.identityFile}`,
    `  IdentitiesOnly yes`,
    `  UserKnownHostsFile ${input.knownHostsFile}`,
    `  StrictHostKeyChecking accept-new`,
    `  ProxyCommand ${input.proxy.map(proxyWord).join(" ")}`
  ].join("\n")

/**
 * The command ssh runs as ProxyCommand: repoman itself (`self`, the argv
 * that runs this repoman) with `ssh-proxy NAME`, under the home, config dir
 * and state dir of this run (ssh may run it from another environment).
 *
 * @since 0.1.0
 * @category utils
 */
export const proxyCommand = (options: {
  readonly name: ProjectName
  readonly self: ReadonlyArray<string>
  readonly home: string
  readonly configDir: string
  readonly stateDir: string
}): ReadonlyArray<string> => [
  "env",
  `HOME=${options.home}`,
  `REPOMAN_CONFIG_DIR=${options.configDir}`,
  // NodeConfigPaths puts the state dir at $XDG_STATE_HOME/repoman.
  ...(options.stateDir.endsWith("/repoman") ? [`XDG_STATE_HOME=${options.stateDir.slice(0, -"/repoman".length)}`] : []),
  ...options.self,
  "ssh-proxy",
  options.name
]

const begin = (name: ProjectName) => `# >>> repoman ${name} >>>`
const end = (name: ProjectName) => `# <<< repoman ${name} <<<`

/**
 * `config` with the project's marked block added, or replaced when present.
 *
 * @since 0.1.0
 * @category utils
 */
export const withBlock = (config: string, name: ProjectName, block: string): string => {
  const marked = `${begin(name)}\n${block}\n${end(name)}\n`
  const start = config.indexOf(begin(name))
  const stop = config.indexOf(end(name))
  if (start >= 0 && stop > start) {
    return config.slice(0, start) + marked + config.slice(stop + end(name).length).replace(/^\n/, "")
  }
  return config.length === 0 || config.endsWith("\n") ? `${config}${marked}` : `${config}\n${marked}`
}

/**
 * `config` without the project's marked block (unchanged when it has none).
 *
 * @since 0.1.0
 * @category utils
 */
export const withoutBlock = (config: string, name: ProjectName): string => {
  const start = config.indexOf(begin(name))
  const stop = config.indexOf(end(name))
  if (start < 0 || stop < start) return config
  return config.slice(0, start) + config.slice(stop + end(name).length).replace(/^\n/, "")
}

/**
 * Whether `config` has repoman's marked block for the project.
 *
 * @since 0.1.0
 * @category utils
 */
export const hasMarkedBlock = (config: string, name: ProjectName): boolean => {
  const start = config.indexOf(begin(name))
  return start >= 0 && config.indexOf(end(name)) > start
}

/**
 * Whether a `Host` line of `config` names the project's alias (a block
 * repoman installed, or one the user pasted).
 *
 * @since 0.1.0
 * @category utils
 */
export const namesHost = (config: string, name: ProjectName): boolean =>
  config.split("\n").some((line) => {
    const match = /^\s*host(?:\s+|\s*=\s*)(.*)$/i.exec(line)
    return match !== null && (match[1] ?? "").split(/\s+/).some((w) => w.replace(/^"|"$/g, "") === hostAlias(name))
  })

/** A variable name sshd and shells take. */
const varName = /^[A-Za-z_][A-Za-z0-9_]*$/
// oxlint-disable-next-line no-control-regex
const controlChar = /[\u0000-\u001f\u007f]/

/**
 * sshd's `SetEnv` value for `env`: one double-quoted `NAME=VALUE` word each
 * (sshd splits the line as its config files, `\` and `"` escaped). Names
 * that are not plain and values with control characters are left out.
 *
 * @since 0.1.0
 * @category utils
 */
export const setEnvValue = (env: Env): string =>
  Object.entries(env)
    .filter(([k, v]) => varName.test(k) && !controlChar.test(v))
    .map(([k, v]) => `"${k}=${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`)
    .join(" ")

/** A directory the ForceCommand can hold in single quotes (sshd's config splitter must see balanced quotes). */
// oxlint-disable-next-line no-control-regex
const quotablePath = /^\/[^'"\\\u0000-\u001f\u007f]*$/

/**
 * sshd's `ForceCommand`: into the repo, then the command the client asked
 * for (an sftp subsystem included) or a login shell, in the user's shell.
 *
 * @since 0.1.0
 * @category utils
 */
export const forceCommand = (cwd: string): string =>
  `${quotablePath.test(cwd) ? `cd '${cwd}' || exit 1; ` : ""}` +
  `if [ -n "$SSH_ORIGINAL_COMMAND" ]; then exec "$SHELL" -c "$SSH_ORIGINAL_COMMAND"; fi; exec "$SHELL" -l`

/**
 * What the proxy runs in the container, as root: sshd in inetd mode with
 * the session's environment and working directory.
 *
 * @since 0.1.0
 * @category utils
 */
export const sshdArgv = (env: Env, cwd: string): ReadonlyArray<string> => {
  const setEnv = setEnvValue(env)
  return [
    "/bin/sh",
    "-c",
    "mkdir -p /run/sshd && exec /usr/sbin/sshd -i \"$@\"",
    "sshd",
    ...(setEnv === "" ? [] : ["-o", `SetEnv=${setEnv}`]),
    "-o",
    `ForceCommand=${forceCommand(cwd)}`
  ]
}

/**
 * The environment of an ssh session, as `shell` has it: the profiles'
 * variables (in order), the instance's own, then the locale of the terminal
 * (`TERM` comes from ssh itself), HOME, USER and LOGNAME.
 *
 * @since 0.1.0
 * @category programs
 */
export const sshSessionEnv = Effect.fn("sshSessionEnv")(function*(instance: Instance) {
  const runtime = yield* ContainerRuntime
  const host = yield* HostInfo
  const { home } = yield* ConfigPaths
  const idMapping = Option.getOrElse(instance.idMapping, () => ({ _tag: "Shift" } as const))
  const profileEnvs = yield* Effect.forEach(instance.profiles, (p) =>
    runtime.getProfile(p).pipe(
      Effect.map((profile) => runtime.inspectProfile(profile, idMapping).env),
      Effect.orElseSucceed((): Env => ({}))
    ), { concurrency: "unbounded" })
  const { COLORTERM: _c, TERM: _t, ...terminal } = terminalEnv(host.environment, localesOf(instance.labels))
  return Object.assign(
    {},
    ...profileEnvs,
    instance.env,
    terminal,
    { HOME: home, USER: host.user, LOGNAME: host.user }
  ) as Env
})

/**
 * While a container boots, systemd keeps every user but root out
 * (`/run/nologin`, read by sshd's pam_nologin: "System is booting up"),
 * where `exec` (no PAM) gets in at once. A container just started waits
 * for it to go (its presence only is looked at, through the file API),
 * at most {@link NOLOGIN_WAIT_MS}; then sshd says why it refuses.
 */
const untilLoginsAllowed = (name: ProjectName) =>
  Effect.gen(function*() {
    const runtime = yield* ContainerRuntime
    for (let waited = 0; waited < NOLOGIN_WAIT_MS; waited += NOLOGIN_POLL_MS) {
      const there = yield* runtime.fileInfo(name, "/run/nologin").pipe(Effect.orElseSucceed(() => Option.none()))
      if (Option.isNone(there)) return
      yield* Effect.sleep(NOLOGIN_POLL_MS)
    }
  })

/**
 * How long {@link sshProxy} waits for a booting container to let users in.
 *
 * @since 0.1.0
 * @category constants
 */
export const NOLOGIN_WAIT_MS = 30_000
const NOLOGIN_POLL_MS = 200

/**
 * `repoman ssh-proxy NAME` (ssh's ProxyCommand): readies the project as
 * `shell` does (a stopped container is started, a checkpoint taken) and
 * runs sshd inside with its stdio bridged to this process's. Returns sshd's
 * exit code.
 *
 * @since 0.1.0
 * @category programs
 */
export const sshProxy = Effect.fn("sshProxy")(function*(name: ProjectName) {
  const registry = yield* Registry
  const runtime = yield* ContainerRuntime
  const document = yield* registry.load
  const project = document.projects.find((p) => p.name === name)
  if (project === undefined) return yield* new RegistryError({ reason: new ProjectNotFound({ name }) })
  const { instance, repoPath } = yield* readySession(document, project, { label: "ssh" })
  const env = yield* sshSessionEnv(instance)
  yield* untilLoginsAllowed(name)
  return yield* runtime.shell(name, { user: 0, group: 0, argv: sshdArgv(env, repoPath) })
})

/** Runs a host command (argv list) and fails on a non-zero exit. */
const run = (name: ProjectName, command: string, args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const fail = (detail: string) => new SshAccessError({ name, detail })
    const { exitCode, stderr } = yield* HostProcess.run(command, args).pipe(
      Effect.mapError((e) => fail(e.reason._tag === "CannotStart" ? `${command}: ${e.reason.detail}` : e.message))
    )
    if (exitCode !== 0) return yield* fail(`${command} failed: ${stderr.trim()}`)
  })

/** A user name ssh's `User` line holds as it is (the container's /etc/passwd is the container's to write). */
const userName = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/

/**
 * The directory of a project's key pair and known_hosts on the host.
 *
 * @since 0.1.0
 * @category utils
 */
export const keyDirOf = (stateDir: string, name: ProjectName): string => `${stateDir}/ssh/${name}`

/**
 * Makes the project's key pair if it has none, puts the public key into the
 * container for the uid-1000 user (starting the container if stopped), and
 * returns the Host block, whose ProxyCommand runs `self` (the argv that runs
 * this repoman).
 *
 * @since 0.1.0
 * @category programs
 */
export const sshConfig = Effect.fn("sshConfig")(function*(name: ProjectName, self: ReadonlyArray<string>) {
  const registry = yield* Registry
  const runtime = yield* ContainerRuntime
  const fs = yield* FileSystem.FileSystem
  const { configDir, home, stateDir } = yield* ConfigPaths
  const document = yield* registry.load
  const project = yield* registry.getProject(name)
  const fail = (detail: string) => new SshAccessError({ name, detail })
  const dir = keyDirOf(stateDir, name)
  const key = `${dir}/id_ed25519`
  yield* fs.makeDirectory(dir, { recursive: true, mode: 0o700 }).pipe(Effect.mapError((e) => fail(e.message)))
  if (!(yield* fs.exists(key).pipe(Effect.orElseSucceed(() => false)))) {
    yield* run(name, "ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `repoman-${name}`, "-f", key])
  }
  const publicKey = (yield* fs.readFileString(`${key}.pub`).pipe(Effect.mapError((e) => fail(e.message)))).trim()

  // Never a key into a container another user's repoman (or no repoman) made.
  const instance = yield* ownInstance(name)
  if (instance.status !== "Running") yield* runtime.start(name)
  const repoPath = `${expandHome(document.defaults.reposRoot, home)}/${project.repo}`
  const user = yield* containerUser(name, repoPath)
  if (!userName.test(user.name)) return yield* fail(`the container's uid-1000 user has an odd name: not used`)
  // sshd reads authorized_keys from the home in /etc/passwd (`user.home`),
  // which may differ from the host home path repoman's commands set as HOME.
  const result = yield* runtime.exec(name, [
    "sh",
    "-c",
    "umask 077 && mkdir -p \"$1/.ssh\" && printf '%s\\n' \"$2\" > \"$1/.ssh/authorized_keys\" && " +
    "chown -R \"$3:$3\" \"$1/.ssh\"",
    "sh",
    user.home,
    publicKey,
    String(user.uid)
  ])
  if (result.exitCode !== 0) return yield* fail(`cannot install the public key: ${result.stderr.trim()}`)
  const proxy = proxyCommand({ name, self, home, configDir, stateDir })
  const odd = proxy.find((w) => controlChar.test(w))
  if (odd !== undefined) return yield* fail(`${JSON.stringify(odd)} cannot go into a ProxyCommand line`)
  return hostBlock({ name, proxy, user: user.name, identityFile: key, knownHostsFile: `${dir}/known_hosts` })
})

const inside = (path: string, dir: string) => path === dir || path.startsWith(dir.endsWith("/") ? dir : `${dir}/`)

/**
 * The host paths a container can write: the repos root, and the host
 * sources of every instance's and profile's mounts in the namespace.
 */
const writableByContainers = Effect.gen(function*() {
  const registry = yield* Registry
  const runtime = yield* ContainerRuntime
  const fs = yield* FileSystem.FileSystem
  const { home } = yield* ConfigPaths
  const document = yield* registry.load
  const reposRoot = expandHome(document.defaults.reposRoot, home)
  // No namespace (yet, or any more): no container.
  const instances = yield* runtime.list().pipe(
    Effect.catchReason("ContainerRuntimeError", "NotFound", () => Effect.succeed([]))
  )
  const profiles = yield* runtime.listProfiles().pipe(
    Effect.catchReason("ContainerRuntimeError", "NotFound", () => Effect.succeed([]))
  )
  const sources = [
    reposRoot,
    ...instances.flatMap((i) => [
      ...Option.toArray(i.repo).flatMap((r) => r._tag === "HostPath" ? [r.source] : []),
      ...i.mounts.map((m) => m.source)
    ]),
    ...profiles.flatMap((p) =>
      runtime.inspectProfile(p, { _tag: "Shift" }).mounts.map((m) => expandHome(m.source, home))
    )
  ]
  // Both the path as written and where it leads.
  const real = yield* Effect.forEach(sources, (s) => fs.realPath(s).pipe(Effect.orElseSucceed(() => s)))
  return [...new Set([...sources, ...real])]
})

/** Where `~/.ssh/config` really is, and what is there now. */
interface ConfigTarget {
  /** `~/.ssh/config`. */
  readonly file: string
  /** The file written: `file`, or where its symlink leads. */
  readonly target: string
  readonly current: Option.Option<
    { readonly text: string; readonly mode: number; readonly uid: number; readonly gid: number }
  >
}

const MAX_CONFIG_BYTES = 4 * 1024 * 1024
const MAX_HOPS = 16

/**
 * Finds `~/.ssh/config` (following a symlink the user made, to its end) and
 * reads it; refuses a target that is not a regular file of the user or that
 * lies where a container can write.
 */
const sshConfigTarget = (name: ProjectName, options: { readonly create: boolean }) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const files = yield* HostFiles
    const host = yield* HostInfo
    const { home } = yield* ConfigPaths
    const fail = (detail: string) => new SshAccessError({ name, detail })
    const dir = `${home}/.ssh`
    const file = `${dir}/config`
    if (options.create && Option.isNone(yield* files.lstat(dir).pipe(Effect.mapError((e) => fail(e.message))))) {
      yield* fs.makeDirectory(dir, { mode: 0o700 }).pipe(Effect.mapError((e) => fail(e.message)))
    }
    const writable = yield* writableByContainers.pipe(Effect.mapError((e) => fail(e.message)))
    // Each link of a symlink chain is looked at where it really is: one
    // inside what a container can write could have been planted there.
    let current = file
    let found: { readonly target: string; readonly info: Option.Option<FileStat> } | undefined
    for (let hops = 0; hops < MAX_HOPS && found === undefined; hops++) {
      const slash = current.lastIndexOf("/")
      const realDir = yield* fs.realPath(current.slice(0, slash) || "/").pipe(
        Effect.mapError(() => fail(`${current.slice(0, slash)} (on the way to ${file}) does not exist`))
      )
      const here = `${realDir === "/" ? "" : realDir}/${current.slice(slash + 1)}`
      const shared = writable.find((s) => inside(here, s))
      if (shared !== undefined) {
        return yield* fail(`${file} leads to ${here}, inside ${shared}, which a container can write: not edited`)
      }
      const info = yield* files.lstat(here).pipe(Effect.mapError((e) => fail(e.message)))
      if (Option.isSome(info) && info.value.type === "symlink") {
        const link = yield* fs.readLink(here).pipe(Effect.mapError((e) => fail(e.message)))
        current = link.startsWith("/") ? link : `${realDir === "/" ? "" : realDir}/${link}`
      } else {
        found = { target: here, info }
      }
    }
    if (found === undefined) return yield* fail(`${file}: too many symlinks`)
    const { info, target } = found
    if (Option.isNone(info)) return { file, target, current: Option.none() } satisfies ConfigTarget
    if (info.value.type !== "file") return yield* fail(`${target} is a ${info.value.type}, not a regular file`)
    if (info.value.uid !== host.uid) return yield* fail(`${target} belongs to uid ${info.value.uid}, not to you`)
    const bytes = yield* files.readRegular(target, { maxBytes: MAX_CONFIG_BYTES }).pipe(
      Effect.mapError((e) => fail(e.message))
    )
    return {
      file,
      target,
      current: Option.some({
        text: new TextDecoder().decode(bytes),
        mode: info.value.mode,
        uid: info.value.uid,
        gid: info.value.gid
      })
    } satisfies ConfigTarget
  })

/**
 * Replaces the content of `target` atomically: a new file next to it
 * (`O_EXCL`: nothing planted there is followed) with its mode and owner,
 * renamed over it. A symlink that led to it stays as it is.
 */
const replaceConfig = (name: ProjectName, at: ConfigTarget, text: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const fail = (detail: string) => new SshAccessError({ name, detail })
    const slash = at.target.lastIndexOf("/")
    const suffix = Math.abs(yield* Random.nextInt).toString(36)
    const tmp = `${at.target.slice(0, slash)}/.${at.target.slice(slash + 1)}.repoman-${suffix}.tmp`
    const mode = Option.match(at.current, { onNone: () => 0o600, onSome: (c) => c.mode & 0o777 })
    yield* Effect.gen(function*() {
      yield* fs.writeFileString(tmp, text, { flag: "wx", mode })
      yield* fs.chmod(tmp, mode)
      if (Option.isSome(at.current)) {
        const { gid, uid } = at.current.value
        const made = yield* fs.stat(tmp)
        if (Option.getOrUndefined(made.uid) !== uid || Option.getOrUndefined(made.gid) !== gid) {
          yield* fs.chown(tmp, uid, gid)
        }
      }
      yield* fs.rename(tmp, at.target)
    }).pipe(
      Effect.tapError(() => Effect.ignore(fs.remove(tmp))),
      Effect.mapError((e) => fail(e.message))
    )
  })

/**
 * Adds (or replaces) the project's marked block in `~/.ssh/config` and
 * returns the file's path.
 *
 * @since 0.1.0
 * @category programs
 */
export const installSshConfig = Effect.fn("installSshConfig")(function*(name: ProjectName, block: string) {
  const at = yield* sshConfigTarget(name, { create: true })
  const current = Option.match(at.current, { onNone: () => "", onSome: (c) => c.text })
  const next = withBlock(current, name, block)
  if (next !== current || Option.isNone(at.current)) yield* replaceConfig(name, at, next)
  return at.file
})

/**
 * What repoman keeps for a project's ssh access: its marked block in
 * `~/.ssh/config` (the file, when it has one) and its key directory (when
 * it exists).
 *
 * @since 0.1.0
 * @category models
 */
export interface SshAccessState {
  readonly block: Option.Option<string>
  readonly keyDir: Option.Option<string>
  /** Why `~/.ssh/config` was not looked at (it leads where a container can write, say), if so. */
  readonly unchecked?: string | undefined
}

/**
 * Finds what {@link removeSshAccess} would delete, changing nothing. A
 * `~/.ssh/config` repoman may not edit reads as having no block (and
 * `unchecked` says why).
 *
 * @since 0.1.0
 * @category programs
 */
export const sshAccessOf = Effect.fn("sshAccessOf")(function*(name: ProjectName) {
  const files = yield* HostFiles
  const { home, stateDir } = yield* ConfigPaths
  const keyDir = keyDirOf(stateDir, name)
  const hasKeys = Option.isSome(yield* files.lstat(keyDir).pipe(Effect.orElseSucceed(() => Option.none())))
  const there = yield* files.lstat(`${home}/.ssh/config`).pipe(Effect.orElseSucceed(() => Option.none()))
  const at = Option.isNone(there)
    ? Result.succeed(Option.none<ConfigTarget>())
    : yield* sshConfigTarget(name, { create: false }).pipe(Effect.map(Option.some), Effect.result)
  const block = Option.flatMap(
    Result.getOrElse(at, () => Option.none<ConfigTarget>()),
    (a) => Option.isSome(a.current) && hasMarkedBlock(a.current.value.text, name) ? Option.some(a.file) : Option.none()
  )
  return {
    block,
    keyDir: hasKeys ? Option.some(keyDir) : Option.none(),
    unchecked: Result.isFailure(at) ? at.failure.detail : undefined
  } satisfies SshAccessState
})

/**
 * Deletes what {@link sshAccessOf} found: the project's marked block from
 * `~/.ssh/config` (a block the user wrote by hand stays) and its key
 * directory (key pair and known_hosts: the next container has other host
 * keys). Returns what it deleted.
 *
 * @since 0.1.0
 * @category programs
 */
export const removeSshAccess = Effect.fn("removeSshAccess")(function*(name: ProjectName, found: SshAccessState) {
  const fs = yield* FileSystem.FileSystem
  const fail = (detail: string) => new SshAccessError({ name, detail })
  let block = Option.none<string>()
  if (Option.isSome(found.block)) {
    const at = yield* sshConfigTarget(name, { create: false })
    if (Option.isSome(at.current) && hasMarkedBlock(at.current.value.text, name)) {
      yield* replaceConfig(name, at, withoutBlock(at.current.value.text, name))
      block = Option.some(at.file)
    }
  }
  if (Option.isSome(found.keyDir)) {
    yield* fs.remove(found.keyDir.value, { recursive: true }).pipe(Effect.mapError((e) => fail(e.message)))
  }
  return { block, keyDir: found.keyDir, unchecked: found.unchecked } satisfies SshAccessState
})

/**
 * At `new`: when `~/.ssh/config` names the project's Host (repoman's marked
 * block, or one the user pasted), makes the key again if it is gone,
 * installs it in the new container and refreshes the marked block. Returns
 * the config file when it did so.
 *
 * @since 0.1.0
 * @category programs
 */
export const renewSshAccess = Effect.fn("renewSshAccess")(function*(name: ProjectName, self: ReadonlyArray<string>) {
  const files = yield* HostFiles
  const { home } = yield* ConfigPaths
  // No ~/.ssh/config (most users): nothing to look at.
  const there = yield* files.lstat(`${home}/.ssh/config`).pipe(Effect.orElseSucceed(() => Option.none()))
  if (Option.isNone(there)) return Option.none<string>()
  const at = yield* sshConfigTarget(name, { create: false })
  if (Option.isNone(at.current) || !namesHost(at.current.value.text, name)) return Option.none<string>()
  const block = yield* sshConfig(name, self)
  if (hasMarkedBlock(at.current.value.text, name)) yield* installSshConfig(name, block)
  return Option.some(at.file)
})
