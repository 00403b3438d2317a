/**
 * Bundles the CLI entry point into one ESM file, `dist/repoman.js`, so that
 * `repoman` starts in tens of milliseconds instead of loading hundreds of
 * modules (see bench/startup.ts), and copies the vendor profile library next
 * to it (`vendor/`, found by `ProfileLibrary.vendorDir` as `../vendor` of the
 * bundle). The published CLI package is these files and `bin/`: it needs no
 * runtime dependency.
 */
import { build } from "esbuild"
import { cpSync, rmSync } from "node:fs"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const vendor = fileURLToPath(new URL("../../profiles/vendor", import.meta.url))

await build({
  absWorkingDir: root,
  entryPoints: ["src/bin.ts"],
  outfile: "dist/repoman.js",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node22",
  minify: true,
  // Shipped beside the bundle: stack traces of internal errors map back to the sources
  // (bin/repoman.js turns them on when REPOMAN_DEBUG is set, or with node --enable-source-maps).
  sourcemap: "linked",
  sourcesContent: false,
  legalComments: "none",
  // undici (pulled in by NodeHttpClient) uses require() for node: built-ins.
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: "warning"
})

rmSync(`${root}vendor`, { recursive: true, force: true })
cpSync(vendor, `${root}vendor`, { recursive: true })
