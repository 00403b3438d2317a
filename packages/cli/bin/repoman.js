#!/usr/bin/env node
// The `repoman` executable: the bundle that `pnpm run build` writes (fast
// start-up), with Node's on-disk compile cache so later runs skip compiling it.
import module from "node:module"

module.enableCompileCache?.()
await import("../dist/repoman.js")
