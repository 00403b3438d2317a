/**
 * The coding agents repoman makes runnable inside containers, and the
 * sharing plan of each: what comes from the host read-only (the agent's
 * install and the Node runtime it needs), what is shared read-write with the
 * host (only a credential store, and only where the agent's own write
 * pattern keeps one refresh chain), what is copied into a project when it is
 * made (non-secret configuration, with every key the agent would run as a
 * command removed), and what stays per project (everything else).
 *
 * The rules behind the plans (issue 13):
 *
 * - No file the host's agent reads as configuration or runs (settings with
 *   hooks, MCP server lists, plugins, `notify` commands, pi's `!command`
 *   values) is writable from a container: containers get copies, in a
 *   directory of their own, never read back by the host.
 * - Claude Code rotates its refresh token on every refresh, so two copies of
 *   one login log each other out. Its credential store (and nothing else) is
 *   one repoman-owned directory mounted read-write at the same path in every
 *   container (`CLAUDE_SECURESTORAGE_CONFIG_DIR`); Claude writes it by
 *   temp file and rename inside that directory, under a lock file in it, so
 *   the host and every container keep one chain.
 * - Gemini CLI never rotates its refresh token: a copy is the same login. Its
 *   `oauth_creds.json` is also configuration (an `external_account` entry
 *   makes it read and post any file), so only a validated copy goes in.
 * - Codex renames `auth.json` and follows symlink chains when it does, and pi
 *   writes `auth.json` in place through symlinks and runs `!command` values
 *   from it: neither is shared. Codex logs in per project (or takes an API
 *   key from the environment); pi gets its plain API keys copied.
 *
 * This module is data and pure functions; the programs that act on the host
 * are `@repoman/programs/AgentInstall` and `@repoman/programs/AgentState`.
 *
 * @since 0.1.0
 * @module
 */
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { parse as parseToml, stringify as stringifyToml } from "smol-toml"

// ---------------------------------------------------------------------------
// Ids
// ---------------------------------------------------------------------------

/**
 * The tools repoman shares into containers: the four agents and the Node
 * runtime three of them need. Also the keys of `[agents]` in the registry
 * and of `--agent-dir NAME=DIR`.
 *
 * @since 0.1.0
 * @category ids
 */
export const ToolId = Schema.Literals(["node", "claude", "codex", "gemini", "pi"])
/**
 * The decoded type of the `ToolId` schema.
 *
 * @since 0.1.0
 * @category ids
 */
export type ToolId = typeof ToolId.Type

/**
 * Every tool, in the order profiles list them on `PATH`.
 *
 * @since 0.1.0
 * @category ids
 */
export const TOOL_IDS: ReadonlyArray<ToolId> = ["claude", "codex", "gemini", "pi", "node"]

/**
 * The profile label (Incus: `user.repoman.agent`) that marks a profile as a
 * tool's: `new` gives a container with such a profile the tool's
 * per-project state, and `profile install` prepares the host for it.
 *
 * @since 0.1.0
 * @category ids
 */
export const AGENT_LABEL = "agent"

// ---------------------------------------------------------------------------
// Plans
// ---------------------------------------------------------------------------

/**
 * A command the tool puts on `PATH` inside: `name` is a symlink in the
 * tool's shim directory to `target` inside its install.
 *
 * @since 0.1.0
 * @category models
 */
export interface Command {
  readonly name: string
  readonly target: string
}

/**
 * Where an agent keeps its state on the host: `$<env>` when set (or
 * `$<env>/<home>` when the variable replaces the home, `envIsHome`), else
 * `~/<home>`.
 *
 * @since 0.1.0
 * @category models
 */
export interface HostDir {
  readonly env: string
  readonly home: string
  readonly envIsHome?: boolean
}

/**
 * How a tool's install is found on the host: the npm package whose
 * directory holds it (resolved from `command` on `PATH`), or, for Node, the
 * install of the executable running repoman (the directory above `bin/node`).
 *
 * @since 0.1.0
 * @category models
 */
export type InstallKind =
  | { readonly _tag: "NpmPackage"; readonly package: string; readonly command: string }
  | { readonly _tag: "NodeRuntime" }

/**
 * How an agent's login reaches containers.
 *
 * - `SharedStore`: one directory, `store` (a path under repoman's state
 *   dir), holding only `file`, mounted read-write at the same path in every
 *   container and named by `env` there; `profile install` moves the host's
 *   `hostFile` (relative to the agent's host dir) into it, and the host's
 *   agent must run with `env` set to it too.
 * - `Copied`: the host's `hostFile` is copied (validated) into each
 *   project's state when it is made, and again before a command runs when
 *   the host's file is newer.
 * - `PerProject`: nothing is shared; `note` says how to log in.
 *
 * @since 0.1.0
 * @category models
 */
export type Credentials =
  | { readonly _tag: "SharedStore"; readonly file: string; readonly env: string; readonly hostFile: string }
  | { readonly _tag: "Copied"; readonly hostFile: string; readonly sanitize: Sanitizer; readonly note: string }
  | { readonly _tag: "PerProject"; readonly note: string }

/**
 * A file or directory copied from the agent's host dir into a new project's
 * state: `from` (relative to the host dir, or to the home when `fromHome`
 * and the agent's variable is not set: Claude keeps `.claude.json` in
 * `$CLAUDE_CONFIG_DIR` when that is set, else in the home),
 * `to` (relative to the project's state dir). A file goes through
 * `sanitize`; a directory is copied as is (regular files and directories
 * only: symlinks are never followed).
 *
 * @since 0.1.0
 * @category models
 */
export interface SeedItem {
  readonly from: string
  readonly fromHome?: boolean
  readonly to: string
  readonly kind: "file" | "directory"
  readonly sanitize?: Sanitizer
  /** What the copy leaves out, for `profile show`. */
  readonly note?: string
}

/**
 * A tool's sharing plan.
 *
 * @since 0.1.0
 * @category models
 */
export interface Tool {
  readonly id: ToolId
  readonly title: string
  readonly install: InstallKind
  /** The commands put on `PATH` (for Node: every file of its `bin/`). */
  readonly commands: ReadonlyArray<Command>
  /** Whether it needs the Node runtime mounted too. */
  readonly needsNode: boolean
  /** The agent's state dir on the host (absent for Node). */
  readonly hostDir?: HostDir
  /** Where the project's own state dir is mounted inside, relative to the home (absent for Node). */
  readonly stateDir?: string
  readonly credentials?: Credentials
  readonly seed: ReadonlyArray<SeedItem>
  /** What stays per project, in words. */
  readonly perProject: string
}

// ---------------------------------------------------------------------------
// Sanitizers
// ---------------------------------------------------------------------------

/**
 * Turns a host file's text into the text a project gets, or says why the
 * file is not copied.
 *
 * @since 0.1.0
 * @category sanitizers
 */
export type Sanitizer = (text: string) => Result.Result<string, string>

const jsonObject = (text: string): Result.Result<Record<string, unknown>, string> => {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return Result.fail("not valid JSON")
  }
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? Result.succeed(value as Record<string, unknown>)
    : Result.fail("not a JSON object")
}

/** A value of a file for a message: quoted when it is a plain word, else not shown (it may hold terminal escapes). */
const shown = (value: unknown): string =>
  typeof value === "string" && /^[A-Za-z0-9_.-]{1,64}$/.test(value) ? `"${value}"` : "(not shown)"

const jsonText = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * A JSON object without the keys at `paths` (each a list of keys into
 * nested objects).
 *
 * @since 0.1.0
 * @category sanitizers
 */
export const withoutJsonKeys = (paths: ReadonlyArray<ReadonlyArray<string>>): Sanitizer => (text) =>
  Result.map(jsonObject(text), (object) => {
    const copy = structuredClone(object)
    for (const keys of paths) {
      let at: unknown = copy
      for (const key of keys.slice(0, -1)) at = isObject(at) ? at[key] : undefined
      const last = keys[keys.length - 1]
      if (isObject(at) && last !== undefined) delete at[last]
    }
    return jsonText(copy)
  })

/**
 * A JSON object with only the top-level keys in `keep`.
 *
 * @since 0.1.0
 * @category sanitizers
 */
export const onlyJsonKeys = (keep: ReadonlyArray<string>): Sanitizer => (text) =>
  Result.map(
    jsonObject(text),
    (object) => jsonText(Object.fromEntries(keep.flatMap((k) => k in object ? [[k, object[k]]] : [])))
  )

/**
 * A TOML document without the top-level keys (and tables) in `drop`.
 *
 * @since 0.1.0
 * @category sanitizers
 */
export const withoutTomlKeys = (drop: ReadonlyArray<string>): Sanitizer => (text) => {
  let table: Record<string, unknown>
  try {
    table = parseToml(text) as Record<string, unknown>
  } catch {
    return Result.fail("not valid TOML")
  }
  for (const key of drop) delete table[key]
  return Result.succeed(`${stringifyToml(table)}\n`)
}

const dropBangStrings = (value: unknown): unknown => {
  if (Array.isArray(value)) {
    return value.filter((v) => !(typeof v === "string" && v.startsWith("!"))).map(dropBangStrings)
  }
  if (isObject(value)) {
    return Object.fromEntries(
      Object.entries(value).flatMap(([k, v]) =>
        typeof v === "string" && v.startsWith("!") ? [] : [[k, dropBangStrings(v)] as const]
      )
    )
  }
  return value
}

/**
 * pi runs any value that starts with `!` as a shell command (API keys,
 * headers): the JSON without such values.
 *
 * @since 0.1.0
 * @category sanitizers
 */
export const withoutBangCommands: Sanitizer = (text) =>
  Result.map(jsonObject(text), (o) => jsonText(dropBangStrings(o)))

/**
 * pi's `auth.json` as a project gets it: only API keys written out (no
 * `!command`, no OAuth login: pi's Anthropic OAuth refresh tokens rotate,
 * so a copy would log the host out).
 *
 * @since 0.1.0
 * @category sanitizers
 */
export const piApiKeys: Sanitizer = (text) =>
  Result.map(
    jsonObject(text),
    (o) =>
      jsonText(Object.fromEntries(
        Object.entries(o).filter(([, v]) =>
          isObject(v) && v["type"] === "api_key" && typeof v["key"] === "string" && !v["key"].startsWith("!")
        )
      ))
  )

/**
 * Gemini CLI's `oauth_creds.json` is copied only as a plain Google user
 * login (`type` absent or `authorized_user`, tokens as strings): any other
 * `type` (`external_account`, `service_account`, ...) makes Gemini CLI read
 * files or run programs named in it.
 *
 * @since 0.1.0
 * @category sanitizers
 */
export const geminiOauthCreds: Sanitizer = (text) =>
  Result.flatMap(jsonObject(text), (o) => {
    const type = o["type"]
    if (type !== undefined && type !== "authorized_user") return Result.fail(`a credential of type ${shown(type)}`)
    for (const [k, v] of Object.entries(o)) {
      if (typeof v === "object" && v !== null) return Result.fail(`the key ${shown(k)} is not a plain value`)
    }
    if (typeof o["refresh_token"] !== "string" && typeof o["access_token"] !== "string") {
      return Result.fail("no token in it")
    }
    return Result.succeed(jsonText(o))
  })

/**
 * The keys of Claude Code's `settings.json` that name commands it runs
 * (hooks, credential and status helpers) or carry secrets (`env`).
 *
 * @since 0.1.0
 * @category sanitizers
 */
export const CLAUDE_SETTINGS_DROPPED: ReadonlyArray<string> = [
  "hooks",
  "apiKeyHelper",
  "statusLine",
  "otelHeadersHelper",
  "awsAuthRefresh",
  "awsCredentialExport",
  "gcpAuthRefresh",
  "fileSuggestion",
  "env"
]

/**
 * The keys of `~/.claude.json` a project gets: onboarding, theme and the
 * account's identity (no API key, no MCP servers, no per-project history).
 *
 * @since 0.1.0
 * @category sanitizers
 */
export const CLAUDE_JSON_KEPT: ReadonlyArray<string> = [
  "hasCompletedOnboarding",
  "lastOnboardingVersion",
  "theme",
  "oauthAccount",
  "userID",
  "bypassPermissionsModeAccepted",
  "editorMode",
  "verbose",
  "autoCompactEnabled"
]

/**
 * The keys of Codex's `config.toml` that name programs it runs or servers it
 * starts.
 *
 * @since 0.1.0
 * @category sanitizers
 */
export const CODEX_CONFIG_DROPPED: ReadonlyArray<string> = [
  "notify",
  "mcp_servers",
  "model_providers",
  "hooks",
  "plugins",
  "js_repl_node_path",
  "file_opener"
]

/**
 * The keys of Gemini CLI's `settings.json` that start servers or run
 * commands.
 *
 * @since 0.1.0
 * @category sanitizers
 */
export const GEMINI_SETTINGS_DROPPED: ReadonlyArray<ReadonlyArray<string>> = [
  ["mcpServers"],
  ["mcp"],
  ["hooks"],
  ["tools", "discoveryCommand"],
  ["tools", "callCommand"]
]

/**
 * The keys of pi's `settings.json` that load code or name a shell.
 *
 * @since 0.1.0
 * @category sanitizers
 */
export const PI_SETTINGS_DROPPED: ReadonlyArray<string> = [
  "packages",
  "extensions",
  "shellPath",
  "shellCommandPrefix"
]

// ---------------------------------------------------------------------------
// The catalog
// ---------------------------------------------------------------------------

const dropped = (keys: ReadonlyArray<string>) => `without ${keys.join(", ")}`

/**
 * The sharing plan of every tool.
 *
 * @since 0.1.0
 * @category catalog
 */
export const TOOLS: Readonly<Record<ToolId, Tool>> = {
  node: {
    id: "node",
    title: "Node.js (the runtime of Gemini CLI, Codex's launcher and pi)",
    install: { _tag: "NodeRuntime" },
    commands: [],
    needsNode: false,
    seed: [],
    perProject: "nothing (a runtime keeps no state of its own)"
  },
  claude: {
    id: "claude",
    title: "Claude Code",
    install: { _tag: "NpmPackage", package: "@anthropic-ai/claude-code", command: "claude" },
    commands: [{ name: "claude", target: "bin/claude.exe" }],
    needsNode: false,
    hostDir: { env: "CLAUDE_CONFIG_DIR", home: ".claude" },
    stateDir: ".claude",
    credentials: {
      _tag: "SharedStore",
      file: ".credentials.json",
      env: "CLAUDE_SECURESTORAGE_CONFIG_DIR",
      hostFile: ".credentials.json"
    },
    seed: [
      {
        from: "settings.json",
        to: "settings.json",
        kind: "file",
        sanitize: withoutJsonKeys(CLAUDE_SETTINGS_DROPPED.map((k) => [k])),
        note: dropped(CLAUDE_SETTINGS_DROPPED)
      },
      { from: "CLAUDE.md", to: "CLAUDE.md", kind: "file" },
      { from: "commands", to: "commands", kind: "directory" },
      { from: "agents", to: "agents", kind: "directory" },
      { from: "skills", to: "skills", kind: "directory" },
      {
        from: ".claude.json",
        fromHome: true,
        to: ".claude.json",
        kind: "file",
        sanitize: onlyJsonKeys(CLAUDE_JSON_KEPT),
        note: `only ${CLAUDE_JSON_KEPT.join(", ")}`
      }
    ],
    perProject: "settings, .claude.json (MCP servers, trust), history, transcripts (projects/), plugins, todos"
  },
  codex: {
    id: "codex",
    title: "OpenAI Codex CLI",
    install: { _tag: "NpmPackage", package: "@openai/codex", command: "codex" },
    commands: [{ name: "codex", target: "bin/codex.js" }],
    needsNode: true,
    hostDir: { env: "CODEX_HOME", home: ".codex" },
    stateDir: ".codex",
    credentials: {
      _tag: "PerProject",
      note: "auth.json is never shared (Codex renames it on refresh and follows symlinks when it does): " +
        "log in inside each project ('codex login --device-auth'), or pass an API key " +
        "('repoman exec NAME --env OPENAI_API_KEY=...', or [env] in repos.d/NAME.toml)"
    },
    seed: [
      {
        from: "config.toml",
        to: "config.toml",
        kind: "file",
        sanitize: withoutTomlKeys(CODEX_CONFIG_DROPPED),
        note: dropped(CODEX_CONFIG_DROPPED)
      },
      { from: "AGENTS.md", to: "AGENTS.md", kind: "file" },
      { from: "prompts", to: "prompts", kind: "directory" },
      { from: "skills", to: "skills", kind: "directory" }
    ],
    perProject: "auth.json (its own login), config, sessions, history, sqlite state"
  },
  gemini: {
    id: "gemini",
    title: "Gemini CLI",
    install: { _tag: "NpmPackage", package: "@google/gemini-cli", command: "gemini" },
    commands: [{ name: "gemini", target: "bundle/gemini.js" }],
    needsNode: true,
    hostDir: { env: "GEMINI_CLI_HOME", home: ".gemini", envIsHome: true },
    stateDir: ".gemini",
    credentials: {
      _tag: "Copied",
      hostFile: "oauth_creds.json",
      sanitize: geminiOauthCreds,
      note: "oauth_creds.json is copied (Gemini CLI keeps its refresh token, so a copy is the same login), " +
        "only as a plain Google user login, and again before a command when the host's is newer"
    },
    seed: [
      {
        from: "settings.json",
        to: "settings.json",
        kind: "file",
        sanitize: withoutJsonKeys(GEMINI_SETTINGS_DROPPED),
        note: dropped(GEMINI_SETTINGS_DROPPED.map((k) => k.join(".")))
      },
      { from: "google_accounts.json", to: "google_accounts.json", kind: "file" },
      { from: "GEMINI.md", to: "GEMINI.md", kind: "file" },
      { from: "commands", to: "commands", kind: "directory" }
    ],
    perProject: "settings, history, chats, extensions, .env"
  },
  pi: {
    id: "pi",
    title: "pi coding agent",
    install: { _tag: "NpmPackage", package: "@mariozechner/pi-coding-agent", command: "pi" },
    commands: [{ name: "pi", target: "dist/cli.js" }],
    needsNode: true,
    hostDir: { env: "PI_CODING_AGENT_DIR", home: ".pi/agent" },
    stateDir: ".pi/agent",
    credentials: {
      _tag: "Copied",
      hostFile: "auth.json",
      sanitize: piApiKeys,
      note: "auth.json is copied with its API keys only (pi runs '!command' values and writes the file " +
        "in place through symlinks, and its OAuth refresh tokens rotate): log in per project for OAuth"
    },
    seed: [
      {
        from: "settings.json",
        to: "settings.json",
        kind: "file",
        sanitize: withoutJsonKeys(PI_SETTINGS_DROPPED.map((k) => [k])),
        note: dropped(PI_SETTINGS_DROPPED)
      },
      {
        from: "models.json",
        to: "models.json",
        kind: "file",
        sanitize: withoutBangCommands,
        note: "without '!command' values"
      },
      { from: "AGENTS.md", to: "AGENTS.md", kind: "file" },
      { from: "prompts", to: "prompts", kind: "directory" },
      { from: "skills", to: "skills", kind: "directory" },
      { from: "themes", to: "themes", kind: "directory" }
    ],
    perProject: "settings, sessions, extensions, its own OAuth logins"
  }
}

/**
 * The shim directory of a tool (its commands, as symlinks), under repoman's
 * state dir.
 *
 * @since 0.1.0
 * @category paths
 */
export const shimDir = (stateDir: string, tool: ToolId): string => `${stateDir}/agents/bin/${tool}`

/**
 * Where a shared credential store lives, under repoman's state dir.
 *
 * @since 0.1.0
 * @category paths
 */
export const storeDir = (stateDir: string, tool: ToolId): string => `${stateDir}/agents/${tool}-auth`

/**
 * The directory holding every project's agent state, under repoman's state
 * dir (one fresh subdirectory per project, made by `new`).
 *
 * @since 0.1.0
 * @category paths
 */
export const projectsDir = (stateDir: string): string => `${stateDir}/projects`

/**
 * The `PATH` inside containers: every tool's shim directory first (a missing
 * one is skipped by the shell), then the usual system directories. Every
 * tool profile sets the same value, so whichever applies last, every
 * installed tool is found.
 *
 * @since 0.1.0
 * @category paths
 */
export const containerPath = (stateDir: string): string =>
  [
    ...TOOL_IDS.map((t) => shimDir(stateDir, t)),
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin"
  ]
    .join(":")

/**
 * The mount name (Incus: device name) of a tool's per-project state in an
 * instance.
 *
 * @since 0.1.0
 * @category paths
 */
export const stateMountName = (tool: ToolId): string => `agent-${tool}`

/**
 * The tool a state mount name stands for, if it is one.
 *
 * @since 0.1.0
 * @category paths
 */
export const toolOfStateMount = (name: string): ToolId | undefined => {
  const id = name.startsWith("agent-") ? name.slice("agent-".length) : ""
  return (TOOL_IDS as ReadonlyArray<string>).includes(id) ? id as ToolId : undefined
}

/**
 * The render variable (`${NAME}` placeholder) that holds a tool's install
 * directory: `CLAUDE_INSTALL`, `NODE_INSTALL`, ...
 *
 * @since 0.1.0
 * @category paths
 */
export const installVariable = (tool: ToolId): string => `${tool.toUpperCase()}_INSTALL`

/**
 * The profiles older repoman versions shipped, which shared whole agent
 * state directories read-write (hooks, MCP servers and all), by the profile
 * that replaces each.
 *
 * @since 0.1.0
 * @category catalog
 */
export const RETIRED_PROFILES: Readonly<Record<string, ToolId>> = {
  "claude-share": "claude",
  "codex-share": "codex",
  "gemini-share": "gemini",
  "pi-share": "pi"
}
