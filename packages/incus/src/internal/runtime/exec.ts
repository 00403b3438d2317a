/**
 * The exec part of the Incus runtime: a command run to completion through
 * the REST API (output recorded), a command attached to the caller's
 * terminal and stdio over websockets (`session.ts`), and the host command
 * another program runs to reach an instance (`incus exec`, with a client
 * config dir of repoman's own).
 */
import {
  type ContainerRuntime,
  type ExecOptions,
  ExecResult,
  OperationFailed,
  type ShellOptions
} from "@repoman/core/ContainerRuntime"
import type { ProjectName } from "@repoman/core/Ids"
import { findUser } from "@repoman/core/Passwd"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { mapErrors, type RuntimeContext, runtimeError } from "./context.ts"
import { runSession } from "./session.ts"

type Shape = ContainerRuntime["Service"]

/** A word the ssh ProxyCommand line can hold without quoting. */
const plainWord = /^[A-Za-z0-9._/:=@%+-]+$/

export const make = (ctx: RuntimeContext): Pick<Shape, "exec" | "shell" | "attachCommand"> => {
  const { client, fs, project } = ctx

  /**
   * The client's config dir, with a config.yml: without one, the client's
   * first run prints a notice on stderr (which would reach the ssh user).
   */
  const clientConfig = Effect.gen(function*() {
    const dir = ctx.clientConfigDir
    const file = `${dir}/config.yml`
    yield* fs.makeDirectory(dir, { recursive: true, mode: 0o700 })
    if (!(yield* fs.exists(file))) yield* fs.writeFileString(file, "default-remote: local\n", { mode: 0o600 })
    return dir
  })

  /** The login shell of `uid` from the container's /etc/passwd (file API), or `/bin/sh`; run as a login shell. */
  const loginShell = (name: ProjectName, uid: number) =>
    client.readInstanceFile(project, name, "/etc/passwd", 1024 * 1024).pipe(
      Effect.map((passwd) => Option.getOrUndefined(passwd) ?? ""),
      Effect.orElseSucceed(() => ""),
      Effect.map((passwd): ReadonlyArray<string> => [findUser(passwd, uid)?.shell ?? "/bin/sh", "-l"])
    )

  return {
    attachCommand: Effect.fn("IncusContainerRuntime.attachCommand")(function*(name: ProjectName) {
      const failed = (detail: string, cause?: unknown) =>
        runtimeError(new OperationFailed({ kind: "instance", name, operation: "attach", detail }), cause)
      const remote = client.remote
      // A remote: the user's client config, where `incus remote add` put its certificates.
      const dir = remote?.configDir ?? (yield* clientConfig.pipe(Effect.mapError((e) => failed(e.message, e))))
      const command = [
        "env",
        `INCUS_CONF=${dir}`,
        ...(remote === undefined ? [`INCUS_SOCKET=${client.socketPath}`] : []),
        ctx.incusCommand,
        "exec",
        // The remote named, `local:` for the socket: a default-remote in the client's config cannot send it elsewhere.
        `${remote?.name ?? "local"}:${name}`,
        "--project",
        project,
        "--"
      ]
      const odd = command.find((word) => !plainWord.test(word))
      if (odd !== undefined) return yield* failed(`${odd} would need quoting in a command line`)
      return command
    }),

    exec: Effect.fn("IncusContainerRuntime.exec")(
      function*(name: ProjectName, argv: ReadonlyArray<string>, execOptions?: ExecOptions) {
        const { cwd, env, group, user } = execOptions ?? {}
        const out = yield* client.execInstance(project, name, {
          command: argv,
          ...(env === undefined ? {} : { environment: env }),
          ...(user === undefined ? {} : { user }),
          ...(group === undefined ? {} : { group }),
          ...(cwd === undefined ? {} : { cwd })
        }).pipe(
          // The exec was accepted and Incus could not start the command (no
          // such program, or no such working directory): the operation fails
          // with a 400, where a shell says 127. A refusal of the request
          // itself (the instance is not running) is not this.
          Effect.catchIf(
            (e) => e.reason._tag === "Invalid" && e.reason.operation !== undefined,
            (e) => Effect.succeed({ exitCode: 127, stdout: "", stderr: `${e.reason.detail}\n` })
          ),
          mapErrors(ctx, { kind: "instance", name, operation: "exec", stateful: true })
        )
        return new ExecResult(out)
      }
    ),

    shell: Effect.fn("IncusContainerRuntime.shell")(function*(name: ProjectName, shellOptions?: ShellOptions) {
      const { argv, cwd, env, group, user } = shellOptions ?? {}
      return yield* runSession(ctx, name, {
        argv: argv ?? (yield* loginShell(name, user ?? 0)),
        user,
        group,
        cwd,
        env
      }, ctx.io())
    })
  }
}
