/**
 * Helpers of the integration tests: run the real `repoman` entry point as a
 * child process (argv list, no shell) against the real incusd, in a
 * throwaway config dir, repos root and Incus project per test.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert } from "@effect/vitest"
import { ContainerRuntime, InstanceSpec, Mount } from "@repoman/core/ContainerRuntime"
import { ImageRef, ProfileName, ProjectName } from "@repoman/core/Ids"
import * as IncusClient from "@repoman/incus/IncusClient"
import * as IncusContainerRuntime from "@repoman/incus/IncusContainerRuntime"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import type { PlatformError } from "effect/PlatformError"
import * as ChildProcess from "effect/process/ChildProcess"
import * as ChildProcessSpawner from "effect/process/ChildProcessSpawner"
import * as Stream from "effect/Stream"
import { randomBytes } from "node:crypto"
import * as net from "node:net"
import { fileURLToPath } from "node:url"

/** The real `repoman` entry point (run by Node 24 directly). */
export const bin = fileURLToPath(new URL("../src/bin.ts", import.meta.url))

export const busybox = process.env["REPOMAN_CI_BUSYBOX_ALIAS"] ?? "repoman-busybox"
export const debian = process.env["REPOMAN_CI_DEBIAN_ALIAS"] ?? "repoman-debian"

export interface Outcome {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs a command to completion with both pipes drained: its exit code, stdout and stderr. */
export const outcome = (
  command: ChildProcess.Command
): Effect.Effect<Outcome, PlatformError, ChildProcessSpawner.ChildProcessSpawner> =>
  Effect.scoped(Effect.gen(function*() {
    const handle = yield* command
    const [stdout, stderr, code] = yield* Effect.all([
      Stream.mkString(Stream.decodeText(handle.stdout)),
      Stream.mkString(Stream.decodeText(handle.stderr)),
      handle.exitCode
    ], { concurrency: "unbounded" })
    return { code: Number(code), stdout, stderr }
  }))

/** Options of {@link repomanWith}. */
export interface RunOptions {
  readonly cwd?: string
  /** Text on stdin (default: none, as in CI). */
  readonly input?: string
}

/** `repoman ARGS` as a child process, with `env` on top of this process's environment. */
export const repomanWith =
  (env: Readonly<Record<string, string>>, options: RunOptions = {}) => (args: ReadonlyArray<string>) =>
    outcome(ChildProcess.make(process.execPath, [bin, ...args], {
      env: { ...process.env, ...env },
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      stdin: options.input === undefined ? "ignore" : Stream.make(new TextEncoder().encode(options.input))
    }))

/** A sandbox: config dir, repos root and a fresh Incus project name; the project is deleted afterwards. */
export const sandbox = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const dir = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-it-" })
  const project = `rmit-${randomBytes(4).toString("hex")}`
  const reposRoot = `${dir}/repos`
  yield* fs.makeDirectory(reposRoot)
  const client = yield* IncusClient.IncusClient
  const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
  yield* Effect.addFinalizer(() => Effect.ignore(client.deleteProject(project, { force: true })))
  const env = { REPOMAN_CONFIG_DIR: `${dir}/config`, XDG_STATE_HOME: `${dir}/state` }
  /** `repoman ARGS` in this sandbox; `extra` adds to its environment (HOME, say). */
  const repomanIn =
    (extra: Readonly<Record<string, string>> = {}, options: RunOptions = {}) =>
    (args: ReadonlyArray<string>): Effect.Effect<Outcome> =>
      repomanWith({ ...env, ...extra }, options)(args).pipe(
        Effect.provideService(ChildProcessSpawner.ChildProcessSpawner, spawner),
        Effect.orDie
      )
  const repoman = repomanIn()
  /** The arguments of `repoman setup` for this sandbox (for a `repomanIn` with a HOME of its own, say). */
  const setupArgs = ["setup", "--non-interactive", "--incus-project", project, "--repos-root", reposRoot]
  const setup = repoman(setupArgs)
  return { dir, project, reposRoot, env, repoman, repomanIn, setup, setupArgs, client }
})

/**
 * Asserts that Incus refuses, as a project restriction, an instance with a
 * disk from each of `sources`, and that none was made.
 */
export const assertDisksForbidden = (project: string, sources: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const runtime = yield* ContainerRuntime.pipe(Effect.provide(IncusContainerRuntime.layerClient({ project })))
    for (const source of sources) {
      const error = yield* Effect.flip(
        runtime.create(
          new InstanceSpec({
            name: ProjectName.make("escape"),
            image: ImageRef.make(busybox),
            profiles: [ProfileName.make("default")],
            mounts: [new Mount({ name: "host", source, path: "/mnt/host", readOnly: false })]
          })
        )
      )
      assert.strictEqual(error.reason._tag, "Forbidden", `${source}: ${error.message}`)
    }
    assert.deepStrictEqual(yield* (yield* IncusClient.IncusClient).listInstances(project), [])
  })

/** Node platform services and the live Incus client. */
export const IntegrationLayer = Layer.mergeAll(NodeServices.layer, IncusClient.layer())

/** Every path under `root` with its mode and content (directories: mode only). */
export const snapshot = (root: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const entries = (yield* fs.readDirectory(root, { recursive: true })).sort()
    const out: Array<string> = []
    for (const entry of entries) {
      const path = `${root}/${entry}`
      const info = yield* fs.stat(path)
      const content = info.type === "File" ? Buffer.from(yield* fs.readFile(path)).toString("base64") : ""
      out.push(`${entry} ${info.type} ${(info.mode & 0o7777).toString(8)} ${content}`)
    }
    return out
  })

/** `repoman shell NAME -- sh -c SCRIPT` through a sandbox's `repoman`: one shell script in the container. */
export const shellScript = (
  repoman: (args: ReadonlyArray<string>) => Effect.Effect<Outcome>,
  name: string,
  script: string
): Effect.Effect<Outcome> => repoman(["shell", name, "--", "sh", "-c", script])

/** The socket incusd listens on, as the tests reach it. */
const incusSocket = process.env["INCUS_SOCKET"] ?? "/var/lib/incus/unix.socket"

/**
 * A unix-socket proxy to incusd for the scope: `inspect` sees every chunk a
 * client sends (and whether it is the connection's first) and says whether
 * to pass it on (`true`) or to drop every connection and stop listening
 * (`false`), as a daemon going away would.
 */
const proxy = (path: string, inspect: (chunk: Buffer, first: boolean) => boolean) =>
  Effect.acquireRelease(
    Effect.callback<{ readonly gone: () => boolean; readonly close: () => void }>((resume) => {
      const sockets = new Set<net.Socket>()
      let gone = false
      const server = net.createServer((client) => {
        const daemon = net.connect(incusSocket)
        sockets.add(client).add(daemon)
        let first = true
        const drop = () => {
          client.destroy()
          daemon.destroy()
        }
        client.on("error", drop).on("close", drop)
        daemon.on("error", drop).on("close", drop)
        client.on("data", (chunk: Buffer) => {
          if (gone) return drop()
          if (!inspect(chunk, first)) return close()
          first = false
          daemon.write(chunk)
        })
        daemon.on("data", (chunk) => client.write(chunk))
      })
      const close = () => {
        gone = true
        server.close()
        for (const s of sockets) s.destroy()
      }
      server.listen(path, () => resume(Effect.succeed({ gone: () => gone, close })))
    }),
    (p) => Effect.sync(p.close)
  )

/**
 * A unix-socket proxy to incusd that stands in for the daemon going away: when
 * a request matches `vanishWhen` (its first chunk, as text), it closes its
 * socket and every connection, without answering. Closed at the end of the
 * scope if it has not vanished by then.
 */
export const vanishingProxy = (path: string, vanishWhen: (request: string) => boolean) =>
  Effect.map(
    proxy(path, (chunk) => !vanishWhen(chunk.toString("latin1"))),
    (p) => ({ path, vanished: p.gone, close: p.close })
  )

/**
 * A unix-socket proxy to incusd that records the request line of every
 * connection (the client opens one per request, websockets included), as
 * `METHOD /path` without the query. Closed at the end of the scope.
 */
export const countingProxy = (path: string) => {
  const requests: Array<string> = []
  return Effect.map(
    proxy(path, (chunk, first) => {
      if (first) {
        const [method = "", target = ""] = chunk.toString("latin1").split("\r\n")[0]?.split(" ") ?? []
        requests.push(`${method} ${target.split("?")[0] ?? ""}`)
      }
      return true
    }),
    () => ({ path, requests: () => requests.slice() })
  )
}
