/**
 * `repoman setup`: first-time bootstrap, idempotent.
 *
 * @since 0.1.0
 * @module
 */
import { HostInfo } from "@repoman/core/HostInfo"
import { checkDelegation, delegationCommands, UidMode } from "@repoman/core/IdMapping"
import { ImageRef } from "@repoman/core/Ids"
import { emptyDocument, IpAddress } from "@repoman/core/RegistryDocument"
import { setup as runSetup, type SetupInput } from "@repoman/programs/Setup"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Prompt from "effect/cli/Prompt"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stdio from "effect/Stdio"
import { appendAsRoot } from "../host/sudo.ts"
import { RemoteFlag } from "../internal/remoteGlobalFlag.ts"

const optionalString = (name: string, description: string) =>
  Flag.String(name).pipe(Flag.withDescription(description), Flag.optional)

const flags = {
  nonInteractive: Flag.Boolean("non-interactive").pipe(
    Flag.withDescription("Never prompt; fail with the commands to run instead"),
    Flag.withDefault(false)
  ),
  lanIp: Flag.String("lan-ip").pipe(
    Flag.withSchema(IpAddress),
    Flag.withDescription("The host's LAN address (default: detected)"),
    Flag.optional
  ),
  reposRoot: optionalString("repos-root", "Where the repos live (default ~/repos)"),
  backupRoot: optionalString("backup-root", "Where backups go (default /nfs/repos)"),
  incusProject: optionalString(
    "incus-project",
    "The Incus project for the containers (default repoman; with incus-user access, your own user-UID)"
  ),
  image: Flag.String("image").pipe(
    Flag.withSchema(ImageRef),
    Flag.withDescription(
      `The image new containers are made from (default ${emptyDocument.defaults.defaultImage})`
    ),
    Flag.optional
  ),
  storagePool: optionalString("storage-pool", "The storage pool for containers (default: the pool named default)"),
  uidMode: Flag.Literals("uid-mode", UidMode.literals).pipe(
    Flag.withDescription("idmap: map only your ids (default); shift: shift=true mounts"),
    Flag.optional
  )
}

/** Interactively offers to add the missing /etc/subuid and /etc/subgid lines. */
const offerDelegation = Effect.gen(function*() {
  const host = yield* HostInfo
  const delegation = yield* checkDelegation(host)
  if (delegation.missing.length === 0) return
  yield* Console.log(
    `Incus may not map your ids yet. This needs, as root:\n  ${delegationCommands(delegation).join("\n  ")}`
  )
  const ok = yield* Prompt.Confirm({ message: "Add the lines now with sudo?", initial: true })
  if (!ok) return
  for (const m of delegation.missing) yield* appendAsRoot(m.file, `${m.line}\n`)
  yield* Console.log(
    delegation.missing.some((m) => !m.line.endsWith(":1"))
      ? "Added. Restart Incus so it reads root's new range (systemctl restart incus), then run 'repoman setup' again."
      : "Added."
  )
})

/**
 * The `repoman setup` command.
 *
 * @since 0.1.0
 */
export const setup = Command.make("setup", flags).pipe(
  Command.withDescription("First-time set-up: the restricted Incus project, the registry, the profile directory"),
  Command.withHandler(Effect.fnUntraced(function*(f) {
    const stdio = yield* Stdio.Stdio
    const interactive = !f.nonInteractive && (yield* stdio.stdinIsTerminal)
    if (interactive && Option.getOrUndefined(f.uidMode) !== "shift") yield* offerDelegation
    const input: SetupInput = Object.fromEntries(
      Object.entries({ ...f, nonInteractive: undefined }).flatMap(([k, v]) =>
        Option.isOption(v) && Option.isSome(v) ? [[k, v.value]] : []
      )
    )
    // The global --remote chose the Incus this run talks to; setup records it.
    const remote = yield* RemoteFlag
    const report = yield* runSetup(Option.isSome(remote) ? { ...input, remote: remote.value } : input)
    yield* Console.log(
      [
        `registry    ${report.registryFile} (${report.registry})`,
        ...(Option.isSome(remote) ? [`remote      ${remote.value} (recorded as [incus] remote)`] : []),
        `incus       ${report.access.via}${
          report.access.restricted ? " (restricted: an admin set the project up)" : ""
        }`,
        `project     ${report.namespace} (restricted, uid mode ${report.uidMode})`,
        `pool        ${
          Option.match(report.pool, {
            onNone: () => "the project's default profile decides",
            onSome: (p) => `${p.name} (${p.driver})`
          })
        }`,
        `repos root  ${report.reposRoot}`,
        `LAN IP      ${Option.getOrElse(report.lanIp, () => "not found")}`
      ].join("\n")
    )
    for (const w of report.warnings) yield* Console.error(`warning: ${w}`)
  }))
)
