/**
 * Editor access over SSH without ports or network: `ssh-config NAME` prints
 * an OpenSSH `Host` block whose `ProxyCommand` runs `sshd -i` (inetd mode)
 * inside the container through the runtime's attach command (Incus:
 * `incus exec`), so the SSH session travels over that command's stdio. Each project gets its own key pair: the private key
 * stays on the host (`<state dir>/ssh/<name>/`), the public key goes into
 * the uid-1000 user's `authorized_keys` inside. `--install` keeps the block
 * in `~/.ssh/config` between markers, replacing it on a later call.
 *
 * @since 0.1.0
 * @module
 */
import { ConfigPaths, expandHome } from "@repoman/core/ConfigPaths"
import { ContainerRuntime } from "@repoman/core/ContainerRuntime"
import * as HostProcess from "@repoman/core/HostProcess"
import type { ProjectName } from "@repoman/core/Ids"
import { Registry } from "@repoman/core/Registry"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Schema from "effect/Schema"
import { containerUser } from "./ContainerUser.ts"
import { ownInstance } from "./Owners.ts"

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
  /** The host command that runs a command in the container, stdio attached (`ContainerRuntime.attachCommand`). */
  readonly attach: ReadonlyArray<string>
  readonly user: string
  readonly identityFile: string
  readonly knownHostsFile: string
  /**
   * The HOME of ssh sessions: the host home path, as `shell`, `exec` and
   * `run` set it (sshd would use the passwd home). Left out when it holds
   * characters that would need quoting in the ProxyCommand.
   */
  readonly home?: string
}

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
    `  ProxyCommand ${input.attach.join(" ")} ` +
    `/bin/sh -c 'mkdir -p /run/sshd && exec /usr/sbin/sshd -i${setHome(input.home)}'`
  ].join("\n")

/** sshd's `SetEnv` applies after the passwd HOME, so it wins. Plain paths only: the line is parsed by two shells. */
const setHome = (home: string | undefined): string =>
  home !== undefined && /^\/[A-Za-z0-9._/-]*$/.test(home) ? ` -o SetEnv=HOME=${home}` : ""

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

/** Runs a host command (argv list) and fails on a non-zero exit. */
const run = (name: ProjectName, command: string, args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const fail = (detail: string) => new SshAccessError({ name, detail })
    const { exitCode, stderr } = yield* HostProcess.run(command, args).pipe(
      Effect.mapError((e) => fail(e.reason._tag === "CannotStart" ? `${command}: ${e.reason.detail}` : e.message))
    )
    if (exitCode !== 0) return yield* fail(`${command} failed: ${stderr.trim()}`)
  })

/**
 * Makes the project's key pair if it has none, puts the public key into the
 * container for the uid-1000 user (starting the container if stopped), and
 * returns the Host block.
 *
 * @since 0.1.0
 * @category programs
 */
export const sshConfig = Effect.fn("sshConfig")(function*(name: ProjectName) {
  const registry = yield* Registry
  const runtime = yield* ContainerRuntime
  const fs = yield* FileSystem.FileSystem
  const { home, stateDir } = yield* ConfigPaths
  const document = yield* registry.load
  const project = yield* registry.getProject(name)
  const fail = (detail: string) => new SshAccessError({ name, detail })
  const dir = `${stateDir}/ssh/${name}`
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
  return hostBlock({
    name,
    attach: yield* runtime.attachCommand(name),
    user: user.name,
    identityFile: key,
    knownHostsFile: `${dir}/known_hosts`,
    home
  })
})

/**
 * Adds (or replaces) the project's marked block in `~/.ssh/config` and
 * returns the file's path.
 *
 * @since 0.1.0
 * @category programs
 */
export const installSshConfig = Effect.fn("installSshConfig")(function*(name: ProjectName, block: string) {
  const fs = yield* FileSystem.FileSystem
  const { home } = yield* ConfigPaths
  const fail = (detail: string) => new SshAccessError({ name, detail })
  const file = `${home}/.ssh/config`
  yield* fs.makeDirectory(`${home}/.ssh`, { recursive: true, mode: 0o700 }).pipe(
    Effect.mapError((e) => fail(e.message))
  )
  const current = yield* fs.readFileString(file).pipe(
    Effect.catchReason("PlatformError", "NotFound", () => Effect.succeed("")),
    Effect.mapError((e) => fail(e.message))
  )
  const tmp = `${file}.repoman.tmp`
  yield* fs.writeFileString(tmp, withBlock(current, name, block), { mode: 0o600 }).pipe(
    Effect.mapError((e) => fail(e.message))
  )
  yield* fs.rename(tmp, file).pipe(Effect.mapError((e) => fail(e.message)))
  return file
})
