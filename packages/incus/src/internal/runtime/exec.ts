/**
 * The exec part of the Incus runtime: a command run to completion through
 * the REST API (output recorded), and an interactive session handed to the
 * `incus` client (argv list, inherited stdio, same session so the child has
 * the terminal).
 */
import {
  type ContainerRuntime,
  type ExecOptions,
  ExecResult,
  OperationFailed,
  type ShellOptions,
  Unavailable
} from "@repoman/core/ContainerRuntime"
import type { ProjectName } from "@repoman/core/Ids"
import * as Effect from "effect/Effect"
import type * as PlatformError from "effect/PlatformError"
import * as ChildProcess from "effect/process/ChildProcess"
import { mapErrors, type RuntimeContext, runtimeError } from "./context.ts"
import { requireRunning } from "./instances.ts"

type Shape = ContainerRuntime["Service"]

export const make = (ctx: RuntimeContext): Pick<Shape, "exec" | "shell" | "attachCommand"> => {
  const { client, fs, project, spawner } = ctx

  const spawnError = (name: string) => (error: PlatformError.PlatformError) =>
    error.reason._tag === "NotFound"
      ? runtimeError(
        new Unavailable({
          kind: "instance",
          name,
          detail: "the incus command was not found",
          hint: "install the Incus client ('incus') and make sure it is on PATH"
        }),
        error
      )
      : runtimeError(new OperationFailed({ kind: "instance", name, operation: "shell", detail: error.message }), error)

  /** The login shell of `uid` from the container's /etc/passwd, or `/bin/sh`. */
  const loginShell = (name: ProjectName, uid: number) =>
    client.execInstance(project, name, { command: ["cat", "/etc/passwd"] }).pipe(
      Effect.map((out) => {
        const entry = out.stdout.split("\n").map((l) => l.split(":")).find((f) => f[2] === String(uid))
        const shell = entry?.[6]
        return shell !== undefined && shell.startsWith("/") ? shell : "/bin/sh"
      }),
      Effect.orElseSucceed(() => "/bin/sh"),
      Effect.map((shell): ReadonlyArray<string> => [shell, "-l"])
    )

  return {
    // `local:` so that a default remote in the user's incus config cannot send it elsewhere.
    attachCommand: (name) => [ctx.incusCommand, "exec", `local:${name}`, "--project", project, "--"],

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
      const { argv, cwd, env = {}, group, user } = shellOptions ?? {}
      yield* requireRunning(ctx, name, "shell")
      const command = argv ?? (yield* loginShell(name, user ?? 0))
      const args: ReadonlyArray<string> = [
        "exec",
        // `local:` so that a default remote in the user's incus config
        // cannot send us elsewhere; INCUS_SOCKET below picks the socket.
        `local:${name}`,
        "--project",
        project,
        ...(user === undefined ? [] : ["--user", String(user)]),
        ...(group === undefined ? [] : ["--group", String(group)]),
        ...(cwd === undefined ? [] : ["--cwd", cwd]),
        ...Object.entries(env).flatMap(([k, v]) => ["--env", `${k}=${v}`]),
        "--",
        ...command
      ]
      const exitCode = yield* Effect.scoped(Effect.gen(function*() {
        // The client gets a config dir of its own for this call: the user's
        // remotes and aliases cannot change what runs, and with a config.yml
        // present the client does not print its first-run banner on stderr
        // (which would mix into the command's own stderr).
        const conf = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-incus-client-" }).pipe(
          Effect.tap((dir) => fs.writeFileString(`${dir}/config.yml`, "default-remote: local\n")),
          Effect.mapError((e) =>
            runtimeError(new OperationFailed({ kind: "instance", name, operation: "shell", detail: e.message }), e)
          )
        )
        return yield* spawner.exitCode(
          ChildProcess.make(ctx.incusCommand, args, {
            stdin: "inherit",
            stdout: "inherit",
            stderr: "inherit",
            // Keep the child in our session: a detached child has no
            // controlling terminal, and `incus exec` could not open /dev/tty.
            detached: false,
            extendEnv: true,
            env: { INCUS_SOCKET: client.socketPath, INCUS_CONF: conf }
          })
        ).pipe(Effect.mapError(spawnError(name)))
      }))
      return Number(exitCode)
    })
  }
}
