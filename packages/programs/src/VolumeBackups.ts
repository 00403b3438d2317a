/**
 * Backups of projects whose repo lives in a storage volume of a remote
 * engine. The engine exports the volume as an archive (Incus: a backup
 * tarball of the custom volume), streamed to this host into a staging
 * directory of its own, `<state dir>/volume-exports/<repo>/`; `sync`
 * mirrors that directory to the backup target like any repo, so the
 * target's generations, mount checks and deletion guard apply to it
 * unchanged, and the backup lands where a local repo's would
 * (`<backup_root>/<repo>`).
 *
 * Restoring imports such an archive as the repo volume of a project name
 * that has none (by default `<name>-restored`): `repoman new` of that name
 * then takes the volume up. The volume in use is never overwritten.
 *
 * The archive is bytes the host stores and hands back to the engine: it
 * is never unpacked, run or read on the host. Its size is capped.
 *
 * @since 0.1.0
 * @module
 */
import { BackupTarget, MirrorSource } from "@repoman/core/BackupTarget"
import { ConfigPaths } from "@repoman/core/ConfigPaths"
import { ContainerRuntime } from "@repoman/core/ContainerRuntime"
import type { ProjectName } from "@repoman/core/Ids"
import type { Project } from "@repoman/core/Project"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Stream from "effect/Stream"

/**
 * The largest archive taken from or given to the engine (64 GiB).
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_ARCHIVE_BYTES = 64 * 1024 * 1024 * 1024

/**
 * The archive's file name in a staging (and backup) directory.
 *
 * @since 0.1.0
 * @category constants
 */
export const ARCHIVE = "repo-volume.tar.gz"

/**
 * The staging directory of a volume project's exports.
 *
 * @since 0.1.0
 * @category utils
 */
export const exportDir = (stateDir: string, repo: string): string => `${stateDir}/volume-exports/${repo}`

/**
 * Exports the project's repo volume into its staging directory (written
 * to a temporary file, renamed into place when whole): the directory
 * `sync` mirrors.
 *
 * @since 0.1.0
 * @category programs
 */
export const stageVolumeExport = Effect.fn("stageVolumeExport")(function*(project: Project) {
  const runtime = yield* ContainerRuntime
  const fs = yield* FileSystem.FileSystem
  const { stateDir } = yield* ConfigPaths
  const dir = exportDir(stateDir, project.repo)
  yield* fs.makeDirectory(dir, { recursive: true, mode: 0o700 })
  const temp = `${dir}/.${ARCHIVE}.partial`
  yield* fs.remove(temp, { force: true })
  yield* runtime.exportRepoVolume(project.name, { maxBytes: MAX_ARCHIVE_BYTES }).pipe(
    Stream.run(fs.sink(temp, { flag: "wx", mode: 0o600 })),
    Effect.tapError(() => Effect.ignore(fs.remove(temp, { force: true })))
  )
  yield* fs.rename(temp, `${dir}/${ARCHIVE}`)
  return dir
})

/**
 * Makes the archive at `file` (from a backup generation) the repo volume
 * of project `name`, which must have none (`AlreadyExists` otherwise).
 *
 * @since 0.1.0
 * @category programs
 */
export const importVolumeArchive = Effect.fn("importVolumeArchive")(function*(name: ProjectName, file: string) {
  const runtime = yield* ContainerRuntime
  const fs = yield* FileSystem.FileSystem
  return yield* runtime.importRepoVolume(name, fs.stream(file), { maxBytes: MAX_ARCHIVE_BYTES })
})

/**
 * The backup of a volume project as the backup target knows it: the staging
 * directory is its source.
 *
 * @since 0.1.0
 * @category programs
 */
export const volumeSource = Effect.fn("volumeSource")(function*(project: Project) {
  const { stateDir } = yield* ConfigPaths
  return new MirrorSource({ project: project.name, path: exportDir(stateDir, project.repo) })
})

/**
 * Restores backup generation `generation` of volume project `project` as
 * the repo volume of project `as` (which must have none): the generation
 * comes back into a scratch directory of the state dir, its archive goes
 * to the engine, the scratch directory goes.
 *
 * @since 0.1.0
 * @category programs
 */
export const restoreVolumeBackup = Effect.fn("restoreVolumeBackup")(function*(
  project: Project,
  generation: string,
  as: ProjectName
) {
  const fs = yield* FileSystem.FileSystem
  const target = yield* BackupTarget
  const { stateDir } = yield* ConfigPaths
  const source = yield* volumeSource(project)
  const scratchRoot = `${stateDir}/volume-restores`
  yield* fs.makeDirectory(scratchRoot, { recursive: true, mode: 0o700 })
  const scratch = yield* fs.makeTempDirectory({ directory: scratchRoot, prefix: `${project.repo}-` })
  return yield* Effect.gen(function*() {
    const into = `${scratch}/generation`
    yield* target.restoreGeneration(source, generation, into)
    return yield* importVolumeArchive(as, `${into}/${ARCHIVE}`)
  }).pipe(Effect.ensuring(Effect.ignore(fs.remove(scratch, { recursive: true }))))
})
