/**
 * `--remote NAME` (or `--remote=NAME`), global: which Incus remote of the
 * `incus` client a run talks to. It chooses the live stack, which is built
 * before the command line is parsed, so it is taken out of the arguments
 * first (anywhere before a `--`: after it, the words are a command's own);
 * the CLI also declares it (`remoteGlobalFlag.ts`, which the fast path does
 * not load), for `--help` and for `setup --remote`.
 *
 * A name the flag or `$REPOMAN_REMOTE` gives is checked against the
 * `incus` client's remotes before anything runs: an unknown one is a usage
 * error (exit 2) that lists the known ones.
 */
import * as Effect from "effect/Effect"

export { envRemote, splitRemote } from "./remoteArgs.ts"

/**
 * Checks that remote `name` exists and can be used (an unknown name is a
 * usage error). `local` needs no check. Loads the remotes module only when
 * a remote is named.
 */
export const checkRemote = (name: string | undefined) =>
  name === undefined || name === "local" ?
    Effect.void :
    Effect.promise(() => import("@repoman/incus/IncusRemotes")).pipe(
      Effect.flatMap((remotes) => remotes.load(name)),
      Effect.asVoid
    )
