/**
 * The sandbox the sync integration tests share: a config dir and repos root
 * in a temp dir, a backup root on the CI tmpfs (REPOMAN_CI_BACKUP_MOUNT), and
 * `repoman` run as a child process against them.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import * as ChildProcess from "effect/process/ChildProcess"
import * as ChildProcessSpawner from "effect/process/ChildProcessSpawner"
import type * as Scope from "effect/Scope"
import { randomBytes } from "node:crypto"
import { bin, type Outcome, outcome } from "../../cli/test/integration.ts"

/** An environment variable CI sets (the mounts), or a clear error. */
export const mountEnv = (name: string): string => {
  const value = process.env[name]
  if (value === undefined || value === "") {
    throw new Error(`${name} is not set: CI must prepare the backup mounts (see the header of this file)`)
  }
  return value
}
/** The tmpfs backup root CI mounts, and a read-only view of it. */
export const backupMount = mountEnv("REPOMAN_CI_BACKUP_MOUNT")
export const backupRoMount = mountEnv("REPOMAN_CI_BACKUP_RO_MOUNT")

/** A `[[project]]` block of the registry. */
export const project = (name: string, extra = "") =>
  `[[project]]\nname = "${name}"\nrepo = "${name}"\nimage = "local:busybox"\nprofiles = ["default"]\ncreated = "2026-01-01T00:00:00Z"\n${extra}\n`

/** Every path under `root` with type, mode, mtime and content: equal snapshots mean byte-identical trees. */
export const snapshot = (root: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    if (!(yield* fs.exists(root))) return ["<absent>"]
    const entries = (yield* fs.readDirectory(root, { recursive: true })).sort()
    const out: Array<string> = []
    for (const entry of entries) {
      const path = `${root}/${entry}`
      const info = yield* fs.stat(path)
      const mtime = Option.match(info.mtime, { onNone: () => "-", onSome: (d) => String(d.getTime()) })
      const content = info.type === "File" ? Buffer.from(yield* fs.readFile(path)).toString("base64") : ""
      out.push(`${entry} ${info.type} ${(info.mode & 0o7777).toString(8)} ${mtime} ${content}`)
    }
    return out
  })

/** The same tree without mtimes of directories (rsync sets them; a fresh source has its own). */
export const contents = (root: string) =>
  Effect.map(snapshot(root), (lines) =>
    lines.map((l) => {
      const [entry, type, mode, , content] = l.split(" ")
      return `${entry} ${type} ${mode} ${type === "Directory" ? "" : content}`
    }))

/** A sandbox: config dir, repos root on /, backup root on the tmpfs, and a `repoman` runner. */
export const sandbox = (options: { readonly backupRoot?: string; readonly backup?: string } = {}) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-sync-it-" })
    const id = randomBytes(4).toString("hex")
    const backupRoot = options.backupRoot ?? `${backupMount}/it-${id}`
    yield* fs.makeDirectory(backupRoot, { recursive: true })
    yield* Effect.addFinalizer(() => Effect.ignore(fs.remove(backupRoot, { recursive: true })))
    const reposRoot = `${dir}/repos`
    yield* fs.makeDirectory(reposRoot)
    yield* fs.makeDirectory(`${dir}/config`)
    const registry = `${dir}/config/repoman.toml`
    const writeRegistry = (projects: string, root = backupRoot, backup = options.backup ?? "") =>
      fs.writeFileString(
        registry,
        `schema = 3\n[defaults]\nrepos_root = "${reposRoot}"\nbackup_root = "${root}"\n${backup}\n${projects}`
      )
    const env = { ...process.env, REPOMAN_CONFIG_DIR: `${dir}/config`, XDG_STATE_HOME: `${dir}/state` }
    const repoman = (args: ReadonlyArray<string>): Effect.Effect<Outcome> =>
      outcome(ChildProcess.make(process.execPath, [bin, ...args], { env, stdin: "ignore" })).pipe(
        Effect.provideService(ChildProcessSpawner.ChildProcessSpawner, spawner),
        Effect.orDie
      )
    const write = (path: string, content: string) =>
      Effect.gen(function*() {
        yield* fs.makeDirectory(path.slice(0, path.lastIndexOf("/")), { recursive: true })
        yield* fs.writeFileString(path, content)
      })
    /** `count` files of `size` random bytes under repos/<repo>/bulk. */
    const bulk = (repo: string, count: number, size: number) =>
      Effect.gen(function*() {
        yield* fs.makeDirectory(`${reposRoot}/${repo}/bulk`, { recursive: true })
        for (let i = 0; i < count; i++) {
          yield* fs.writeFile(`${reposRoot}/${repo}/bulk/f${i}`, randomBytes(size))
        }
      })
    return { dir, reposRoot, backupRoot, registry, writeRegistry, repoman, write, bulk, spawner, env }
  })

/** The `last_sync` of project `name` in a registry text. */
export const lastSyncOf = (text: string, name: string): string | undefined => {
  const block = text.split("[[project]]").find((b) => b.includes(`name = "${name}"`))
  return block?.match(/last_sync = "([^"]+)"/)?.[1]
}

/** A test on the real clock (the tests poll the file system) with the Node services. */
export const test = <E>(name: string, body: () => Effect.Effect<void, E, NodeServices.NodeServices | Scope.Scope>) =>
  it.live(name, () => body().pipe(Effect.provide(NodeServices.layer)), 180_000)
