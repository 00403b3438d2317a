/**
 * The memory stack: every service `RepomanLive` provides that touches the
 * outside world, replaced by the in-memory layers repoman ships
 * (`RegistryMemory`, `ContainerRuntimeMemory`, `BackupTargetMemory`,
 * `ProfileStoreMemory`, `HostInfo.layerTest`, fixed `ConfigPaths`). Copy it
 * into your own tests.
 *
 * The file system stays real (Node's, and `NodeHostFiles`): `newProject`
 * checks that the repo directory exists and seals its git metadata into the
 * state dir, so tests point the repos root (and the state dir, which
 * defaults to `<repos root>/.repoman-state`) at a temporary directory.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as BackupTargetMemory from "@repoman/core/BackupTargetMemory"
import { ConfigPaths } from "@repoman/core/ConfigPaths"
import * as ContainerRuntimeMemory from "@repoman/core/ContainerRuntimeMemory"
import * as HostInfo from "@repoman/core/HostInfo"
import * as ProfileStoreMemory from "@repoman/core/ProfileStoreMemory"
import { RegistryDocument } from "@repoman/core/RegistryDocument"
import * as RegistryMemory from "@repoman/core/RegistryMemory"
import * as NodeHostFiles from "@repoman/node/NodeHostFiles"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"

/** Options of {@link layer}. */
export interface MemoryStackOptions {
  /** The repos root (`[defaults].repos_root`). */
  readonly reposRoot: string
  /** The source trees the memory backup target can mirror, by absolute path. */
  readonly sources?: Iterable<readonly [string, BackupTargetMemory.FileTree]>
  /** Where repoman keeps its state (sealed gitdirs, logs). Default `<repos root>/.repoman-state`. */
  readonly stateDir?: string
}

/** A registry after `repoman setup`, with the given repos root and no projects. */
export const documentWith = (reposRoot: string): RegistryDocument =>
  Schema.decodeUnknownSync(RegistryDocument)({ schema: 3, defaults: { repos_root: reposRoot, backup_root: "/backup" } })

/** The memory layers composed into one stack, with Node's platform services. */
export const layer = (options: MemoryStackOptions) =>
  Layer.mergeAll(
    RegistryMemory.layer({ document: documentWith(options.reposRoot) }),
    ContainerRuntimeMemory.layer(),
    BackupTargetMemory.layer(options.sources === undefined ? {} : { sources: options.sources }),
    ProfileStoreMemory.layer(),
    // The user's uid is this process's: `sync` checks the repo's files are the user's.
    HostInfo.layerTest({ user: "ada", home: "/home/ada", uid: process.getuid?.() ?? 1000 }),
    ConfigPaths.layerFrom({
      home: "/home/ada",
      configDir: "/home/ada/.config/repoman",
      stateDir: options.stateDir ?? `${options.reposRoot}/.repoman-state`
    }),
    NodeHostFiles.layer,
    NodeServices.layer
  )
