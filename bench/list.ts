/**
 * `repoman list` (the bundled CLI) with 100 registered projects whose
 * containers exist but are stopped, against `incus list --format json` on
 * the same Incus project, measured in the same run. On demand only, not part
 * of the test suite:
 * `node bench/list.ts [--projects 100] [--runs 15] [--warmup 2] [--image repoman-busybox]`.
 * Run it as the non-root user repoman is meant for, with access to the Incus socket.
 *
 * The set-up (`repoman new` per project, then one `incus stop --force`) is not
 * timed. Everything the script makes (the Incus project with its containers, a
 * temp dir with the config and the repos root) goes again at the end, also
 * after a failure or a signal.
 */
import { randomBytes } from "node:crypto"
import { mkdirSync, mkdtempSync } from "node:fs"
import { availableParallelism, loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { setTimeout as sleep } from "node:timers/promises"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { guarded, median, requireBundle, sandboxCommands } from "./lib.ts"

const root = fileURLToPath(new URL("..", import.meta.url))
const bundle = join(root, "packages/cli/dist/repoman.js")

const { values } = parseArgs({
  options: {
    projects: { type: "string", default: "100" },
    runs: { type: "string", default: "15" },
    warmup: { type: "string", default: "2" },
    image: { type: "string", default: "repoman-busybox" }
  }
})
const projects = Number(values.projects)
const runs = Number(values.runs)
const warmup = Number(values.warmup)
if (
  !Number.isInteger(projects) || projects < 1 || !Number.isInteger(runs) || runs < 1 || !Number.isInteger(warmup)
  || warmup < 0
) {
  console.error("usage: node bench/list.ts [--projects N>=1] [--runs N>=1] [--warmup N>=0] [--image ALIAS]")
  process.exit(2)
}
requireBundle(root, bundle)

// --- processes: argv lists only, every failure loud ---------------------------------------------

const dir = mkdtempSync(join(tmpdir(), "repoman-bench-list-"))
const { run, incus, repoman } = sandboxCommands(dir, bundle)

// --- clean-up, also on failure and on a signal ----------------------------------------------------

const { checkpoint, onCleanUp, run: guardedRun } = guarded(dir)

// --- the benchmark ------------------------------------------------------------------------------

interface Variant {
  readonly name: string
  readonly cmd: string
  readonly args: ReadonlyArray<string>
  /** Checks the output, so an error path cannot pass as a fast answer. */
  readonly check: (stdout: string) => void
}

const main = async () => {
  const project = `rmbench-list-${randomBytes(3).toString("hex")}`
  const reposRoot = join(dir, "repos")
  mkdirSync(reposRoot)
  onCleanUp(() => {
    incus("query", "-X", "DELETE", `/1.0/projects/${project}?force=true`)
  })
  repoman("setup", "--non-interactive", "--incus-project", project, "--repos-root", reposRoot)

  // Set-up, not timed: every project made by `repoman new` (so it is managed), then all stopped at once.
  const names = Array.from({ length: projects }, (_, i) => `p${String(i).padStart(3, "0")}`)
  const started = Date.now()
  for (const [i, name] of names.entries()) {
    await checkpoint()
    mkdirSync(join(reposRoot, name))
    repoman("new", name, "--image", values.image)
    if ((i + 1) % 10 === 0) process.stderr.write(`set-up: ${i + 1}/${projects} projects\n`)
  }
  incus("stop", "--force", ...names, "--project", project)
  process.stderr.write(`set-up: ${projects} projects created and stopped in ${Date.now() - started} ms\n`)
  // Let the host settle after stopping that many containers before anything is timed.
  await sleep(10_000)

  const expectRows = (rows: unknown) => {
    if (!Array.isArray(rows) || rows.length !== projects) {
      throw new Error(`expected ${projects} rows, got ${JSON.stringify(rows).slice(0, 200)}`)
    }
    return rows as ReadonlyArray<Record<string, unknown>>
  }
  const tableLines = (stdout: string) => {
    const lines = stdout.trimEnd().split("\n")
    if (lines.length !== projects + 1 || lines.slice(1).some((l) => !/^p\d{3}\s+Stopped\s/.test(l))) {
      throw new Error(`expected a header and ${projects} Stopped rows, got:\n${stdout.slice(0, 400)}`)
    }
  }
  const variants: ReadonlyArray<Variant> = [
    {
      name: `incus list --format json --project ${project} (baseline)`,
      cmd: "incus",
      args: ["list", "--format", "json", "--project", project],
      check: (stdout) => {
        const rows = expectRows(JSON.parse(stdout))
        if (rows.some((r) => r["status"] !== "Stopped")) throw new Error("incus list: not all containers are stopped")
      }
    },
    { name: "repoman list (bundled)", cmd: process.execPath, args: [bundle, "list"], check: tableLines },
    {
      name: "repoman list --json (bundled)",
      cmd: process.execPath,
      args: [bundle, "list", "--json"],
      check: (stdout) => {
        const rows = expectRows(JSON.parse(stdout))
        const bad = rows.filter((r) => r["kind"] !== "managed" || r["state"] !== "Stopped")
        if (bad.length > 0) throw new Error(`not managed and stopped: ${JSON.stringify(bad.slice(0, 3))}`)
      }
    },
    {
      name: "  analysis: repoman's Incus request alone (incus query, recursion=1)",
      cmd: "incus",
      args: ["query", `/1.0/instances?project=${project}&recursion=1`],
      check: (stdout) => expectRows(JSON.parse(stdout))
    },
    {
      name: "  analysis: repoman --version (CLI start-up)",
      cmd: process.execPath,
      args: [bundle, "--version"],
      check: () => {}
    }
  ]

  console.log(
    `Node ${process.version}, ${availableParallelism()} CPUs, load ${loadavg().map((l) => l.toFixed(2)).join(" ")}; `
      + `${projects} stopped ${values.image} containers; ${warmup} warm-up + ${runs} interleaved runs per variant`
  )

  const results = variants.map((variant) => ({ variant, samples: [] as Array<number> }))
  for (let i = 0; i < warmup + runs; i++) {
    // Rotate the order each round so no variant always runs right after another.
    for (let k = 0; k < results.length; k++) {
      const r = results[(i + k) % results.length]
      if (r === undefined) continue
      await checkpoint()
      const start = process.hrtime.bigint()
      const stdout = run(r.variant.cmd, r.variant.args)
      const ms = Number(process.hrtime.bigint() - start) / 1e6
      r.variant.check(stdout)
      if (i >= warmup) r.samples.push(ms)
      process.stderr.write(
        `${i < warmup ? "warm-up" : `run ${i - warmup + 1}`}: ${r.variant.name} ${ms.toFixed(0)} ms\n`
      )
    }
  }

  const base = median(results[0]?.samples ?? [])
  const rows = results.map(({ samples, variant }) => {
    const m = median(samples)
    return [
      variant.name,
      m.toFixed(1),
      `${Math.min(...samples).toFixed(1)}–${Math.max(...samples).toFixed(1)}`,
      `${(m / base).toFixed(2)}×`
    ]
  })
  const header = ["variant", "median ms", "min–max ms", "vs baseline"]
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)))
  for (const r of [header, ...rows]) console.log(r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join("  ").trimEnd())
  const ratio = median(results[1]?.samples ?? []) / base
  console.log(`repoman list / incus list: ${ratio.toFixed(2)}× (target ≤ 1.5×: ${ratio <= 1.5 ? "met" : "MISSED"})`)
}

await guardedRun(main)
