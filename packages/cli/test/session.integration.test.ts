/**
 * `exec`, `run` and `shell` against the real incusd, through the real
 * `repoman` executable, as a user (and an attacker) would drive them: in a
 * real terminal (tmux), through pipes, under signals. Each test makes its
 * own throwaway Incus project.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Schedule from "effect/Schedule"
import { busybox, countingProxy, debian, IntegrationLayer, sandbox } from "./integration.ts"
import { peakRssKiB, repomanScript, startRepoman, tmux } from "./terminal.ts"

/** A sandbox with one project made by `repoman new`, its repo dir, and a `repoman` script for terminals. */
const project = (image: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const box = yield* sandbox
    const s = yield* box.setup
    assert.strictEqual(s.code, 0, s.stderr)
    const repo = `${box.reposRoot}/box`
    yield* fs.makeDirectory(`${repo}/src`, { recursive: true })
    const n = yield* box.repoman(["new", "box", "--image", image])
    assert.strictEqual(n.code, 0, n.stderr)
    const script = repomanScript(box.dir, {
      ...box.env,
      HOME: process.env["HOME"] ?? box.dir,
      PATH: process.env["PATH"] ?? ""
    })
    return { ...box, repo, script }
  })

describe("sessions against a real Incus", () => {
  it.live(
    "a terminal: an interactive shell on a pty of the terminal's size, resized, Ctrl-C to a sleep, exit 3, the terminal restored",
    () =>
      Effect.gen(function*() {
        const { dir, repo, script } = yield* project(debian)
        const t = yield* tmux(dir, { width: 100, height: 30 })
        t.line("stty -a | grep -o -- '-\\?icanon'; PS1='host$ '")
        yield* t.waitFor(/^icanon$/m)
        t.line(`clear; ${script} shell box; echo EXIT=$?`)
        t.line("PS1='in$ '")
        yield* t.waitFor(/^in\$\s*$/m)
        t.line("clear; tty; id -u; pwd; echo \"user=$USER logname=$LOGNAME term=$TERM lang=$LANG\"; stty size")
        const first = yield* t.waitFor(/^30 100$/m)
        assert.match(first, /^\/dev\/pts\/\d+$/m)
        assert.match(first, /^1000$/m)
        assert.include(first, `\n${repo}\n`)
        assert.include(
          first,
          `user=${process.env["USER"]} logname=${process.env["USER"]} term=xterm-256color lang=C.UTF-8`
        )
        t.resize(120, 40)
        // The resize travels as a control message: ask until the pty has it.
        yield* t.lineUntil("clear; stty size", /^40 120$/m)
        t.line("clear; echo started; sleep 30")
        yield* t.waitFor(/^started$/m)
        t.send("C-c")
        yield* t.waitFor(/^\^C$/m)
        t.line("echo slept=$?")
        yield* t.waitFor(/^slept=130$/m)
        t.line("exit 3")
        yield* t.waitFor(/^EXIT=3$/m)
        t.line("stty -a | grep -o -- '-\\?icanon'")
        yield* t.waitFor(/^EXIT=3\n(?:.*\n)*icanon$/m)
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    300_000
  )

  it.live(
    "a terminal on stdin only (pipe mode): Ctrl-C reaches the command and repoman dies of SIGINT; a terminal that closes: SIGHUP reaches it",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const { dir, repo, repoman, script } = yield* project(busybox)
        const t = yield* tmux(dir, { width: 80, height: 24 })
        // stdout is a pipe: no terminal inside, the local terminal stays cooked and sends SIGINT.
        t.line(`${script} exec box -- sh -c 'echo started; exec sleep 30' | cat; echo NOT-REACHED`)
        yield* t.waitFor(/^started$/m)
        t.send("C-c")
        t.line("echo PIPE=${PIPESTATUS[0]}")
        const after = yield* t.waitFor(/^PIPE=\d+$/m)
        assert.match(after, /^PIPE=130$/m)
        // bash drops the rest of the line only when the command died *of* SIGINT (not on an exit 130).
        assert.notMatch(after, /^NOT-REACHED$/m)
        t.line("clear")
        t.line(
          `${script} exec box -- sh -c 'trap "echo hup > ${repo}/hup; exit 1" HUP; echo waiting; while :; do sleep 0.1; done'`
        )
        yield* t.waitFor(/^waiting$/m)
        t.kill()
        // The marker is written from inside, on the shared repo: wait for it (gated on the file, not a sleep).
        const marker = yield* fs.readFileString(`${repo}/hup`).pipe(
          Effect.retry({ times: 100, schedule: Schedule.spaced("100 millis") }),
          Effect.orElseSucceed(() => "")
        )
        assert.strictEqual(marker, "hup\n")
        const ps = yield* repoman(["exec", "box", "--", "ps"])
        assert.notInclude(ps.stdout, "while")
        assert.notInclude(ps.stdout, "sleep 0.1")
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    300_000
  )

  it.live(
    "pipes: stdin to its end, stdout and stderr apart, the exit code; 127 and 126 say why; a stopped container is started",
    () =>
      Effect.gen(function*() {
        const { client, project: incusProject, repo, repoman, repomanIn } = yield* project(busybox)
        const piped = yield* repomanIn({}, { input: "line1\nline2" })([
          "exec",
          "box",
          "--",
          "sh",
          "-c",
          "cat; echo; echo eof-seen; echo to-err >&2; exit 3"
        ])
        assert.deepStrictEqual(piped, { code: 3, stdout: "line1\nline2\neof-seen\n", stderr: "to-err\n" })
        const missing = yield* repoman(["exec", "box", "--", "no-such-program"])
        assert.deepStrictEqual(missing, {
          code: 127,
          stdout: "",
          stderr: "repoman: no-such-program: command not found\n"
        })
        const notExecutable = yield* repoman(["exec", "box", "--", "/etc/passwd"])
        assert.strictEqual(notExecutable.code, 126)
        assert.strictEqual(notExecutable.stderr, "repoman: /etc/passwd: command not executable\n")
        const noDir = yield* repoman(["exec", "box", "--cwd", "/nonexistent", "--", "sh", "-c", "echo ran"])
        assert.deepStrictEqual(noDir, {
          code: 1,
          stdout: "",
          stderr: "repoman: directory \"/nonexistent\" does not exist\n"
        })
        // run: from a directory in the repo, at the same path inside.
        const here = yield* repomanIn({}, { cwd: `${repo}/src` })(["run", "--", "pwd"])
        assert.deepStrictEqual(here, { code: 0, stdout: `${repo}/src\n`, stderr: "" })
        yield* client.updateInstanceState(incusProject, "box", { action: "stop", force: true })
        const started = yield* repoman(["exec", "box", "--", "true"])
        assert.deepStrictEqual(started, { code: 0, stdout: "", stderr: "" })
        assert.strictEqual((yield* client.getInstance(incusProject, "box")).value.status, "Running")
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    300_000
  )

  it.live(
    "pipes: 1 GB of output to a reader that starts late arrives whole, with repoman's memory bounded far below it",
    () =>
      Effect.gen(function*() {
        const { env } = yield* project(busybox)
        // Bounded, not proportional: what passes through is far more than the bound. (The peak is
        // mostly garbage not yet collected; a plain stdin-to-stdout pipe in Node peaks near 100 MB.)
        const size = 1_000_000_000
        const r = yield* startRepoman(
          ["exec", "box", "--", "sh", "-c", `head -c ${size} /dev/zero; echo written >&2; read -r _`],
          env,
          { collectStdout: false }
        )
        const stdout = r.child.stdout!
        // The reader starts late: until then the command blocks on a full pipe.
        stdout.pause()
        yield* Effect.sleep("2 seconds")
        let received = 0
        stdout.on("data", (chunk: Buffer) => (received += chunk.length))
        stdout.resume()
        // All of it arrived; the command now waits for a line on stdin, so repoman still runs.
        yield* Effect.sync(() => received).pipe(
          Effect.repeat({
            until: (n) => n >= size && r.stderr().includes("written"),
            schedule: Schedule.spaced("50 millis")
          })
        )
        const peak = peakRssKiB(r.child.pid ?? 0)
        r.child.stdin?.end("go\n")
        assert.deepStrictEqual(yield* r.ended, { code: 0, signal: null })
        assert.strictEqual(received, size)
        assert.isBelow(peak, 300 * 1024, `peak RSS ${peak} KiB for ${size} bytes`)
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    300_000
  )

  it.live(
    "signals: SIGTERM and SIGHUP to repoman reach the command, which exits as it likes; untrapped, repoman dies of it too",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const { env, repo, repoman } = yield* project(busybox)
        for (const signal of ["SIGTERM", "SIGHUP", "SIGINT"] as const) {
          const name = signal.slice(3)
          const r = yield* startRepoman([
            "exec",
            "box",
            "--",
            "sh",
            "-c",
            `trap 'echo ${name} > ${repo}/trapped-${name}; exit 7' ${name}; echo ready; while :; do sleep 0.1; done`
          ], env)
          yield* r.printed("ready")
          r.child.kill(signal)
          assert.deepStrictEqual(yield* r.ended, { code: 7, signal: null }, `${signal}: ${r.stderr()}`)
          assert.strictEqual(yield* fs.readFileString(`${repo}/trapped-${name}`), `${name}\n`)
        }
        const untrapped = yield* startRepoman(["exec", "box", "--", "sh", "-c", "echo ready; exec sleep 30"], env)
        yield* untrapped.printed("ready")
        untrapped.child.kill("SIGTERM")
        assert.deepStrictEqual(yield* untrapped.ended, { code: null, signal: "SIGTERM" })
        const ps = yield* repoman(["exec", "box", "--", "ps"])
        assert.notInclude(ps.stdout, "sleep 30")
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    300_000
  )

  it.live(
    "run -- true asks incusd for the instance once and reads nothing inside; no banner, no incus client",
    () =>
      Effect.gen(function*() {
        const { dir, repo, repomanIn } = yield* project(busybox)
        const proxy = yield* countingProxy(`${dir}/incus.socket`)
        // A HOME where the incus client never ran, and a PATH without it.
        const out = yield* repomanIn(
          { INCUS_SOCKET: proxy.path, HOME: `${dir}/fresh-home`, PATH: "/nonexistent" },
          { cwd: `${repo}/src` }
        )(["run", "--", "true"])
        assert.deepStrictEqual(out, { code: 0, stdout: "", stderr: "" })
        const requests = proxy.requests().map((r) => r.replace(/\/operations\/[^/]+/, "/operations/ID"))
        assert.deepStrictEqual([...requests].sort(), [
          "GET /1.0/instances/box",
          "GET /1.0/operations/ID/wait",
          "GET /1.0/operations/ID/websocket",
          "GET /1.0/operations/ID/websocket",
          "GET /1.0/operations/ID/websocket",
          "GET /1.0/operations/ID/websocket",
          "HEAD /1.0/instances/box/files",
          "POST /1.0/instances/box/exec"
        ])
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    300_000
  )
})
