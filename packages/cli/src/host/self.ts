/**
 * The argv that runs this repoman again (for a command another program
 * runs later, as ssh runs `repoman ssh-proxy NAME`): the Node executable, its
 * options, and the entry script, all absolute, talking to the same Incus:
 * the remote this run was told to use (`--remote`, `$REPOMAN_REMOTE`) goes
 * with it as `--remote NAME`, and a client config dir given by
 * `$INCUS_CONF` (where that remote and its certificates are) as
 * `env INCUS_CONF=DIR`. Without them, the later run would read the
 * registry's `[incus] remote` and `~/.config/incus`, which may name another
 * server.
 *
 * @since 0.1.0
 * @module
 */
import { resolve } from "node:path"
import { envRemote, splitRemote } from "../internal/remoteArgs.ts"

/**
 * The argv of this repoman: `[env INCUS_CONF=DIR] node [node options]
 * /path/to/repoman.js [--remote NAME]`.
 *
 * @since 0.1.0
 */
export const selfArgv = (): ReadonlyArray<string> => {
  const split = splitRemote(process.argv.slice(2))
  const remote = (split._tag === "Split" ? split.remote : undefined) ?? envRemote()
  const conf = process.env["INCUS_CONF"]
  return [
    ...(conf === undefined || conf.length === 0 ? [] : ["env", `INCUS_CONF=${resolve(conf)}`]),
    process.execPath,
    ...process.execArgv,
    resolve(process.argv[1] ?? "repoman"),
    ...(remote === undefined ? [] : ["--remote", remote])
  ]
}
