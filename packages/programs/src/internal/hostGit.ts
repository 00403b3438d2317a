/**
 * git on the host, as repoman runs it: an argv list, no terminal prompt, a
 * time limit, and nothing run on its behalf (`core.hooksPath=/dev/null`,
 * `core.fsmonitor=false`, no automatic gc or maintenance). Used on the
 * user's own repos and on scratch repos repoman made; never pointed at a
 * directory a container can write.
 */
import * as HostProcess from "@repoman/core/HostProcess"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"

/** The `-c` options every host git command gets. */
export const SAFE_OPTIONS: ReadonlyArray<string> = [
  "-c",
  "core.hooksPath=/dev/null",
  "-c",
  "core.fsmonitor=false",
  "-c",
  "gc.auto=0",
  "-c",
  "maintenance.auto=false",
  "-c",
  "protocol.ext.allow=never"
]

/** Options of {@link hostGit}. */
export interface HostGitOptions {
  readonly input?: Uint8Array | string
  /** Default 60 s. */
  readonly timeout?: Duration.Input
  readonly env?: Readonly<Record<string, string>>
}

/** Runs `git ARGS` on the host with {@link SAFE_OPTIONS}: exit code, stdout, stderr. */
export const hostGit = (args: ReadonlyArray<string>, options: HostGitOptions = {}) =>
  HostProcess.run("git", [...SAFE_OPTIONS, ...args], {
    env: { GIT_TERMINAL_PROMPT: "0", GIT_OPTIONAL_LOCKS: "0", ...options.env },
    timeout: Duration.fromInputUnsafe(options.timeout ?? "60 seconds"),
    ...(options.input === undefined ? {} : { input: options.input })
  })

/** Like {@link hostGit}, failing with `onFailure(stderr)` on a non-zero exit; the stdout. */
export const hostGitOk = <E>(
  args: ReadonlyArray<string>,
  onFailure: (detail: string) => E,
  options: HostGitOptions = {}
) =>
  hostGit(args, options).pipe(
    Effect.mapError((e) => onFailure(e.message)),
    Effect.flatMap((r) =>
      r.exitCode === 0
        ? Effect.succeed(r.stdout)
        : Effect.fail(onFailure(r.stderr.trim().split("\n").filter((l) => l.length > 0).at(-1) ?? `exit ${r.exitCode}`))
    )
  )
