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
import { build, type Plugin } from "esbuild"
import { cpSync, existsSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { builtinModules } from "node:module"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const vendor = fileURLToPath(new URL("../../profiles/vendor", import.meta.url))

/**
 * Node's built-in modules through `require`, not ESM imports. Importing a
 * built-in the ESM way builds its whole namespace, which runs its lazy
 * getters: `node:crypto` loads Web Crypto, `node:fs` its promises API and
 * watchers, `node:http` Node's bundled undici (~80 ms). `require` returns
 * the module object and nothing more; esbuild wraps it so the importers'
 * names read through to it on use.
 */
const builtinsByRequire: Plugin = {
  name: "builtins-by-require",
  setup(b) {
    const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]))
    b.onResolve({ filter: /^(node:)?[a-z_/]+$/ }, (args) => {
      if (!builtins.has(args.path)) return undefined
      // The require() inside the stand-in itself stays Node's.
      if (args.namespace === "builtin") return { path: args.path, external: true }
      return { path: args.path.replace(/^node:/, ""), namespace: "builtin" }
    })
    b.onLoad({ filter: /.*/, namespace: "builtin" }, (args) => ({
      contents: `module.exports = require("node:${args.path}")`,
      loader: "js"
    }))
  }
}

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
  // The built-ins are required (see builtinsByRequire), as some dependencies do themselves.
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  plugins: [builtinsByRequire],
  logLevel: "warning"
})
if (result.metafile !== undefined) writeFileSync(`${root}dist/meta.json`, JSON.stringify(result.metafile))

rmSync(`${root}vendor`, { recursive: true, force: true })
cpSync(vendor, `${root}vendor`, { recursive: true })
