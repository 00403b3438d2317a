/**
 * `--remote NAME` taken out of the arguments, and `$REPOMAN_REMOTE`: no
 * imports, so that `bin.ts` can read them before it loads anything
 * (`repoman --version` stays as fast as it was). See `remoteFlag.ts`.
 */

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

/** `$REPOMAN_REMOTE`, when set and not empty. */
export const envRemote = (): string | undefined => {
  const value = process.env["REPOMAN_REMOTE"]
  return value === undefined || value.length === 0 ? undefined : value
}
