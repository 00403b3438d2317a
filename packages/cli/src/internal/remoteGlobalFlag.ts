/**
 * `--remote` as the whole CLI declares it: shown by `--help`, read by
 * `setup --remote` (to record it). The live stack takes its value before
 * the CLI runs (`remoteFlag.ts`), so that the session commands' fast path
 * loads no CLI framework.
 */
import * as Flag from "effect/cli/Flag"
import * as GlobalFlag from "effect/cli/GlobalFlag"

/** The flag as the CLI shows it in `--help` (the live stack takes its value from `splitRemote`). */
export const RemoteFlag = GlobalFlag.Setting("remote")({
  flag: Flag.String("remote").pipe(
    Flag.optional,
    Flag.withDescription(
      "The Incus remote to talk to, as 'incus remote list' names it (default: $REPOMAN_REMOTE, " +
        "else [incus] remote in repoman.toml, else the local unix socket)"
    )
  )
})
