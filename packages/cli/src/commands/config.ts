/**
 * `repoman config NAME [--add-profile P] [--remove-profile P] [--mount SRC:DST[:ro]] [--unmount DST]
 * [--env K=V] [--unset-env K] [--cpu N] [--memory SIZE] [--processes N] [--disk SIZE] [--inotify-instances N]
 * [--allow-sensitive PATH] [--restart] [--json]`: change an existing project without re-creating it
 * (see `ConfigureProject`); with no change, show its settings.
 *
 * A change that needs the container restarted is said first; at a
 * terminal the user is asked, otherwise (or with `--json`) it is refused
 * (exit 2, nothing changed) unless `--restart` allows it.
 *
 * @since 0.1.0
 * @module
 */
import { ProfileName } from "@repoman/core/Ids"
import { formatLimits, PositiveInt } from "@repoman/core/ResourceLimits"
import { escape } from "@repoman/core/TerminalText"
import {
  type ConfigureInput,
  configureProject,
  type MountRequest,
  type ProjectSettings,
  projectSettings
} from "@repoman/programs/ConfigureProject"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Prompt from "effect/cli/Prompt"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stdio from "effect/Stdio"
import { ExitCode } from "../ExitCode.ts"
import { jsonFlag, limitFlagsWith, limitsFrom, projectName } from "./args.ts"

const repeated = (name: string, description: string) =>
  Flag.String(name).pipe(Flag.withDescription(description), Flag.atLeast(0))

const flags = {
  name: projectName,
  addProfile: Flag.String("add-profile").pipe(
    Flag.withSchema(ProfileName),
    Flag.withDescription("Add an installed profile (repeatable)"),
    Flag.atLeast(0)
  ),
  removeProfile: Flag.String("remove-profile").pipe(
    Flag.withSchema(ProfileName),
    Flag.withDescription("Remove a profile (repeatable)"),
    Flag.atLeast(0)
  ),
  mount: repeated(
    "mount",
    "Mount a host directory: SRC:DST, or SRC:DST:ro for read-only (repeatable; a mount at DST is replaced)"
  ),
  unmount: repeated("unmount", "Take away the mount at DST inside (repeatable)"),
  env: repeated("env", "Set an environment variable: K=V (repeatable)"),
  unsetEnv: repeated("unset-env", "Unset an environment variable (repeatable)"),
  ...limitFlagsWith(false),
  inotifyInstances: Flag.Int("inotify-instances").pipe(
    Flag.withSchema(PositiveInt),
    Flag.withDescription("Limit the inotify instances each user inside may hold (a restart applies it)"),
    Flag.optional
  ),
  allowSensitive: repeated(
    "allow-sensitive",
    "Mount this sensitive host path anyway (credentials, a socket dir, ~): name each one (repeatable)"
  ),
  restart: Flag.Boolean("restart").pipe(
    Flag.withDescription("Restart the container if the change needs it (without a terminal it is refused otherwise)"),
    Flag.withDefault(false)
  ),
  json: jsonFlag
}

/** `SRC:DST` or `SRC:DST:ro` / `:rw`; DST is absolute, so the split is at the first `:/` after SRC. */
export const parseMount = (text: string): MountRequest | string => {
  const readOnly = text.endsWith(":ro")
  const body = readOnly || text.endsWith(":rw") ? text.slice(0, -3) : text
  const at = body.indexOf(":/", 1)
  if (at < 0) return `--mount ${text}: expected SRC:DST or SRC:DST:ro, DST absolute`
  return { source: body.slice(0, at), path: body.slice(at + 1), readOnly }
}

/** `K=V`. */
export const parseEnv = (text: string): readonly [string, string] | string => {
  const at = text.indexOf("=")
  return at <= 0 ? `--env ${text}: expected K=V` : [text.slice(0, at), text.slice(at + 1)]
}

/** The settings as lines of text (escaped: values reach the terminal). */
const settingsLines = (s: ProjectSettings): ReadonlyArray<string> => [
  `${escape(s.name)} (${escape(s.status)})`,
  `  profiles: ${s.profiles.map(escape).join(", ")}`,
  `  limits:   ${formatLimits(s.limits)}`,
  `  mounts:   ${s.mounts.length === 0 ? "none" : ""}`,
  ...s.mounts.map((m) => `    ${escape(m.source)} -> ${escape(m.path)}${m.readOnly ? " (read-only)" : ""}`),
  `  env:      ${Object.keys(s.env).length === 0 ? "none" : ""}`,
  ...Object.entries(s.env).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `    ${escape(k)}=${escape(v)}`)
]

const usage = (message: string) =>
  Console.error(`repoman: ${escape(message)}`).pipe(Effect.andThen(Effect.fail(new ExitCode({ code: 2 }))))

/**
 * The `repoman config` command.
 *
 * @since 0.1.0
 */
export const config = Command.make("config", flags).pipe(
  Command.withDescription(
    "Change a project's profiles, mounts, env and limits without re-creating it; with no change, show them"
  ),
  Command.withHandler(Effect.fnUntraced(function*(f) {
    const mounts: Array<MountRequest> = []
    for (const text of f.mount) {
      const parsed = parseMount(text)
      if (typeof parsed === "string") return yield* usage(parsed)
      mounts.push(parsed)
    }
    const env: Record<string, string> = {}
    for (const text of f.env) {
      const parsed = parseEnv(text)
      if (typeof parsed === "string") return yield* usage(parsed)
      env[parsed[0]] = parsed[1]
    }
    const limits = {
      ...limitsFrom(f),
      ...Option.match(f.inotifyInstances, { onNone: () => ({}), onSome: (n) => ({ inotifyInstances: n }) })
    }
    const input: ConfigureInput = {
      name: f.name,
      addProfiles: f.addProfile,
      removeProfiles: f.removeProfile,
      mounts,
      unmounts: f.unmount,
      env,
      unsetEnv: f.unsetEnv,
      limits,
      allowSensitive: f.allowSensitive,
      restart: false
    }
    const asks = f.addProfile.length + f.removeProfile.length + mounts.length + f.unmount.length +
      Object.keys(env).length + f.unsetEnv.length + Object.keys(limits).length
    if (asks === 0) {
      const { settings } = yield* projectSettings(f.name)
      if (f.json) return yield* Console.log(JSON.stringify(settings, null, 2))
      for (const line of settingsLines(settings)) yield* Console.log(line)
      return
    }

    // First without a restart: a change that needs one is said before it is made.
    const result = yield* configureProject(input).pipe(
      Effect.catchReason("ConfigureError", "RestartNeeded", (reason, error) =>
        Effect.gen(function*() {
          yield* Console.error(`repoman: this change restarts ${f.name}: ${escape(reason.reasons.join("; "))}`)
          if (!f.restart) {
            // A question would land in the JSON: with --json, as without a terminal.
            const terminal = !f.json && (yield* (yield* Stdio.Stdio).stdinIsTerminal)
            if (!terminal) return yield* Effect.fail(error)
            if (!(yield* Prompt.Confirm({ message: `Restart ${f.name} now?`, initial: false }))) {
              yield* Console.error("repoman: nothing was changed")
              return undefined
            }
          }
          return yield* configureProject({ ...input, restart: true })
        }))
    )
    if (result === undefined) return
    if (f.json) {
      return yield* Console.log(JSON.stringify(
        {
          name: f.name,
          changed: result.changed,
          restarted: result.restarted,
          restartReasons: result.restartReasons,
          notes: result.notes,
          settings: result.after
        },
        null,
        2
      ))
    }
    if (!result.changed) return yield* Console.log(`${f.name}: nothing to change`)
    yield* Console.log(
      result.restarted
        ? `changed ${f.name} and restarted it`
        : `changed ${f.name} live${result.after.status === "Running" ? "" : " (applied at its next start)"}`
    )
    for (const line of settingsLines(result.after)) yield* Console.log(line)
    for (const note of result.notes) yield* Console.log(`note: ${escape(note)}`)
  }))
)
