/**
 * The real entry point in a child process: exit codes, what reaches stderr,
 * and that a broken registry is reported without being touched.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Path from "effect/Path"
import * as ChildProcess from "effect/process/ChildProcess"
import { spawn } from "node:child_process"
import { closeSync, openSync } from "node:fs"
import { bin, outcome } from "./integration.ts"

/** Each run starts Node on the unbundled source: allow for a slow, busy machine. */
const timeout = 60_000

/** `node src/bin.ts <argv>` with HOME and the config dir in `home`; no shell. */
const repoman = Effect.fn("repoman")(function*(home: string, argv: ReadonlyArray<string>) {
  const path = yield* Path.Path
  return yield* outcome(ChildProcess.make(process.execPath, [bin, ...argv], {
    cwd: home,
    env: {
      PATH: process.env["PATH"],
      HOME: home,
      REPOMAN_CONFIG_DIR: path.join(home, "config"),
      // No container engine here, whatever the machine has: list must still answer.
      INCUS_SOCKET: path.join(home, "no-incus", "unix.socket"),
      NO_COLOR: "1"
    }
  }))
})

/** A temp home with `config/repoman.toml` holding `text` (when given). */
const setup = Effect.fn("setup")(function*(text?: string) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const home = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-bin-" })
  const configDir = path.join(home, "config")
  yield* fs.makeDirectory(configDir)
  const file = path.join(configDir, "repoman.toml")
  if (text !== undefined) yield* fs.writeFileString(file, text)
  const snapshot = Effect.all({ bytes: fs.readFile(file), entries: fs.readDirectory(configDir) })
  return { home, configDir, file, snapshot }
})

const project = (name: string, repo: string) => [
  "[[project]]",
  `name = "${name}"`,
  `repo = "${repo}"`,
  `image = "images:debian/12"`,
  `profiles = ["default"]`,
  `created = "2026-04-28T15:00:00Z"`
]

const validRegistry = ["schema = 3", "", ...project("isurus", "isurus"), ""].join("\n")

/** Enough projects that `list --json` is far more than a pipe holds. */
const bigRegistry = [
  "schema = 3",
  "",
  ...Array.from({ length: 3000 }, (_, i) => project(`p${i}`, `p${i}`).join("\n")),
  ""
]
  .join("\n")

/**
 * Runs the entry point with stdout going to `stdout`: `"first-chunk"` is a
 * pipe whose reader goes away after the first chunk (as `| head -c 1`
 * does), `"closed"` one whose reader is gone before the first write (as
 * `| true` or a `head` that got its lines elsewhere), or a file descriptor. Node's child_process directly: the Effect
 * spawner has no way to close the reading end early.
 */
const runWithStdout = (home: string, argv: ReadonlyArray<string>, stdout: "first-chunk" | "closed" | number) =>
  Effect.callback<{ readonly code: number | null; readonly stderr: string }>((resume) => {
    const child = spawn(process.execPath, [bin, ...argv], {
      cwd: home,
      env: {
        PATH: process.env["PATH"],
        HOME: home,
        REPOMAN_CONFIG_DIR: `${home}/config`,
        INCUS_SOCKET: `${home}/no-incus/unix.socket`
      },
      stdio: ["ignore", typeof stdout === "string" ? "pipe" : stdout, "pipe"]
    })
    // Closed before the child can have started: its first write fails, however small.
    if (stdout === "closed") child.stdout?.destroy()
    let stderr = ""
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    child.stdout?.once("data", () => child.stdout?.destroy())
    child.on("close", (code) => resume(Effect.succeed({ code, stderr })))
  })

/** Line 11 is `name = "Bad_Name"`. */
const badNameRegistry = ["schema = 3", "", ...project("isurus", "isurus"), "", ...project("Bad_Name", "bad"), ""]
  .join("\n")

/** Line 4: an unterminated string. */
const invalidToml = ["schema = 3", "", "[[project]]", `name = "isurus`, `repo = "isurus"`, ""].join("\n")

const assertOneLine = (stderr: string) => {
  assert.isTrue(stderr.endsWith("\n"), `stderr ends with a newline: ${JSON.stringify(stderr)}`)
  assert.deepStrictEqual(stderr.slice(0, -1).split("\n").length, 1, `one line on stderr: ${JSON.stringify(stderr)}`)
  assert.notInclude(stderr, "    at ", "no stack trace")
}

describe("bin.ts (child process)", () => {
  it.live(
    "stdout closed by the reader (| head): exit 141, no stack trace, nothing about EPIPE",
    () =>
      Effect.gen(function*() {
        const { home } = yield* setup(bigRegistry)
        const run = yield* runWithStdout(home, ["list", "--json"], "first-chunk")
        assert.strictEqual(run.code, 141, run.stderr)
        assert.notInclude(run.stderr, "EPIPE")
        assert.notInclude(run.stderr, "    at ", "no stack trace")
      }).pipe(Effect.provide(NodeServices.layer)),
    timeout
  )

  it.live(
    "list, status and sync --json into a closed pipe: exit 141 each, nothing about EPIPE",
    () =>
      Effect.gen(function*() {
        const { home } = yield* setup(["schema = 3", ""].join("\n"))
        for (const argv of [["list", "--json"], ["status", "--json"], ["sync", "--json", "--dry-run"]]) {
          const run = yield* runWithStdout(home, argv, "closed")
          assert.strictEqual(run.code, 141, `${argv.join(" ")}: ${run.stderr}`)
          assert.notInclude(run.stderr, "EPIPE", argv.join(" "))
          assert.notInclude(run.stderr, "    at ", `${argv.join(" ")}: no stack trace`)
        }
      }).pipe(Effect.provide(NodeServices.layer)),
    3 * timeout
  )

  it.live("stdout on a full device: exit 1 and one line that says so", () =>
    Effect.gen(function*() {
      const { home } = yield* setup(validRegistry)
      const full = openSync("/dev/full", "w")
      const run = yield* runWithStdout(home, ["--help"], full).pipe(Effect.ensuring(Effect.sync(() => closeSync(full))))
      assert.strictEqual(run.code, 1, run.stderr)
      assert.strictEqual(run.stderr, "repoman: cannot write to standard output: ENOSPC\n")
    }).pipe(Effect.provide(NodeServices.layer)), timeout)

  it.live(
    "a garbled registry lock is taken over with one escaped warning on stderr; stdout stays clean",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const { file, home } = yield* setup(validRegistry)
        yield* fs.writeFileString(`${file}.lock`, "x\x1b]0;owned\x07")
        const run = yield* repoman(home, ["remove", "isurus", "--keep-incus", "--yes"])
        assert.strictEqual(run.code, 0, run.stderr)
        assert.notInclude(run.stdout, "lock")
        assert.strictEqual(
          run.stderr,
          `repoman: warning: ${file}.lock: the lock held no owner one can read ("x\\x1b]0;owned\\x07"); taken over\n`
        )
        assert.notInclude(yield* fs.readFileString(file), "isurus")
        assert.isFalse(yield* fs.exists(`${file}.lock`))
      }).pipe(Effect.provide(NodeServices.layer)),
    timeout
  )

  it.live("invalid TOML: exit 1, one line with file and line, file untouched", () =>
    Effect.gen(function*() {
      const { file, home, snapshot } = yield* setup(invalidToml)
      const before = yield* snapshot
      const run = yield* repoman(home, ["list"])
      assert.strictEqual(run.code, 1, run.stderr)
      assert.strictEqual(run.stdout, "")
      assertOneLine(run.stderr)
      assert.isTrue(run.stderr.startsWith(`repoman: ${file}:4:`), run.stderr)
      assert.include(run.stderr, "not valid TOML")
      assert.deepStrictEqual(yield* snapshot, before)
    }).pipe(Effect.provide(NodeServices.layer)), timeout)

  it.live("schema violation: exit 1, one line with file, line and key, file untouched", () =>
    Effect.gen(function*() {
      const { file, home, snapshot } = yield* setup(badNameRegistry)
      const before = yield* snapshot
      assert.strictEqual(badNameRegistry.split("\n")[10], `name = "Bad_Name"`)
      const run = yield* repoman(home, ["list", "--json"])
      assert.strictEqual(run.code, 1, run.stderr)
      assert.strictEqual(run.stdout, "")
      assertOneLine(run.stderr)
      assert.isTrue(run.stderr.startsWith(`repoman: ${file}:11: key project[1].name: `), run.stderr)
      assert.deepStrictEqual(yield* snapshot, before)
    }).pipe(Effect.provide(NodeServices.layer)), timeout)

  it.live("usage error: exit 2, the error and a --help pointer on stderr", () =>
    Effect.gen(function*() {
      const { home } = yield* setup(validRegistry)
      const run = yield* repoman(home, ["frobnicate"])
      assert.strictEqual(run.code, 2, run.stderr)
      assert.strictEqual(run.stdout, "")
      assert.strictEqual(
        run.stderr,
        `repoman: Unknown subcommand "frobnicate" for "repoman"\nRun 'repoman --help' for usage.\n`
      )
    }).pipe(Effect.provide(NodeServices.layer)), timeout)

  it.live(
    "list on a valid registry without Incus: exit 0, the project with its repo under $HOME, a warning, file untouched",
    () =>
      Effect.gen(function*() {
        const path = yield* Path.Path
        const { home, snapshot } = yield* setup(validRegistry)
        const before = yield* snapshot
        const run = yield* repoman(home, ["list"])
        assert.strictEqual(run.code, 0, run.stderr)
        assert.match(run.stderr, /^warning: the container engine is not reachable: .*container states are unknown\n$/)
        const lines = run.stdout.trimEnd().split("\n")
        assert.strictEqual(lines.length, 2, run.stdout)
        const cells = lines.map((l) => l.split(/ {2,}/))
        assert.deepStrictEqual(cells, [
          ["NAME", "STATE", "REPO", "IMAGE", "CREATED", "LAST SYNC", "BACKUP", "LIMITS"],
          [
            "isurus",
            "Unknown",
            path.join(home, "repos", "isurus"),
            "images:debian/12",
            "2026-04-28T15:00:00Z",
            "never",
            "yes",
            "-"
          ]
        ])
        assert.deepStrictEqual(yield* snapshot, before)
      }).pipe(Effect.provide(NodeServices.layer)),
    timeout
  )
})
