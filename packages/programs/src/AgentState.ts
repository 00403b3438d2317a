/**
 * The agents' per-project state on the host: one fresh directory per
 * project under `<state dir>/projects/`, with a subdirectory per agent
 * mounted read-write at the agent's state path inside (`~/.claude`,
 * `~/.codex`, `~/.gemini`, `~/.pi/agent`). Nothing in it is ever read back
 * by the host as configuration, and no project sees another's.
 *
 * - `new` ({@link makeProjectState}) makes the directory fresh (so no
 *   container has it mounted while it is filled) and seeds it from the
 *   host's agent state: non-secret configuration, sanitized (see
 *   `@repoman/core/Agents`), and the copied credentials. Host files are read
 *   without following symlinks.
 * - Before a command runs ({@link refreshCopies}) a copied credential is
 *   copied again when the host's is newer: written beside and renamed over,
 *   so a symlink the container planted is replaced, never followed.
 * - Before a command runs ({@link clearStores}) a shared credential store's
 *   file must be a regular file: anything else a container left there is
 *   removed, never followed.
 * - Before a stopped container starts ({@link clearMountTargets}) the names
 *   where other mounts nest inside a state directory are checked with
 *   `lstat`: a symlink (or anything but a directory) planted there is
 *   removed, or Incus would refuse to start the container.
 * - `remove` ({@link removeProjectState}) deletes it.
 *
 * @since 0.1.0
 * @module
 */
import {
  AGENT_LABEL,
  projectsDir,
  type SeedItem,
  stateMountName,
  storeDir,
  ToolId,
  toolOfStateMount,
  TOOLS
} from "@repoman/core/Agents"
import { ConfigPaths } from "@repoman/core/ConfigPaths"
import { type Instance, Mount } from "@repoman/core/ContainerRuntime"
import { HostInfo, type HostInfoValues } from "@repoman/core/HostInfo"
import type { ProjectName } from "@repoman/core/Ids"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { hostStateDir, readRegular, replaceFile, seedSource } from "./AgentInstall.ts"

const MAX_FILES = 2000
const MAX_DEPTH = 8

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/**
 * Copies one seed item from `hostDir` (or the home) into `stateDir`, a fresh
 * directory no container has mounted: regular files and directories only,
 * symlinks never followed, files sanitized. Returns the notes to show.
 */
const seedItem = (from: string, item: SeedItem, stateDir: string, budget: { files: number }) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const to = `${stateDir}/${item.to}`
    const copyFile = (source: string, target: string, sanitize: SeedItem["sanitize"]) =>
      Effect.gen(function*() {
        if (budget.files-- <= 0) return Option.none<string>()
        const bytes = yield* readRegular(source)
        if (Option.isNone(bytes)) return Option.none<string>()
        let out = bytes.value
        if (sanitize !== undefined) {
          const clean = sanitize(decoder.decode(bytes.value))
          if (Result.isFailure(clean)) return Option.some(`${source} not copied: ${clean.failure}`)
          out = encoder.encode(clean.success)
        }
        yield* fs.writeFile(target, out, { flag: "wx", mode: 0o600 })
        return Option.none<string>()
      })
    const copyDir = (
      source: string,
      target: string,
      depth: number
    ): Effect.Effect<void, unknown, FileSystem.FileSystem> =>
      Effect.gen(function*() {
        if (depth > MAX_DEPTH) return
        yield* fs.makeDirectory(target, { mode: 0o700 })
        for (const name of yield* fs.readDirectory(source)) {
          const entry = yield* fs.lstat(`${source}/${name}`).pipe(Effect.option)
          if (Option.isNone(entry)) continue
          if (entry.value.type === "File") yield* copyFile(`${source}/${name}`, `${target}/${name}`, undefined)
          else if (entry.value.type === "Directory") yield* copyDir(`${source}/${name}`, `${target}/${name}`, depth + 1)
        }
      })
    const info = yield* fs.lstat(from).pipe(Effect.option)
    if (Option.isNone(info)) return Option.none<string>()
    if (item.kind === "file") {
      return info.value.type === "File" ? yield* copyFile(from, to, item.sanitize) : Option.none<string>()
    }
    if (info.value.type === "Directory") yield* copyDir(from, to, 0).pipe(Effect.ignore)
    return Option.none<string>()
  })

/**
 * The tools of the agent profiles among `profiles` (those with the agent
 * label), each once.
 *
 * @since 0.1.0
 * @category utils
 */
export const agentTools = (
  profiles: ReadonlyArray<{ readonly info: { readonly labels: Readonly<Record<string, string>> } }>
): ReadonlyArray<ToolId> => [
  ...new Set(profiles.flatMap((p) => {
    const label = p.info.labels[AGENT_LABEL]
    return label !== undefined && Schema.is(ToolId)(label) ? [label] : []
  }))
]

/**
 * A project's agent state: the directory made for it, and the mounts of
 * its agents' state directories.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProjectState {
  readonly root: string
  readonly mounts: ReadonlyArray<Mount>
  /** What seeding left out and why (a host file that does not pass its check, say). */
  readonly notes: ReadonlyArray<string>
}

/**
 * Makes a fresh agent state directory for a new project and seeds a
 * subdirectory per agent (tools without state, such as Node, get none).
 * `None` when no tool needs one.
 *
 * @since 0.1.0
 * @category programs
 */
export const makeProjectState = Effect.fn("AgentState.makeProjectState")(function*(
  name: ProjectName,
  tools: ReadonlyArray<ToolId>
) {
  const fs = yield* FileSystem.FileSystem
  const host = yield* HostInfo
  const { stateDir } = yield* ConfigPaths
  const stateful = [...new Set(tools)].filter((t) => TOOLS[t].stateDir !== undefined)
  if (stateful.length === 0) return Option.none<ProjectState>()
  yield* fs.makeDirectory(projectsDir(stateDir), { recursive: true, mode: 0o700 })
  const root = yield* fs.makeTempDirectory({ directory: projectsDir(stateDir), prefix: `${name}-` })
  const notes: Array<string> = []
  const mounts = yield* Effect.forEach(stateful, (tool) =>
    Effect.gen(function*() {
      const spec = TOOLS[tool]
      const dir = `${root}/${tool}`
      yield* fs.makeDirectory(dir, { mode: 0o700 })
      const budget = { files: MAX_FILES }
      const credentials = spec.credentials
      const items: ReadonlyArray<SeedItem> = credentials?._tag === "Copied"
        ? [...spec.seed, {
          from: credentials.hostFile,
          to: credentials.hostFile,
          kind: "file",
          sanitize: credentials.sanitize
        }]
        : spec.seed
      for (const item of items) {
        const note = yield* seedItem(seedSource(tool, item, host), item, dir, budget)
        if (Option.isSome(note)) notes.push(note.value)
      }
      return new Mount({
        name: stateMountName(tool),
        source: dir,
        path: `${host.home}/${spec.stateDir}`,
        readOnly: false
      })
    })).pipe(Effect.onError(() => Effect.ignore(fs.remove(root, { recursive: true }))))
  return Option.some({ root, mounts, notes } satisfies ProjectState)
})

/** The agent state mounts of an instance that live in repoman's projects dir. */
const stateMounts = (instance: Instance, stateDir: string) =>
  instance.mounts.flatMap((m) => {
    const tool = toolOfStateMount(m.name)
    return tool !== undefined && m.source.startsWith(`${projectsDir(stateDir)}/`) ? [{ tool, mount: m }] : []
  })

/**
 * Copies a newer host credential into each of the instance's agent state
 * directories whose agent copies its login (Gemini CLI's
 * `oauth_creds.json`): only when the host's file is a regular file newer
 * than the project's copy and passes the agent's check; written beside and
 * renamed over the copy. Quiet: a failure leaves the copy as it is.
 *
 * @since 0.1.0
 * @category programs
 */
export const refreshCopies = Effect.fn("AgentState.refreshCopies")(function*(instance: Instance, host: HostInfoValues) {
  const fs = yield* FileSystem.FileSystem
  const { stateDir } = yield* ConfigPaths
  for (const { tool, mount } of stateMounts(instance, stateDir)) {
    const credentials = TOOLS[tool].credentials
    if (credentials?._tag !== "Copied") continue
    const from = `${hostStateDir(tool, host) ?? host.home}/${credentials.hostFile}`
    const to = `${mount.source}/${credentials.hostFile}`
    yield* Effect.gen(function*() {
      const source = yield* fs.lstat(from)
      const copy = yield* fs.lstat(to).pipe(Effect.option)
      const newer = (a: Option.Option<Date>, b: Option.Option<Date>) =>
        Option.isSome(a) && (Option.isNone(b) || a.value.getTime() > b.value.getTime())
      // A copy that is not a regular file (a symlink the container planted) is replaced whatever its time.
      const current = Option.isSome(copy) && copy.value.type === "File" && !newer(source.mtime, copy.value.mtime)
      if (source.type !== "File" || current) return
      const bytes = yield* readRegular(from)
      if (Option.isNone(bytes)) return
      const clean = credentials.sanitize(decoder.decode(bytes.value))
      if (Result.isFailure(clean)) return
      yield* replaceFile(to, encoder.encode(clean.success), 0o600)
    }).pipe(Effect.ignore)
  }
})

/**
 * Before a command runs in an instance with an agent that shares a
 * credential store (Claude Code): whatever a container left at the
 * credential's name that is not a regular file (a symlink to a host file,
 * say, which the host's agent would read) is removed, never followed. The
 * agents themselves only ever put a regular file there (by rename). Returns
 * the paths removed.
 *
 * @since 0.1.0
 * @category programs
 */
export const clearStores = Effect.fn("AgentState.clearStores")(function*(instance: Instance) {
  const fs = yield* FileSystem.FileSystem
  const { stateDir } = yield* ConfigPaths
  const removed: Array<string> = []
  for (const { tool } of stateMounts(instance, stateDir)) {
    const credentials = TOOLS[tool].credentials
    if (credentials?._tag !== "SharedStore") continue
    const file = `${storeDir(stateDir, tool)}/${credentials.file}`
    const info = yield* fs.lstat(file).pipe(Effect.option)
    if (Option.isNone(info) || info.value.type === "File") continue
    yield* fs.remove(file).pipe(Effect.ignore)
    removed.push(file)
  }
  return removed as ReadonlyArray<string>
})

/**
 * Before a stopped instance starts: for every mount (`others`: the
 * instance's and its profiles') whose path lies inside one of its agent
 * state directories, each name on the way there in the host directory must
 * be a directory or absent. Whatever else is there (a symlink a container
 * planted after unmounting the nested mount, a file) is removed, never
 * followed; Incus makes the directories. The instance is stopped, so nothing
 * changes them meanwhile. Returns the paths removed.
 *
 * @since 0.1.0
 * @category programs
 */
export const clearMountTargets = Effect.fn("AgentState.clearMountTargets")(function*(
  instance: Instance,
  others: ReadonlyArray<Mount>
) {
  const fs = yield* FileSystem.FileSystem
  const { stateDir } = yield* ConfigPaths
  const removed: Array<string> = []
  const nested = [...instance.mounts, ...others, ...Option.toArray(instance.repo)]
  for (const { mount } of stateMounts(instance, stateDir)) {
    for (const other of nested) {
      if (!other.path.startsWith(`${mount.path}/`)) continue
      let at = mount.source
      for (const part of other.path.slice(mount.path.length + 1).split("/").filter((p) => p.length > 0)) {
        at = `${at}/${part}`
        const info = yield* fs.lstat(at).pipe(Effect.option)
        if (Option.isNone(info)) break
        if (info.value.type === "Directory") continue
        yield* fs.remove(at)
        removed.push(at)
        break
      }
    }
  }
  return removed as ReadonlyArray<string>
})

/**
 * Deletes the agent state directories of an instance that was removed (the
 * per-project directory holding them), never following a symlink inside.
 *
 * @since 0.1.0
 * @category programs
 */
export const removeProjectState = Effect.fn("AgentState.removeProjectState")(function*(
  mounts: ReadonlyArray<Mount>
) {
  const fs = yield* FileSystem.FileSystem
  const { stateDir } = yield* ConfigPaths
  const base = `${projectsDir(stateDir)}/`
  const roots = new Set(
    mounts.flatMap((m) => {
      if (toolOfStateMount(m.name) === undefined || !m.source.startsWith(base)) return []
      const root = m.source.slice(0, m.source.indexOf("/", base.length))
      return root.length > base.length ? [root] : []
    })
  )
  for (const root of roots) yield* fs.remove(root, { recursive: true }).pipe(Effect.ignore)
  return [...roots] as ReadonlyArray<string>
})

/**
 * Deletes the agent state directories of `mounts` that an instance no
 * longer mounts (`config` took their agents away), never following a
 * symlink inside; the per-project directory holding them goes too once it
 * is empty. Returns the directories deleted.
 *
 * @since 0.1.0
 * @category programs
 */
export const removeToolState = Effect.fn("AgentState.removeToolState")(function*(mounts: ReadonlyArray<Mount>) {
  const fs = yield* FileSystem.FileSystem
  const { stateDir } = yield* ConfigPaths
  const base = `${projectsDir(stateDir)}/`
  const removed: Array<string> = []
  for (const m of mounts) {
    const rest = m.source.slice(base.length).split("/")
    // Only <projects>/<root>/<tool>, as `makeProjectState` makes them.
    const tool = toolOfStateMount(m.name)
    if (tool === undefined || !m.source.startsWith(base) || rest.length !== 2 || rest[1] !== tool) continue
    if (rest[0] === "" || rest[0] === "." || rest[0] === "..") continue
    yield* fs.remove(m.source, { recursive: true }).pipe(Effect.ignore)
    removed.push(m.source)
    const root = `${base}${rest[0]}`
    const left = yield* fs.readDirectory(root).pipe(Effect.orElseSucceed(() => ["?"]))
    if (left.length === 0) yield* fs.remove(root, { recursive: true }).pipe(Effect.ignore)
  }
  return removed as ReadonlyArray<string>
})
