/**
 * Helpers of the integration tests: run the real `repoman` entry point as a
 * child process (argv list, no shell) against the real incusd, in a
 * throwaway config dir, repos root and Incus project per test.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as IncusClient from "@repoman/incus/IncusClient"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as ChildProcess from "effect/process/ChildProcess"
import * as ChildProcessSpawner from "effect/process/ChildProcessSpawner"
import * as Stream from "effect/Stream"
import { randomBytes } from "node:crypto"
import { fileURLToPath } from "node:url"

const bin = fileURLToPath(new URL("../src/bin.ts", import.meta.url))

export const busybox = process.env["REPOMAN_CI_BUSYBOX_ALIAS"] ?? "repoman-busybox"
export const debian = process.env["REPOMAN_CI_DEBIAN_ALIAS"] ?? "repoman-debian"

export interface Outcome {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

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
  const env = { ...process.env, REPOMAN_CONFIG_DIR: `${dir}/config`, XDG_STATE_HOME: `${dir}/state` }
  const repoman = (args: ReadonlyArray<string>): Effect.Effect<Outcome> =>
    Effect.scoped(Effect.gen(function*() {
      const handle = yield* ChildProcess.make(process.execPath, [bin, ...args], { env, stdin: "ignore" })
      const [stdout, stderr, code] = yield* Effect.all([
        Stream.mkString(Stream.decodeText(handle.stdout)),
        Stream.mkString(Stream.decodeText(handle.stderr)),
        handle.exitCode
      ], { concurrency: "unbounded" })
      return { code: Number(code), stdout, stderr }
    })).pipe(Effect.provideService(ChildProcessSpawner.ChildProcessSpawner, spawner), Effect.orDie)
  const setup = repoman(["setup", "--non-interactive", "--incus-project", project, "--repos-root", reposRoot])
  return { dir, project, reposRoot, repoman, setup, client }
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
