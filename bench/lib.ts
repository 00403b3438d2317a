/**
 * What the benchmarks share: the bundle check and the median.
 */
import { spawnSync } from "node:child_process"
import { existsSync, readdirSync, statSync } from "node:fs"
import { join } from "node:path"

/** Newest mtime of the .ts files under `dir` (the sources the bundle is built from). */
const newestSource = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce((newest, entry) => {
    const full = join(dir, entry.name)
    if (entry.isDirectory()) return entry.name === "node_modules" ? newest : Math.max(newest, newestSource(full))
    return entry.name.endsWith(".ts") ? Math.max(newest, statSync(full).mtimeMs) : newest
  }, 0)

/** Exits when the CLI bundle is missing; warns when it is older than the sources it is built from. */
export const requireBundle = (root: string, bundle: string): void => {
  if (!existsSync(bundle)) {
    console.error(`${bundle} is missing: run 'pnpm run build' first.`)
    process.exit(1)
  }
  const sources = readdirSync(join(root, "packages")).map((p) => join(root, "packages", p, "src")).filter(existsSync)
  if (Math.max(...sources.map(newestSource)) > statSync(bundle).mtimeMs) {
    console.warn("warning: the bundle is older than the sources; run 'pnpm run build' for current numbers.\n")
  }
}

/** The median of a non-empty sample. */
export const median = (xs: ReadonlyArray<number>): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] ?? Number.NaN : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}

/**
 * A throwaway repoman config in `dir` and the commands to run against it
 * (`entry`: the bundle, or `bin/repoman.js`, which loads it),
 * each to completion (argv lists, no shell): returns stdout, throws with
 * stderr on a non-zero exit. Every CLI run is a new process, as for a user
 * (NODE_COMPILE_CACHE is unset; `bin/repoman.js` enables its own cache).
 */
export const sandboxCommands = (dir: string, entry: string) => {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    REPOMAN_CONFIG_DIR: join(dir, "config"),
    XDG_STATE_HOME: join(dir, "state")
  }
  delete env["NODE_COMPILE_CACHE"]
  const run = (cmd: string, args: ReadonlyArray<string>): string => {
    const r = spawnSync(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" })
    if (r.error !== undefined) throw r.error
    if (r.status !== 0) throw new Error(`${[cmd, ...args].join(" ")}: exit ${r.status}\n${r.stdout}${r.stderr}`)
    return r.stdout
  }
  return {
    env,
    run,
    incus: (...args: ReadonlyArray<string>) => run("incus", args),
    repoman: (...args: ReadonlyArray<string>) => run(process.execPath, [entry, ...args])
  }
}
