/**
 * The Incus runtime over HTTPS (REPOMAN_INTEGRATION=1), as against a remote
 * server: incusd's second way in, https://127.0.0.1:8443 (scripts/ci/https.sh),
 * with a client certificate restricted to one throwaway project, made the
 * way users make it (trust token, `incus remote add`; see remoteTrust.ts).
 * After the admin step, INCUS_SOCKET points at a path that does not exist:
 * no unix socket is in reach of what is tested.
 *
 * The core conformance suite runs over it (exec's websockets included),
 * then the failures: another project, an untrusted certificate, a swapped
 * server certificate, a closed port. The trust entry is removed at the end.
 */
import { afterAll, assert, layer } from "@effect/vitest"
import { ContainerRuntime, InstanceSpec, NamespaceSpec } from "@repoman/core/ContainerRuntime"
import type { IdMapping } from "@repoman/core/IdMapping"
import { ImageRef, ProfileName, ProjectName } from "@repoman/core/Ids"
import { ContainerRuntimeSuite } from "@repoman/core/testing/ContainerRuntimeSuite"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as IncusClient from "../src/IncusClient.ts"
import * as IncusContainerRuntime from "../src/IncusContainerRuntime.ts"
import * as IncusSocket from "../src/IncusSocket.ts"
import { httpsAddress, isTrusted, trustRestricted } from "./remoteTrust.ts"

const image = process.env["REPOMAN_CI_BUSYBOX_ALIAS"] ?? "repoman-busybox"
const pool = process.env["REPOMAN_CI_POOL"] ?? "default"
const timeout = 120_000

const hostDir = (label: string) => fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `repoman-remote-${label}-`)))
const allowedRoot = hostDir("allowed")
const extraRoot = hostDir("extra")
const hostUser: IdMapping = { _tag: "HostUser", uid: process.getuid?.() ?? 1000, gid: process.getgid?.() ?? 1000 }

// The admin step, through the unix socket: the project (restricted as repoman makes its own), then the trust token.
const adminSocket = IncusSocket.resolve(process.env, (p) => fs.existsSync(p), IncusSocket.isWritable)
const admin = IncusClient.layer({ socketPath: adminSocket })
const project = `remote-${randomBytes(3).toString("hex")}`
await Effect.runPromise(
  Effect.gen(function*() {
    const runtime = yield* ContainerRuntime
    yield* runtime.ensureNamespace(
      new NamespaceSpec({
        name: project,
        description: "repoman remote integration test (safe to delete)",
        allowedPaths: [allowedRoot],
        idMapping: hostUser,
        rootDiskPool: pool
      })
    )
  }).pipe(Effect.provide(IncusContainerRuntime.layer({ project }).pipe(Layer.provide(admin))))
)
const trust = trustRestricted(project, "remote")

// From here on, no unix socket: the client must go over HTTPS.
const noSocket = "/nonexistent/repoman-remote-test/unix.socket"
process.env["INCUS_SOCKET"] = noSocket
process.env["INCUS_CONF"] = trust.conf

afterAll(async () => {
  trust.remove()
  assert.isFalse(isTrusted(trust.fingerprint), "the test's trust entry is still there")
  await Effect.runPromise(
    Effect.ignore(Effect.flatMap(IncusClient.IncusClient, (c) => c.deleteProject(project, { force: true }))).pipe(
      Effect.provide(admin)
    )
  )
  for (const dir of [allowedRoot, extraRoot]) fs.rmSync(dir, { recursive: true, force: true })
})

/** The runtime over HTTPS in `inProject`, with the `incus` config dir `conf`. */
const overHttps = (inProject: string, conf = trust.conf) =>
  IncusContainerRuntime.layer({ project: inProject }).pipe(
    Layer.provideMerge(IncusClient.layer({ remote: trust.name, incusConfigDir: conf }))
  )

// A remote engine cannot mount this host's paths (hostPaths false): no host-path repo, no seal test.
ContainerRuntimeSuite("incus over https, restricted certificate", overHttps(project), {
  image,
  timeout,
  allowedPath: allowedRoot,
  extraPath: extraRoot,
  idMapping: hostUser,
  hostPaths: false
})

const closedPort = () =>
  new Promise<number>((resolve) => {
    const srv = net.createServer().listen(0, "127.0.0.1", () => {
      const free = (srv.address() as net.AddressInfo).port
      srv.close(() => resolve(free))
    })
  })

const fixture = (name: string) => new URL(`./fixtures/tls/${name}`, import.meta.url)

const failureOf = (inProject: string, conf: string) =>
  Effect.flip(Effect.flatMap(ContainerRuntime, (r) => r.list())).pipe(Effect.provide(overHttps(inProject, conf)))

layer(overHttps(project), { excludeTestServices: true, timeout })("Incus over HTTPS", (it) => {
  it.effect(
    "the client is remote (local false) and trusted, with no unix socket in reach",
    () =>
      Effect.gen(function*() {
        const client = yield* IncusClient.IncusClient
        assert.isFalse(fs.existsSync(noSocket))
        assert.isFalse(client.local)
        assert.strictEqual(client.socketPath, `https://${httpsAddress}`)
        const server = yield* client.getServer()
        assert.strictEqual(server.auth, "trusted")
      }),
    timeout
  )

  it.effect(
    "exec and a session over HTTPS: recorded output, and the TLS websockets of a session",
    () =>
      Effect.gen(function*() {
        const runtime = yield* ContainerRuntime
        const name = ProjectName.make(`c-tls-${randomBytes(2).toString("hex")}`)
        yield* Effect.acquireRelease(
          runtime.create(
            new InstanceSpec({ name, image: ImageRef.make(image), profiles: [ProfileName.make("default")] })
          ),
          () => Effect.ignore(runtime.remove(name))
        )
        const result = yield* runtime.exec(name, ["sh", "-c", "echo out; echo oops >&2; exit 7"])
        assert.deepStrictEqual([result.exitCode, result.stdout, result.stderr], [7, "out\n", "oops\n"])
        // A session (shell: stdin, stdout, stderr and control over websockets) in a process of its own.
        const session = yield* Effect.promise(() =>
          new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
            const child = spawn(process.execPath, [
              fileURLToPath(new URL("./fixtures/remoteShell.ts", import.meta.url)),
              trust.name,
              project,
              name,
              "sh",
              "-c",
              "head -c 300000 /dev/zero | tr '\\0' x; echo; read line; echo \"got $line\" >&2; exit 5"
            ], { env: process.env, stdio: ["pipe", "pipe", "pipe"] })
            let stdout = ""
            let stderr = ""
            child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
            child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
            child.stdin.end("typed over TLS\n")
            child.on("close", (code) => resolve({ code, stdout, stderr }))
          })
        )
        assert.strictEqual(session.stderr, "got typed over TLS\n")
        assert.strictEqual(session.code, 5)
        assert.strictEqual(session.stdout, `${"x".repeat(300000)}\n`)
      }).pipe(Effect.scoped),
    timeout
  )

  it.effect(
    "another project: the restricted certificate is refused, and the error names the remote",
    () =>
      Effect.gen(function*() {
        const error = yield* failureOf("default", trust.conf)
        assert.strictEqual(error.reason._tag, "Forbidden")
        assert.include(error.message, `Incus remote "${trust.name}" (https://${httpsAddress})`)
        assert.include(error.message, "may not use project \"default\"")
      }),
    timeout
  )

  it.effect(
    "attacker: a swapped server certificate (another cert pinned) is refused before anything is sent",
    () =>
      Effect.gen(function*() {
        const swapped = trust.variant(
          "swapped",
          (dir) => fs.copyFileSync(fixture("impostor.crt"), path.join(dir, "servercerts", `${trust.name}.crt`))
        )
        const error = yield* failureOf(project, swapped)
        assert.strictEqual(error.reason._tag, "Unavailable")
        assert.match(
          error.message,
          new RegExp(`Incus remote "${trust.name}" .*not the one pinned in ${swapped}/servercerts`)
        )
      }),
    timeout
  )

  it.effect(
    "a client certificate the server does not trust: not trusted, with the way to fix it",
    () =>
      Effect.gen(function*() {
        const untrusted = trust.variant("untrusted", (dir) => {
          fs.copyFileSync(fixture("client.crt"), path.join(dir, "client.crt"))
          fs.copyFileSync(fixture("client.key"), path.join(dir, "client.key"))
        })
        const error = yield* failureOf(project, untrusted)
        assert.strictEqual(error.reason._tag, "Unavailable")
        assert.include(error.message, "does not trust this client's certificate")
        assert.include(error.message, "incus config trust add")
      }),
    timeout
  )

  it.effect("a closed port: unreachable, naming the remote and the address", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(closedPort)
      const closed = trust.variant("closed", (dir) => {
        const file = path.join(dir, "config.yml")
        fs.writeFileSync(
          file,
          fs.readFileSync(file, "utf8").replace(`https://${httpsAddress}`, `https://127.0.0.1:${port}`)
        )
      })
      const error = yield* failureOf(project, closed)
      assert.strictEqual(error.reason._tag, "Unavailable")
      assert.include(
        error.message,
        `Incus remote "${trust.name}" (https://127.0.0.1:${port}): cannot reach the server (ECONNREFUSED)`
      )
    }), timeout)
})
