/**
 * The argv that runs this repoman again (for a command another program
 * runs later, as ssh runs `repoman ssh-proxy NAME`): the Node executable, its
 * options, and the entry script, all absolute.
 *
 * @since 0.1.0
 * @module
 */
import { resolve } from "node:path"

/**
 * The argv of this repoman: `node [node options] /path/to/repoman.js`.
 *
 * @since 0.1.0
 */
export const selfArgv = (): ReadonlyArray<string> => [
  process.execPath,
  ...process.execArgv,
  resolve(process.argv[1] ?? "repoman")
]
