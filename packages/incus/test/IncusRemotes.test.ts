import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as IncusRemotes from "../src/IncusRemotes.ts"

// config.yml as `incus remote add lab TOKEN` writes it (Incus 6.0.4).
const written = `default-remote: local
remotes:
  images:
    addr: https://images.linuxcontainers.org
    protocol: simplestreams
    public: true
  lab:
    addr: https://127.0.0.1:8443
    project: repoman
    protocol: incus
    public: false
  sock:
    addr: unix:///run/other/unix.socket
    protocol: incus
    public: false
  v6:
    addr: https://[::1]:9443
    auth_type: tls
  oidc:
    addr: https://sso.example
    auth_type: oidc
  local:
    addr: unix://
    protocol: incus
    public: false
aliases: {}
`

const config = Effect.runSync(IncusRemotes.parseConfig("lab", written))
const select = (name: string) => Effect.runSync(Effect.result(IncusRemotes.select(config, name)))

describe("IncusRemotes.select", () => {
  it("an HTTPS remote: host, port and the project it names", () => {
    const lab = select("lab")
    assert.strictEqual(lab._tag, "Success")
    if (lab._tag === "Success") {
      assert.deepStrictEqual(lab.success, {
        _tag: "Https",
        name: "lab",
        address: "https://127.0.0.1:8443",
        host: "127.0.0.1",
        port: 8443,
        project: "repoman"
      })
    }
  })

  it("an IPv6 literal loses its brackets; the default port is 8443", () => {
    const v6 = select("v6")
    assert.isTrue(v6._tag === "Success" && v6.success._tag === "Https" && v6.success.host === "::1")
    const bare = Effect.runSync(IncusRemotes.select({ remotes: { b: { addr: "https://lab.example" } } }, "b"))
    assert.isTrue(bare._tag === "Https" && bare.port === 8443 && bare.host === "lab.example")
  })

  it("local and unix:// remotes are the unix socket", () => {
    const local = select("local")
    assert.isTrue(local._tag === "Success" && local.success._tag === "Unix" && local.success.socketPath === undefined)
    const sock = select("sock")
    assert.isTrue(sock._tag === "Success" && sock.success._tag === "Unix")
    if (sock._tag === "Success" && sock.success._tag === "Unix") {
      assert.strictEqual(sock.success.socketPath, "/run/other/unix.socket")
    }
    // Without any config.yml, local still exists.
    assert.strictEqual(Effect.runSync(IncusRemotes.select({}, "local"))._tag, "Unix")
  })

  it("an unknown name lists the Incus servers there are (no image servers)", () => {
    const nope = select("nope")
    assert.strictEqual(nope._tag, "Failure")
    if (nope._tag === "Failure") {
      assert.strictEqual(nope.failure.problem, "unknown")
      assert.isTrue(nope.failure.usage)
      assert.deepStrictEqual(nope.failure.known, ["lab", "local", "oidc", "sock", "v6"])
      assert.match(nope.failure.message, /^Incus remote "nope": no such remote .* known remotes: lab, local, oidc/)
    }
  })

  it("image servers, public remotes and OIDC are refused with the reason", () => {
    for (const [name, why] of [["images", /image server/], ["oidc", /TLS client certificates only/]] as const) {
      const r = select(name)
      assert.isTrue(r._tag === "Failure" && r.failure.problem === "unsupported" && why.test(r.failure.detail), name)
    }
    const pub = Effect.runSync(
      Effect.result(IncusRemotes.select({ remotes: { p: { addr: "https://x", public: true } } }, "p"))
    )
    assert.isTrue(pub._tag === "Failure" && pub.failure.problem === "unsupported")
    const http = Effect.runSync(Effect.result(IncusRemotes.select({ remotes: { h: { addr: "http://x:8443" } } }, "h")))
    assert.isTrue(http._tag === "Failure" && http.failure.problem === "unsupported")
  })

  it("config.yml that is not YAML, or of the wrong shape, is a config problem, not a defect", () => {
    for (const text of ["remotes: [", "remotes:\n  lab: 7\n", "remotes:\n  lab:\n    addr: 12\n"]) {
      const r = Effect.runSync(Effect.result(IncusRemotes.parseConfig("lab", text)))
      assert.isTrue(r._tag === "Failure" && r.failure.problem === "config", text)
    }
    assert.deepStrictEqual(Effect.runSync(IncusRemotes.parseConfig("lab", undefined)), {})
  })
})

describe("IncusRemotes.load", () => {
  const made: Array<string> = []
  afterAll(() => made.forEach((root) => fs.rmSync(root, { recursive: true, force: true })))
  const dir = (files: Record<string, string>) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "repoman-remotes-"))
    made.push(root)
    for (const [name, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true })
      fs.writeFileSync(path.join(root, name), text)
    }
    return root
  }

  it("reads $INCUS_CONF: client.crt/key, servercerts/NAME.crt; a remote's own clientcerts/ pair first", () => {
    const root = dir({
      "config.yml": written,
      "client.crt": "CLIENT CRT",
      "client.key": "CLIENT KEY",
      "servercerts/lab.crt": "PINNED"
    })
    const lab = Effect.runSync(IncusRemotes.load("lab", { INCUS_CONF: root }))
    assert.isTrue(lab._tag === "Https")
    if (lab._tag === "Https") {
      assert.strictEqual(lab.credentials.cert, "CLIENT CRT")
      assert.strictEqual(lab.credentials.serverCert, "PINNED")
      assert.strictEqual(lab.credentials.serverCertPath, `${root}/servercerts/lab.crt`)
      assert.strictEqual(lab.credentials.ca, undefined)
    }
    fs.mkdirSync(`${root}/clientcerts`)
    fs.writeFileSync(`${root}/clientcerts/lab.crt`, "OWN CRT")
    fs.writeFileSync(`${root}/clientcerts/lab.key`, "OWN KEY")
    const own = Effect.runSync(IncusRemotes.load("lab", { INCUS_CONF: root }))
    assert.isTrue(own._tag === "Https" && own.credentials.cert === "OWN CRT" && own.credentials.key === "OWN KEY")
    const v6 = Effect.runSync(IncusRemotes.load("v6", { INCUS_CONF: root }))
    assert.isTrue(v6._tag === "Https" && v6.credentials.serverCert === undefined)
  })

  it("a missing client certificate is a client-certificate problem naming the file", () => {
    const root = dir({ "config.yml": written })
    const r = Effect.runSync(Effect.result(IncusRemotes.load("lab", { INCUS_CONF: root })))
    assert.isTrue(r._tag === "Failure" && r.failure.problem === "client-certificate")
    if (r._tag === "Failure") assert.include(r.failure.detail, `${root}/client.crt (ENOENT)`)
  })

  it("no config dir at all: only local exists", () => {
    const r = Effect.runSync(Effect.result(IncusRemotes.load("lab", { INCUS_CONF: "/nonexistent/incus" })))
    assert.isTrue(r._tag === "Failure" && r.failure.problem === "unknown")
    if (r._tag === "Failure") assert.deepStrictEqual(r.failure.known, ["local"])
  })
})
