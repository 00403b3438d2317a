/**
 * Bulk create: one repoman project for every directory under the repos root
 * that has no container (and no registry entry) yet, named after the
 * directory. With `dryRun` it only reports what it would create.
 *
 * It needs only service interfaces (`Registry`, `ContainerRuntime`,
 * `HostInfo`, `ConfigPaths`, `FileSystem`, `Path`): `main.ts` runs it on
 * `RepomanLive`, the test on the memory layers.
 */
import { ConfigPaths, expandHome } from "@repoman/core/ConfigPaths"
import { ContainerRuntime } from "@repoman/core/ContainerRuntime"
import { ProjectName } from "@repoman/core/Ids"
import { Registry } from "@repoman/core/Registry"
import { newProject } from "@repoman/programs/NewProject"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Path from "effect/Path"
import * as Schema from "effect/Schema"

/** Options of {@link bulkCreate}. */
export interface BulkCreateOptions {
  /** Report what would be created; create nothing. */
  readonly dryRun: boolean
}

/** What happened to one directory under the repos root. */
export type Outcome =
  | { readonly _tag: "Created"; readonly name: ProjectName }
  | { readonly _tag: "WouldCreate"; readonly name: ProjectName }
  | { readonly _tag: "Skipped"; readonly dir: string; readonly reason: string }
  | { readonly _tag: "Failed"; readonly name: ProjectName; readonly reason: string }

/** One report line for an outcome. */
export const outcomeLine = (outcome: Outcome): string => {
  switch (outcome._tag) {
    case "Created":
      return `created      ${outcome.name}`
    case "WouldCreate":
      return `would create ${outcome.name}`
    case "Skipped":
      return `skipped      ${outcome.dir}: ${outcome.reason}`
    case "Failed":
      return `FAILED       ${outcome.name}: ${outcome.reason}`
  }
}

const isProjectName = Schema.is(ProjectName)

/** Creates (or, with `dryRun`, plans) the missing projects, prints a line for each directory, and returns the outcomes. */
export const bulkCreate = Effect.fn("bulkCreate")(function*(options: BulkCreateOptions) {
  const registry = yield* Registry
  const runtime = yield* ContainerRuntime
  const { home } = yield* ConfigPaths
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path

  const document = yield* registry.load
  const reposRoot = expandHome(document.defaults.reposRoot, home)
  const registered = new Set<string>(document.projects.map((p) => p.name))
  const containers = new Set<string>((yield* runtime.list()).map((i) => i.name))
  const entries = [...yield* fs.readDirectory(reposRoot)].sort()

  const outcomes: Array<Outcome> = []
  for (const dir of entries) {
    if (dir.startsWith(".")) continue
    const info = yield* fs.stat(path.join(reposRoot, dir))
    if (info.type !== "Directory") continue
    const outcome: Outcome = !isProjectName(dir)
      ? { _tag: "Skipped", dir, reason: "not a valid project name" }
      : containers.has(dir)
      ? { _tag: "Skipped", dir, reason: "has a container" }
      : registered.has(dir)
      ? { _tag: "Skipped", dir, reason: "registered (container missing: see repoman status)" }
      : options.dryRun
      ? { _tag: "WouldCreate", name: dir }
      : yield* newProject({ name: dir }).pipe(
        Effect.map((): Outcome => ({ _tag: "Created", name: dir })),
        Effect.catch((e) => Effect.succeed<Outcome>({ _tag: "Failed", name: dir, reason: e.message }))
      )
    yield* Console.log(outcomeLine(outcome))
    outcomes.push(outcome)
  }
  const count = (tag: Outcome["_tag"]) => outcomes.filter((o) => o._tag === tag).length
  yield* Console.log(
    options.dryRun
      ? `${count("WouldCreate")} to create, ${count("Skipped")} skipped (dry run)`
      : `${count("Created")} created, ${count("Failed")} failed, ${count("Skipped")} skipped`
  )
  return outcomes
})
