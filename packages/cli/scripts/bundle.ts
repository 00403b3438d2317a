/**
 * Bundles the CLI into `dist/repoman.js` and the chunks it loads
 * (`dist/repoman-*.js`, beside it: code that finds files relative to its
 * own module, like the vendor profiles, sees the same directory), so that `repoman` starts in tens of milliseconds instead
 * of loading hundreds of modules (see bench/startup.ts and bench/exec.ts),
 * and copies the vendor profile library next to it (`vendor/`, found by
 * `ProfileLibrary.vendorDir` as `../vendor` of the bundle). The published
 * CLI package is these files and `bin/`: it needs no runtime dependency.
 *
 * The bundle is split along the dynamic imports of `src/bin.ts`: `--version`
 * loads nothing more, `exec`/`run`/`shell`/`list` load their own code and
 * the session stack, everything else the whole CLI. `--metafile` writes
 * `dist/meta.json` (what each chunk holds, for esbuild's analyzer).
 */
import { build } from "esbuild"
import { cpSync, existsSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const vendor = fileURLToPath(new URL("../../profiles/vendor", import.meta.url))

// The chunks of an earlier build (their names carry a hash).
for (const file of existsSync(`${root}dist`) ? readdirSync(`${root}dist`, { withFileTypes: true }) : []) {
  if (file.isFile() && file.name.startsWith("repoman-")) rmSync(`${root}dist/${file.name}`)
}
const result = await build({
  absWorkingDir: root,
  entryPoints: ["src/bin.ts"],
  outdir: "dist",
  entryNames: "repoman",
  chunkNames: "repoman-[name]-[hash]",
  splitting: true,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node22",
  minify: true,
  metafile: process.argv.includes("--metafile"),
  // Shipped beside the bundle: stack traces of internal errors map back to the sources
  // (bin/repoman.js turns them on when REPOMAN_DEBUG is set, or with node --enable-source-maps).
  sourcemap: "linked",
  sourcesContent: false,
  legalComments: "none",
  // Some dependencies require() Node's built-ins.
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: "warning"
})
if (result.metafile !== undefined) writeFileSync(`${root}dist/meta.json`, JSON.stringify(result.metafile))

rmSync(`${root}vendor`, { recursive: true, force: true })
cpSync(vendor, `${root}vendor`, { recursive: true })
