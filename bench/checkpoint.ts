/**
 * Checkpoints of a 50,000-file tree (issue 14), measured in one run against
 * `rsync -a` of the same tree into a fresh directory:
 *
 *   - a checkpoint with no change:            target <= 0.5 x rsync -a
 *   - a checkpoint after 100 changed files:   target <= 1.5 x the no-change checkpoint
 *   - undo of 100 changed files:              target <= 1 s (the checkpoint it takes first included)
 *   - the peak RSS of each:                   target <= 150 MB
 *
 * Each operation is a process of its own, as repoman's is: the store
 * (`@repoman/checkpoints`) bundled with esbuild like the CLI, run by Node, so
 * its start-up counts. The rounds are interleaved (the order rotates each
 * round); each operation's setup (the changes, the checkpoint to undo to) is
 * not timed. Peak RSS from GNU time. The racy window is 2 s here (40 s by
 * default: a file changed that recently is copied again), and the benchmark
 * waits it out after each change, so "no change" means no change.
 *
 *     node bench/checkpoint.ts [--dir DIR] [--files 50000] [--runs 5] [--warmup 1]
 *                              [--layout objects|btrfs-snapshot] [--copy auto|copy|reflink]
 *
 * `--dir` decides the filesystem (default /var/tmp/repoman-bench-checkpoint);
 * the tree is kept there between runs and made again when its size changes.
 * For btrfs-snapshot the tree is made as a subvolume (btrfs-progs).
 */
import { build } from "esbuild"
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { availableParallelism, loadavg } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { median } from "./lib.ts"

const root = fileURLToPath(new URL("..", import.meta.url))
const { values } = parseArgs({
  options: {
    dir: { type: "string", default: "/var/tmp/repoman-bench-checkpoint" },
    files: { type: "string", default: "50000" },
    runs: { type: "string", default: "5" },
    warmup: { type: "string", default: "1" },
    layout: { type: "string", default: "objects" },
    copy: { type: "string", default: "auto" }
  }
})
const files = Number(values.files)
const runs = Number(values.runs)
const warmup = Number(values.warmup)
const layout = values.layout
const copy = values.copy
if (
  ![files, runs].every((n) => Number.isInteger(n) && n > 0) || !Number.isInteger(warmup) || warmup < 0 ||
  (layout !== "objects" && layout !== "btrfs-snapshot") || !["auto", "copy", "reflink"].includes(copy)
) {
  console.error(
    "usage: node bench/checkpoint.ts [--dir DIR] [--files N] [--runs N] [--warmup N] [--layout objects|btrfs-snapshot] [--copy auto|copy|reflink]"
  )
  process.exit(2)
}
const dir = values.dir
const tree = join(dir, "tree")
const store = join(dir, "store")
const op = join(dir, "op.mjs")

// --- the tree: deterministic, node_modules-like (packages of 5-40 files, log-normal sizes, .bin links, a .git)
let seed = 0x2545f491
const rnd = () => {
  seed ^= seed << 13
  seed ^= seed >>> 17
  seed ^= seed << 5
  return (seed >>> 0) / 0x100000000
}
const normal = () => Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd())
const chunk = Buffer.alloc(1 << 20)
for (let i = 0; i < chunk.length; i++) chunk[i] = 32 + ((i * 7919 + (i >> 5)) % 90)
const fileList: Array<string> = []

const generate = (): void => {
  rmSync(tree, { recursive: true, force: true })
  if (layout === "btrfs-snapshot") execFileSync("btrfs", ["subvolume", "create", tree], { stdio: "ignore" })
  else mkdirSync(tree, { recursive: true })
  const nm = join(tree, "node_modules")
  mkdirSync(join(nm, ".bin"), { recursive: true })
  let made = 0
  for (let pkg = 0; made < files; pkg++) {
    const name = `pkg-${pkg}`
    const pdir = join(nm, pkg % 7 === 0 ? `@scope-${pkg % 13}` : "", name)
    const subdirs = ["", "lib", "dist", "dist/esm", "src", "types"]
    for (const s of subdirs) mkdirSync(join(pdir, s), { recursive: true })
    writeFileSync(join(pdir, "package.json"), `{"name":"${name}"}\n`)
    made++
    const count = 5 + Math.floor(rnd() * 36)
    for (let i = 0; i < count && made < files; i++) {
      const n = Math.min(1 << 20, Math.max(0, Math.round(Math.exp(7.6 + 1.3 * normal()))))
      const off = Math.floor(rnd() * (chunk.length - n))
      writeFileSync(
        join(pdir, subdirs[Math.floor(rnd() * subdirs.length)] ?? "", `f${i}.js`),
        chunk.subarray(off, off + n)
      )
      made++
    }
    if (pkg % 11 === 0) execFileSync("ln", ["-sf", `../${name}/package.json`, join(nm, ".bin", name)])
  }
  mkdirSync(join(tree, ".git", "objects", "pack"), { recursive: true })
  writeFileSync(join(tree, ".git", "HEAD"), "ref: refs/heads/main\n")
  writeFileSync(join(dir, "tree.json"), JSON.stringify({ files }))
}

const listFiles = (): void => {
  const out = execFileSync("find", [tree, "-type", "f", "-name", "f*.js"], { encoding: "utf8", maxBuffer: 1 << 28 })
  fileList.push(...out.split("\n").filter((l) => l !== ""))
}

/** Appends to 100 files spread over the tree (untimed). */
let round = 0
const change100 = (): void => {
  round++
  const step = Math.floor(fileList.length / 100)
  for (let i = 0; i < 100; i++) {
    const f = fileList[(i * step + round) % fileList.length]
    if (f !== undefined) writeFileSync(f, `// round ${round}\n`, { flag: "a" })
  }
}

const settle = (): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2100) // past the 2 s racy window
}

// --- the operation process: the store, bundled like the CLI
const writeOp = async (): Promise<void> => {
  const source = join(dir, "op.ts")
  writeFileSync(
    source,
    `import * as NodeServices from "@effect/platform-node/NodeServices"
import * as CheckpointStore from "@repoman/checkpoints/CheckpointStore"
import { Checkpoints } from "@repoman/core/Checkpoints"
import { ProjectName } from "@repoman/core/Ids"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
const [what, storeDir, treeDir, target] = process.argv.slice(2)
const root = { project: ProjectName.make("bench"), path: treeDir }
const layer = CheckpointStore.layer({
  base: storeDir, layout: ${JSON.stringify(layout)}, copy: ${JSON.stringify(copy)}, keep: 30, keepDays: 14,
  maxFileBytes: 2 ** 30, maxNewBytes: 2 ** 34, maxEntries: 2_000_000, racyWindowSeconds: 2
}).pipe(Layer.provide(NodeServices.layer))
const program = Effect.gen(function*() {
  const checkpoints = yield* Checkpoints
  if (what === "take") return (yield* checkpoints.take(root, "manual", "bench")).id
  const done = yield* checkpoints.undo(root, target)
  return \`\${done.applied.written} \${done.applied.removed}\`
})
Effect.runPromise(program.pipe(Effect.provide(layer))).then((out) => console.log(out), (e) => {
  console.error(String(e)); process.exit(1)
})
`
  )
  await build({
    absWorkingDir: join(root, "packages/cli"),
    nodePaths: [join(root, "packages/cli/node_modules")],
    entryPoints: [source],
    outfile: op,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    minify: true,
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: "warning"
  })
}

/** Runs argv under GNU time: wall ms (ours), peak RSS MB (its), stdout. */
const timed = (argv: ReadonlyArray<string>) => {
  const start = process.hrtime.bigint()
  const r = spawnSync("/usr/bin/time", ["-f", "%M", ...argv], { encoding: "utf8", maxBuffer: 1 << 26 })
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  if (r.status !== 0) throw new Error(`${argv.join(" ")}: exit ${r.status}\n${r.stdout}${r.stderr}`)
  const rss = Number(r.stderr.trim().split("\n").at(-1)) / 1024
  return { ms, rss, stdout: r.stdout.trim() }
}
const node = (...args: ReadonlyArray<string>) => timed([process.execPath, op, ...args])
const untimed = (...args: ReadonlyArray<string>) =>
  execFileSync(process.execPath, [op, ...args], { encoding: "utf8" }).trim()

const main = async () => {
  mkdirSync(dir, { recursive: true })
  const existing = existsSync(join(dir, "tree.json"))
    ? (JSON.parse(readFileSync(join(dir, "tree.json"), "utf8")) as { files: number }).files
    : 0
  if (existing !== files || !existsSync(tree)) {
    process.stderr.write(`making a ${files}-file tree in ${tree} ...\n`)
    generate()
  }
  listFiles()
  removeStore()
  await writeOp()
  console.log(
    `node ${process.version}, ${availableParallelism()} CPUs, load ${
      loadavg().map((l) => l.toFixed(2)).join(" ")
    }; ${fileList.length} files (+ the rest) in ${tree} (${layout}, copy ${copy}); first checkpoint:`
  )
  const first = node("take", store, tree)
  console.log(`  ${first.ms.toFixed(0)} ms, ${first.rss.toFixed(0)} MB`)
  settle()

  const samples = new Map<string, Array<{ ms: number; rss: number }>>()
  const ops: ReadonlyArray<{ readonly name: string; readonly once: () => { ms: number; rss: number } }> = [
    {
      name: "rsync -a to a fresh directory",
      once: () => {
        const dest = join(dir, "copy")
        rmSync(dest, { recursive: true, force: true })
        const t = timed(["rsync", "-a", `${tree}/`, `${dest}/`])
        rmSync(dest, { recursive: true, force: true })
        return t
      }
    },
    { name: "checkpoint, no change", once: () => node("take", store, tree) },
    {
      name: "checkpoint, 100 files changed",
      once: () => {
        change100()
        const t = node("take", store, tree)
        settle()
        return t
      }
    },
    {
      name: "undo of 100 changed files",
      once: () => {
        const target = untimed("take", store, tree)
        change100()
        const t = node("undo", store, tree, target)
        if (t.stdout !== "100 0") throw new Error(`undo wrote/removed ${t.stdout}, not 100 0`)
        settle()
        return t
      }
    }
  ]
  for (let i = 0; i < warmup + runs; i++) {
    for (let k = 0; k < ops.length; k++) {
      const o = ops[(i + k) % ops.length]
      if (o === undefined) continue
      const t = o.once()
      process.stderr.write(
        `${i < warmup ? "warm-up" : `run ${i - warmup + 1}`}: ${o.name} ${t.ms.toFixed(0)} ms ${t.rss.toFixed(0)} MB\n`
      )
      if (i >= warmup) samples.set(o.name, [...(samples.get(o.name) ?? []), t])
    }
  }
  const med = (name: string) => median((samples.get(name) ?? []).map((s) => s.ms))
  const rss = (name: string) => Math.max(...(samples.get(name) ?? []).map((s) => s.rss))
  const rsync = med(ops[0]?.name ?? "")
  const none = med(ops[1]?.name ?? "")
  const hundred = med(ops[2]?.name ?? "")
  const undo = med(ops[3]?.name ?? "")
  const rows = ops.map((o) => {
    const ms = (samples.get(o.name) ?? []).map((s) => s.ms)
    return [
      o.name,
      med(o.name).toFixed(0),
      `${Math.min(...ms).toFixed(0)}–${Math.max(...ms).toFixed(0)}`,
      rss(o.name).toFixed(0)
    ]
  })
  const header = ["operation", "median ms", "min–max ms", "peak RSS MB"]
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)))
  for (const r of [header, ...rows]) console.log(r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join("  ").trimEnd())
  const verdict = (ok: boolean) => (ok ? "ok" : "MISSED")
  console.log(`no change / rsync -a:   ${(none / rsync).toFixed(2)}  (target <= 0.5)  ${verdict(none / rsync <= 0.5)}`)
  console.log(
    `100 changed / no change: ${(hundred / none).toFixed(2)}  (target <= 1.5)  ${verdict(hundred / none <= 1.5)}`
  )
  console.log(`undo of 100:             ${(undo / 1000).toFixed(2)} s (target <= 1 s) ${verdict(undo <= 1000)}`)
  const peak = Math.max(...ops.slice(1).map((o) => rss(o.name)))
  console.log(`peak RSS:                ${peak.toFixed(0)} MB (target <= 150) ${verdict(peak <= 150)}`)
}

/** Removes the store (its btrfs snapshots are read-only: made writable first). */
const removeStore = (): void => {
  const snapshots = join(store, "bench", "snapshots")
  if (existsSync(snapshots)) {
    for (const s of readdirSync(snapshots)) {
      spawnSync("btrfs", ["property", "set", "-ts", join(snapshots, s), "ro", "false"], { stdio: "ignore" })
    }
  }
  rmSync(store, { recursive: true, force: true })
}

main().then(removeStore, (e) => {
  console.error(e instanceof Error ? e.message : String(e))
  removeStore()
  process.exitCode = 1
})
