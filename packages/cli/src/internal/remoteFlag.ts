/**
 * `--remote NAME` (or `--remote=NAME`), global: which Incus remote of the
 * `incus` client a run talks to. It chooses the live stack, which is built
 * before the command line is parsed, so it is taken out of the arguments
 * first (anywhere before a `--`: after it, the words are a command's own);
 * the CLI also declares it, for `--help`.
 *
 * A name the flag or `$REPOMAN_REMOTE` gives is checked against the
 * `incus` client's remotes before anything runs: an unknown one is a usage
 * error (exit 2) that lists the known ones.
 */
import * as Flag from "effect/cli/Flag"
import * as GlobalFlag from "effect/cli/GlobalFlag"
import * as Effect from "effect/Effect"

/** The arguments without `--remote`, and the name it gave; or why it is malformed. */
export type Split =
  | { readonly _tag: "Split"; readonly argv: ReadonlyArray<string>; readonly remote: string | undefined }
  | { readonly _tag: "Malformed"; readonly message: string }

/** Takes `--remote NAME` / `--remote=NAME` out of `argv` (before any `--`); at most once. */
export const splitRemote = (argv: ReadonlyArray<string>): Split => {
  const out: Array<string> = []
  let remote: string | undefined
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? ""
    if (arg === "--") {
      out.push(...argv.slice(i))
      break
    }
    if (arg !== "--remote" && !arg.startsWith("--remote=")) {
      out.push(arg)
      continue
    }
    const value = arg === "--remote" ? argv[++i] : arg.slice("--remote=".length)
    if (remote !== undefined) return { _tag: "Malformed", message: "--remote is given twice; nothing was done" }
    if (value === undefined || value.length === 0 || value.startsWith("-")) {
      return { _tag: "Malformed", message: "--remote needs the name of an Incus remote ('incus remote list')" }
    }
    remote = value
  }
  return { _tag: "Split", argv: out, remote }
}

/** The flag as the CLI shows it in `--help` (its value is taken by {@link splitRemote}). */
export const RemoteFlag = GlobalFlag.Setting("remote")({
  flag: Flag.String("remote").pipe(
    Flag.optional,
    Flag.withDescription(
      "The Incus remote to talk to, as 'incus remote list' names it (default: $REPOMAN_REMOTE, " +
        "else [incus] remote in repoman.toml, else the local unix socket)"
    )
  )
})

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

/** `$REPOMAN_REMOTE`, when set and not empty. */
export const envRemote = (): string | undefined => {
  const value = process.env["REPOMAN_REMOTE"]
  return value === undefined || value.length === 0 ? undefined : value
}
