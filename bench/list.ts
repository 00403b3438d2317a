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
import { guarded, interleaved, requireBundle, sandboxCommands, type TimedCommand } from "./lib.ts"

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
  const variants: ReadonlyArray<TimedCommand> = [
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

  const medians = [...(await interleaved({
    commands: variants,
    runs,
    warmup,
    run,
    checkpoint
  })).values()]
  const ratio = (medians[1] ?? Number.NaN) / (medians[0] ?? Number.NaN)
  console.log(`repoman list / incus list: ${ratio.toFixed(2)}× (target ≤ 1.2×: ${ratio <= 1.2 ? "met" : "MISSED"})`)
}

await guardedRun(main)
