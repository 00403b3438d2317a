/**
 * What the Incus integration tests share: host directories that are removed
 * after the file's tests, the host user as `repoman setup` maps it, and a
 * runtime in a throwaway Incus project, made restricted the way repoman makes
 * its own and force-deleted afterwards.
 */
import { afterAll } from "@effect/vitest"
import { ContainerRuntime, NamespaceSpec } from "@repoman/core/ContainerRuntime"
import type { IdMapping } from "@repoman/core/IdMapping"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as IncusClient from "../src/IncusClient.ts"
import * as IncusContainerRuntime from "../src/IncusContainerRuntime.ts"

/** A fresh host directory `<prefix>-<label>-*` (real path), removed after the file's tests. */
export const hostDir = (prefix: string, label: string): string => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-${label}-`)))
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** The host user, as `repoman setup` maps it (the test user's ids are delegated to incusd). */
export const hostUser: Extract<IdMapping, { readonly _tag: "HostUser" }> = {
  _tag: "HostUser",
  uid: process.getuid?.() ?? 1000,
  gid: process.getgid?.() ?? 1000
}

/** Options of {@link throwawayProject}. */
export interface ThrowawayOptions {
  /** The project name's prefix (`<prefix>-<label>-<random>`). */
  readonly prefix: string
  /** The one host directory the project allows disks from. */
  readonly allowedRoot: string
  /** The pool of the root disk. */
  readonly pool: string
  /** The daemon's socket (default: as the `incus` client finds it). */
  readonly socketPath?: string
  readonly description?: string
}

/**
 * The runtime for a fresh project: made through `ensureNamespace` (disks
 * only from `allowedRoot`, idmaps only for the host user) when the layer is
 * built, force-deleted when it is released.
 */
export const throwawayProject = (label: string, options: ThrowawayOptions) => {
  const project = `${options.prefix}-${label}-${randomBytes(3).toString("hex")}`
  const lifecycle = Layer.effectDiscard(Effect.gen(function*() {
    const runtime = yield* ContainerRuntime
    const client = yield* IncusClient.IncusClient
    yield* Effect.acquireRelease(
      runtime.ensureNamespace(
        new NamespaceSpec({
          name: project,
          description: options.description ?? "repoman integration test (safe to delete)",
          allowedPaths: [options.allowedRoot],
          idMapping: hostUser,
          rootDiskPool: options.pool
        })
      ),
      () => Effect.ignore(client.deleteProject(project, { force: true }))
    )
  }))
  const { socketPath } = options
  return {
    project,
    layer: lifecycle.pipe(
      Layer.provideMerge(IncusContainerRuntime.layer({ project })),
      Layer.provideMerge(IncusClient.layer(socketPath === undefined ? {} : { socketPath }))
    )
  }
}
