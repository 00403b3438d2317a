/**
 * repoman over HTTPS, as against a remote Incus (REPOMAN_INTEGRATION=1):
 * incusd's second way in, https://127.0.0.1:8443 (scripts/ci/https.sh). A
 * project is set up and made through the unix socket (an admin's step;
 * `new` over a remote is the repo-volume work of issue 19), then a client
 * certificate restricted to that project is trusted with a token and added
 * with `incus remote add` in a config dir of its own, and every later
 * `repoman` runs with INCUS_SOCKET pointing at a path that does not exist.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import * as path from "node:path"
import { isTrusted, trustRestricted } from "../../incus/test/remoteTrust.ts"
import { busybox, IntegrationLayer, sandbox } from "./integration.ts"

const Json = Schema.fromJsonString(Schema.Unknown)
const json = (text: string) => Schema.decodeUnknownEffect(Json)(text).pipe(Effect.orDie)
const noSocket = "/nonexistent/repoman-remote-test/unix.socket"

describe("repoman with an Incus remote", () => {
  it.live(
    "list, status, exec and setup over HTTPS with a restricted certificate; what a wrong one says",
    () =>
      Effect.gen(function*() {
        const { env, project, repoman, repomanIn, reposRoot, setupArgs } = yield* sandbox
        fs.mkdirSync(`${reposRoot}/isurus`)
        const s = yield* repoman(setupArgs)
        assert.strictEqual(s.code, 0, s.stderr)
        const n = yield* repoman(["new", "isurus", "--image", busybox])
        assert.strictEqual(n.code, 0, n.stderr)

        const trust = yield* Effect.acquireRelease(Effect.sync(() => trustRestricted(project, "remote-cli")), (t) =>
          Effect.sync(() => {
            t.remove()
            assert.isFalse(isTrusted(t.fingerprint), "the test's trust entry is still there")
          }))
        const remote = repomanIn({ INCUS_SOCKET: noSocket, INCUS_CONF: trust.conf })

        const list = yield* remote(["--remote", trust.name, "list", "--json"])
        assert.strictEqual(list.code, 0, list.stderr)
        assert.strictEqual(list.stderr, "")
        const rows = (yield* json(list.stdout)) as ReadonlyArray<Record<string, unknown>>
        assert.deepStrictEqual(rows.map((p) => [p["name"], p["state"]]), [["isurus", "Running"]])

        const st = yield* remote(["status", "isurus", `--remote=${trust.name}`, "--json"])
        // (Its exit code also reflects the backup root, which is no mount here.)
        assert.notInclude(st.stderr, "Incus remote")
        const [status = {}] = (yield* json(st.stdout)) as ReadonlyArray<Record<string, unknown>>
        assert.strictEqual(status["state"], "Running")

        // A session: the exec websockets over TLS, stdin in, stdout and stderr out, the exit code back.
        const ex = yield* repomanIn({ INCUS_SOCKET: noSocket, INCUS_CONF: trust.conf }, { input: "from the host\n" })([
          "exec",
          "isurus",
          "--remote",
          trust.name,
          "--",
          "sh",
          "-c",
          "read line; echo \"got $line\"; echo to-stderr >&2; exit 3"
        ])
        assert.deepStrictEqual([ex.code, ex.stdout, ex.stderr], [3, "got from the host\n", "to-stderr\n"])

        // setup --remote records it: later runs use it without the flag.
        const again = yield* remote(["setup", "--remote", trust.name, ...setupArgs.slice(1)])
        assert.strictEqual(again.code, 0, again.stderr)
        assert.include(again.stdout, `remote      ${trust.name}`)
        assert.include(
          fs.readFileSync(`${env.REPOMAN_CONFIG_DIR}/repoman.toml`, "utf8"),
          `[incus]\nremote = "${trust.name}"`
        )
        const plain = yield* remote(["list", "--json"])
        assert.strictEqual(plain.code, 0, plain.stderr)
        assert.strictEqual(plain.stderr, "")
        assert.include(plain.stdout, "\"Running\"")
        // REPOMAN_REMOTE=local overrides the registry: the unix socket, which is not there.
        const local = yield* repomanIn({ INCUS_SOCKET: noSocket, INCUS_CONF: trust.conf, REPOMAN_REMOTE: "local" })(
          ["status", "isurus"]
        )
        assert.notStrictEqual(local.code, 0)
        assert.include(local.stderr, noSocket)

        // An unknown remote: a usage error (exit 2) listing the known ones; nothing runs.
        const unknown = yield* remote(["--remote", "nope", "status"])
        assert.strictEqual(unknown.code, 2)
        assert.include(unknown.stderr, `repoman: Incus remote "nope": no such remote`)
        assert.include(unknown.stderr, `known remotes: local, ${trust.name}`)

        // Attacker: another certificate pinned (the server's was swapped): refused, exit 1, one line, no stack trace.
        const swapped = trust.variant("swapped", (dir) =>
          fs.copyFileSync(
            new URL("../../incus/test/fixtures/tls/impostor.crt", import.meta.url),
            path.join(dir, "servercerts", `${trust.name}.crt`)
          ))
        const refused = yield* repomanIn({ INCUS_SOCKET: noSocket, INCUS_CONF: swapped })(["status", "isurus"])
        assert.strictEqual(refused.code, 1)
        assert.match(refused.stderr, new RegExp(`^repoman: .*Incus remote "${trust.name}" .*not the one pinned in `))
        assert.strictEqual(refused.stderr.trim().split("\n").length, 1, refused.stderr)
        assert.notInclude(refused.stderr, "    at ")

        // A certificate the server does not trust.
        const untrusted = trust.variant("untrusted", (dir) => {
          for (const f of ["client.crt", "client.key"]) {
            fs.copyFileSync(new URL(`../../incus/test/fixtures/tls/${f}`, import.meta.url), path.join(dir, f))
          }
        })
        const denied = yield* repomanIn({ INCUS_SOCKET: noSocket, INCUS_CONF: untrusted })(["status", "isurus"])
        assert.strictEqual(denied.code, 1)
        assert.include(denied.stderr, "does not trust this client's certificate")
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    240_000
  )
})
