/**
 * The admin step of the remote integration tests, done the way a user does
 * it (docs/remote.md): on the server, a trust token for a certificate
 * restricted to one project (through the unix socket, as an admin); on the
 * client, `incus remote add NAME TOKEN --accept-certificate` in a config
 * dir of its own (INCUS_CONF), which makes client.crt/client.key and pins
 * servercerts/NAME.crt. `remove` takes the trust entry out again.
 *
 * Needs incusd listening on https (scripts/ci/https.sh,
 * REPOMAN_CI_HTTPS_ADDRESS) and an `incus` client that can administer it.
 */
import { execFileSync } from "node:child_process"
import { randomBytes, X509Certificate } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

/** The environment the admin steps run in: the unix socket, as when the test file started. */
const adminEnv = { ...process.env }

const incus = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = adminEnv): string =>
  execFileSync("incus", args, { env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim()

/** incusd's HTTPS address in CI. */
export const httpsAddress = process.env["REPOMAN_CI_HTTPS_ADDRESS"] ?? "127.0.0.1:8443"

export interface RemoteTrust {
  /** The remote's name (also the trust entry's). */
  readonly name: string
  /** The client config dir (INCUS_CONF). */
  readonly conf: string
  /** The SHA-256 fingerprint of the client certificate (lower-case hex), as `incus config trust` names it. */
  readonly fingerprint: string
  /** A copy of the config dir, changed by `edit` (a swapped pin, another client certificate, another address). */
  readonly variant: (label: string, edit: (dir: string) => void) => string
  readonly remove: () => void
}

/** A certificate trusted for `project` only, and a client config dir that uses it as remote `<label>-<random>`. */
export const trustRestricted = (project: string, label: string): RemoteTrust => {
  const name = `${label}-${randomBytes(3).toString("hex")}`
  const conf = fs.mkdtempSync(path.join(os.tmpdir(), `repoman-${label}-conf-`))
  const dirs: Array<string> = [conf]
  const token = incus(["config", "trust", "add", name, "--restricted", "--projects", project, "--quiet"])
  incus(["remote", "add", name, token, "--accept-certificate"], { ...adminEnv, INCUS_CONF: conf })
  const fingerprint = new X509Certificate(fs.readFileSync(path.join(conf, "client.crt")))
    .fingerprint256.replaceAll(":", "").toLowerCase()
  return {
    name,
    conf,
    fingerprint,
    variant: (variantLabel, edit) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `repoman-${label}-${variantLabel}-`))
      fs.cpSync(conf, dir, { recursive: true })
      dirs.push(dir)
      edit(dir)
      return dir
    },
    remove: () => {
      try {
        incus(["config", "trust", "remove", fingerprint])
      } finally {
        for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true })
      }
    }
  }
}

/** Whether a trust entry with this fingerprint exists (after `remove`: it must not). */
export const isTrusted = (fingerprint: string): boolean =>
  incus(["query", "/1.0/certificates?recursion=1"]).includes(`"fingerprint": "${fingerprint}"`)
