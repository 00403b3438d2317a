/**
 * The commands a user runs most and waits for: `exec`, `run` and `shell`
 * (for every agent and many short commands) and `list`. Start-up is most of
 * what they cost, so their plain forms are read here without the CLI
 * framework and run on the session stack alone ({@link SessionLive}: no
 * profile library, no backup target):
 *
 *   exec NAME [--cwd PATH] [--env K=V | -e K=V]... -- CMD ARGS...
 *   run [--env K=V | -e K=V]... -- CMD ARGS...
 *   shell NAME [--cwd PATH] [-- CMD ARGS...]
 *   list [--json]
 *   ssh-proxy NAME        (ssh's ProxyCommand, see `ssh-config`; not in the help)
 *
 * with the flags anywhere before `--`, each value checked by the same
 * schemas as the commands' flags, and then exactly what the commands'
 * handlers do. Anything else (`--help`, a flag written another way, a value
 * that does not check out) goes to the whole CLI (`full.ts`), which answers
 * it as always.
 *
 * In a session the standard output belongs to the command: when it closes,
 * the command gets SIGPIPE and repoman ends as it does.
 */
import { ProjectName } from "@repoman/core/Ids"
import * as SessionLive from "@repoman/live/SessionLive"
import * as NodeSignals from "@repoman/node/NodeSignals"
import { ContainerPath, EnvAssignment, envFromAssignments, execInProject } from "@repoman/programs/ExecInProject"
import { openShell } from "@repoman/programs/OpenShell"
import { runFromCwd } from "@repoman/programs/RunFromCwd"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { ExitCode } from "../../ExitCode.ts"
import * as CliLogger from "../../host/logger.ts"
import { whileStdoutOpen } from "../../host/stdout.ts"
import { printProjects } from "../../render/projects.ts"
import { reportFailures } from "../failure.ts"
import { checkRemote, envRemote } from "../remoteFlag.ts"

/** A session command read from argv. */
export type SessionArgs =
  | {
    readonly _tag: "exec"
    readonly name: ProjectName
    readonly cwd: string | undefined
    readonly env: Readonly<Record<string, string>>
    readonly argv: readonly [string, ...Array<string>]
    readonly checkpoint: boolean | undefined
  }
  | {
    readonly _tag: "run"
    readonly env: Readonly<Record<string, string>>
    readonly argv: readonly [string, ...Array<string>]
    readonly checkpoint: boolean | undefined
  }
  | {
    readonly _tag: "shell"
    readonly name: ProjectName
    readonly cwd: string | undefined
    readonly argv: ReadonlyArray<string> | undefined
    readonly checkpoint: boolean | undefined
  }
  | { readonly _tag: "ssh-proxy"; readonly name: ProjectName }

/** A command of the fast path read from argv. */
export type FastArgs = SessionArgs | { readonly _tag: "list"; readonly json: boolean }

const isName = Schema.is(ProjectName)
const isEnv = Schema.is(EnvAssignment)
const isContainerPath = Schema.is(ContainerPath)

/**
 * Reads the plain forms of the fast commands; `undefined` for anything
 * else (the whole CLI answers it).
 */
export const parse = (argv: ReadonlyArray<string>): FastArgs | undefined => {
  const [command, ...rest] = argv
  if (command === "list") {
    if (rest.length === 0) return { _tag: "list", json: false }
    return rest.length === 1 && rest[0] === "--json" ? { _tag: "list", json: true } : undefined
  }
  if (command === "ssh-proxy") {
    const [name, ...more] = rest
    return more.length === 0 && name !== undefined && isName(name) ? { _tag: "ssh-proxy", name } : undefined
  }
  if (command !== "exec" && command !== "run" && command !== "shell") return undefined
  const dashes = rest.indexOf("--")
  const head = dashes < 0 ? rest : rest.slice(0, dashes)
  const tail = dashes < 0 ? undefined : rest.slice(dashes + 1)
  let name: ProjectName | undefined
  let cwd: string | undefined
  let checkpoint: boolean | undefined
  const env: Array<string> = []
  for (let i = 0; i < head.length; i++) {
    const token = head[i] ?? ""
    const value = head[i + 1]
    if ((token === "--env" || token === "-e") && command !== "shell" && value !== undefined && isEnv(value)) {
      env.push(value)
      i++
    } else if (token === "--cwd" && command !== "run" && cwd === undefined && value !== undefined) {
      if (!isContainerPath(value)) return undefined
      cwd = value
      i++
    } else if ((token === "--checkpoint" || token === "--no-checkpoint") && checkpoint === undefined) {
      checkpoint = token === "--checkpoint"
    } else if (!token.startsWith("-") && command !== "run" && name === undefined && isName(token)) {
      name = token
    } else {
      return undefined
    }
  }
  const [first, ...others] = tail ?? []
  switch (command) {
    case "exec":
      return name === undefined || first === undefined
        ? undefined
        : { _tag: "exec", name, cwd, env: envFromAssignments(env), argv: [first, ...others], checkpoint }
    case "run":
      return first === undefined
        ? undefined
        : { _tag: "run", env: envFromAssignments(env), argv: [first, ...others], checkpoint }
    case "shell":
      return name === undefined
        ? undefined
        : { _tag: "shell", name, cwd, argv: first === undefined ? undefined : [first, ...others], checkpoint }
  }
}

/** What the command's handler does (see commands/exec.ts, run.ts, shell.ts): the exit code. */
const session = (args: SessionArgs) => {
  switch (args._tag) {
    case "exec":
      return execInProject(args.name, {
        argv: args.argv,
        env: args.env,
        ...(args.cwd === undefined ? {} : { cwd: args.cwd }),
        ...(args.checkpoint === undefined ? {} : { checkpoint: args.checkpoint })
      })
    case "run":
      return runFromCwd(
        process.cwd(),
        args.argv,
        args.env,
        args.checkpoint === undefined ? {} : { checkpoint: args.checkpoint }
      )
    case "shell":
      return openShell(args.name, {
        ...(args.cwd === undefined ? {} : { cwd: args.cwd }),
        ...(args.argv === undefined ? {} : { argv: args.argv }),
        ...(args.checkpoint === undefined ? {} : { checkpoint: args.checkpoint })
      })
    case "ssh-proxy":
      // Loaded only for it: exec, run and shell start without it.
      return Effect.promise(() => import("@repoman/programs/SshAccess")).pipe(
        Effect.flatMap((ssh) => ssh.sshProxy(args.name))
      )
  }
}

/** Runs `repoman ARGV` and ends the process: as the command ended, for a session. */
export const main = (argv: ReadonlyArray<string>, remote?: string): void => {
  const args = parse(argv)
  if (args === undefined) {
    void import("./full.ts").then((cli) => cli.main(argv, remote))
    return
  }
  if (args._tag === "list") {
    checkRemote(remote ?? envRemote()).pipe(
      Effect.andThen(printProjects(args.json)),
      whileStdoutOpen,
      Effect.provide(SessionLive.layer(remote === undefined ? {} : { remote })),
      Effect.provide(CliLogger.layer),
      reportFailures,
      NodeSignals.runMain
    )
    return
  }
  // The session reports a closed stdout to the command itself.
  process.stdout.on("error", () => {})
  checkRemote(remote ?? envRemote()).pipe(
    Effect.andThen(session(args)),
    Effect.flatMap((code) => code === 0 ? Effect.void : Effect.fail(new ExitCode({ code }))),
    Effect.provide(SessionLive.layer(remote === undefined ? {} : { remote })),
    Effect.provide(CliLogger.layer),
    reportFailures,
    NodeSignals.runMain
  )
}
