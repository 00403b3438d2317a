/**
 * The repo volume part of the Incus runtime (custom storage volumes of the
 * project): not implemented yet, every call fails.
 */
import { type ContainerRuntime, OperationFailed } from "@repoman/core/ContainerRuntime"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { type RuntimeContext, runtimeError } from "./context.ts"

type Shape = ContainerRuntime["Service"]

const notYet = (name: string, operation: string) =>
  runtimeError(new OperationFailed({ kind: "volume", name, operation, detail: "repo volumes are not implemented yet" }))

export const make = (_ctx: RuntimeContext): Pick<
  Shape,
  | "getRepoVolume"
  | "listRepoVolumes"
  | "deleteRepoVolume"
  | "setRepoVolumeSnapshots"
  | "snapshotRepoVolume"
  | "listRepoVolumeSnapshots"
  | "restoreRepoVolume"
  | "deleteRepoVolumeSnapshot"
  | "exportRepoVolume"
  | "importRepoVolume"
  | "writeFile"
  | "listDirectory"
> => ({
  getRepoVolume: (name) => Effect.fail(notYet(name, "get")),
  listRepoVolumes: () => Effect.fail(notYet("*", "list")),
  deleteRepoVolume: (name) => Effect.fail(notYet(name, "delete")),
  setRepoVolumeSnapshots: (name) => Effect.fail(notYet(name, "set snapshots")),
  snapshotRepoVolume: (name) => Effect.fail(notYet(name, "snapshot")),
  listRepoVolumeSnapshots: (name) => Effect.fail(notYet(name, "list snapshots")),
  restoreRepoVolume: (name) => Effect.fail(notYet(name, "restore")),
  deleteRepoVolumeSnapshot: (name) => Effect.fail(notYet(name, "delete snapshot")),
  exportRepoVolume: (name) => Stream.fail(notYet(name, "export")),
  importRepoVolume: (name) => Effect.fail(notYet(name, "import")),
  writeFile: (name) => Effect.fail(notYet(name, "write file")),
  listDirectory: (name) => Effect.fail(notYet(name, "list directory"))
})
