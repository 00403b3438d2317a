/**
 * The `repoman` command tree and how it reports failures.
 *
 * Exit codes: 0 success, 1 the operation failed, 2 usage error. Every
 * failure prints one clear line to stderr (no stack trace for a user
 * mistake), escaped (`TerminalText`: a message may quote what a container
 * printed or named); `--help` prints help on stdout.
 *
 * @since 0.1.0
 * @module
 */
import * as Command from "effect/cli/Command"
import { checkpoints } from "./commands/checkpoints.ts"
import { config } from "./commands/config.ts"
import { diff } from "./commands/diff.ts"
import { exec } from "./commands/exec.ts"
import { fetch } from "./commands/fetch.ts"
import { list } from "./commands/list.ts"
import { newCommand } from "./commands/new.ts"
import { patches } from "./commands/patches.ts"
import { profile } from "./commands/profile.ts"
import { remove } from "./commands/remove.ts"
import { repair } from "./commands/repair.ts"
import { restore } from "./commands/restore.ts"
import { run as runHere } from "./commands/run.ts"
import { setup } from "./commands/setup.ts"
import { shell } from "./commands/shell.ts"
import { sshConfig } from "./commands/sshConfig.ts"
import { status } from "./commands/status.ts"
import { sync } from "./commands/sync.ts"
import { pull, push } from "./commands/transfer.ts"
import { undo } from "./commands/undo.ts"
import { uninstall } from "./commands/uninstall.ts"
import { ExitCode } from "./ExitCode.ts"
import { RemoteFlag } from "./internal/remoteGlobalFlag.ts"
import { runCommand } from "./internal/runner.ts"

export { ExitCode }

/**
 * The root command.
 *
 * @since 0.1.0
 * @category cli
 */
export const command = Command.make("repoman").pipe(
  Command.withDescription("Run AI coding agents in per-project Incus containers, with backups"),
  Command.withSubcommands([
    setup,
    newCommand,
    config,
    list,
    shell,
    exec,
    runHere,
    status,
    fetch,
    repair,
    remove,
    profile,
    sync,
    checkpoints,
    diff,
    undo,
    restore,
    uninstall,
    patches,
    sshConfig,
    pull,
    push
  ]),
  Command.withGlobalFlags([RemoteFlag])
)

/**
 * Runs `repoman` with the given arguments (without the program name).
 * Fails only with {@link ExitCode}, after printing why.
 *
 * @example
 * ```ts
 * import { run } from "@repoman/cli/Cli"
 * const program = run(["list", "--json"])
 * ```
 *
 * @since 0.1.0
 * @category cli
 */
export const run = (argv: ReadonlyArray<string>) => runCommand(command)(argv)
