/**
 * Where the agents and the Node runtime are installed on the host, the
 * render variables of the tool profiles (`${CLAUDE_INSTALL}`,
 * `${NODE_INSTALL}`, `${STATE_DIR}`, `${AGENT_PATH}`), and what `repoman
 * profile install` prepares on the host for a tool: its shim directory (the
 * commands put on `PATH` inside, symlinks into the install), Claude's shared
 * credential store, and the directory of the projects' agent state.
 *
 * An install is found, in this order, from `[agents]` in the registry (which
 * `--agent-dir NAME=DIR` writes), else on the host: an agent's command on
 * `PATH` resolved to its npm package directory, Node's as the install of the
 * executable running repoman. Nothing is downloaded.
 *
 * Host-side writes stay in repoman's own state directory and never follow a
 * symlink: entries are checked with `lstat`, files are made with `O_EXCL`
 * (which refuses a symlink at the name) and renamed into place.
 *
 * @since 0.1.0
 * @module
 */
import {
  containerPath,
  type Credentials,
  projectsDir,
  type SeedItem,
  shimDir,
  storeDir,
  type ToolId,
  TOOLS
} from "@repoman/core/Agents"
import { ConfigPaths, expandHome } from "@repoman/core/ConfigPaths"
import type { HostInfoValues } from "@repoman/core/HostInfo"
import type { RegistryDocument } from "@repoman/core/RegistryDocument"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import * as Path from "effect/Path"
import * as Schema from "effect/Schema"

/**
 * A tool's install could not be found or used. `usage` marks a bad
 * `--agent-dir` (exit code 2).
 *
 * @since 0.1.0
 * @category errors
 */
export class AgentInstallError extends Schema.TaggedError<AgentInstallError>(
  "@repoman/programs/AgentInstall/AgentInstallError"
)("AgentInstallError", {
  tool: Schema.String,
  detail: Schema.String,
  usage: Schema.Boolean,
  /** The other tools that failed the same way, so that one run names them all. */
  others: Schema.optionalKey(Schema.Array(Schema.Struct({ tool: Schema.String, detail: Schema.String })))
}) {
  /** One line for the user, naming every tool that failed. */
  override get message(): string {
    return [{ tool: this.tool, detail: this.detail }, ...(this.others ?? [])].map((e) => `${e.tool}: ${e.detail}`)
      .join("; ")
  }
}

/**
 * One {@link AgentInstallError} for all of `errors` (the first carries the
 * rest), or `undefined` when there are none.
 *
 * @since 0.1.0
 * @category errors
 */
export const allAgentErrors = (errors: ReadonlyArray<AgentInstallError>): AgentInstallError | undefined => {
  const [first, ...rest] = errors
  return first === undefined ? undefined : new AgentInstallError({
    tool: first.tool,
    detail: first.detail,
    usage: errors.some((e) => e.usage),
    others: rest.flatMap((e) => [{ tool: e.tool, detail: e.detail }, ...(e.others ?? [])])
  })
}

/** Directories that are never an install to mount: they would hide the container's own. */
const SYSTEM_DIRS = new Set([
  "/",
  "/usr",
  "/usr/local",
  "/bin",
  "/sbin",
  "/lib",
  "/lib64",
  "/opt",
  "/etc",
  "/var",
  "/home",
  "/srv",
  "/snap",
  "/nix"
])

const PackageJson = Schema.fromJsonString(Schema.Struct({ name: Schema.String }))

const howToInstall = (tool: ToolId): string => {
  const install = TOOLS[tool].install
  return install._tag === "NpmPackage"
    ? `install it with 'npm install -g ${install.package}', or name its directory with ` +
      `'repoman profile install ${tool} --agent-dir ${tool}=DIR' ([agents] ${tool} in repoman.toml)`
    : `name a self-contained Node install (nodejs.org tarball, nvm, 'npm install --prefix DIR node@24') with ` +
      `'repoman profile install ${tool} --agent-dir node=DIR' ([agents] node in repoman.toml)`
}

/** The name in `dir/package.json`, if it has one. */
const packageName = (dir: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(`${dir}/package.json`).pipe(Effect.option)
    if (Option.isNone(text)) return Option.none<string>()
    return yield* Schema.decodeUnknownEffect(PackageJson)(text.value).pipe(
      Effect.map((p) => Option.some(p.name)),
      Effect.orElseSucceed(() => Option.none<string>())
    )
  })

/** The directory of npm package `pkg` that holds `real` (a real path), walking up a few levels. */
const packageAbove = (real: string, pkg: string) =>
  Effect.gen(function*() {
    const path = yield* Path.Path
    let dir = path.dirname(real)
    for (let i = 0; i < 8 && dir !== "/"; i++) {
      const name = yield* packageName(dir)
      if (Option.isSome(name) && name.value === pkg) return Option.some(dir)
      dir = path.dirname(dir)
    }
    return Option.none<string>()
  })

const isSystemDir = (dir: string, home: string) => SYSTEM_DIRS.has(dir) || dir === home

/**
 * The install directory a path names for a tool: for an agent, its npm
 * package directory (the path itself, a global npm prefix holding it, or a
 * command inside it); for Node, the directory above `bin/node` (the path
 * itself, or the executable). Fails with a `usage` error naming what was
 * wrong.
 *
 * @since 0.1.0
 * @category programs
 */
export const resolveInstall = Effect.fn("AgentInstall.resolveInstall")(function*(
  tool: ToolId,
  given: string,
  home: string
) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const bad = (detail: string) => new AgentInstallError({ tool, detail, usage: true })
  const real = yield* fs.realPath(expandHome(given, home)).pipe(Effect.mapError(() => bad(`${given} does not exist`)))
  const info = yield* fs.stat(real).pipe(Effect.mapError((e) => bad(e.message)))
  const install = TOOLS[tool].install
  const found: Option.Option<string> = yield* Effect.gen(function*() {
    if (install._tag === "NodeRuntime") {
      if (info.type === "Directory") {
        const node = yield* fs.stat(`${real}/bin/node`).pipe(Effect.option)
        return Option.isSome(node) && node.value.type === "File" ? Option.some(real) : Option.none()
      }
      return path.basename(path.dirname(real)) === "bin" ? Option.some(path.dirname(path.dirname(real))) : Option.none()
    }
    if (info.type === "Directory") {
      if (Option.getOrUndefined(yield* packageName(real)) === install.package) return Option.some(real)
      const inPrefix = yield* fs.realPath(`${real}/lib/node_modules/${install.package}`).pipe(Effect.option)
      return inPrefix
    }
    return yield* packageAbove(real, install.package)
  })
  if (Option.isNone(found)) {
    return yield* bad(
      install._tag === "NodeRuntime"
        ? `${given} is not a Node install (a directory with bin/node, or the node executable in one)`
        : `${given} is not the npm package ${install.package} (its directory, a global npm prefix holding it, or its command)`
    )
  }
  if (isSystemDir(found.value, home)) {
    return yield* bad(
      `${found.value} is a system directory; mounting it would hide the container's own: ${howToInstall(tool)}`
    )
  }
  return found.value
})

/**
 * Looks for a tool's install on the host (no `[agents]` entry): an agent's
 * command on `PATH`, Node's running executable. `None` when there is none,
 * or when what is found cannot be shared (a system Node, a command that is
 * not the npm package).
 *
 * @since 0.1.0
 * @category programs
 */
export const detectInstall = Effect.fn("AgentInstall.detectInstall")(function*(tool: ToolId, host: HostInfoValues) {
  const fs = yield* FileSystem.FileSystem
  const install = TOOLS[tool].install
  if (install._tag === "NodeRuntime") {
    return yield* resolveInstall(tool, host.nodeExecutable, host.home).pipe(Effect.option)
  }
  for (const dir of (host.environment["PATH"] ?? "").split(":")) {
    if (!dir.startsWith("/")) continue
    const real = yield* fs.realPath(`${dir}/${install.command}`).pipe(Effect.option)
    if (Option.isNone(real)) continue
    return yield* resolveInstall(tool, real.value, host.home).pipe(Effect.option)
  }
  return Option.none<string>()
})

/**
 * Where a tool is installed: from `[agents]` (`registry`) or found on the
 * host (`detected`), or why not (the message says how to fix it).
 *
 * @since 0.1.0
 * @category models
 */
export type Located =
  | { readonly _tag: "Found"; readonly dir: string; readonly from: "registry" | "detected" }
  | { readonly _tag: "Missing"; readonly detail: string }

/**
 * Locates one tool.
 *
 * @since 0.1.0
 * @category programs
 */
export const locateInstall = Effect.fn("AgentInstall.locateInstall")(function*(
  tool: ToolId,
  document: RegistryDocument,
  host: HostInfoValues
) {
  const named = document.agents[tool]
  if (named !== undefined) {
    return yield* resolveInstall(tool, named, host.home).pipe(
      Effect.map((dir): Located => ({ _tag: "Found", dir, from: "registry" })),
      Effect.catch((e) =>
        Effect.succeed<Located>({ _tag: "Missing", detail: `[agents] ${tool} in repoman.toml: ${e.detail}` })
      )
    )
  }
  const found = yield* detectInstall(tool, host)
  if (Option.isSome(found)) return { _tag: "Found", dir: found.value, from: "detected" } satisfies Located
  const install = TOOLS[tool].install
  const what = install._tag === "NpmPackage"
    ? `no '${install.command}' from the npm package ${install.package} on PATH`
    : `the Node running repoman (${host.nodeExecutable}) is not a self-contained install`
  return { _tag: "Missing", detail: `${what}: ${howToInstall(tool)}` } satisfies Located
})

/**
 * The render variables of the tool profiles: `STATE_DIR`, `AGENT_PATH`, and
 * `<TOOL>_INSTALL` for each tool found; `missing` says, by variable, why a
 * tool's is absent (a profile using it then fails with that message).
 *
 * @since 0.1.0
 * @category models
 */
export interface ToolVariables {
  readonly variables: Readonly<Record<string, string>>
  readonly missing: Readonly<Record<string, { readonly tool: ToolId; readonly detail: string }>>
}

/**
 * Computes {@link ToolVariables}.
 *
 * @since 0.1.0
 * @category programs
 */
export const toolVariables = Effect.fn("AgentInstall.toolVariables")(function*(
  document: RegistryDocument,
  host: HostInfoValues
) {
  const { stateDir } = yield* ConfigPaths
  const variables: Record<string, string> = { STATE_DIR: stateDir, AGENT_PATH: containerPath(stateDir) }
  const missing: Record<string, { readonly tool: ToolId; readonly detail: string }> = {}
  for (const tool of Object.keys(TOOLS) as Array<ToolId>) {
    const located = yield* locateInstall(tool, document, host)
    const name = `${tool.toUpperCase()}_INSTALL`
    if (located._tag === "Found") variables[name] = located.dir
    else missing[name] = { tool, detail: located.detail }
  }
  return { variables, missing } satisfies ToolVariables
})

// ---------------------------------------------------------------------------
// Host preparation
// ---------------------------------------------------------------------------

/**
 * Makes `dir` a directory (with missing parents) that is not a symlink,
 * with mode `mode` when it is made; an existing one keeps its mode unless
 * `private`, which takes group and other bits away.
 */
const ensureDirectory = (dir: string, mode: number, tool: ToolId) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const fail = (detail: string) => new AgentInstallError({ tool, detail, usage: false })
    yield* fs.makeDirectory(dir, { recursive: true, mode }).pipe(Effect.mapError((e) => fail(e.message)))
    const info = yield* fs.lstat(dir).pipe(Effect.mapError((e) => fail(e.message)))
    if (info.type !== "Directory") return yield* fail(`${dir} is not a directory (a ${info.type}); move it away`)
    // Only repoman's own directories get here; none is visible to a container as anything but a mount root.
    if ((info.mode & 0o777 & ~mode) !== 0) yield* fs.chmod(dir, mode).pipe(Effect.mapError((e) => fail(e.message)))
  })

/** The commands of a tool's shim directory: name -> absolute target. */
const shimTargets = (tool: ToolId, install: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const fail = (detail: string) => new AgentInstallError({ tool, detail, usage: false })
    const entries = TOOLS[tool].install._tag === "NodeRuntime"
      ? (yield* fs.readDirectory(`${install}/bin`).pipe(Effect.mapError((e) => fail(e.message))))
        .filter((n) => /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(n))
        .map((name) => ({ name, target: `${install}/bin/${name}` }))
      : TOOLS[tool].commands.map((c) => ({ name: c.name, target: `${install}/${c.target}` }))
    for (const entry of entries) {
      const info = yield* fs.stat(entry.target).pipe(Effect.option)
      if (Option.isNone(info) || info.value.type !== "File") {
        return yield* fail(
          `${entry.target} is missing from the install (reinstall it; npm must run its install scripts)`
        )
      }
    }
    return entries
  })

/**
 * The shim directory of a tool with one symlink per command into its
 * install (stale entries go). Symlinks are made beside and renamed into
 * place.
 */
const writeShims = (tool: ToolId, install: string, stateDir: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const fail = (detail: string) => new AgentInstallError({ tool, detail, usage: false })
    const dir = shimDir(stateDir, tool)
    yield* ensureDirectory(dir, 0o755, tool)
    const entries = yield* shimTargets(tool, install)
    const wanted = new Set(entries.map((e) => e.name))
    for (const name of yield* fs.readDirectory(dir).pipe(Effect.mapError((e) => fail(e.message)))) {
      if (!wanted.has(name)) yield* fs.remove(`${dir}/${name}`, { recursive: true }).pipe(Effect.ignore)
    }
    for (const { name, target } of entries) {
      const current = yield* fs.readLink(`${dir}/${name}`).pipe(Effect.option)
      if (Option.isSome(current) && current.value === target) continue
      const temporary = `${dir}/.${name}.repoman-new`
      yield* fs.remove(temporary).pipe(Effect.ignore)
      yield* fs.symlink(target, temporary).pipe(Effect.mapError((e) => fail(e.message)))
      yield* fs.rename(temporary, `${dir}/${name}`).pipe(Effect.mapError((e) => fail(e.message)))
    }
    return dir
  })

/**
 * What `profile install` made ready on the host for a tool.
 *
 * @since 0.1.0
 * @category models
 */
export interface PreparedHost {
  readonly tool: ToolId
  readonly install: string
  readonly shims: string
  /** The shared credential store, for a tool with one (else null). */
  readonly store: string | null
}

/**
 * Prepares the host for a tool profile: its shim directory, its shared
 * credential store (made 0700, empty) if it has one, and the directory of
 * the projects' agent state (0700). Idempotent; touches only repoman's
 * state directory.
 *
 * @since 0.1.0
 * @category programs
 */
export const prepareHost = Effect.fn("AgentInstall.prepareHost")(function*(tool: ToolId, install: string) {
  const { stateDir } = yield* ConfigPaths
  const shims = yield* writeShims(tool, install, stateDir)
  yield* ensureDirectory(projectsDir(stateDir), 0o700, tool)
  const credentials = TOOLS[tool].credentials
  const store = credentials?._tag === "SharedStore" ? storeDir(stateDir, tool) : null
  if (store !== null) yield* ensureDirectory(store, 0o700, tool)
  return { tool, install, shims, store } satisfies PreparedHost
})

/**
 * The host's state dir of an agent: `$<env>` when set, else `~/<home>`.
 *
 * @since 0.1.0
 * @category utils
 */
export const hostStateDir = (tool: ToolId, host: HostInfoValues): string | undefined => {
  const dir = TOOLS[tool].hostDir
  if (dir === undefined) return undefined
  const fromEnv = host.environment[dir.env]
  if (fromEnv === undefined || !fromEnv.startsWith("/")) return `${host.home}/${dir.home}`
  return dir.envIsHome === true ? `${fromEnv}/${dir.home}` : fromEnv
}

/**
 * The host path a seed item is read from: in the agent's host state dir,
 * or in the home for a `fromHome` item while the agent's variable is not set.
 *
 * @since 0.1.0
 * @category utils
 */
export const seedSource = (tool: ToolId, item: SeedItem, host: HostInfoValues): string => {
  const dir = TOOLS[tool].hostDir
  const moved = dir !== undefined && host.environment[dir.env]?.startsWith("/") === true
  return `${item.fromHome === true && !moved ? host.home : hostStateDir(tool, host) ?? host.home}/${item.from}`
}

/**
 * What `profile install` did with a shared credential store:
 * - `Moved`: the host's credential file was moved into the store;
 * - `InStore`: the store holds a login already (`leftBehind`: a second
 *   host login that is not shared);
 * - `NoLogin`: neither has one yet (log in once, inside or on the host);
 * `notes` says what else was found (a symlink removed, say), `exportLine`
 * what the host's shell must set.
 *
 * @since 0.1.0
 * @category models
 */
export interface StoreReport {
  readonly tool: ToolId
  readonly store: string
  readonly state: "Moved" | "InStore" | "NoLogin"
  readonly from: string
  readonly exportLine: string
  readonly hostUsesStore: boolean
  readonly notes: ReadonlyArray<string>
}

/**
 * Reads a regular file without following a symlink at its name: `lstat`
 * says it is a regular file, and the descriptor opened is that very file
 * (same device and inode), else `None`. At most `limit` bytes.
 *
 * @since 0.1.0
 * @category utils
 */
export const readRegular = (file: string, limit = 4 * 1024 * 1024) =>
  Effect.scoped(Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const before = yield* fs.lstat(file).pipe(Effect.option)
    if (Option.isNone(before) || before.value.type !== "File" || Number(before.value.size) > limit) {
      return Option.none<Uint8Array>()
    }
    const handle = yield* fs.open(file, { flag: "r" }).pipe(Effect.option)
    if (Option.isNone(handle)) return Option.none<Uint8Array>()
    const opened = yield* handle.value.stat
    const same = opened.type === "File" && opened.dev === before.value.dev &&
      Option.getOrUndefined(opened.ino) === Option.getOrUndefined(before.value.ino)
    if (!same) return Option.none<Uint8Array>()
    const bytes = yield* handle.value.readAlloc(Number(opened.size) + 1)
    return Option.some(Option.getOrElse(bytes, () => new Uint8Array()))
  })).pipe(Effect.orElseSucceed(() => Option.none<Uint8Array>()))

/**
 * Writes `bytes` at `file` without following anything already there: a new
 * file (`O_EXCL`, so a planted symlink at the temporary name fails it) in the
 * same directory, renamed over `file` (which replaces a symlink rather than
 * writing through it). The directory itself must be one a container cannot
 * replace (a mount root, or repoman's own).
 *
 * @since 0.1.0
 * @category utils
 */
export const replaceFile = (file: string, bytes: Uint8Array, mode: number) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const temporary = `${file}.repoman-${Math.random().toString(36).slice(2, 10)}`
    yield* fs.writeFile(temporary, bytes, { flag: "wx", mode })
    yield* fs.rename(temporary, file).pipe(Effect.onError(() => Effect.ignore(fs.remove(temporary))))
  })

const exdev = (e: { readonly message: string }) => /EXDEV|cross-device/i.test(e.message)

/**
 * Moves the host's login into a tool's shared credential store (Claude
 * Code: `~/.claude/.credentials.json` into `<state>/agents/claude-auth`),
 * when the store has none: only a regular file (a symlink is left where it
 * is), by rename (or a no-follow copy and unlink across file systems); the
 * store's entry is checked to be a regular file afterwards. A symlink or
 * anything else planted at the store's name is removed first (never
 * followed). No symlink is left behind: the agent replaces its file on every
 * refresh.
 *
 * @since 0.1.0
 * @category programs
 */
export const moveLoginIntoStore = Effect.fn("AgentInstall.moveLoginIntoStore")(function*(
  tool: ToolId,
  host: HostInfoValues
) {
  const fs = yield* FileSystem.FileSystem
  const { stateDir } = yield* ConfigPaths
  const credentials = TOOLS[tool].credentials as Extract<Credentials, { _tag: "SharedStore" }>
  const fail = (detail: string) => new AgentInstallError({ tool, detail, usage: false })
  const store = storeDir(stateDir, tool)
  const target = `${store}/${credentials.file}`
  const hostStore = host.environment[credentials.env]
  const hostUsesStore = hostStore === store
  const hostDir = hostStore !== undefined && hostStore.startsWith("/") && !hostUsesStore
    ? hostStore
    : hostStateDir(tool, host)
  const from = `${hostDir}/${credentials.hostFile}`
  const notes: Array<string> = []
  const report = (state: StoreReport["state"]): StoreReport => ({
    tool,
    store,
    state,
    from,
    exportLine: `export ${credentials.env}=${store}`,
    hostUsesStore,
    notes
  })

  const planted = yield* fs.lstat(target).pipe(Effect.option)
  if (Option.isSome(planted) && planted.value.type !== "File") {
    yield* fs.remove(target).pipe(Effect.mapError((e) => fail(e.message)))
    notes.push(`removed a ${planted.value.type} found at ${target} (only a regular file belongs there)`)
  } else if (Option.isSome(planted)) {
    const source = yield* fs.lstat(from).pipe(Effect.option)
    if (!hostUsesStore && Option.isSome(source) && source.value.type === "File") {
      notes.push(
        `${from} is a second login that containers do not share; once the host uses the store, remove it`
      )
    }
    return report("InStore")
  }

  const source = yield* fs.lstat(from).pipe(Effect.option)
  if (hostUsesStore || Option.isNone(source)) return report("NoLogin")
  if (source.value.type !== "File") {
    notes.push(`${from} is a ${source.value.type}, not a regular file: not moved`)
    return report("NoLogin")
  }
  const moved = yield* fs.rename(from, target).pipe(
    Effect.as(true),
    Effect.catch((e) => exdev(e) ? Effect.succeed(false) : Effect.fail(fail(e.message)))
  )
  if (!moved) {
    const bytes = yield* readRegular(from)
    if (Option.isNone(bytes)) return yield* fail(`${from} changed while it was being moved; try again`)
    yield* replaceFile(target, bytes.value, 0o600).pipe(Effect.mapError((e) => fail(e.message)))
    yield* fs.remove(from).pipe(Effect.mapError((e) => fail(e.message)))
  }
  const landed = yield* fs.lstat(target).pipe(Effect.mapError((e) => fail(e.message)))
  if (landed.type !== "File") {
    yield* fs.remove(target).pipe(Effect.ignore)
    return yield* fail(`${from} was replaced while it was being moved (a ${landed.type} arrived); nothing is shared`)
  }
  return report("Moved")
})
