/**
 * The hot path: `repoman exec NAME -- true` and `repoman run -- true` (from a
 * directory in the repo) against `incus exec NAME --project P -- true` on the
 * same running container, plus the CLI's start-up (`repoman --version`)
 * against `node -e 0`, measured in the same run, and the peak RSS of
 * `repoman run -- true`. On demand only, not part of the test suite:
 * `node bench/exec.ts [--runs 15] [--warmup 3] [--image repoman-debian] [--pool NAME]`.
 * Run it as the non-root user repoman is meant for, with access to the Incus socket.
 *
 * repoman runs as a user runs it: `packages/cli/bin/repoman.js` (the bundle,
 * with Node's compile cache; the warm-up runs fill it). The `incus` client
 * gets a config dir of its own with a config.yml, so its first-run notice
 * does not count against it. The set-up (`repoman setup`, `repoman new`) is
 * not timed; everything it makes (the Incus project, a temp dir with the
 * config and the repos root) goes again at the end, also after a failure or
 * a signal.
 */
import { spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { availableParallelism, loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { guarded, interleaved, median, requireBundle, sandboxCommands } from "./lib.ts"

const root = fileURLToPath(new URL("..", import.meta.url))
const bundle = join(root, "packages/cli/dist/repoman.js")
const entry = join(root, "packages/cli/bin/repoman.js")

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "15" },
    warmup: { type: "string", default: "3" },
    image: { type: "string", default: "repoman-debian" },
    pool: { type: "string" }
  }
})
const runs = Number(values.runs)
const warmup = Number(values.warmup)
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(warmup) || warmup < 0) {
  console.error("usage: node bench/exec.ts [--runs N>=1] [--warmup N>=0] [--image ALIAS] [--pool NAME]")
  process.exit(2)
}
requireBundle(root, bundle)

const dir = mkdtempSync(join(tmpdir(), "repoman-bench-exec-"))
const { env, incus, repoman, run } = sandboxCommands(dir, entry)
const incusConf = join(dir, "incus-client")
mkdirSync(incusConf)
writeFileSync(join(incusConf, "config.yml"), "default-remote: local\n")
env["INCUS_CONF"] = incusConf
const { checkpoint, onCleanUp, run: guardedRun } = guarded(dir)

/** Peak resident set size in MB of one run, from GNU time. */
const peakRssMb = (args: ReadonlyArray<string>, cwd: string): number => {
  const r = spawnSync("/usr/bin/time", ["-f", "%M", process.execPath, entry, ...args], {
    env,
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
    encoding: "utf8"
  })
  if (r.status !== 0) throw new Error(`/usr/bin/time: exit ${r.status}\n${r.stderr}`)
  const kb = Number(r.stderr.trim().split("\n").at(-1))
  if (!Number.isFinite(kb)) throw new Error(`/usr/bin/time printed ${r.stderr}`)
  return kb / 1024
}

const main = async () => {
  const project = `rmbench-exec-${randomBytes(3).toString("hex")}`
  const reposRoot = join(dir, "repos")
  const repo = join(reposRoot, "bench")
  mkdirSync(join(repo, "src"), { recursive: true })
  onCleanUp(() => {
    incus("query", "-X", "DELETE", `/1.0/projects/${project}?force=true`)
  })
  repoman(
    "setup",
    "--non-interactive",
    "--incus-project",
    project,
    "--repos-root",
    reposRoot,
    ...(values.pool === undefined ? [] : ["--storage-pool", values.pool])
  )
  repoman("new", "bench", "--image", values.image)

  const empty = (stdout: string) => {
    if (stdout !== "") throw new Error(`expected no output, got ${JSON.stringify(stdout.slice(0, 200))}`)
  }
  console.log(
    `Node ${process.version}, ${availableParallelism()} CPUs, load ${loadavg().map((l) => l.toFixed(2)).join(" ")}; `
      + `image ${values.image}; ${warmup} warm-up + ${runs} interleaved runs per command`
  )
  const exec = await interleaved({
    commands: [
      {
        name: `incus exec bench --project ${project} -- true (baseline)`,
        cmd: "incus",
        args: ["exec", "bench", "--project", project, "--", "true"],
        check: empty
      },
      {
        name: "repoman exec bench -- true",
        cmd: process.execPath,
        args: [entry, "exec", "bench", "--", "true"],
        check: empty
      },
      {
        name: "repoman run -- true (from repo/src)",
        cmd: process.execPath,
        args: [entry, "run", "--", "true"],
        cwd: join(repo, "src"),
        check: empty
      },
      {
        // Not a target: the session alone, without the checkpoint taken before it by default.
        name: "repoman exec --no-checkpoint bench -- true",
        cmd: process.execPath,
        args: [entry, "exec", "--no-checkpoint", "bench", "--", "true"],
        check: empty
      }
    ],
    runs,
    warmup,
    run,
    checkpoint
  })
  console.log()
  const startup = await interleaved({
    commands: [
      { name: "node -e 0 (baseline)", cmd: process.execPath, args: ["-e", "0"] },
      {
        name: "repoman --version",
        cmd: process.execPath,
        args: [entry, "--version"],
        check: (out) => {
          if (!/^repoman v\d/.test(out)) throw new Error(`unexpected --version output ${out}`)
        }
      }
    ],
    runs,
    warmup,
    run,
    checkpoint
  })
  const rss = median(Array.from({ length: 5 }, () => peakRssMb(["run", "--", "true"], join(repo, "src"))))

  const values_ = [...exec.values()]
  const [base = Number.NaN, execMs = Number.NaN, runMs = Number.NaN] = values_
  const [node = Number.NaN, version = Number.NaN] = [...startup.values()]
  const verdict = (ratio: number, target: number) =>
    `${ratio.toFixed(2)}× (target ≤ ${target}×: ${ratio <= target ? "met" : "MISSED"})`
  console.log()
  console.log(`repoman exec / incus exec: ${verdict(execMs / base, 1.5)}`)
  console.log(`repoman run / incus exec: ${verdict(runMs / base, 1.5)}`)
  console.log(`repoman --version / node -e 0: ${verdict(version / node, 1.8)}`)
  console.log(`peak RSS of repoman run -- true: ${rss.toFixed(1)} MB (target ≤ 60 MB: ${rss <= 60 ? "met" : "MISSED"})`)
}

await guardedRun(main)
