/**
 * `repoman list [--json]`: the managed projects, from the registry.
 *
 * @since 0.1.0
 */
import { ConfigPaths, expandHome } from "@repoman/core/ConfigPaths"
import type { Project } from "@repoman/core/Project"
import { Registry } from "@repoman/core/Registry"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { table } from "../render/table.ts"

const jsonFlag = Flag.Boolean("json").pipe(
  Flag.withDescription("Print the projects as a JSON array"),
  Flag.withDefault(false)
)

const row = (p: Project, repoPath: string) => ({
  name: p.name,
  repoPath,
  image: p.image,
  profiles: p.profiles,
  created: p.created,
  lastSync: p.lastSync ?? null,
  backup: p.backup
})

/** @since 0.1.0 */
export const list = Command.make("list", { json: jsonFlag }).pipe(
  Command.withDescription("List the managed projects"),
  Command.withHandler(Effect.fnUntraced(function*({ json: asJson }) {
    const registry = yield* Registry
    const { home } = yield* ConfigPaths
    const loaded = yield* registry.load.pipe(
      Effect.map((d) => ({ document: d })),
      Effect.catchReason("RegistryError", "NotInitialized", (r) => Effect.succeed({ missing: r.path }))
    )
    if ("missing" in loaded) {
      if (asJson) return yield* Console.log("[]")
      return yield* Console.error(`No projects yet: there is no registry at ${loaded.missing}. Run 'repoman setup'.`)
    }
    const { document } = loaded
    const { orphans } = yield* registry.overrides
    for (const o of orphans) {
      yield* Console.error(`warning: ${o.path} overrides project ${o.name}, which is not registered`)
    }
    const reposRoot = expandHome(document.defaults.reposRoot, home)
    const rows = document.projects.map((p) => row(p, `${reposRoot}/${p.repo}`))
    if (asJson) return yield* Console.log(JSON.stringify(rows, null, 2))
    if (rows.length === 0) return yield* Console.log("No projects. Create one with 'repoman new NAME'.")
    yield* Console.log(table(
      ["NAME", "REPO", "IMAGE", "CREATED", "LAST SYNC", "BACKUP"],
      rows.map((r) => [r.name, r.repoPath, r.image, r.created, r.lastSync ?? "never", r.backup ? "yes" : "no"])
    ))
  }))
)
