/**
 * `restore`: brings back a project's repo as a backup generation or a
 * checkpoint held it.
 *
 * - By default into a *new* directory beside the repo
 *   (`<repos_root>/<repo>-restored-<what>`), or the one given (`to`, which
 *   must not exist); the repo is not touched.
 * - Into the repo itself only when the caller confirmed it, and then after a
 *   checkpoint of the repo as it is (so the restore can be undone), with the
 *   container frozen meanwhile.
 * - `at` picks what to restore: a generation's or checkpoint's name, or a
 *   time (the newest one at or before it); default the newest.
 *
 * @since 0.1.0
 * @module
 */
import { type BackupError, BackupTarget, type Generation, MirrorSource } from "@repoman/core/BackupTarget"
import { type CheckpointId, type CheckpointInfo, Checkpoints, type UndoResult } from "@repoman/core/Checkpoints"
import { ConfigPaths, expandHome } from "@repoman/core/ConfigPaths"
import { type ProjectName, ProjectName as ProjectNameSchema } from "@repoman/core/Ids"
import { storageOf } from "@repoman/core/Project"
import { Registry } from "@repoman/core/Registry"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import * as Path from "effect/Path"
import * as Schema from "effect/Schema"
import { whileFrozen } from "./ProjectCheckpoints.ts"
import { restoreVolumeBackup, volumeSource } from "./VolumeBackups.ts"

/**
 * Nothing matches `at`.
 *
 * @since 0.1.0
 * @category errors
 */
export class NothingAt extends Schema.TaggedClass<NothingAt>("@repoman/programs/RestoreProject/NothingAt")(
  "NothingAt",
  { project: Schema.String, from: Schema.Literals(["backup", "checkpoint"]), at: Schema.String }
) {
  /** One line for the user. */
  get message(): string {
    const what = this.from === "backup" ? "backup generation" : "checkpoint"
    return this.at === ""
      ? `${this.project} has no ${what} to restore`
      : `${this.project} has no ${what} named ${
        JSON.stringify(this.at)
      } or taken at or before it; 'repoman restore ${this.project} --from ${this.from} --list' lists them`
  }
}

/**
 * A restore into the repo was not confirmed.
 *
 * @since 0.1.0
 * @category errors
 */
export class NotConfirmed extends Schema.TaggedClass<NotConfirmed>("@repoman/programs/RestoreProject/NotConfirmed")(
  "NotConfirmed",
  { repo: Schema.String }
) {
  /** One line for the user. */
  get message(): string {
    return `restoring into the repo ${this.repo} overwrites it (after a checkpoint): confirm with --yes`
  }
}

/**
 * The directory asked for is inside the repo, or exists already.
 *
 * @since 0.1.0
 * @category errors
 */
export class BadTarget extends Schema.TaggedClass<BadTarget>("@repoman/programs/RestoreProject/BadTarget")(
  "BadTarget",
  { path: Schema.String, detail: Schema.String }
) {
  /** One line for the user. */
  get message(): string {
    return `cannot restore into ${this.path}: ${this.detail}`
  }
}

/**
 * The one error of {@link restoreProject} of its own (the services' errors
 * pass through).
 *
 * @since 0.1.0
 * @category errors
 */
export class RestoreError extends Schema.TaggedError<RestoreError>("@repoman/programs/RestoreProject/RestoreError")(
  "RestoreError",
  { reason: Schema.Union([NothingAt, NotConfirmed, BadTarget]) }
) {
  /** The reason's one-line message. */
  override get message(): string {
    return this.reason.message
  }
  /** The user's input was at fault: the CLI exits 2. */
  get usage(): boolean {
    return true
  }
}

/**
 * Where to restore from.
 *
 * @since 0.1.0
 * @category models
 */
export type RestoreFrom = "backup" | "checkpoint"

/**
 * What to restore and where.
 *
 * @since 0.1.0
 * @category models
 */
export interface RestoreInput {
  readonly from: RestoreFrom
  /** A generation's or checkpoint's name, or a time; default the newest. */
  readonly at?: string | undefined
  /** An absolute directory; default a new one beside the repo. The repo itself needs `confirmed`. */
  readonly to?: string | undefined
  /** The user agreed to overwrite the repo. */
  readonly confirmed: boolean
}

/**
 * What a restore did.
 *
 * @since 0.1.0
 * @category models
 */
export interface RestoreOutcome {
  readonly from: RestoreFrom
  /** The generation or checkpoint restored. */
  readonly source: string
  readonly to: string
  readonly intoRepo: boolean
  /** Into the repo: the checkpoint taken of it before (undo it to undo the restore). */
  readonly before?: CheckpointInfo
  /** Into the repo: what was done to the container meanwhile. */
  readonly container?: string
  readonly written: number
  readonly removed: number
}

const fail = (reason: NothingAt | NotConfirmed | BadTarget) => Effect.fail(new RestoreError({ reason }))

/** The newest of `items` named `at`, or created at or before the time `at`; the newest without `at`. */
const pick = <A>(
  items: ReadonlyArray<A>,
  at: string | undefined,
  name: (a: A) => string,
  created: (a: A) => string
): A | undefined => {
  if (at === undefined || at === "") return items.at(-1)
  const exact = items.find((i) => name(i) === at)
  if (exact !== undefined) return exact
  const time = Date.parse(at)
  if (Number.isNaN(time)) return undefined
  return items.filter((i) => Date.parse(created(i)) <= time).at(-1)
}

const stamp = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}Z$/, "Z")

/**
 * What can be restored: the generations of the project's backup, or its
 * checkpoints, oldest first.
 *
 * @since 0.1.0
 * @category programs
 */
export const restorable = Effect.fn("restorable")(function*(name: ProjectName, from: RestoreFrom) {
  const registry = yield* Registry
  const { home } = yield* ConfigPaths
  const document = yield* registry.load
  const project = yield* registry.getProject(name)
  const repo = `${expandHome(document.defaults.reposRoot, home)}/${project.repo}`
  if (storageOf(project) === "volume" && from === "backup") {
    const generations = yield* (yield* BackupTarget).listGenerations(yield* volumeSource(project))
    return generations.map((g) => ({ name: g.name, created: g.created as string, detail: `${g.kind}, volume archive` }))
  }
  if (from === "checkpoint") {
    const checkpoints = yield* (yield* Checkpoints).list(name)
    return checkpoints.map((c) => ({ name: c.id as string, created: c.created as string, detail: c.label }))
  }
  const generations: ReadonlyArray<Generation> = yield* (yield* BackupTarget).listGenerations(
    new MirrorSource({ project: name, path: repo })
  )
  return generations.map((g) => ({
    name: g.name,
    created: g.created as string,
    detail: `${g.kind}${g.latest ? ", latest" : ""}${g.files === undefined ? "" : `, ${g.files} files`}`
  }))
})

/**
 * Restores (see the module doc).
 *
 * @since 0.1.0
 * @category programs
 */
export const restoreProject = Effect.fn("restoreProject")(function*(name: ProjectName, input: RestoreInput) {
  const registry = yield* Registry
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const { home } = yield* ConfigPaths
  const document = yield* registry.load
  const project = yield* registry.getProject(name)
  const reposRoot = expandHome(document.defaults.reposRoot, home)
  const repo = `${reposRoot}/${project.repo}`
  const root = { project: name, path: repo }
  const real = (p: string) => fs.realPath(p).pipe(Effect.orElseSucceed(() => path.resolve(p)))

  // What: the generation or checkpoint.
  const source = new MirrorSource({ project: name, path: repo })
  const target = yield* BackupTarget
  const checkpoints = yield* Checkpoints
  let chosen: string
  let checkpoint: CheckpointId | undefined
  if (input.from === "checkpoint") {
    const all = yield* checkpoints.list(name)
    const found = pick(all, input.at, (c) => c.id, (c) => c.created)
    if (found === undefined) {
      return yield* fail(new NothingAt({ project: name, from: "checkpoint", at: input.at ?? "" }))
    }
    chosen = found.id
    checkpoint = found.id
  } else {
    const all: ReadonlyArray<Generation> = yield* target.listGenerations(source)
    const found = pick(all, input.at, (g) => g.name, (g) => g.created)
    if (found === undefined) return yield* fail(new NothingAt({ project: name, from: "backup", at: input.at ?? "" }))
    chosen = found.name
  }

  // Where: a new directory, or the repo.
  const to = input.to === undefined
    ? `${reposRoot}/${project.repo}-restored-${chosen.replace(/[^\w.-]/g, "_")}`
    : path.resolve(input.to)
  const realRepo = yield* real(repo)
  const realTo = yield* real(to)
  const intoRepo = realTo === realRepo
  if (!intoRepo && (realTo.startsWith(`${realRepo}/`) || realRepo.startsWith(`${realTo}/`))) {
    return yield* fail(new BadTarget({ path: to, detail: "it is inside the repo, or holds it" }))
  }
  if (!intoRepo) {
    if (yield* fs.exists(to).pipe(Effect.orElseSucceed(() => true))) {
      return yield* fail(new BadTarget({ path: to, detail: "it exists already: a restore goes into a new directory" }))
    }
    if (checkpoint !== undefined) {
      const applied = yield* checkpoints.restore(name, checkpoint, to)
      return {
        from: input.from,
        source: chosen,
        to,
        intoRepo,
        written: applied.written,
        removed: applied.removed
      } satisfies RestoreOutcome
    }
    const stats = yield* target.restoreGeneration(source, chosen, to)
    return {
      from: input.from,
      source: chosen,
      to,
      intoRepo,
      written: stats.filesTransferred,
      removed: 0
    } satisfies RestoreOutcome
  }

  if (!input.confirmed) return yield* fail(new NotConfirmed({ repo }))
  // Into the repo: the checkpoint store puts the tree in place (taking one of the repo first).
  const applied = (
    { quiesced, value }: {
      readonly quiesced: { readonly container: string }
      readonly value: UndoResult
    }
  ): RestoreOutcome => ({
    from: input.from,
    source: chosen,
    to: repo,
    intoRepo,
    before: value.before,
    container: quiesced.container,
    written: value.applied.written,
    removed: value.applied.removed
  })
  if (checkpoint !== undefined) return applied(yield* whileFrozen(name, checkpoints.undo(root, checkpoint)))
  // A backup generation: written out beside the repo first, then put in place through the checkpoint store.
  const staging = `${reposRoot}/.repoman/restore-${name}-${stamp(yield* Clock.currentTimeMillis)}`
  yield* fs.makeDirectory(path.dirname(staging), { recursive: true, mode: 0o700 })
  return yield* Effect.gen(function*() {
    yield* target.restoreGeneration(source, chosen, staging) satisfies Effect.Effect<unknown, BackupError>
    return applied(
      yield* whileFrozen(name, checkpoints.applyTree(root, staging, "restore", `before restore of backup ${chosen}`))
    )
  }).pipe(Effect.ensuring(Effect.ignore(fs.remove(staging, { recursive: true }))))
})

/**
 * Restores a backup generation of a project whose repo is a volume of a
 * remote engine (see `VolumeBackups`): its archive becomes the repo volume
 * of project `as` (default `<name>-restored`), which must be neither
 * registered nor have a volume; `repoman new AS` then takes it up. The
 * project's own volume is never touched.
 *
 * @since 0.1.0
 * @category programs
 */
export const restoreVolumeProject = Effect.fn("restoreVolumeProject")(function*(
  name: ProjectName,
  input: { readonly at?: string | undefined; readonly as?: string | undefined }
) {
  const registry = yield* Registry
  const document = yield* registry.load
  const project = yield* registry.getProject(name)
  const asText = input.as ?? `${name}-restored`
  const as = Schema.decodeUnknownOption(ProjectNameSchema)(asText)
  if (Option.isNone(as)) {
    return yield* fail(new BadTarget({ path: asText, detail: "not a valid project name for the restored volume" }))
  }
  if (document.projects.some((p) => p.name === as.value)) {
    return yield* fail(new BadTarget({ path: as.value, detail: "a project of that name exists" }))
  }
  const all = yield* (yield* BackupTarget).listGenerations(yield* volumeSource(project))
  const found = pick(all, input.at, (g) => g.name, (g) => g.created)
  if (found === undefined) return yield* fail(new NothingAt({ project: name, from: "backup", at: input.at ?? "" }))
  const volume = yield* restoreVolumeBackup(project, found.name, as.value)
  return { source: found.name, as: as.value, volume }
})
