/**
 * `repoman new` (the installed entry point, `bin/repoman.js`, which loads the
 * bundle with Node's compile cache, as a user's `repoman` does) against the seed tool's CLI sequence
 * (`incus launch`, `incus config device add ... shift=true`, `incus restart`)
 * and a bare `incus launch`, on the same image and storage pool, measured in
 * the same run. On demand only, not part of the test suite:
 * `node bench/new.ts [--runs 7] [--warmup 2] [--image repoman-debian] [--pool NAME]`.
 * Run it as the non-root user repoman is meant for, with access to the Incus socket.
 *
 * Every run creates and starts one container; deleting it again is not timed.
 * Everything the script makes (two Incus projects, a temp dir with the config
 * and the repos root) goes again at the end, also after a failure or a signal.
 */
import { randomBytes } from "node:crypto"
import { mkdirSync, mkdtempSync } from "node:fs"
import { availableParallelism, loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { guarded, median, requireBundle, sandboxCommands } from "./lib.ts"

const root = fileURLToPath(new URL("..", import.meta.url))
const bundle = join(root, "packages/cli/dist/repoman.js")
const bin = join(root, "packages/cli/bin/repoman.js")

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "7" },
    warmup: { type: "string", default: "2" },
    image: { type: "string", default: "repoman-debian" },
    pool: { type: "string" }
  }
})
const runs = Number(values.runs)
const warmup = Number(values.warmup)
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(warmup) || warmup < 0) {
  console.error("usage: node bench/new.ts [--runs N>=1] [--warmup N>=0] [--image ALIAS] [--pool NAME]")
  process.exit(2)
}
requireBundle(root, bundle)

// --- processes: argv lists only, every failure loud ---------------------------------------------

const dir = mkdtempSync(join(tmpdir(), "repoman-bench-new-"))
const { incus, repoman } = sandboxCommands(dir, bin)

/** Wall time in ms of a sequence of commands, each run to completion. */
const time = (steps: ReadonlyArray<() => unknown>): number => {
  const start = process.hrtime.bigint()
  for (const step of steps) step()
  return Number(process.hrtime.bigint() - start) / 1e6
}

// --- clean-up, also on failure and on a signal ----------------------------------------------------

const { checkpoint, onCleanUp, run: guardedRun } = guarded(dir)
const deleteProject = (project: string) => () => {
  incus("query", "-X", "DELETE", `/1.0/projects/${project}?force=true`)
}

// --- the benchmark ------------------------------------------------------------------------------

/** `GET /1.0/instances/NAME`: the fields this script reads. */
interface InstanceBody {
  readonly status?: string
  readonly profiles?: ReadonlyArray<string>
  readonly config?: Readonly<Record<string, string>>
  readonly devices?: Readonly<Record<string, Readonly<Record<string, string>>>>
}
const instance = (project: string, name: string): InstanceBody =>
  JSON.parse(incus("query", `/1.0/instances/${name}?project=${project}`)) as InstanceBody

interface Variant {
  readonly name: string
  /** The container the timed commands leave running; none for the start-up reference. */
  readonly container?: { readonly project: string; readonly name: string }
  /** The timed commands. */
  readonly steps: ReadonlyArray<() => unknown>
  /** Untimed, after the container is gone: what else must go before the next run. */
  readonly reset?: () => void
}

const main = async () => {
  const suffix = randomBytes(3).toString("hex")
  const repomanProject = `rmbench-new-${suffix}`
  const seedProject = `rmbench-seed-${suffix}`
  const reposRoot = join(dir, "repos")
  const repo = join(reposRoot, "bench")
  mkdirSync(repo, { recursive: true })

  // The repoman project, restricted, as a user sets it up.
  onCleanUp(deleteProject(repomanProject))
  const setup = repoman(
    "setup",
    "--non-interactive",
    "--incus-project",
    repomanProject,
    "--repos-root",
    reposRoot,
    ...(values.pool === undefined ? [] : ["--storage-pool", values.pool])
  )
  const poolLine = /^pool\s+(\S+) \((\S+)\)$/m.exec(setup)
  const [, pool, driver] = poolLine ?? []
  if (pool === undefined || driver === undefined) throw new Error(`no pool in the setup report:\n${setup}`)

  // The seed tool's project: unrestricted (shift=true cannot start in a restricted one), same images, same pool.
  onCleanUp(deleteProject(seedProject))
  incus("project", "create", seedProject, "-c", "features.images=false", "-c", "features.profiles=true")
  incus("profile", "device", "add", "default", "root", "disk", "path=/", `pool=${pool}`, "--project", seedProject)

  const image = values.image
  // Untimed: the create request `repoman new` sends (read back from what it made), to time
  // the same request without the CLI around it.
  repoman("new", "bench-probe", "--repo", "bench", "--image", image)
  const made = instance(repomanProject, "bench-probe")
  const request = JSON.stringify({
    name: "bench-rest",
    type: "container",
    source: { type: "image", alias: image },
    profiles: made.profiles,
    config: Object.fromEntries(
      Object.entries(made.config ?? {}).filter(([k]) => !k.startsWith("volatile.") && !k.startsWith("image."))
    ),
    devices: made.devices,
    start: true
  })
  // The registry entry (and the sealed gitdir the request mounts) stays until the runs are done.
  incus("delete", "-f", "bench-probe", "--project", repomanProject)

  const variants: ReadonlyArray<Variant> = [
    {
      name: `repoman new (bin/repoman.js, project ${repomanProject})`,
      container: { project: repomanProject, name: "bench-repoman" },
      steps: [() => repoman("new", "bench-repoman", "--repo", "bench", "--image", image)],
      // The registry entry goes too (the container is already gone), so the next `new` starts from the same state.
      reset: () => repoman("remove", "bench-repoman", "--yes")
    },
    {
      name: "seed sequence: launch + device add shift=true + restart",
      container: { project: seedProject, name: "bench-seed" },
      steps: [
        () => incus("launch", image, "bench-seed", "--project", seedProject),
        () =>
          incus(
            "config",
            "device",
            "add",
            "bench-seed",
            "repo",
            "disk",
            `source=${repo}`,
            `path=${repo}`,
            "shift=true",
            "--project",
            seedProject
          ),
        () => incus("restart", "bench-seed", "--project", seedProject)
      ]
    },
    {
      name: "bare incus launch",
      container: { project: seedProject, name: "bench-bare" },
      steps: [() => incus("launch", image, "bench-bare", "--project", seedProject)]
    },
    {
      name: "  analysis: repoman's create request alone (incus query)",
      container: { project: repomanProject, name: "bench-rest" },
      steps: [() => incus("query", "-X", "POST", "--wait", `/1.0/instances?project=${repomanProject}`, "-d", request)]
    },
    {
      name: "  analysis: repoman --version (CLI start-up)",
      steps: [() => repoman("--version")]
    }
  ]

  console.log(
    `Node ${process.version}, ${availableParallelism()} CPUs, load ${loadavg().map((l) => l.toFixed(2)).join(" ")}; `
      + `image ${image}, pool ${pool} (${driver}); ${warmup} warm-up + ${runs} interleaved runs per variant`
  )

  const results = variants.map((variant) => ({ variant, samples: [] as Array<number> }))
  for (let i = 0; i < warmup + runs; i++) {
    // Rotate the order each round so no variant always runs right after another.
    for (let k = 0; k < results.length; k++) {
      const r = results[(i + k) % results.length]
      if (r === undefined) continue
      const { container } = r.variant
      await checkpoint()
      const ms = time(r.variant.steps)
      // Each variant must leave a running container behind, or it did not do the work.
      if (container !== undefined) {
        const state = instance(container.project, container.name).status
        if (state !== "Running") throw new Error(`${r.variant.name}: the container is ${state}, not Running`)
        incus("delete", "-f", container.name, "--project", container.project)
      }
      r.variant.reset?.()
      if (i >= warmup) r.samples.push(ms)
      process.stderr.write(
        `${i < warmup ? "warm-up" : `run ${i - warmup + 1}`}: ${r.variant.name} ${ms.toFixed(0)} ms\n`
      )
    }
  }

  repoman("remove", "bench-probe", "--yes")

  const medians = results.map(({ samples }) => median(samples))
  const [ours = Number.NaN, seed = Number.NaN, bare = Number.NaN, alone = Number.NaN, startUp = Number.NaN] = medians
  const rows = results.map(({ samples, variant }, i) => [
    variant.name,
    (medians[i] ?? Number.NaN).toFixed(0),
    `${Math.min(...samples).toFixed(0)}–${Math.max(...samples).toFixed(0)}`
  ])
  const header = ["variant", "median ms", "min–max ms"]
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)))
  for (const r of [header, ...rows]) console.log(r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join("  ").trimEnd())
  const verdict = (ratio: number, target: number) =>
    `${ratio.toFixed(2)}× (target ≤ ${target}×: ${ratio <= target ? "met" : "MISSED"})`
  console.log(`repoman new / seed sequence: ${verdict(ours / seed, 0.2)}`)
  console.log(`repoman new / bare launch:   ${verdict(ours / bare, 1.3)}`)
  const sign = (ms: number) => `${ms >= 0 ? "+" : "−"}${Math.abs(ms).toFixed(0)} ms`
  console.log(
    `repoman new vs its create request alone: ${sign(ours - alone)}; CLI start-up alone: ${startUp.toFixed(0)} ms`
  )
}

await guardedRun(main)
