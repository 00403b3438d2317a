/**
 * Checkpoints of a project whose repo lives in a storage volume of a remote
 * engine: snapshots of that volume, taken by the engine (nothing of the
 * tree comes to the host). A session takes `session-<time>-<rand>` before
 * it starts (as the host checkpoints do), `push` takes `push-...`, and
 * `undo` takes `undo-...` of the state it leaves, so an undo can be undone.
 *
 * @since 0.1.0
 * @module
 */
import { CheckpointError, Failed, NotFound } from "@repoman/core/Checkpoints"
import { ContainerRuntime, type VolumeSnapshot } from "@repoman/core/ContainerRuntime"
import type { ProjectName } from "@repoman/core/Ids"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import { requireOwnInstance } from "./Owners.ts"

/**
 * Why a snapshot was taken.
 *
 * @since 0.1.0
 * @category models
 */
export type SnapshotKind = "session" | "push" | "undo"

/**
 * A snapshot name part for a time: `20260501T101502Z` (UTC, to the second).
 *
 * @since 0.1.0
 * @category utils
 */
export const snapshotStamp = (millis: number): string =>
  new Date(millis).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}Z$/, "Z")

const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"

/**
 * The kind a snapshot name says (`session-...`), or `other` (made by hand
 * or by the volume's schedule).
 *
 * @since 0.1.0
 * @category utils
 */
export const kindOf = (snapshot: string): SnapshotKind | "other" => {
  const kind = snapshot.split("-")[0]
  return kind === "session" || kind === "push" || kind === "undo" ? kind : "other"
}

const asCheckpointError = (e: { readonly message: string }) =>
  new CheckpointError({ reason: new Failed({ detail: e.message }), cause: e })

/**
 * Takes a snapshot of the project's repo volume, named for `kind` and the
 * time.
 *
 * @since 0.1.0
 * @category programs
 */
export const takeVolumeCheckpoint = Effect.fn("takeVolumeCheckpoint")(function*(
  name: ProjectName,
  kind: SnapshotKind
) {
  const runtime = yield* ContainerRuntime
  const now = yield* Clock.currentTimeMillis
  let suffix = ""
  for (let i = 0; i < 4; i++) suffix += ALPHABET[yield* Random.nextIntBetween(0, ALPHABET.length, { halfOpen: true })]
  return yield* runtime.snapshotRepoVolume(name, `${kind}-${snapshotStamp(now)}-${suffix}`).pipe(
    Effect.mapError(asCheckpointError)
  )
})

/**
 * The snapshots of the project's repo volume, oldest first.
 *
 * @since 0.1.0
 * @category programs
 */
export const listVolumeCheckpoints = Effect.fn("listVolumeCheckpoints")(function*(name: ProjectName) {
  const runtime = yield* ContainerRuntime
  return yield* runtime.listRepoVolumeSnapshots(name)
})

/**
 * Puts the project's repo volume back as snapshot `snapshot` was (default:
 * the newest taken before a session), after taking an `undo-...` snapshot
 * of the state it leaves. The engine stops a running container for the
 * restore and starts it again.
 *
 * @since 0.1.0
 * @category programs
 */
export const undoVolume = Effect.fn("undoVolume")(function*(name: ProjectName, snapshot?: string) {
  const runtime = yield* ContainerRuntime
  yield* requireOwnInstance(yield* runtime.get(name))
  const all: ReadonlyArray<VolumeSnapshot> = yield* runtime.listRepoVolumeSnapshots(name)
  const target = snapshot ?? all.filter((s) => kindOf(s.name) === "session").at(-1)?.name
  if (target === undefined || !all.some((s) => s.name === target)) {
    return yield* new CheckpointError({
      reason: new NotFound({ project: name, ...(target === undefined ? {} : { id: target }) })
    })
  }
  const before = yield* takeVolumeCheckpoint(name, "undo")
  yield* runtime.restoreRepoVolume(name, target)
  return { target, before: before.name }
})
