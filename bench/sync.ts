/**
 * `repoman sync` with nothing to do, against the two ways to do it by hand:
 * (a) the seed tool's loop of one `rsync -a --delete` per repo, and (b) one
 * `rsync -a --delete` of the whole repos root. Also the peak RSS of the
 * repoman process. On demand only, not part of the test suite:
 *
 *     node bench/sync.ts [--repos 50] [--files 2000] [--size 4000] [--runs 5] [--dir /var/tmp/repoman-bench]
 *
 * Setup (kept between runs in --dir, rebuilt when the shape changes):
 * `--repos` repos of `--files` files of `--size` bytes (the issue: 50 x 2,000
 * small files, about 400 MB), mirrored once, so every measured run finds no
 * change. The backup root is a directory on the same disk, so the repoman
 * registry says `require_mount = false`. Targets: repoman <= 0.3 x (a) and
 * <= 1.5 x (b); peak RSS <= 150 MB.
 *
 * repoman runs as `packages/cli/dist/repoman.js` (the bundle `pnpm build`
 * writes, what the installed command runs); the unbundled source is used,
 * with a warning, when there is no bundle.
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { availableParallelism, loadavg } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"

const root = fileURLToPath(new URL("..", import.meta.url))
const bundle = join(root, "packages/cli/dist/repoman.js")
const source = join(root, "packages/cli/src/bin.ts")

const { values } = parseArgs({
  options: {
    repos: { type: "string", default: "50" },
    files: { type: "string", default: "2000" },
    size: { type: "string", default: "4000" },
    runs: { type: "string", default: "5" },
    dir: { type: "string", default: "/var/tmp/repoman-bench" }
  }
})
const repos = Number(values.repos)
const files = Number(values.files)
const size = Number(values.size)
const runs = Number(values.runs)
const dir = values.dir
if (![repos, files, size, runs].every((n) => Number.isInteger(n) && n > 0)) {
  console.error("usage: node bench/sync.ts [--repos N] [--files N] [--size BYTES] [--runs N] [--dir DIR]")
  process.exit(2)
}

const reposRoot = join(dir, "repos")
const backupRoot = join(dir, "backup")
const configDir = join(dir, "config")
const stateDir = join(dir, "state")
const rssFile = join(dir, "maxrss")
const repoName = (i: number) => `repo${String(i).padStart(3, "0")}`

const run = (command: string, args: ReadonlyArray<string>, env?: NodeJS.ProcessEnv) => {
  const started = process.hrtime.bigint()
  const r = spawnSync(command, args, { stdio: ["ignore", "pipe", "pipe"], env: env ?? process.env, maxBuffer: 1 << 26 })
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  if (r.status !== 0) {
    console.error(`${command} ${args.slice(0, 4).join(" ")} ... exited ${r.status}\n${r.stderr}`)
    process.exit(1)
  }
  return { ms, stdout: r.stdout.toString() }
}

// --- setup -----------------------------------------------------------------
const shape = `${repos}x${files}x${size}`
const shapeFile = join(dir, "shape")
if (!existsSync(shapeFile) || readFileSync(shapeFile, "utf8") !== shape) {
  console.log(`setup: ${repos} repos x ${files} files x ${size} bytes in ${dir} ...`)
  rmSync(dir, { recursive: true, force: true })
  const block = Buffer.alloc(size, "repoman bench data\n")
  for (let r = 0; r < repos; r++) {
    for (let f = 0; f < files; f++) {
      const sub = join(reposRoot, repoName(r), `d${Math.floor(f / 100)}`)
      if (f % 100 === 0) mkdirSync(sub, { recursive: true })
      block.write(`${r}/${f}\n`, 0)
      writeFileSync(join(sub, `f${f}.txt`), block)
    }
  }
  mkdirSync(backupRoot, { recursive: true })
  run("rsync", ["-a", "--delete", `${reposRoot}/`, `${backupRoot}/`])
  writeFileSync(shapeFile, shape)
}
mkdirSync(configDir, { recursive: true })
const projects = Array.from(
  { length: repos },
  (_, i) =>
    `[[project]]\nname = "${repoName(i)}"\nrepo = "${
      repoName(i)
    }"\nimage = "local:busybox"\nprofiles = ["default"]\ncreated = "2026-01-01T00:00:00Z"\n`
)
writeFileSync(
  join(configDir, "repoman.toml"),
  `schema = 3\n[defaults]\nrepos_root = "${reposRoot}"\nbackup_root = "${backupRoot}"\n[backup]\nrequire_mount = false\n\n${
    projects.join("\n")
  }`
)
// Peak RSS of the repoman process itself (not its rsync children), written at exit.
const preload = join(dir, "maxrss.mjs")
writeFileSync(
  preload,
  `import { writeFileSync } from "node:fs"\nprocess.on("exit", () => writeFileSync(${
    JSON.stringify(rssFile)
  }, String(process.resourceUsage().maxRSS)))\n`
)

// --- variants ----------------------------------------------------------------
const entry = existsSync(bundle) ? bundle : source
if (entry === source) console.warn("warning: no bundle (run `pnpm build`); measuring the unbundled source")
const env = {
  ...process.env,
  REPOMAN_CONFIG_DIR: configDir,
  XDG_STATE_HOME: stateDir,
  NODE_OPTIONS: `--import=${preload}`
}
const peaks: Array<number> = []
const variants: ReadonlyArray<{ readonly name: string; readonly run: () => number }> = [
  {
    name: "(a) loop: rsync -a --delete per repo",
    run: () =>
      Array.from(
        { length: repos },
        (_, i) => run("rsync", ["-a", "--delete", `${reposRoot}/${repoName(i)}/`, `${backupRoot}/${repoName(i)}/`]).ms
      )
        .reduce((a, b) => a + b, 0)
  },
  {
    name: "(b) one rsync -a --delete of the root",
    run: () => run("rsync", ["-a", "--delete", `${reposRoot}/`, `${backupRoot}/`]).ms
  },
  {
    name: "repoman sync",
    run: () => {
      const r = run(process.execPath, [entry, "sync", "--json"], env)
      const last = JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}") as { event?: string; succeeded?: number }
      if (last.event !== "SyncCompleted" || last.succeeded !== repos) {
        console.error(`repoman sync did not sync every repo: ${JSON.stringify(last)}`)
        process.exit(1)
      }
      peaks.push(Number(readFileSync(rssFile, "utf8")) / 1024)
      return r.ms
    }
  }
]

console.log(
  `node ${process.version}, ${availableParallelism()} CPUs, load ${loadavg().map((l) => l.toFixed(2)).join(" ")}`
)
variants.forEach((v) => v.run()) // warm the page cache and the compile cache
const samples = variants.map(() => [] as Array<number>)
for (let i = 0; i < runs; i++) {
  for (let k = 0; k < variants.length; k++) {
    const j = (i + k) % variants.length
    samples[j]?.push(variants[j]?.run() ?? 0)
  }
}
const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? (s[(s.length - 1) / 2] ?? 0) : ((s[s.length / 2 - 1] ?? 0) + (s[s.length / 2] ?? 0)) / 2
}
const medians = samples.map(median)
for (const [i, v] of variants.entries()) {
  const xs = samples[i] ?? []
  console.log(
    `${v.name.padEnd(40)} median ${medians[i]?.toFixed(0).padStart(6)} ms  (${Math.min(...xs).toFixed(0)}-${
      Math.max(...xs).toFixed(0)
    })`
  )
}
const [a = 1, b = 1, repoman = 0] = medians
const peak = Math.max(...peaks)
console.log(`repoman / (a) = ${(repoman / a).toFixed(2)}  (target <= 0.30)`)
console.log(`repoman / (b) = ${(repoman / b).toFixed(2)}  (target <= 1.50)`)
console.log(`repoman peak RSS = ${peak.toFixed(0)} MB  (target <= 150 MB)`)
