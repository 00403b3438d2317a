/**
 * `repoman profile show NAME`: what the profile shares and which way
 * (read-only, read-write, copied at `new`), what stays per project, then the
 * profile rendered for this host, as YAML.
 *
 * @since 0.1.0
 * @module
 */
import { formatProfile } from "@repoman/profiles/ProfileYaml"
import { describeProfile, type ProfileDescription } from "@repoman/programs/ProfileStatuses"
import * as Command from "effect/cli/Command"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { json, profileName } from "./args.ts"

/** The text `show` prints before the YAML. */
export const sharingLines = (d: ProfileDescription): ReadonlyArray<string> => {
  const lines: Array<string> = []
  const tool = d.tool
  if (tool !== null) {
    lines.push(`${d.name}: ${tool.title}, runnable inside`)
    lines.push(
      tool.install === null
        ? `  install: not found on this host (${tool.missing ?? "unknown"})`
        : `  install: ${tool.install} (read-only, at the same path)`
    )
  }
  lines.push("mounted from the host (same path inside):")
  if (d.mounts.length === 0) lines.push("  nothing")
  for (const m of d.mounts) {
    lines.push(`  ${m.access.padEnd(10)} ${m.source}${m.path === m.source ? "" : ` at ${m.path}`}`)
  }
  if (tool !== null) {
    if (tool.perProjectPath !== null) {
      lines.push(
        `per project (a fresh directory for each, mounted read-write at ${tool.perProjectPath}; never read back):`
      )
      lines.push(`  ${tool.perProject}`)
      lines.push("copied into the project at new (host -> project, never back; symlinks not followed):")
      for (const c of tool.copiedAtNew) lines.push(`  ${c.from}${c.note === "" ? "" : ` (${c.note})`}`)
    }
    lines.push(`login: ${tool.login}`)
    if (tool.hostExport !== null) {
      lines.push("on the host, so that its agent uses the same login, your shell's start-up file needs:")
      lines.push(`  ${tool.hostExport}`)
    }
  }
  const env = Object.entries(d.env)
  if (env.length > 0) {
    lines.push("environment inside:")
    for (const [k, v] of env) lines.push(`  ${k}=${v}`)
  }
  return lines
}

/**
 * The `repoman profile show` command.
 *
 * @since 0.1.0
 */
export const show = Command.make("show", { name: profileName, json }).pipe(
  Command.withDescription("Say what a library profile shares and which way, then print it rendered for this host"),
  Command.withHandler(Effect.fnUntraced(function*({ name, json: asJson }) {
    const description = yield* describeProfile(name)
    if (asJson) {
      const { spec, ...sharing } = description
      return yield* Console.log(JSON.stringify({ ...spec, sharing }, null, 2))
    }
    yield* Console.log(
      [...sharingLines(description), "", "profile:", formatProfile(description.spec).trimEnd()].join("\n")
    )
  }))
)
