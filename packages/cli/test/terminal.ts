/**
 * Helpers of the session integration tests: a real terminal (tmux, on a
 * server of the test's own), and `repoman` as a child process whose pid,
 * streams and signals the test holds.
 */
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { readFileSync, writeFileSync } from "node:fs"
import { bin } from "./integration.ts"

/** tmux, as scripts/ci/terminal.sh recorded it. */
export const tmuxPath = process.env["REPOMAN_CI_TMUX"] ?? "tmux"

/**
 * A script in `dir` that runs `repoman` (the real entry point) with `env`:
 * what a terminal's shell types, so no quoting of paths is needed.
 */
export const repomanScript = (dir: string, env: Readonly<Record<string, string>>): string => {
  const path = `${dir}/repoman`
  const assignments = Object.entries(env).map(([k, v]) => `${k}='${v.replace(/'/g, "'\\''")}'`)
  writeFileSync(path, `#!/bin/sh\nexec env ${assignments.join(" ")} '${process.execPath}' '${bin}' "$@"\n`, {
    mode: 0o755
  })
  return path
}

/** A tmux server and session of the test's own, with one pane running a plain bash. */
export const tmux = (dir: string, size: { readonly width: number; readonly height: number }) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const socket = `${dir}/tmux.socket`
      const run = (...args: ReadonlyArray<string>) =>
        execFileSync(tmuxPath, ["-S", socket, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
      run(
        "new-session",
        "-d",
        "-s",
        "t",
        "-x",
        String(size.width),
        "-y",
        String(size.height),
        `env -i PATH=/usr/bin:/bin HOME=${
          process.env["HOME"] ?? "/"
        } TERM=xterm-256color LANG=C.UTF-8 bash --norc --noprofile`
      )
      const screen = () => run("capture-pane", "-p", "-t", "t")
      return {
        /** Types `keys` (tmux key names: "Enter", "C-c", or text). */
        send: (...keys: ReadonlyArray<string>) => void run("send-keys", "-t", "t", ...keys),
        /** Types a line of text and Enter. */
        line: (text: string) => void run("send-keys", "-t", "t", "-l", text, ";", "send-keys", "-t", "t", "Enter"),
        resize: (width: number, height: number) =>
          void run("resize-window", "-t", "t", "-x", String(width), "-y", String(height)),
        screen,
        /** Waits until the screen matches `pattern` (gated on what the terminal shows, not on time). */
        waitFor: (pattern: RegExp, timeoutMs = 20_000) =>
          Effect.sync(screen).pipe(
            Effect.flatMap((text) => pattern.test(text) ? Effect.succeed(text) : Effect.fail(text)),
            Effect.retry({ schedule: Schedule.spaced("100 millis"), times: Math.ceil(timeoutMs / 100) }),
            Effect.catch((last) => Effect.die(new Error(`the screen never showed ${pattern}:\n${last}`)))
          ),
        /**
         * Types `text` until the screen shows `pattern` (for what takes effect
         * asynchronously, like a resize): gated on the screen, retried a few times.
         */
        lineUntil: (text: string, pattern: RegExp) =>
          Effect.sync(() => run("send-keys", "-t", "t", "-l", text, ";", "send-keys", "-t", "t", "Enter")).pipe(
            Effect.andThen(
              Effect.sync(screen).pipe(
                Effect.flatMap((shown) => pattern.test(shown) ? Effect.succeed(shown) : Effect.fail(shown)),
                Effect.retry({ schedule: Schedule.spaced("100 millis"), times: 10 })
              )
            ),
            Effect.retry({ times: 20 }),
            Effect.catch((last) => Effect.die(new Error(`the screen never showed ${pattern}:\n${last}`)))
          ),
        /** Closes the terminal: its processes get SIGHUP. */
        kill: () => void run("kill-server"),
        socket
      }
    }),
    (t) => Effect.ignore(Effect.try(() => t.kill()))
  )

/** A running child process with its output collected. */
export interface Running {
  readonly child: ChildProcess
  readonly stdout: () => string
  readonly stderr: () => string
  /** Resolves once stdout showed `text` (the command is surely running then). */
  readonly printed: (text: string) => Effect.Effect<void>
  /** How it ended: its exit code, or the signal that ended it. */
  readonly ended: Effect.Effect<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
}

/** Starts `repoman ARGS` with `env` on top of this process's environment. */
export const startRepoman = (
  args: ReadonlyArray<string>,
  env: Readonly<Record<string, string>>,
  options: { readonly cwd?: string; readonly collectStdout?: boolean } = {}
) =>
  Effect.acquireRelease(
    Effect.sync((): Running => {
      const child = spawn(process.execPath, [bin, ...args], {
        env: { ...process.env, ...env },
        stdio: ["pipe", "pipe", "pipe"],
        ...(options.cwd === undefined ? {} : { cwd: options.cwd })
      })
      let stdout = ""
      let stderr = ""
      const waiters: Array<() => void> = []
      if (options.collectStdout !== false) {
        child.stdout?.on("data", (d: Buffer) => {
          stdout += d.toString()
          for (const w of waiters.splice(0)) w()
        })
      }
      child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()))
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.on("exit", (code, signal) => resolve({ code, signal }))
      )
      return {
        child,
        stdout: () => stdout,
        stderr: () => stderr,
        printed: (text) =>
          Effect.callback<void>((resume) => {
            const check = () => (stdout.includes(text) ? resume(Effect.void) : waiters.push(check))
            check()
          }),
        ended: Effect.promise(() => exited)
      }
    }),
    ({ child }) =>
      Effect.sync(() => void (child.exitCode === null && child.signalCode === null && child.kill("SIGKILL")))
  )

/** The peak resident set size of a running process, in KiB (VmHWM). */
export const peakRssKiB = (pid: number): number => {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmHWM:"))
  return Number(/(\d+)/.exec(line ?? "")?.[1] ?? Number.NaN)
}
