/**
 * `repoman ssh-config NAME [--install]`: print (or install into
 * ~/.ssh/config) an OpenSSH Host block that reaches the container through
 * `incus exec ... sshd -i`: no ports, no network.
 *
 * @since 0.1.0
 * @module
 */
import { hostAlias, installSshConfig, sshConfig as makeSshConfig } from "@repoman/programs/SshAccess"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { projectName } from "./args.ts"

const flags = {
  install: Flag.Boolean("install").pipe(
    Flag.withDescription("Add the block to ~/.ssh/config (a later call replaces it)"),
    Flag.withDefault(false)
  ),
  name: projectName
}

/**
 * The `repoman ssh-config` command.
 *
 * @since 0.1.0
 */
export const sshConfig = Command.make("ssh-config", flags).pipe(
  Command.withDescription("Print an SSH Host block for editors (sshd over incus exec; no ports)"),
  Command.withHandler(Effect.fnUntraced(function*({ name, install }) {
    const block = yield* makeSshConfig(name)
    if (!install) return yield* Console.log(block)
    const file = yield* installSshConfig(name, block)
    yield* Console.log(`added Host ${hostAlias(name)} to ${file}; connect with 'ssh ${hostAlias(name)}'`)
  }))
)
