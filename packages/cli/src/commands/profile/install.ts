/**
 * `repoman profile install NAME... [--agent-dir TOOL=DIR]... [--allow-sensitive PATH]... [--link-files] [--json]`:
 * render profiles, check them (an allow list of keys and devices; no
 * sensitive host path unless `--allow-sensitive` names it), allow their host
 * sources in the project, put them; for a tool profile (claude, codex,
 * gemini, pi, node) first make the host side ready (shims, Claude's
 * credential store; see `@repoman/programs/AgentInstall`), and last move the
 * host's Claude login into the store; with --link-files, first move the
 * single files read-only profiles share into their shared directories,
 * leaving symlinks (see
 * `@repoman/programs/SharedFiles`).
 *
 * @since 0.1.0
 * @module
 */
import { ToolId } from "@repoman/core/Agents"
import { ConfigPaths, expandHome } from "@repoman/core/ConfigPaths"
import { ProfileName } from "@repoman/core/Ids"
import type { StoreReport } from "@repoman/programs/AgentInstall"
import { installProfiles, type InstallReport, type LinkReport, movableLinks } from "@repoman/programs/ProfileInstall"
import * as Argument from "effect/cli/Argument"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Prompt from "effect/cli/Prompt"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stdio from "effect/Stdio"
import { json } from "./args.ts"

const flags = {
  json,
  allowSensitive: Flag.String("allow-sensitive").pipe(
    Flag.withDescription(
      "Install although this sensitive host path (credentials, a socket dir, a browser profile, a shell rc file, ~) " +
        "is shared: name each one (repeatable)"
    ),
    Flag.atLeast(0)
  ),
  linkFiles: Flag.Boolean("link-files").pipe(
    Flag.withDescription(
      "Share single files too (e.g. ~/.claude.json): move each into the directory the profile shares and leave a symlink"
    ),
    Flag.withDefault(false)
  ),
  agentDir: Flag.String("agent-dir").pipe(
    Flag.withSchema(Schema.String.pipe(
      Schema.check(Schema.makeFilter((s: string) => {
        const eq = s.indexOf("=")
        return (eq > 0 && Schema.is(ToolId)(s.slice(0, eq)) && eq < s.length - 1) ||
          `--agent-dir is TOOL=DIR with TOOL one of node, claude, codex, gemini, pi (e.g. claude=~/.npm-global)`
      }))
    )),
    Flag.withDescription(
      "Where a tool is installed, if not found on PATH: TOOL=DIR, TOOL one of node, claude, codex, gemini, pi " +
        "(saved in [agents] of repoman.toml)"
    ),
    Flag.atLeast(0)
  ),
  names: Argument.String("name").pipe(
    Argument.withDescription("Profiles to install"),
    Argument.withSchema(ProfileName),
    Argument.atLeast(1)
  )
}

/**
 * At a terminal, without --link-files: offers to move the single files the
 * profiles share (default no: it changes the host home).
 */
const askToLink = (names: ReadonlyArray<ProfileName>) =>
  Effect.gen(function*() {
    if (!(yield* (yield* Stdio.Stdio).stdinIsTerminal)) return false
    const movable = yield* movableLinks(names)
    if (movable.length === 0) return false
    yield* Console.log(
      [
        "Incus shares directories only, so these files of your home reach containers through a shared directory:",
        ...movable.map((l) => `  ${l.file} -> ${l.target}`),
        "Moving each there and leaving a symlink in its place lets the host and the containers use one file",
        "(Claude Code and git write through the symlink)."
      ].join("\n")
    )
    return yield* Prompt.Confirm({ message: "Move them and leave symlinks?", initial: false })
  })

/** What install says about each shared file, by where it stands on the host. */
const linkLines = (profile: string, links: ReadonlyArray<LinkReport>): ReadonlyArray<string> =>
  links.flatMap((l) => {
    switch (l.state) {
      case "Moved":
        return [`moved ${l.file} to ${l.target} and left a symlink to it: host and containers share it`]
      case "Linked":
        return [`${l.file} is shared (a symlink to ${l.target})`]
      case "Absent":
        return []
      case "Movable":
        return [
          `note: containers see ${l.file} as ${l.target}, which the host does not use yet; ` +
          `'repoman profile install ${profile} --link-files' moves ${l.file} there and leaves a symlink`
        ]
      case "Blocked":
        return [`note: ${l.file} is not shared: ${l.detail}`]
    }
  })

/** What install says about a tool profile: where each tool runs from, and the login. */
const toolLines = (p: InstallReport): ReadonlyArray<string> => [
  ...p.tools.map((t) =>
    `${t.tool}: runs inside from ${t.install} (read-only); its commands are on PATH through ${t.shims}`
  ),
  ...p.stores.flatMap(storeLines)
]

const storeLines = (s: StoreReport): ReadonlyArray<string> => {
  const head = s.state === "Moved"
    ? `moved the ${s.tool} login ${s.from} into ${s.store}: the host and every container share it there (one login)`
    : s.state === "InStore"
    ? `the ${s.tool} login in ${s.store} is shared by the host and every container`
    : `no ${s.tool} login yet: log in once (inside: 'repoman run -- ${s.tool}', then /login), it is kept in ${s.store}`
  return [
    head,
    ...s.notes.map((n) => `note: ${n}`),
    ...(s.hostUsesStore ? [] : [
      `so that ${s.tool} on this host uses the same login, add this line to your shell's start-up file (~/.bashrc, ~/.zshrc):`,
      `  ${s.exportLine}`
    ])
  ]
}

/**
 * The `repoman profile install` command.
 *
 * @since 0.1.0
 */
export const install = Command.make("install", flags).pipe(
  Command.withDescription("Render profiles from the library and install them into the repoman Incus project"),
  Command.withHandler(Effect.fnUntraced(function*({ names, allowSensitive, linkFiles, agentDir, json: asJson }) {
    const { home } = yield* ConfigPaths
    const link = linkFiles || (!asJson && (yield* askToLink(names)))
    const allowed = allowSensitive.map((p) => expandHome(p, home))
    const agentDirs = Object.fromEntries(agentDir.map((a) => [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]))
    const result = yield* installProfiles(names, { allowSensitive: allowed, linkFiles: link, agentDirs })
    for (const p of result.profiles) {
      for (const e of p.exposures) yield* Console.error(`warning: ${p.name} exposes ${e.path}: ${e.exposes}`)
    }
    if (asJson) return yield* Console.log(JSON.stringify(result, null, 2))
    for (const p of result.profiles) {
      const sources = p.sources.length === 0 ? "no host sources" : `shares ${p.sources.join(", ")}`
      yield* Console.log(`installed ${p.name} (${sources})`)
    }
    if (result.addedPaths.length > 0) {
      yield* Console.log(`allowed in the project's disk paths: ${result.addedPaths.join(", ")}`)
    }
    for (const p of result.profiles) {
      for (const line of [...toolLines(p), ...linkLines(p.name, p.links)]) yield* Console.log(line)
    }
  }))
)
