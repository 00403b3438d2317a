/**
 * Host paths a shared profile must not expose without the user's explicit
 * consent: credentials (`~/.ssh`, `~/.gnupg`,
 * `~/.aws`, `~/.kube`, `~/.docker`, `~/.config/gh`), browser profiles, shell
 * rc files, and the home directory itself. A source is sensitive when it is
 * one of those, lies under one, or contains one (`~/.config` holds
 * `~/.config/gh`; `/` holds everything). Symlinks are resolved first, so a
 * link named `~/agent-state` that points at `~/.ssh` is caught.
 *
 * @since 0.1.0
 * @module
 */
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Path from "effect/Path"

/**
 * Credential directories, relative to the home directory.
 *
 * @since 0.1.0
 * @category constants
 */
export const CREDENTIAL_DIRS: ReadonlyArray<string> = [".ssh", ".gnupg", ".aws", ".kube", ".docker", ".config/gh"]

/**
 * Browser profile directories, relative to the home directory.
 *
 * @since 0.1.0
 * @category constants
 */
export const BROWSER_DIRS: ReadonlyArray<string> = [
  ".mozilla",
  ".librewolf",
  ".waterfox",
  "snap/firefox",
  "snap/chromium",
  ".var/app/org.mozilla.firefox",
  ".var/app/com.google.Chrome",
  ".var/app/org.chromium.Chromium",
  ".config/google-chrome",
  ".config/google-chrome-beta",
  ".config/google-chrome-unstable",
  ".config/chromium",
  ".config/BraveSoftware",
  ".config/microsoft-edge",
  ".config/vivaldi",
  ".config/opera",
  "Library/Application Support/Google/Chrome",
  "Library/Application Support/Firefox"
]

/**
 * Shell start-up files (and fish's config dir), relative to the home directory.
 *
 * @since 0.1.0
 * @category constants
 */
export const SHELL_RC_FILES: ReadonlyArray<string> = [
  ".profile",
  ".bashrc",
  ".bash_profile",
  ".bash_login",
  ".bash_logout",
  ".bash_aliases",
  ".zshrc",
  ".zshenv",
  ".zprofile",
  ".zlogin",
  ".zlogout",
  ".kshrc",
  ".mkshrc",
  ".cshrc",
  ".tcshrc",
  ".login",
  ".config/fish",
  ".config/nushell",
  ".inputrc"
]

/**
 * Why a path is sensitive: what it is, and the sensitive path it touches.
 *
 * @since 0.1.0
 * @category models
 */
export interface Exposure {
  /** The path that was checked (as resolved). */
  readonly path: string
  /** What the path exposes, for the user. */
  readonly exposes: string
}

const within = (path: string, dir: string): boolean =>
  path === dir || path.startsWith(dir.endsWith("/") ? dir : `${dir}/`)

const normalize = (p: string): string => (p.length > 1 && p.endsWith("/") ? p.slice(0, -1) : p)

/**
 * Says what `path` exposes when it is sensitive relative to `home`, without
 * touching the file system (resolve symlinks first, see {@link checkSource}).
 *
 * @example
 * ```ts
 * import { exposure } from "@repoman/core/SensitivePaths"
 * exposure("/home/ada/.ssh/id_ed25519", "/home/ada")?.exposes // "SSH keys and config (~/.ssh)"
 * exposure("/home/ada/.claude", "/home/ada") // undefined
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const exposure = (rawPath: string, rawHome: string): Exposure | undefined => {
  const path = normalize(rawPath)
  const home = normalize(rawHome)
  if (within(home, path)) {
    return {
      path,
      exposes: path === home ? "the whole home directory" : `the whole home directory (${home} is inside ${path})`
    }
  }
  const groups: ReadonlyArray<readonly [ReadonlyArray<string>, (rel: string) => string]> = [
    [CREDENTIAL_DIRS, (rel) => `credentials (~/${rel})`],
    [BROWSER_DIRS, (rel) => `a browser profile (~/${rel})`],
    [SHELL_RC_FILES, (rel) => `a shell start-up file (~/${rel})`]
  ]
  for (const [rels, describe] of groups) {
    for (const rel of rels) {
      const sensitive = `${home}/${rel}`
      if (within(path, sensitive)) return { path, exposes: describe(rel) }
      if (within(sensitive, path)) return { path, exposes: `${describe(rel)}, which is inside ${path}` }
    }
  }
  return undefined
}

/**
 * Checks one host source: resolves symlinks (of the source and of the home
 * directory) and returns what it exposes, if anything. A source that does not
 * exist is checked as written.
 *
 * @since 0.1.0
 * @category utils
 */
export const checkSource = Effect.fn("SensitivePaths.checkSource")(function*(source: string, home: string) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const real = (p: string) => fs.realPath(p).pipe(Effect.orElseSucceed(() => path.resolve(p)))
  const realSource = yield* real(source)
  const realHome = yield* real(home)
  for (const [p, h] of [[source, home], [realSource, realHome], [realSource, home], [source, realHome]] as const) {
    const found = exposure(path.resolve(p), path.resolve(h))
    if (found !== undefined) {
      return p === source ? found : { path: source, exposes: `${found.exposes}: ${source} resolves to ${realSource}` }
    }
  }
  return undefined
})
