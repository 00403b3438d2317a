/**
 * Runs `repoman` in-process with real argv against the memory registry and
 * fixed config paths, capturing what it prints.
 *
 * The platform services `Command.runWith` needs are inert fakes (a no-op
 * file system; a terminal and a process spawner that die when used), so a
 * test cannot silently depend on the host. A run with a real home gets the
 * real file system and real processes (`new` runs git to seal the repo).
 */
import * as NodeChildProcessSpawner from "@effect/platform-node/NodeChildProcessSpawner"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import type { BackupTarget } from "@repoman/core/BackupTarget"
import { layer as backupMemory } from "@repoman/core/BackupTargetMemory"
import type { Checkpoints } from "@repoman/core/Checkpoints"
import * as CheckpointsMemory from "@repoman/core/CheckpointsMemory"
import { ConfigPaths } from "@repoman/core/ConfigPaths"
import type { ContainerRuntime } from "@repoman/core/ContainerRuntime"
import { layer as runtimeMemory } from "@repoman/core/ContainerRuntimeMemory"
import * as HostInfo from "@repoman/core/HostInfo"
import type { ProfileStore } from "@repoman/core/ProfileStore"
import type { Registry } from "@repoman/core/Registry"
import { ProjectOverride, RegistryDocument } from "@repoman/core/RegistryDocument"
import * as RegistryMemory from "@repoman/core/RegistryMemory"
import * as NodeHostFiles from "@repoman/node/NodeHostFiles"
import * as ProfileLibrary from "@repoman/profiles/ProfileLibrary"
import type * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Path from "effect/Path"
import * as ChildProcessSpawner from "effect/process/ChildProcessSpawner"
import * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import * as Stdio from "effect/Stdio"
import * as Terminal from "effect/Terminal"
import * as TestConsole from "effect/testing/TestConsole"
import { run } from "../src/Cli.ts"

/** The home directory every in-process run sees. */
export const home = "/home/ada"

const unused = Effect.die("unused")

/** Terminal input that types `keys` (key names: "y", "enter", ...), then ends. */
const typed = (keys: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const queue = yield* Queue.unbounded<Terminal.UserInput, Cause.Done>()
    Queue.offerAllUnsafe(
      queue,
      keys.map((name) => ({
        input: name.length === 1 ? Option.some(name) : Option.none(),
        key: { name, ctrl: false, meta: false, shift: false }
      }))
    )
    return queue
  })

/**
 * The services `Command.runWith` requires, none of them reaching the host;
 * `realFiles` swaps in the real file system (for commands that check repos).
 */
export const platformTest = (realFiles: boolean, keys?: ReadonlyArray<string>) =>
  Layer.mergeAll(
    realFiles ? NodeFileSystem.layer : FileSystem.layerNoop({}),
    Path.layer,
    Stdio.layerTest(keys === undefined ? {} : { stdinIsTerminal: Effect.succeed(true) }),
    Layer.succeed(
      Terminal.Terminal,
      Terminal.make({
        columns: Effect.succeed(100),
        rows: Effect.succeed(40),
        size: unused,
        readInput: keys === undefined ? unused : typed(keys),
        readLine: unused,
        display: () => Effect.void
      })
    ),
    realFiles
      ? NodeChildProcessSpawner.layer.pipe(Layer.provide(Layer.mergeAll(NodeFileSystem.layer, NodePath.layer)))
      : Layer.succeed(ChildProcessSpawner.ChildProcessSpawner, ChildProcessSpawner.make(() => unused))
  )

/** What one run printed and how it ended: `code` 0 on success, else the ExitCode. */
export interface Outcome {
  readonly code: number
  readonly stdout: ReadonlyArray<string>
  readonly stderr: ReadonlyArray<string>
}

const lines = (entries: ReadonlyArray<unknown>): ReadonlyArray<string> => entries.flatMap((e) => String(e).split("\n"))

/**
 * Runs `repoman <argv>` with a fresh console. `registry` replaces the memory
 * registry (for failure tests); otherwise `memory` configures it.
 */
export const runCli = (
  argv: ReadonlyArray<string>,
  options: {
    readonly memory?: RegistryMemory.MemoryOptions
    readonly registry?: Layer.Layer<Registry>
    readonly runtime?: Layer.Layer<ContainerRuntime>
    /** The profile library (default: an empty one). */
    readonly profiles?: Layer.Layer<ProfileStore>
    /** The backup target (default: an empty memory target). */
    readonly backup?: Layer.Layer<BackupTarget>
    /** The checkpoint store (default: an empty memory store). */
    readonly checkpoints?: Layer.Layer<Checkpoints>
    readonly host?: Partial<HostInfo.HostInfoValues>
    /** Use the real file system, with this directory as home. */
    readonly home?: string
    /** Run as at a terminal that types these keys (see `platformTest`). */
    readonly keys?: ReadonlyArray<string>
  } = {}
): Effect.Effect<Outcome> =>
  Effect.gen(function*() {
    const code = yield* run(argv).pipe(Effect.match({ onSuccess: () => 0, onFailure: (e) => e.code }))
    return {
      code,
      stdout: lines(yield* TestConsole.logLines),
      stderr: lines(yield* TestConsole.errorLines)
    }
  }).pipe(
    Effect.provide(
      Layer.mergeAll(
        TestConsole.layer,
        options.registry ?? RegistryMemory.layer(options.memory),
        options.runtime ?? runtimeMemory({ namespace: "repoman" }),
        options.profiles ?? ProfileLibrary.layerMemory({}),
        options.backup ?? backupMemory({}),
        options.checkpoints ?? CheckpointsMemory.layer(CheckpointsMemory.makeState(), { anyRoot: true }),
        HostInfo.layerTest({ home: options.home ?? home, ...options.host }),
        ConfigPaths.layerFrom({ home: options.home ?? home, configDir: `${options.home ?? home}/.config/repoman` }),
        platformTest(options.home !== undefined, options.keys),
        NodeHostFiles.layer
      ),
      { local: true }
    ) // a fresh console, not the one it.effect installed
  )

/** Decodes a registry document from its file shape (snake_case keys, `[[project]]`). */
export const documentFrom = Schema.decodeUnknownSync(RegistryDocument)

/** Decodes an override file's content (`[container]`, `[[mount]]`, `[env]`). */
export const overrideFrom = Schema.decodeUnknownSync(ProjectOverride)
