#!/usr/bin/env node
// The `repoman` executable: the bundle that `pnpm run build` writes (fast
// start-up), with Node's on-disk compile cache so later runs skip compiling it.
// The cache lives in the user's own cache dir ($NODE_COMPILE_CACHE, else
// $XDG_CACHE_HOME/repoman/node-compile-cache, else ~/.cache/...): Node's
// default, one shared dir under /tmp, belongs to whichever user made it first,
// and every other user then runs without a cache.
import module from "node:module"
import { homedir } from "node:os"
import { join } from "node:path"

const cacheHome = process.env.XDG_CACHE_HOME || join(homedir(), ".cache")
module.enableCompileCache?.(process.env.NODE_COMPILE_CACHE || join(cacheHome, "repoman", "node-compile-cache"))
// dist/repoman.js.map maps the bundle back to the sources; reading it costs
// ~100 ms per start, so stack traces use it only when asked for.
if (process.env.REPOMAN_DEBUG) process.setSourceMapsEnabled(true)
await import("../dist/repoman.js")
