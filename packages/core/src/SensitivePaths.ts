/**
 * Host paths a profile must not mount unless the user names them
 * (`--allow-sensitive PATH`): the maintained list of what would hand a
 * container the host's secrets or a way to act on the host.
 *
 * Two kinds of entry ({@link SensitivePath}):
 *
 * - `any`: refused read-only too. Secrets (`~/.ssh`, `~/.gnupg`,
 *   `~/.password-store`, keyrings, cloud and registry credentials, browser
 *   profiles, shell rc files), the sockets and state of the host's services
 *   (`/run`, which holds `/run/user/UID` with the ssh-agent, gpg-agent and
 *   D-Bus sockets; `/tmp`; `/var/lib/incus` and the other container
 *   runtimes), the host's configuration (`/etc`), other users' homes, and
 *   the whole home directory. A unix socket on a read-only mount can still
 *   be connected to, so a read-only mount of a socket directory is no safer.
 * - `writable`: refused only when mounted writable. What the host runs or
 *   reads as configuration: `~/.local` (programs in `~/.local/bin`,
 *   libraries, desktop entries), `~/.gitconfig` and `~/.config/git` (a
 *   writable gitconfig can set hooks the host's git runs), autostart and
 *   systemd user units, repoman's own config dir. Agent installs shared
 *   read-only from `~/.local/lib/...` pass.
 *
 * A source is sensitive when it is a listed path, lies under one, or holds
 * one (`~/.config` holds `~/.config/gh`; `/` holds everything). Entries
 * marked `ifPresent` (credential files that may sit in a directory shared
 * read-only, such as `~/.config/git/credentials`) count as held only when
 * they exist. A listed directory that holds the home directory itself (a
 * home under `/tmp`, as in tests) is left out. repoman's own state dir (`~/.local/state/repoman` by default)
 * is the one exception to `~/.local`: what repoman keeps there for
 * containers may be shared, except its ssh keys. Symlinks are resolved
 * first, so a link named `~/agent-state` that points at `~/.ssh` is caught.
 *
 * @since 0.1.0
 * @module
 */
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Path from "effect/Path"

/**
 * One entry of the list: a path (absolute, or relative to the home
 * directory), what it holds, and whether a read-only mount is refused too.
 *
 * @since 0.1.0
 * @category models
 */
export interface SensitivePath {
  /** Absolute (`/etc`), or relative to the home directory (`.ssh`). */
  readonly path: string
  /** What it holds, for the user. */
  readonly holds: string
  /** `any`: refused read-only too; `writable`: refused only when mounted writable. */
  readonly access: "any" | "writable"
  /** Counts as held by a source only when it exists. */
  readonly ifPresent?: boolean
}

const secret = (holds: string, ...paths: ReadonlyArray<string>): ReadonlyArray<SensitivePath> =>
  paths.map((path) => ({ path, holds, access: "any" }))

const writable = (holds: string, ...paths: ReadonlyArray<string>): ReadonlyArray<SensitivePath> =>
  paths.map((path) => ({ path, holds, access: "writable" }))

/**
 * Credential directories and files, relative to the home directory.
 *
 * @since 0.1.0
 * @category constants
 */
export const CREDENTIAL_DIRS: ReadonlyArray<string> = [
  ".ssh",
  ".gnupg",
  ".password-store",
  ".local/share/keyrings",
  ".local/share/kwalletd",
  ".kde/share/apps/kwallet",
  ".kde4/share/apps/kwallet",
  ".pki",
  ".aws",
  ".azure",
  ".config/gcloud",
  ".kube",
  ".docker",
  ".oci",
  ".config/doctl",
  ".terraform.d",
  ".config/gh",
  ".config/hub",
  ".config/glab-cli",
  ".config/op",
  ".config/Bitwarden",
  ".config/Bitwarden CLI",
  ".config/rclone",
  ".config/containers",
  ".local/share/containers",
  ".config/incus",
  ".config/lxc",
  ".vault-token",
  ".netrc",
  ".git-credentials",
  ".npmrc",
  ".pypirc",
  ".cargo/credentials",
  ".cargo/credentials.toml",
  ".gem/credentials"
]

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
 * Host directories that hold the sockets, state or configuration of the
 * host's services (the container engines' included).
 *
 * @since 0.1.0
 * @category constants
 */
export const SYSTEM_DIRS: ReadonlyArray<SensitivePath> = [
  ...secret("the host's configuration and password hashes", "/etc"),
  ...secret("root's home", "/root"),
  ...secret("the kernel and boot loader", "/boot"),
  ...secret("the host's processes, devices and kernel interfaces", "/proc", "/sys", "/dev"),
  ...secret(
    "the sockets of host services (the ssh-agent, gpg-agent and D-Bus sockets under /run/user/UID)",
    "/run",
    "/var/run"
  ),
  ...secret("every user's temporary files and sockets (X11, ssh-agent)", "/tmp", "/var/tmp"),
  ...secret(
    "the state and sockets of a container engine",
    "/var/lib/incus",
    "/var/lib/lxd",
    "/var/snap/lxd",
    "/var/lib/lxc",
    "/var/lib/docker",
    "/var/lib/containerd",
    "/var/lib/containers",
    "/var/lib/libvirt",
    "/var/lib/machines"
  ),
  ...secret("the host's logs", "/var/log"),
  ...writable("scheduled jobs of the host", "/var/spool")
]

/**
 * The list for the home directory (relative paths): credentials, browser
 * profiles and shell rc files refused in any mount, and what the host runs
 * refused writable.
 *
 * @since 0.1.0
 * @category constants
 */
export const HOME_PATHS: ReadonlyArray<SensitivePath> = [
  ...CREDENTIAL_DIRS.map((path): SensitivePath => ({ path, holds: "credentials", access: "any" })),
  { path: ".config/git/credentials", holds: "credentials", access: "any", ifPresent: true },
  ...BROWSER_DIRS.map((path): SensitivePath => ({ path, holds: "a browser profile", access: "any" })),
  ...SHELL_RC_FILES.map((path): SensitivePath => ({ path, holds: "a shell start-up file", access: "any" })),
  ...writable(
    "programs and data the host runs (a writable mount lets the container change them)",
    ".local",
    ".config/autostart",
    ".config/systemd",
    ".config/environment.d"
  ),
  ...writable("git configuration (a writable one can set hooks the host's git runs)", ".gitconfig", ".config/git")
]

/**
 * Who the check is for: the home directory, and repoman's own directories
 * (its state dir may be shared, except its ssh keys; its config dir only
 * read-only).
 *
 * @since 0.1.0
 * @category models
 */
export interface SensitiveContext {
  readonly home: string
  /** repoman's state dir (`~/.local/state/repoman` by default). */
  readonly stateDir?: string
  /** repoman's config dir (`~/.config/repoman` by default). */
  readonly configDir?: string
}

/**
 * Why a path is sensitive: what it exposes, and the listed path it touches.
 *
 * @since 0.1.0
 * @category models
 */
export interface Exposure {
  /** The path that was checked (as given). */
  readonly path: string
  /** What the path exposes, for the user. */
  readonly exposes: string
  /** The listed path it touches (equal to, under, or held by `path`). */
  readonly sensitive: string
}

const within = (path: string, dir: string): boolean =>
  path === dir || path.startsWith(dir.endsWith("/") ? dir : `${dir}/`)

const normalize = (p: string): string => (p.length > 1 && p.endsWith("/") ? p.slice(0, -1) : p)

const parentOf = (p: string): string => {
  const i = p.lastIndexOf("/")
  return i <= 0 ? "/" : p.slice(0, i)
}

/** Options of {@link exposure}. */
export interface ExposureOptions {
  /** The mount is read-only: `writable` entries do not apply. Default `false`. */
  readonly readOnly?: boolean
  /** Whether a path exists, for `ifPresent` entries. Default: every path does (strictest). */
  readonly exists?: (path: string) => boolean
}

/**
 * Every listed path for a context, absolute: the system directories, the
 * home directory's entries, other users' homes, repoman's ssh keys and
 * config dir.
 *
 * @since 0.1.0
 * @category utils
 */
export const sensitivePaths = (context: SensitiveContext): ReadonlyArray<SensitivePath> => {
  const home = normalize(context.home)
  const state = context.stateDir === undefined ? `${home}/.local/state/repoman` : normalize(context.stateDir)
  const config = context.configDir === undefined ? `${home}/.config/repoman` : normalize(context.configDir)
  return [
    // A directory that holds the home itself (a test home under /tmp) is judged by what else it holds.
    ...SYSTEM_DIRS.filter((p) => !within(home, p.path)),
    ...HOME_PATHS.map((p) => ({ ...p, path: `${home}/${p.path}`, holds: `${p.holds} (~/${p.path})` })),
    { path: `${state}/ssh`, holds: "repoman's ssh keys", access: "any" },
    { path: config, holds: "repoman's own configuration (profiles, plugins)", access: "writable" }
  ]
}

/**
 * Says what `path` exposes for `context`, without touching the file system
 * (resolve symlinks first, see {@link checkSource}).
 *
 * @example
 * ```ts
 * import { exposure } from "@repoman/core/SensitivePaths"
 * exposure("/home/ada/.ssh/id_ed25519", { home: "/home/ada" })?.exposes // "credentials (~/.ssh)"
 * exposure("/home/ada/.claude", { home: "/home/ada" }) // undefined
 * exposure("/home/ada/.local/lib/node_modules/x", { home: "/home/ada" }, { readOnly: true }) // undefined
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const exposure = (
  rawPath: string,
  context: SensitiveContext,
  options: ExposureOptions = {}
): Exposure | undefined => {
  const path = normalize(rawPath)
  const home = normalize(context.home)
  const state = context.stateDir === undefined ? `${home}/.local/state/repoman` : normalize(context.stateDir)
  const exists = options.exists ?? (() => true)
  if (within(home, path)) {
    return {
      path,
      sensitive: home,
      exposes: path === home ? "the whole home directory" : `the whole home directory (${home} is inside ${path})`
    }
  }
  // Other users' homes: everything beside the home directory in its parent,
  // except repoman's own dirs when they are there (judged by the list below).
  const homes = parentOf(home)
  const config = context.configDir === undefined ? `${home}/.config/repoman` : normalize(context.configDir)
  const own = within(path, state) || within(path, config)
  if (homes !== "/" && within(path, homes) && !within(path, home) && !own) {
    return { path, sensitive: homes, exposes: `another user's home (beside ${home} in ${homes})` }
  }
  for (const entry of sensitivePaths(context)) {
    if (entry.access === "writable" && options.readOnly === true) continue
    // repoman's state dir is the one place under ~/.local it shares from.
    if (entry.access === "writable" && within(state, entry.path) && within(path, state)) continue
    if (within(path, entry.path)) return { path, sensitive: entry.path, exposes: entry.holds }
    if (within(entry.path, path) && (entry.ifPresent !== true || exists(entry.path))) {
      return { path, sensitive: entry.path, exposes: `${entry.holds}, which is inside ${path}` }
    }
  }
  return undefined
}

/**
 * Checks one host source: resolves symlinks (of the source and of the home
 * directory) and returns what it exposes, if anything. A source that does
 * not exist is checked as written.
 *
 * @since 0.1.0
 * @category utils
 */
export const checkSource = Effect.fn("SensitivePaths.checkSource")(function*(
  source: string,
  context: SensitiveContext,
  options: { readonly readOnly?: boolean } = {}
) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const real = (p: string) => fs.realPath(p).pipe(Effect.orElseSucceed(() => path.resolve(p)))
  const realSource = yield* real(source)
  const realHome = yield* real(context.home)
  const present = new Set<string>()
  for (const entry of sensitivePaths(context)) {
    if (entry.ifPresent === true && (yield* fs.exists(entry.path).pipe(Effect.orElseSucceed(() => true)))) {
      present.add(entry.path)
    }
  }
  const check = (p: string, home: string) =>
    exposure(path.resolve(p), { ...context, home: path.resolve(home) }, {
      ...options,
      exists: (q) => present.has(q)
    })
  for (
    const [p, h] of [[source, context.home], [realSource, realHome], [realSource, context.home], [
      source,
      realHome
    ]] as const
  ) {
    const found = check(p, h)
    if (found !== undefined) {
      return p === source
        ? found
        : { ...found, path: source, exposes: `${found.exposes}: ${source} resolves to ${realSource}` }
    }
  }
  return undefined
})

/**
 * Whether the user's `--allow-sensitive` paths name an exposure: one of
 * them is the source itself or the listed path it touches (a parent of it
 * does not count: the user names what they share).
 *
 * @since 0.1.0
 * @category utils
 */
export const allowedBy = (found: Exposure, allowed: ReadonlyArray<string>): boolean =>
  allowed.map(normalize).some((a) => a === normalize(found.path) || a === normalize(found.sensitive))
