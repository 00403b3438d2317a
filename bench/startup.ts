/**
 * Cold start of `repoman --version`: the bundled CLI and the unbundled
 * source, against `node -e 0` measured in the same run. On demand only, not
 * part of the test suite: `node bench/startup.ts [--runs 15] [--warmup 2]`.
 *
 * A plain Node script on purpose: `spawnSync` between two `hrtime` readings
 * is the least overhead a parent can add to what it measures.
 */
import { spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { availableParallelism, loadavg } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { median, requireBundle } from "./lib.ts"

const root = fileURLToPath(new URL("..", import.meta.url))
const bundle = join(root, "packages/cli/dist/repoman.js")

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "15" },
    warmup: { type: "string", default: "2" }
  }
})
const runs = Number(values.runs)
const warmup = Number(values.warmup)
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(warmup) || warmup < 0) {
  console.error("usage: node bench/startup.ts [--runs N>=1] [--warmup N>=0]")
  process.exit(2)
}

interface Variant {
  readonly name: string
  readonly args: ReadonlyArray<string>
  /** What stdout must be; undefined for the baseline. */
  readonly expect?: string
}

const pkg: unknown = JSON.parse(readFileSync(join(root, "packages/cli/package.json"), "utf8"))
if (typeof pkg !== "object" || pkg === null || !("version" in pkg) || typeof pkg.version !== "string") {
  throw new Error("packages/cli/package.json has no version")
}
const expect = `repoman v${pkg.version}`

const variants: ReadonlyArray<Variant> = [
  { name: "node -e 0 (baseline)", args: ["-e", "0"] },
  { name: "bundled: dist/repoman.js --version", args: [bundle, "--version"], expect },
  {
    name: "bin/repoman.js --version (→ bundle)",
    args: [join(root, "packages/cli/bin/repoman.js"), "--version"],
    expect
  },
  { name: "unbundled: src/bin.ts --version", args: [join(root, "packages/cli/src/bin.ts"), "--version"], expect }
]

requireBundle(root, bundle)

// A compile cache would make later runs warm; every run here should be cold.
const env = { ...process.env }
delete env["NODE_COMPILE_CACHE"]

/** One run: wall time in ms from spawn to exit. Fails loudly if the command misbehaves. */
const time = (variant: Variant): number => {
  const start = process.hrtime.bigint()
  const result = spawnSync(process.execPath, variant.args, { env, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" })
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  if (result.error !== undefined) throw result.error
  if (result.status !== 0 || (variant.expect !== undefined && result.stdout.trim() !== variant.expect)) {
    throw new Error(
      `${variant.name}: exit ${result.status}, stdout ${JSON.stringify(result.stdout)}, stderr ${
        JSON.stringify(result.stderr)
      }`
    )
  }
  return ms
}

console.log(
  `Node ${process.version}, ${availableParallelism()} CPUs, load ${loadavg().map((l) => l.toFixed(2)).join(" ")}; `
    + `${warmup} warm-up + ${runs} interleaved runs per variant`
)

const results = variants.map((variant) => ({ variant, samples: [] as Array<number> }))
for (let i = 0; i < warmup + runs; i++) {
  // Rotate the order each round so no variant always runs right after another.
  for (let k = 0; k < results.length; k++) {
    const r = results[(i + k) % results.length]
    if (r === undefined) continue
    const ms = time(r.variant)
    if (i >= warmup) r.samples.push(ms)
  }
}

const baseline = median(results[0]?.samples ?? [])
const rows = results.map(({ samples, variant }, i) => {
  const m = median(samples)
  return [
    variant.name,
    m.toFixed(1),
    `${Math.min(...samples).toFixed(1)}–${Math.max(...samples).toFixed(1)}`,
    `${(m / baseline).toFixed(2)}×`,
    i === 0 ? "" : `+${(m - baseline).toFixed(1)}`
  ]
})
const header = ["variant", "median ms", "min–max ms", "vs baseline", "over baseline ms"]
const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)))
for (const r of [header, ...rows]) console.log(r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join("  ").trimEnd())

const installed = median(results[2]?.samples ?? [])
const ratio = installed / baseline
console.log(
  `\nbin/repoman.js --version / node -e 0: ${ratio.toFixed(2)}× (target ≤ 1.8×: ${ratio <= 1.8 ? "met" : "MISSED"})`
)
