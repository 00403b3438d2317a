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
import { splitRemote } from "./internal/remoteArgs.ts"

const given = process.argv.slice(2)
const split = splitRemote(given)
if (split._tag === "Malformed") {
  process.stderr.write(`repoman: ${split.message}\n`)
  process.exitCode = 2
} else {
  const argv = split.argv
  const first = argv[0]
  if (given.length === 1 && (first === "--version" || first === "-v")) {
    process.stdout.write(`repoman v${version}\n`)
  } else if (first === "exec" || first === "run" || first === "shell" || first === "list" || first === "ssh-proxy") {
    ;(await import("./internal/entry/fast.ts")).main(argv, split.remote)
  } else {
    // The whole CLI declares --remote itself (help, `setup --remote`): it gets the arguments as given.
    ;(await import("./internal/entry/full.ts")).main(given, split.remote)
  }
}
