/**
 * What the benchmarks share: the bundle check, the median, the throwaway
 * command runner, and the clean-up that also runs after a failure or a signal.
 */
import { spawnSync } from "node:child_process"
import { existsSync, readdirSync, rmSync, statSync } from "node:fs"
import { join } from "node:path"
import { setImmediate as tick } from "node:timers/promises"

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
  const run = (cmd: string, args: ReadonlyArray<string>, cwd?: string): string => {
    const r = spawnSync(cmd, args, { env, cwd, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" })
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

/**
 * Clean-up for a benchmark that makes things (Incus projects, temp dirs):
 * `onCleanUp` registers an undo step, `run(main)` runs the benchmark and then
 * every step, newest first, also after a failure or SIGINT/SIGTERM/SIGHUP
 * (exit code 1, or 130 for a signal). The commands are synchronous, so
 * `checkpoint` between them lets a pending signal stop the run. `dir` (the
 * benchmark's temp dir) goes last.
 */
export const guarded = (dir: string) => {
  const cleanups: Array<() => void> = [() => rmSync(dir, { recursive: true, force: true })]
  let signal: NodeJS.Signals | undefined
  for (const s of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(s, () => (signal = s))
  const cleanUp = () => {
    for (let c = cleanups.pop(); c !== undefined; c = cleanups.pop()) {
      try {
        c()
      } catch (e) {
        console.error(`clean-up: ${e instanceof Error ? e.message : String(e)}`)
      }
    }
  }
  return {
    onCleanUp: (step: () => void): void => {
      cleanups.push(step)
    },
    checkpoint: async (): Promise<void> => {
      await tick()
      if (signal !== undefined) throw new Error(`stopped by ${signal}`)
    },
    run: async (main: () => Promise<void>): Promise<void> => {
      try {
        await main()
      } catch (e) {
        console.error(e instanceof Error ? e.message : String(e))
        process.exitCode = signal === undefined ? 1 : 130
      } finally {
        cleanUp()
      }
    }
  }
}

/** One command a benchmark times: `check` sees its stdout, so an error path cannot pass as a fast answer. */
export interface TimedCommand {
  readonly name: string
  readonly cmd: string
  readonly args: ReadonlyArray<string>
  readonly cwd?: string
  readonly check?: (stdout: string) => void
}

/**
 * Runs every command `warmup + runs` times, interleaved (the order rotates
 * each round so no command always follows another), and prints a table of
 * medians, ranges and ratios to the first command (the baseline). Returns
 * the medians by name. `run` runs one command to completion (it throws on a
 * non-zero exit); `checkpoint` lets a pending signal stop the benchmark.
 */
export const interleaved = async (options: {
  readonly commands: ReadonlyArray<TimedCommand>
  readonly runs: number
  readonly warmup: number
  readonly run: (cmd: string, args: ReadonlyArray<string>, cwd?: string) => string
  readonly checkpoint: () => Promise<void>
}): Promise<ReadonlyMap<string, number>> => {
  const results = options.commands.map((command) => ({ command, samples: [] as Array<number> }))
  for (let i = 0; i < options.warmup + options.runs; i++) {
    for (let k = 0; k < results.length; k++) {
      const r = results[(i + k) % results.length]
      if (r === undefined) continue
      await options.checkpoint()
      const start = process.hrtime.bigint()
      const stdout = options.run(r.command.cmd, r.command.args, r.command.cwd)
      const ms = Number(process.hrtime.bigint() - start) / 1e6
      r.command.check?.(stdout)
      if (i >= options.warmup) r.samples.push(ms)
      process.stderr.write(
        `${i < options.warmup ? "warm-up" : `run ${i - options.warmup + 1}`}: ${r.command.name} ${ms.toFixed(0)} ms\n`
      )
    }
  }
  const base = median(results[0]?.samples ?? [])
  const rows = results.map(({ command, samples }) => {
    const m = median(samples)
    return [
      command.name,
      m.toFixed(1),
      `${Math.min(...samples).toFixed(1)}–${Math.max(...samples).toFixed(1)}`,
      `${(m / base).toFixed(2)}×`
    ]
  })
  const header = ["command", "median ms", "min–max ms", "vs baseline"]
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)))
  for (const r of [header, ...rows]) console.log(r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join("  ").trimEnd())
  return new Map(results.map(({ command, samples }) => [command.name, median(samples)]))
}
