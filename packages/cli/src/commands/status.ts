/**
 * `repoman status [NAME] [--json]`: health of one project or all, the git
 * seal and the repo's owners included. Every text that came from a
 * container or a repo (probe stderr, file names, config values) is escaped
 * here; `--json` prints it as data.
 *
 * @since 0.1.0
 * @module
 */
import { formatLimits } from "@repoman/core/ResourceLimits"
import { escape } from "@repoman/core/TerminalText"
import type { SealReport } from "@repoman/programs/GitSeal"
import {
  type BackupReport,
  type CheckpointReport,
  type GenerationsReport,
  type ProjectStatus,
  projectStatus
} from "@repoman/programs/ProjectStatus"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { ExitCode } from "../ExitCode.ts"
import { age } from "../render/duration.ts"
import { bytes } from "../render/progress.ts"
import { optionalProjectName } from "./args.ts"

const flags = {
  name: optionalProjectName("One project (default: all)"),
  json: Flag.Boolean("json").pipe(Flag.withDescription("Print the report as JSON"), Flag.withDefault(false))
}

const mark = (ok: boolean | null) => ok === null ? "-" : ok ? "ok" : "FAIL"

const backupLine = (b: BackupReport): string => {
  if (b.error !== null) return `FAIL  ${b.error}`
  if (!b.reachable) return `FAIL  ${b.location} is not reachable`
  const fs = b.fsType === null ? "" : `${b.fsType}, `
  const free = b.freeBytes === null ? "free space unknown" : `${bytes(b.freeBytes)} free`
  const mount = b.mounted ? "mounted" : b.requireMount ? "NOT a separate mount" : "not a separate mount (allowed)"
  return `${mark(b.ok)}  ${b.location} (${fs}${mount}, ${b.writable ? "writable" : "NOT writable"}, ${free})`
}

const sealLines = (seal: SealReport): ReadonlyArray<string> => {
  const failed = seal.checks.filter((c) => c.ok === false)
  const head = seal.state === "broken"
    ? `FAIL  broken (${seal.mode}): the host .git may be in the container's reach`
    : seal.state === "shared"
    ? "WARN  shared: the container can write this repo's .git (see warnings)"
    : seal.mode === "hermetic"
    ? "ok  hermetic: the repo is read-only inside"
    : seal.mode === "volume"
    ? "ok  volume: the repo and its .git live in the remote Incus's volume, never on this host"
    : "ok  sealed: the host .git is out of the container's reach"
  return [
    `  git seal     ${head}`,
    ...failed.map((c) => `               FAIL  ${escape(c.check)}: ${escape(c.detail)}`),
    ...seal.checks.filter((c) => c.ok === null).map((c) => `               -  ${escape(c.check)}: ${escape(c.detail)}`)
  ]
}

const ownersLine = (s: ProjectStatus): ReadonlyArray<string> => {
  const o = s.ownership
  if (o === null) return []
  const bad = o.foreign.count + o.unreadable.count
  return [
    bad === 0
      ? `  owners       ok  ${o.complete ? "all" : "the first"} ${o.entries} entries are yours and readable`
      : `  owners       FAIL  ${bad} entr${bad === 1 ? "y is" : "ies are"} not yours or unreadable (see warnings)`
  ]
}

const checkpointLine = (c: CheckpointReport): string =>
  c.error !== null
    ? `FAIL  ${c.error}`
    : c.last === null
    ? "none yet (one is taken before each shell, exec and run)"
    : `${c.count} kept, the last ${age(c.last.ageSeconds)} ago (${c.last.id}, ${c.last.kind}: ${
      escape(c.last.label).slice(0, 50)
    })`

const generationsLine = (g: GenerationsReport): string =>
  g.error !== null
    ? `-  ${g.error}`
    : g.latest === null
    ? "none yet"
    : `${g.count}, the latest ${g.latest}${g.snapshots > 0 ? `; ${g.snapshots} filesystem snapshots` : ""}`

const render = (s: ProjectStatus): string =>
  [
    `${s.name}  ${s.state}  (Incus project ${s.namespace}${
      s.location === null ? "" : `, on member ${escape(s.location)}`
    }, uid mode ${s.uidMode}, git ${s.git})`,
    `  repo ${s.storage === "volume" ? "volume " : "mount  "} ${mark(s.mountPresent)}  ${s.repoPath}`,
    ...(s.userProbe === null ? [] : [`  uid 1000     ${mark(s.userProbe.ok)}  ${escape(s.userProbe.detail)}`]),
    ...(s.rootProbe === null ? [] : [`  root         ${mark(s.rootProbe.ok)}  ${escape(s.rootProbe.detail)}`]),
    ...sealLines(s.seal),
    ...ownersLine(s),
    ...(s.backup === null ? [] : [`  backup       ${backupLine(s.backup)}`]),
    ...(s.backup?.history === undefined || s.backup.history === null ? [] : [`  history      ${s.backup.history}`]),
    ...(s.generations === null ? [] : [`  generations  ${generationsLine(s.generations)}`]),
    `  checkpoints  ${checkpointLine(s.checkpoints)}`,
    ...(s.limits === null ? [] : [`  limits       ${formatLimits(s.limits)}`]),
    ...(s.idRange === null
      ? []
      : [
        `  host ids     ${mark(s.idRange !== "shared")}  ${
          s.idRange === "shared" ? "shared with other containers" : `a range of its own (${s.idRange})`
        }`
      ]),
    `  last sync    ${s.lastSyncAgeSeconds === null ? "never" : `${age(s.lastSyncAgeSeconds)} ago (${s.lastSync})`}`,
    ...s.warnings.map((w) => `  warning: ${escape(w)}`)
  ].join("\n")

/**
 * The `repoman status` command.
 *
 * @since 0.1.0
 */
export const status = Command.make("status", flags).pipe(
  Command.withDescription("Check containers, repo mounts, the uid mapping and backups"),
  Command.withHandler(Effect.fnUntraced(function*({ name, json }) {
    const report = yield* projectStatus(Option.getOrUndefined(name))
    yield* Console.log(json ? JSON.stringify(report, null, 2) : report.map(render).join("\n\n"))
    if (report.some((s) => !s.healthy)) return yield* new ExitCode({ code: 1 })
  }))
)
