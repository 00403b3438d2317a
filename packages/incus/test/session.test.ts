/**
 * The websocket exec session (what `shell` runs) against a fake incusd that
 * speaks the exec protocol (fakeExec.ts): what goes into the POST, how the
 * channels are served, in which order things end, what a signal or a
 * resize becomes, and what is refused. The real incusd is exercised by the
 * integration tests (packages/cli/test/session.integration.test.ts).
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { assert, describe, it } from "@effect/vitest"
import { EngineAccess } from "@repoman/core/ContainerRuntime"
import { ProjectName } from "@repoman/core/Ids"
import type { ForwardedSignal, ProcessSignalsShape } from "@repoman/core/ProcessSignals"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import { PassThrough, Writable } from "node:stream"
import * as IncusClient from "../src/IncusClient.ts"
import type { RuntimeContext } from "../src/internal/runtime/context.ts"
import * as Exec from "../src/internal/runtime/exec.ts"
import { runSession, type SessionIo, type SessionRequest, type Terminal } from "../src/internal/runtime/session.ts"
import { type FakeExec, fakeExec, type FakeExecOptions } from "./fakeExec.ts"
import { error, sync } from "./fakeIncus.ts"

const name = ProjectName.make("web")

/** An output that keeps what was written (and can fail like a closed pipe). */
const sink = () => {
  const chunks: Array<Buffer> = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk)
      callback()
    }
  })
  return { stream, text: () => Buffer.concat(chunks).toString() }
}

interface Harness {
  readonly fake: FakeExec
  readonly ctx: RuntimeContext
  readonly run: (request: SessionRequest) => Effect.Effect<number, unknown>
  readonly stdin: PassThrough
  readonly stdout: ReturnType<typeof sink>
  readonly stderr: ReturnType<typeof sink>
  /** Delivers a signal as the process would (to the open route). */
  readonly signal: (signal: ForwardedSignal) => void
  readonly terminal: { readonly raw: Array<boolean>; resize: (width: number, height: number) => void }
}

/** A session over the fake, attached to streams of the test (and a fake terminal when `tty`). */
const harness = (options: FakeExecOptions, tty = false) =>
  Effect.gen(function*() {
    const fake = yield* fakeExec(options)
    const stdin = new PassThrough()
    const stdout = sink()
    const stderr = sink()
    const routes: Array<(signal: ForwardedSignal) => void> = []
    const signals: ProcessSignalsShape = {
      route: (handler) =>
        Effect.acquireRelease(Effect.sync(() => routes.push(handler)), () => Effect.sync(() => routes.pop()))
    }
    const raw: Array<boolean> = []
    let size = { width: 100, height: 30 }
    let onResize: (() => void) | undefined
    const terminal: Terminal = {
      size: () => size,
      setRaw: (on) => void raw.push(on),
      onResize: (f) => {
        onResize = f
        return () => (onResize = undefined)
      }
    }
    const io: SessionIo = {
      stdin: () => stdin,
      stdout: stdout.stream,
      stderr: stderr.stream,
      terminal: tty ? terminal : undefined
    }
    const ctx: RuntimeContext = {
      client: IncusClient.make({ socketPath: fake.socketPath }),
      project: "p",
      owner: 1500,
      access: Effect.succeed(
        new EngineAccess({
          identity: "root",
          via: "unix",
          restricted: false,
          namespaces: [],
          defaultNamespace: Option.none()
        })
      ),
      fs: yield* FileSystem.FileSystem,
      signals,
      io: () => io,
      incusCommand: "incus",
      clientConfigDir: "/nonexistent",
      stopTimeout: 30
    }
    return {
      fake,
      ctx,
      run: (request) => runSession(ctx, name, request, io),
      stdin,
      stdout,
      stderr,
      signal: (signal) => routes.at(-1)?.(signal),
      terminal: {
        raw,
        resize: (width, height) => {
          size = { width, height }
          onResize?.()
        }
      }
    } satisfies Harness
  }).pipe(Effect.provide(NodeFileSystem.layer))

const isDirectory = {
  headers: { "x-incus-type": "directory", "x-incus-uid": "0", "x-incus-gid": "0", "x-incus-mode": "0755" }
}

describe("exec session", () => {
  it.live("pipes: the POST asks for websockets; stdout and stderr stay apart; stdin is streamed to its end", () =>
    Effect.gen(function*() {
      const h = yield* harness({
        script: async (command) => {
          command.stderr("warming up\n")
          command.stdout(`got ${await command.stdinToEnd()}`)
          return { exit: 3 }
        },
        route: (request) => request.method === "HEAD" ? { ...sync(null), ...isDirectory } : undefined
      })
      h.stdin.end("line1\nline2")
      const code = yield* h.run({
        argv: ["sh", "-c", "cat"],
        user: 1000,
        group: 1000,
        cwd: "/srv/repos/web",
        env: { HOME: "/home/ada", X: "a b; $(rm -rf /)" }
      })
      assert.strictEqual(code, 3)
      assert.strictEqual(h.stdout.text(), "got line1\nline2")
      assert.strictEqual(h.stderr.text(), "warming up\n")
      assert.deepStrictEqual(h.fake.posted(), {
        command: ["sh", "-c", "cat"],
        interactive: false,
        environment: { HOME: "/home/ada", X: "a b; $(rm -rf /)" },
        user: 1000,
        group: 1000,
        cwd: "/srv/repos/web",
        "wait-for-websocket": true,
        "record-output": false
      })
      // The cwd was looked at beside the POST; the four channels were opened.
      const requests = (yield* h.fake.requests).map((r) => `${r.method} ${r.path}`)
      assert.include(requests, "HEAD /1.0/instances/web/files")
      assert.strictEqual(requests.filter((r) => r === "UPGRADE /1.0/operations/op-x/websocket").length, 4)
    }).pipe(Effect.scoped))

  it.live("a quick command's output survives incusd's keepalive ping and the dropped connection", () =>
    Effect.gen(function*() {
      // incusd pings each channel as it connects and drops the connection
      // right after the barrier: a pong written after the drop fails with
      // EPIPE, and the output not yet read went with the socket.
      const lost: Array<string> = []
      for (let i = 0; i < 40; i++) {
        const h = yield* harness({
          script: async (command) => {
            command.stdout(`hidden ${i}\n`)
            command.stderr(`err ${i}\n`)
            return { exit: 0 }
          },
          pingAtConnect: true
        })
        h.stdin.end()
        assert.strictEqual(yield* h.run({ argv: ["sh", "-c", "echo hidden"] }), 0)
        if (h.stdout.text() !== `hidden ${i}\n` || h.stderr.text() !== `err ${i}\n`) {
          lost.push(`${i}: ${JSON.stringify(h.stdout.text())} ${JSON.stringify(h.stderr.text())}`)
        }
      }
      assert.deepStrictEqual(lost, [])
    }).pipe(Effect.scoped))

  it.live("the status may come before the output: every byte is still written", () =>
    Effect.gen(function*() {
      const big = "x".repeat(300_000)
      const h = yield* harness({
        statusFirstMs: 100,
        script: async (command) => {
          command.stdout(big)
          command.stderr("done\n")
          return { exit: 0 }
        }
      })
      h.stdin.end()
      assert.strictEqual(yield* h.run({ argv: ["yes"] }), 0)
      assert.strictEqual(h.stdout.text().length, big.length)
      assert.strictEqual(h.stderr.text(), "done\n")
    }).pipe(Effect.scoped))

  it.live("a program Incus cannot start is 127 and says so, unless the command spoke on stderr itself", () =>
    Effect.gen(function*() {
      const silent = yield* harness({ script: async () => ({ failure: "Command not found", exit: 127 }) })
      silent.stdin.end()
      assert.strictEqual(yield* silent.run({ argv: ["no-such\u001b[2Jprogram"] }), 127)
      // The name is the user's, but it reaches a terminal: control characters are shown, not obeyed.
      assert.strictEqual(silent.stderr.text(), "repoman: no-such\\x1b[2Jprogram: command not found\n")

      const spoke = yield* harness({
        script: async (command) => {
          command.stderr("sh: 1: nope: not found\n")
          return { failure: "Command not found", exit: 127 }
        }
      })
      spoke.stdin.end()
      assert.strictEqual(yield* spoke.run({ argv: ["sh", "-c", "nope"] }), 127)
      assert.strictEqual(spoke.stderr.text(), "sh: 1: nope: not found\n")
    }).pipe(Effect.scoped))

  it.live("a cwd that is not a directory inside fails with NotFound, and no channel is connected: nothing runs", () =>
    Effect.gen(function*() {
      const h = yield* harness({
        script: async () => ({ exit: 0 }),
        route: (request) => request.method === "HEAD" ? error(404, "Not Found") : undefined
      })
      const failure = yield* Effect.flip(h.run({ argv: ["pwd"], cwd: "/nonexistent" }))
      assert.deepInclude((failure as { reason: unknown }).reason, {
        _tag: "NotFound",
        kind: "directory",
        name: "/nonexistent"
      })
      assert.isFalse(h.fake.ran())
      assert.notInclude((yield* h.fake.requests).map((r) => r.method), "UPGRADE")
    }).pipe(Effect.scoped))

  it.live("signals go to the command, also one that came before the control channel was up", () =>
    Effect.gen(function*() {
      let h: Harness | undefined
      const fake = {
        script: async (command: Parameters<FakeExecOptions["script"]>[0]) => {
          const first = await command.nextControl()
          h?.signal("SIGTERM")
          const second = await command.nextControl()
          command.stdout(`${JSON.stringify(first)} ${JSON.stringify(second)}\n`)
          return { exit: 143 }
        }
      }
      h = yield* harness(fake)
      h.stdin.end()
      const running = yield* Effect.forkChild(h.run({ argv: ["sleep", "30"] }))
      // Before any channel is up: the signal waits for the control channel.
      yield* Effect.sleep("5 millis")
      h.signal("SIGHUP")
      const code = yield* Fiber.join(running)
      assert.strictEqual(code, 143)
      assert.strictEqual(
        h.stdout.text(),
        "{\"command\":\"signal\",\"signal\":1} {\"command\":\"signal\",\"signal\":15}\n"
      )
    }).pipe(Effect.scoped))

  it.live("a closed stdout sends SIGPIPE to the command, which ends as it does", () =>
    Effect.gen(function*() {
      const h = yield* harness({
        script: async (command) => {
          command.stdout("first line\n")
          const pipe = await command.nextControl()
          return { exit: pipe["signal"] === 13 ? 141 : 1 }
        }
      })
      h.stdin.end()
      h.stdout.stream._write = (_chunk, _encoding, callback) => {
        const epipe = Object.assign(new Error("write EPIPE"), { code: "EPIPE" })
        callback(epipe)
      }
      assert.strictEqual(yield* h.run({ argv: ["yes"] }), 141)
    }).pipe(Effect.scoped))

  it.live("a terminal: raw mode for the session only, its size, resizes, and the channel closed at its end", () =>
    Effect.gen(function*() {
      let h: Harness | undefined
      h = yield* harness({
        script: async (command) => {
          command.stdout(`interactive=${command.interactive} typed=${await command.firstInput()}\r\n`)
          h?.terminal.resize(120, 40)
          const resize = await command.nextControl()
          command.stdout(JSON.stringify(resize))
          return { exit: 0 }
        }
      }, true)
      h.stdin.write("ls")
      assert.strictEqual(yield* h.run({ argv: ["bash", "-l"] }), 0)
      assert.deepInclude(h.fake.posted(), { interactive: true, width: 100, height: 30 })
      assert.strictEqual(
        h.stdout.text(),
        "interactive=true typed=ls\r\n{\"command\":\"window-resize\",\"args\":{\"width\":\"120\",\"height\":\"40\"}}"
      )
      assert.deepStrictEqual(h.terminal.raw, [true, false])
    }).pipe(Effect.scoped))

  it.live("shell without a command runs the user's login shell from the container's /etc/passwd", () =>
    Effect.gen(function*() {
      const passwd = "root:x:0:0:root:/root:/bin/sh\nubuntu:x:1000:1000::/home/ubuntu:/bin/bash\n"
      const h = yield* harness({
        script: async () => ({ exit: 0 }),
        route: (request) =>
          request.method === "GET" && request.path === "/1.0/instances/web/files" &&
            request.query.get("path") === "/etc/passwd"
            ? { raw: true, body: passwd, headers: { "x-incus-type": "file" } }
            : undefined
      })
      h.stdin.end()
      assert.strictEqual(yield* Exec.make(h.ctx).shell(name, { user: 1000, group: 1000 }), 0)
      assert.deepStrictEqual(h.fake.posted()?.["command"], ["/bin/bash", "-l"])
    }).pipe(Effect.scoped))
})
