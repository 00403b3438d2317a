#!/usr/bin/env node
// The `repoman` executable: the bundle that `pnpm run build` writes (fast start-up).
import "../dist/repoman.js"
