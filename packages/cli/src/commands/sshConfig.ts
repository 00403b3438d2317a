/**
 * `repoman ssh-config NAME [--install]`: print (or install into
 * ~/.ssh/config) an OpenSSH Host block that reaches the container through
 * `repoman ssh-proxy NAME` (sshd -i inside, over the runtime): no ports, no
 * network. A stopped container is started by the proxy.
 *
 * @since 0.1.0
 * @module
 */
import type { ProjectName } from "@repoman/core/Ids"
import {
  hostAlias,
  installSshConfig,
  type SshAccessState,
  sshConfig as makeSshConfig
} from "@repoman/programs/SshAccess"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { selfArgv } from "../host/self.ts"
import { projectName } from "./args.ts"

const flags = {
  install: Flag.Boolean("install").pipe(
    Flag.withDescription("Add the block to ~/.ssh/config (a later call replaces it)"),
    Flag.withDefault(false)
  ),
  name: projectName
}

/**
 * The lines of a removal plan (`remove`, `uninstall`) for a project's ssh
 * access, none when it has none.
 *
 * @since 0.1.0
 */
export const sshLines = (name: ProjectName, ssh: SshAccessState): ReadonlyArray<string> => [
  ...Option.toArray(ssh.block).map((file) => `  - the ssh Host ${hostAlias(name)} in ${file} (repoman's block only)`),
  ...Option.toArray(ssh.keyDir).map((dir) => `  - the ssh key pair and known_hosts of ${name} in ${dir}`),
  ...(ssh.unchecked === undefined ? [] : [`  (its Host block, if any, stays: ${ssh.unchecked})`])
]

/**
 * The `repoman ssh-config` command.
 *
 * @since 0.1.0
 */
export const sshConfig = Command.make("ssh-config", flags).pipe(
  Command.withDescription("Print an SSH Host block for editors (sshd inside, reached through repoman; no ports)"),
  Command.withHandler(Effect.fnUntraced(function*({ name, install }) {
    const block = yield* makeSshConfig(name, selfArgv())
    if (!install) return yield* Console.log(block)
    const file = yield* installSshConfig(name, block)
    yield* Console.log(`added Host ${hostAlias(name)} to ${file}; connect with 'ssh ${hostAlias(name)}'`)
  }))
)
