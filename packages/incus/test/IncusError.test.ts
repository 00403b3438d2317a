import { assert, describe, it } from "@effect/vitest"
import { classify, IncusError, unavailable } from "../src/IncusError.ts"

/**
 * Texts Incus 6.0.4 sent, with their status and the reason repoman expects:
 * 404, 403, 409 and 412 decide by themselves; a 400 or 500 is read for the
 * known refusals, and is otherwise Invalid (400) or OperationFailed.
 */
const cases: ReadonlyArray<readonly [number, string, string]> = [
  [404, "Failed to fetch instance \"nope\" in project \"p\": Instance not found", "NotFound"],
  [404, "Failed loading project: Project not found", "NotFound"],
  [404, "Fetch profile: Profile not found", "NotFound"],
  [500, "Requested profile \"nope\" doesn't exist", "NotFound"],
  [400, "Image not provided for instance creation", "NotFound"],
  [500, "Image not provided for instance creation", "NotFound"],
  // An exec whose command cannot be started: never a missing object.
  [400, "Command not found", "Invalid"],
  [500, "Something was not found somewhere", "OperationFailed"],
  [409, "Instance \"c\" already exists", "AlreadyExists"],
  [404, "Operation not found", "NotFound"],
  [
    500,
    "Failed creating instance record: Add instance info to the database: Failed to create \"instances\" entry: UNIQUE constraint failed: instances.project_id, instances.name",
    "AlreadyExists"
  ],
  [
    500,
    "Failed creating project \"p\": Failed adding database record: Failed to create \"projects\" entry: UNIQUE constraint failed: projects.name",
    "AlreadyExists"
  ],
  [500, "Error inserting \"p\" into database: The profile already exists", "AlreadyExists"],
  [
    500,
    "Failed checking if instance creation allowed: Invalid device \"r\" on container \"c\" of project \"p\": Disk source path \"/etc\" not allowed",
    "Forbidden"
  ],
  [
    500,
    "Failed checking if instance creation allowed: Invalid device \"r\" on container \"c\" of project \"p\": Attaching disks not backed by a pool is forbidden",
    "Forbidden"
  ],
  [500, "Use of low-level config \"raw.lxc\" on container \"c\" of project \"p\" is forbidden", "Forbidden"],
  [
    500,
    "Invalid value \"true\" for config \"security.privileged\" on container \"c\" of project \"p\": Privileged containers are forbidden",
    "Forbidden"
  ],
  [
    400,
    "Failed to start device \"t\": Source path \"/tmp/repos/l\" resolves outside of restricted parent source path \"/tmp/repos\"",
    "Forbidden"
  ],
  [
    400,
    "Failed to start device \"r\": The \"shift\" property cannot be used with a restricted source path",
    "Forbidden"
  ],
  [400, "The instance is already stopped", "Conflict"],
  [400, "The instance is already running", "Conflict"],
  [400, "Instance is not running", "Conflict"],
  [400, "Instance is running", "Conflict"],
  [500, "Profile is currently in use", "Conflict"],
  [500, "Only empty projects can be removed.", "Conflict"],
  [403, "The \"default\" profile cannot be deleted", "Forbidden"],
  [404, "The instance is already running", "NotFound"],
  [400, "This operation can't be cancelled", "Conflict"],
  [412, "ETag doesn't match: abc vs deadbeef", "Conflict"],
  [400, "Project feature \"features.storage.buckets\" cannot be disabled on non-empty projects", "Conflict"],
  [400, "Invalid instance name: Name can only contain alphanumeric and hyphen characters", "Invalid"],
  [400, "Invalid value: lots", "Invalid"],
  [500, "Failed creating instance record: Unknown configuration key: bogus.key", "OperationFailed"],
  [403, "not authorized", "Forbidden"],
  [500, "context canceled", "OperationFailed"]
]

describe("IncusError.classify", () => {
  for (const [status, text, expected] of cases) {
    it(`${status} ${text.slice(0, 70)} -> ${expected}`, () => {
      assert.strictEqual(classify("GET /x", status, text)._tag, expected)
    })
  }

  it("names the missing profile or image when Incus's text does", () => {
    assert.deepInclude(classify("POST /1.0/instances", 500, "Requested profile \"nope\" doesn't exist"), {
      missing: { kind: "profile", name: "nope" }
    })
    assert.deepInclude(classify("GET /1.0/operations/o/wait", 500, "Image not provided for instance creation", "o"), {
      missing: { kind: "image" }
    })
    assert.notProperty(classify("GET /1.0/instances/x", 404, "Instance not found"), "missing")
  })

  it("keeps the request, status, text and operation", () => {
    const reason = classify("DELETE /1.0/profiles/x?project=p", 500, "Profile is currently in use", "op-1")
    assert.deepInclude(reason, {
      request: "DELETE /1.0/profiles/x?project=p",
      status: 500,
      detail: "Profile is currently in use",
      operation: "op-1"
    })
    const error = new IncusError({ reason })
    assert.strictEqual(error.message, "DELETE /1.0/profiles/x?project=p: conflict: Profile is currently in use")
  })
})

describe("IncusError.unavailable", () => {
  const errno = (code: string) => Object.assign(new Error(`connect ${code} /s`), { code })

  it("ENOENT: start incusd, naming the socket", () => {
    const reason = unavailable("/var/lib/incus/unix.socket", errno("ENOENT"))
    assert.strictEqual(reason.code, "ENOENT")
    assert.include(reason.hint, "/var/lib/incus/unix.socket")
    assert.match(reason.hint, /start incusd/)
    assert.include(reason.message, "/var/lib/incus/unix.socket")
  })

  it("ECONNREFUSED: incusd is not running", () => {
    const reason = unavailable("/s", errno("ECONNREFUSED"))
    assert.match(reason.hint, /incusd is not running/)
  })

  it("EACCES: join the incus group (restricted) or incus-admin (root-equivalent)", () => {
    const reason = unavailable("/var/lib/incus/unix.socket", errno("EACCES"))
    assert.match(reason.hint, /incus group/)
    assert.match(reason.hint, /incus-admin \(full control of Incus, which is root on the host\)/)
    assert.include(reason.hint, "/var/lib/incus/unix.socket")
  })

  it("finds the code in a nested cause", () => {
    assert.strictEqual(unavailable("/s", new Error("wrapped", { cause: errno("EACCES") })).code, "EACCES")
    assert.strictEqual(unavailable("/s", "odd").code, "")
  })
})
