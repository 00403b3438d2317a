/**
 * git config as the git seal sees it: the allowlist a sealed gitdir's config
 * is built from, and which config keys make git run a program.
 *
 * - {@link sealedConfig} writes the config of the gitdir repoman seeds for
 *   a sealed container: only format and file-system keys, each checked,
 *   nothing that names a program, a path, a remote or an include.
 * - {@link executingEntries} picks, from a config listing, the entries that
 *   make git run something (hooks, fsmonitor, pagers, editors, filters,
 *   drivers, helpers, `!` aliases) or take config or a work tree from
 *   elsewhere (includes, `core.worktree`). `status` reports them when a
 *   host `.git` changed, rather than a bare "changed".
 *
 * @since 0.1.0
 * @module
 */

/**
 * One config entry: the key as git lists it (section and variable
 * lower-case, a subsection as written) and its value (`undefined` for a
 * bare boolean key).
 *
 * @since 0.1.0
 * @category models
 */
export interface ConfigEntry {
  readonly key: string
  readonly value: string | undefined
}

/**
 * Parses the output of `git config --null --list`: entries end with NUL,
 * and a newline separates a key from its value (a key alone is a bare
 * boolean).
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseList = (output: string): ReadonlyArray<ConfigEntry> =>
  output.split("\0").filter((e) => e.length > 0).map((entry) => {
    const newline = entry.indexOf("\n")
    return newline < 0
      ? { key: entry, value: undefined }
      : { key: entry.slice(0, newline), value: entry.slice(newline + 1) }
  })

const booleans = new Set(["true", "false", "yes", "no", "on", "off", "1", "0"])

/**
 * The keys a sealed gitdir's config may carry, each with the values it may
 * take. Everything else in the host's config stays out.
 *
 * @since 0.1.0
 * @category allowlist
 */
export const SEALED_KEYS: ReadonlyMap<string, (value: string) => boolean> = new Map([
  ["core.repositoryformatversion", (v: string) => v === "0" || v === "1"],
  ["extensions.objectformat", (v: string) => v === "sha1" || v === "sha256"],
  ["core.filemode", (v: string) => booleans.has(v)],
  ["core.symlinks", (v: string) => booleans.has(v)],
  ["core.ignorecase", (v: string) => booleans.has(v)],
  ["core.precomposeunicode", (v: string) => booleans.has(v)],
  ["core.logallrefupdates", (v: string) => booleans.has(v) || v === "always"]
])

/**
 * The text of a sealed gitdir's config: the allowlisted entries of
 * `entries` whose values check out, in the allowlist's order (the last
 * value of a key wins, as in git). `core.bare` is always `false`: the
 * gitdir is mounted at the repo's `.git`.
 *
 * @example
 * ```ts
 * import { sealedConfig } from "@repoman/core/GitConfig"
 * sealedConfig([
 *   { key: "core.repositoryformatversion", value: "0" },
 *   { key: "core.fsmonitor", value: "touch /tmp/owned" }
 * ])
 * // "[core]\n\trepositoryformatversion = 0\n\tbare = false\n"
 * ```
 *
 * @since 0.1.0
 * @category allowlist
 */
export const sealedConfig = (entries: ReadonlyArray<ConfigEntry>): string => {
  const values = new Map<string, string>()
  for (const { key, value } of entries) {
    const check = SEALED_KEYS.get(key)
    if (check !== undefined && value !== undefined && check(value)) values.set(key, value)
  }
  const sections = new Map<string, Array<string>>()
  const add = (section: string, line: string) => sections.set(section, [...(sections.get(section) ?? []), line])
  for (const key of SEALED_KEYS.keys()) {
    const value = values.get(key)
    if (value === undefined) continue
    const [section = "", name = ""] = key.split(".")
    add(section, `\t${name} = ${value}`)
  }
  add("core", "\tbare = false")
  const order = ["core", "extensions"]
  return order.filter((s) => sections.has(s)).map((s) => `[${s}]\n${(sections.get(s) ?? []).join("\n")}\n`).join("")
}

/** `section.<subsection>.name` patterns whose value is a program (or a path to one). */
const programKeys: ReadonlyArray<RegExp> = [
  /^core\.(hookspath|sshcommand|pager|editor|askpass|gitproxy|alternaterefscommand|worktree)$/,
  /^sequence\.editor$/,
  /^diff\.external$/,
  /^diff\..+\.(textconv|command)$/,
  /^(difftool|mergetool)\..+\.cmd$/,
  /^merge\..+\.driver$/,
  /^filter\..+\.(clean|smudge|process)$/,
  /^credential\.(.+\.)?helper$/,
  /^gpg\.(.+\.)?program$/,
  /^uploadpack\.packobjectshook$/,
  /^include\.path$/,
  /^includeif\..+\.path$/,
  /^pager\..+$/,
  /^(web\.browser|browser\..+\.(cmd|path)|man\..+\.(cmd|path))$/,
  /^remote\..+\.(uploadpack|receivepack)$/,
  /^hook\..+\.command$/,
  /^trailer\..+\.(command|cmd)$/
]

/**
 * Whether a config entry makes git run a program (or read more config
 * from elsewhere): see the module docs. `core.fsmonitor` counts unless it
 * is a boolean; an alias counts when it starts with `!`; `protocol.*.allow`
 * counts when it lets the `ext` transport (which runs a command) be used.
 *
 * @since 0.1.0
 * @category classification
 */
export const runsProgram = (entry: ConfigEntry): boolean => {
  const { key, value = "" } = entry
  if (key === "core.fsmonitor") return !booleans.has(value.toLowerCase())
  if (key.startsWith("alias.")) return value.trimStart().startsWith("!")
  if (/^submodule\..+\.update$/.test(key)) return value.trimStart().startsWith("!")
  if (key === "protocol.allow" || key === "protocol.ext.allow") return value === "always" || value === "user"
  return programKeys.some((re) => re.test(key))
}

/**
 * The entries of a config listing that make git run a program.
 *
 * @since 0.1.0
 * @category classification
 */
export const executingEntries = (entries: ReadonlyArray<ConfigEntry>): ReadonlyArray<ConfigEntry> =>
  entries.filter(runsProgram)
