/**
 * The `repoman` executable. It loads only what the command it runs needs:
 * `--version` is answered at once; `exec`, `run`, `shell`, `list` and
 * `ssh-proxy` (ssh's ProxyCommand) load
 * their own code and the session stack (`internal/entry/fast.ts`);
 * everything else the whole CLI. (`scripts/bundle.ts` splits the bundle
 * along these imports.)
 *
 * @since 0.1.0
 */
import { version } from "@repoman/core/Version"

const argv = process.argv.slice(2)
const first = argv[0]
if (argv.length === 1 && (first === "--version" || first === "-v")) {
  process.stdout.write(`repoman v${version}\n`)
} else if (first === "exec" || first === "run" || first === "shell" || first === "list" || first === "ssh-proxy") {
  ;(await import("./internal/entry/fast.ts")).main(argv)
} else {
  ;(await import("./internal/entry/full.ts")).main(argv)
}
