/**
 * The Incus REST API (`/1.0`) as Schemas: the response envelope, operations,
 * and the resources repoman uses (instances, projects, profiles, storage
 * pools, the server). Field names are Incus's own (`expanded_config`,
 * `used_by`), so the Incus REST documentation applies as is.
 *
 * Decoding tolerates fields this module does not list (newer Incus versions
 * add some), and object-valued fields Incus sends as `null` decode as empty.
 *
 * @since 0.1.0
 * @module
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as SchemaTransformation from "effect/SchemaTransformation"

// ---------------------------------------------------------------------------
// Building blocks
// ---------------------------------------------------------------------------

/**
 * A string-to-string map (`config`, one device's options).
 *
 * @since 0.1.0
 * @category models
 */
export const StringMap = Schema.Record(Schema.String, Schema.String)
/**
 * The decoded type of the `StringMap` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type StringMap = typeof StringMap.Type

/**
 * Devices by name, each a map of options.
 *
 * @since 0.1.0
 * @category models
 */
export const Devices = Schema.Record(Schema.String, StringMap)
/**
 * The decoded type of the `Devices` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type Devices = typeof Devices.Type

/** A key that may be missing or `null` and then decodes to `empty`. */
const orEmpty = <S extends Schema.Constraint>(schema: S, empty: S["Type"]) =>
  Schema.NullOr(schema).pipe(
    Schema.decodeTo(
      Schema.toType(schema),
      SchemaTransformation.transform({
        decode: (value: S["Type"] | null): S["Type"] => value ?? empty,
        encode: (value: S["Type"]) => value
      })
    ),
    Schema.withDecodingDefaultKey(Effect.succeed(null))
  )

const map = () => orEmpty(StringMap, {})
const devices = () => orEmpty(Devices, {})
const strings = () => orEmpty(Schema.Array(Schema.String), [])
const text = () => orEmpty(Schema.String, "")

// ---------------------------------------------------------------------------
// Envelope and operations
// ---------------------------------------------------------------------------

/**
 * The envelope of every response: `sync` (result in `metadata`), `async` (an
 * operation in `metadata`, `operation` its URL) or `error`.
 *
 * @since 0.1.0
 * @category models
 */
export class Response extends Schema.Class<Response>("@repoman/incus/IncusApi/Response")({
  type: Schema.Literals(["sync", "async", "error"]),
  status: text(),
  status_code: Schema.optionalKey(Schema.Number),
  operation: text(),
  error_code: Schema.optionalKey(Schema.Number),
  error: text(),
  metadata: Schema.optionalKey(Schema.Unknown)
}) {}

/**
 * A background operation. `status` is `Pending`, `Running`, `Success`,
 * `Failure` or `Cancelled`; `err` holds the failure text; `metadata` the
 * result (for exec: `{ return, output }`).
 *
 * @since 0.1.0
 * @category models
 */
export class Operation extends Schema.Class<Operation>("@repoman/incus/IncusApi/Operation")({
  id: Schema.String,
  class: text(),
  description: text(),
  created_at: text(),
  updated_at: text(),
  status: Schema.String,
  status_code: Schema.Number,
  resources: orEmpty(Schema.Record(Schema.String, Schema.Array(Schema.String)), {}),
  metadata: Schema.optionalKey(Schema.Unknown),
  may_cancel: Schema.optionalKey(Schema.Boolean),
  err: text(),
  location: text()
}) {}

/**
 * The result of an exec with `record-output`: the exit code and the log
 * paths of the streams (`"1"` stdout, `"2"` stderr).
 *
 * @since 0.1.0
 * @category models
 */
export class ExecMetadata extends Schema.Class<ExecMetadata>("@repoman/incus/IncusApi/ExecMetadata")({
  return: Schema.Number,
  output: map()
}) {}

// ---------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------

/**
 * `environment` of `GET /1.0`. `kernel_features` and `lxc_features` values
 * are the strings `"true"` / `"false"`.
 *
 * @since 0.1.0
 * @category models
 */
export class ServerEnvironment extends Schema.Class<ServerEnvironment>("@repoman/incus/IncusApi/ServerEnvironment")({
  server: text(),
  server_version: text(),
  server_name: text(),
  server_clustered: Schema.optionalKey(Schema.Boolean),
  project: text(),
  driver: text(),
  driver_version: text(),
  kernel_version: text(),
  storage: text(),
  firewall: text(),
  kernel_features: map(),
  lxc_features: map()
}) {}

/**
 * `GET /1.0`: API version and extensions, how we are authenticated, and the
 * server's environment.
 *
 * @since 0.1.0
 * @category models
 */
export class Server extends Schema.Class<Server>("@repoman/incus/IncusApi/Server")({
  api_extensions: strings(),
  api_status: text(),
  api_version: Schema.String,
  auth: text(),
  auth_user_name: text(),
  auth_user_method: text(),
  public: Schema.optionalKey(Schema.Boolean),
  environment: Schema.optionalKey(ServerEnvironment)
}) {}

// ---------------------------------------------------------------------------
// Instances
// ---------------------------------------------------------------------------

/**
 * Runtime state of an instance (`recursion=2` or `/state`). Only the fields
 * repoman reads are listed; the rest (`network`, `disk`, ...) is kept out.
 *
 * @since 0.1.0
 * @category models
 */
export class InstanceState extends Schema.Class<InstanceState>("@repoman/incus/IncusApi/InstanceState")({
  status: Schema.String,
  status_code: Schema.Number,
  pid: Schema.optionalKey(Schema.Number),
  processes: Schema.optionalKey(Schema.Number)
}) {}

/**
 * An instance (`recursion=1`; `state` with `recursion=2`). `config` and
 * `devices` are its own; `expanded_*` include its profiles'.
 *
 * @since 0.1.0
 * @category models
 */
export class Instance extends Schema.Class<Instance>("@repoman/incus/IncusApi/Instance")({
  name: Schema.String,
  description: text(),
  status: Schema.String,
  status_code: Schema.Number,
  type: text(),
  architecture: text(),
  config: map(),
  devices: devices(),
  profiles: strings(),
  expanded_config: map(),
  expanded_devices: devices(),
  ephemeral: Schema.optionalKey(Schema.Boolean),
  stateful: Schema.optionalKey(Schema.Boolean),
  created_at: Schema.String,
  last_used_at: text(),
  /** The cluster member it is on; `none` (or empty) on a server that is not clustered. */
  location: text(),
  project: text(),
  state: Schema.optionalKey(Schema.NullOr(InstanceState))
}) {}

/**
 * Where a new instance comes from: `{ type: "image", alias }` for a local
 * image, plus `server`, `protocol` and `mode: "pull"` for a remote one.
 *
 * @since 0.1.0
 * @category models
 */
export const InstanceSource = Schema.Struct({
  type: Schema.String,
  alias: Schema.optionalKey(Schema.String),
  fingerprint: Schema.optionalKey(Schema.String),
  server: Schema.optionalKey(Schema.String),
  protocol: Schema.optionalKey(Schema.String),
  mode: Schema.optionalKey(Schema.String),
  project: Schema.optionalKey(Schema.String)
})
/**
 * The decoded type of the `InstanceSource` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type InstanceSource = typeof InstanceSource.Type

/**
 * `POST /1.0/instances`. With `start: true` the instance is also started in
 * the same operation.
 *
 * @since 0.1.0
 * @category models
 */
export const InstancesPost = Schema.Struct({
  name: Schema.String,
  type: Schema.Literals(["container", "virtual-machine"]),
  source: InstanceSource,
  description: Schema.optionalKey(Schema.String),
  profiles: Schema.Array(Schema.String),
  config: StringMap,
  devices: Devices,
  start: Schema.optionalKey(Schema.Boolean),
  ephemeral: Schema.optionalKey(Schema.Boolean)
})
/**
 * The decoded type of the `InstancesPost` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type InstancesPost = typeof InstancesPost.Type

/**
 * `PUT /1.0/instances/<name>`: replaces the instance's own settings.
 *
 * @since 0.1.0
 * @category models
 */
export const InstancePut = Schema.Struct({
  description: Schema.String,
  profiles: Schema.Array(Schema.String),
  config: StringMap,
  devices: Devices,
  ephemeral: Schema.optionalKey(Schema.Boolean),
  stateful: Schema.optionalKey(Schema.Boolean),
  architecture: Schema.optionalKey(Schema.String)
})
/**
 * The decoded type of the `InstancePut` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type InstancePut = typeof InstancePut.Type

/**
 * `PUT /1.0/instances/<name>/state`. `timeout` is in seconds (`-1`: wait for
 * ever); `force` kills instead of shutting down.
 *
 * @since 0.1.0
 * @category models
 */
export const InstanceStatePut = Schema.Struct({
  action: Schema.Literals(["start", "stop", "restart", "freeze", "unfreeze"]),
  timeout: Schema.optionalKey(Schema.Number),
  force: Schema.optionalKey(Schema.Boolean),
  stateful: Schema.optionalKey(Schema.Boolean)
})
/**
 * `PATCH /1.0/instances/<name>`: config keys merged into the instance's
 * own (the others are kept).
 *
 * @since 0.1.0
 * @category models
 */
export const InstancePatch = Schema.Struct({
  config: StringMap
})
/**
 * The decoded type of the `InstancePatch` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type InstancePatch = typeof InstancePatch.Type

/**
 * The decoded type of the `InstanceStatePut` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type InstanceStatePut = typeof InstanceStatePut.Type

/**
 * `POST /1.0/instances/<name>/exec`, non-interactive with recorded output
 * (the client fills `wait-for-websocket`, `record-output` and `interactive`).
 *
 * @since 0.1.0
 * @category models
 */
export const InstanceExecPost = Schema.Struct({
  command: Schema.Array(Schema.String),
  environment: Schema.optionalKey(StringMap),
  user: Schema.optionalKey(Schema.Number),
  group: Schema.optionalKey(Schema.Number),
  cwd: Schema.optionalKey(Schema.String)
})
/**
 * The decoded type of the `InstanceExecPost` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type InstanceExecPost = typeof InstanceExecPost.Type

/**
 * `POST /1.0/instances/<name>/exec` for a session over websockets (the
 * client adds `wait-for-websocket: true`): the command starts once its
 * channels are connected, on a terminal of `width` × `height` when
 * `interactive`, else with stdin, stdout and stderr apart.
 *
 * @since 0.1.0
 * @category models
 */
export const InstanceExecSessionPost = Schema.Struct({
  command: Schema.Array(Schema.String),
  environment: Schema.optionalKey(StringMap),
  user: Schema.optionalKey(Schema.Number),
  group: Schema.optionalKey(Schema.Number),
  cwd: Schema.optionalKey(Schema.String),
  interactive: Schema.Boolean,
  width: Schema.optionalKey(Schema.Int),
  height: Schema.optionalKey(Schema.Int)
})
/**
 * The decoded type of the `InstanceExecSessionPost` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type InstanceExecSessionPost = typeof InstanceExecSessionPost.Type

/**
 * The metadata of an exec operation waiting for its websockets: one secret
 * per channel, `"0"`, `"1"`, `"2"` and `"control"` (with a terminal: `"0"`
 * and `"control"`).
 *
 * @since 0.1.0
 * @category models
 */
export class ExecSessionMetadata
  extends Schema.Class<ExecSessionMetadata>("@repoman/incus/IncusApi/ExecSessionMetadata")({
    fds: Schema.Record(Schema.String, Schema.String)
  })
{}

/**
 * The exit status an exec operation records (`metadata.return`).
 *
 * @since 0.1.0
 * @category models
 */
export class ExecReturn extends Schema.Class<ExecReturn>("@repoman/incus/IncusApi/ExecReturn")({
  return: Schema.Int
}) {}

/** A string of digits in `radix` (uid, gid: 10; mode: 8), as the number it spells. */
const digits = (radix: 8 | 10, pattern: RegExp) =>
  Schema.String.pipe(
    Schema.check(Schema.isPattern(pattern)),
    Schema.decodeTo(
      Schema.Int,
      SchemaTransformation.transform({
        decode: (s: string) => Number.parseInt(s, radix),
        encode: (n: number) => n.toString(radix).padStart(radix === 8 ? 4 : 1, "0")
      })
    )
  )

/**
 * The headers of `HEAD /1.0/instances/<name>/files?path=...` (lower-cased, as
 * HTTP headers are compared): what is at the path, its owner and its
 * permission bits (`X-Incus-Mode` is octal, e.g. `0755`).
 *
 * @since 0.1.0
 * @category models
 */
export const InstanceFileHeaders = Schema.Struct({
  "x-incus-type": Schema.Literals(["file", "directory", "symlink"]),
  "x-incus-uid": digits(10, /^\d{1,10}$/),
  "x-incus-gid": digits(10, /^\d{1,10}$/),
  "x-incus-mode": digits(8, /^[0-7]{1,6}$/)
})
/**
 * The decoded type of the `InstanceFileHeaders` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type InstanceFileHeaders = typeof InstanceFileHeaders.Type

/**
 * The owner and permission bits of a directory made by
 * `POST /1.0/instances/<name>/files?path=...` (sent as the `X-Incus-Uid`,
 * `X-Incus-Gid` and `X-Incus-Mode` headers, with `X-Incus-Type: directory`).
 *
 * @since 0.1.0
 * @category models
 */
export const InstanceDirectoryPost = Schema.Struct({
  uid: Schema.Int,
  gid: Schema.Int,
  mode: Schema.Int
})
/**
 * The decoded type of the `InstanceDirectoryPost` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type InstanceDirectoryPost = typeof InstanceDirectoryPost.Type

// ---------------------------------------------------------------------------
// Projects
// ---------------------------------------------------------------------------

/**
 * A project. Incus fills in the `features.*` defaults at creation.
 *
 * @since 0.1.0
 * @category models
 */
export class Project extends Schema.Class<Project>("@repoman/incus/IncusApi/Project")({
  name: Schema.String,
  description: text(),
  config: map(),
  used_by: strings()
}) {}

/**
 * `POST /1.0/projects`.
 *
 * @since 0.1.0
 * @category models
 */
export const ProjectsPost = Schema.Struct({
  name: Schema.String,
  description: Schema.String,
  config: StringMap
})
/**
 * The decoded type of the `ProjectsPost` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type ProjectsPost = typeof ProjectsPost.Type

/**
 * `PUT /1.0/projects/<name>`: replaces description and the whole config.
 *
 * @since 0.1.0
 * @category models
 */
export const ProjectPut = Schema.Struct({
  description: Schema.String,
  config: StringMap
})
/**
 * The decoded type of the `ProjectPut` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type ProjectPut = typeof ProjectPut.Type

// ---------------------------------------------------------------------------
// Certificates and images
// ---------------------------------------------------------------------------

/**
 * A trusted client certificate (`GET /1.0/certificates/<fingerprint>`). A
 * `restricted` one may use only its `projects` (what `incus-user` gives each
 * user: `user-<uid>`).
 *
 * @since 0.1.0
 * @category models
 */
export class Certificate extends Schema.Class<Certificate>("@repoman/incus/IncusApi/Certificate")({
  name: text(),
  type: text(),
  fingerprint: text(),
  restricted: Schema.Boolean.pipe(Schema.withDecodingDefaultKey(Effect.succeed(false))),
  projects: strings()
}) {}

/**
 * An image alias (`GET /1.0/images/aliases/<name>`): the fingerprint it
 * points at.
 *
 * @since 0.1.0
 * @category models
 */
export class ImageAlias extends Schema.Class<ImageAlias>("@repoman/incus/IncusApi/ImageAlias")({
  name: Schema.String,
  target: text()
}) {}

// ---------------------------------------------------------------------------
// Profiles
// ---------------------------------------------------------------------------

/**
 * A profile of a project. `used_by` lists instance URLs
 * (`/1.0/instances/<name>?project=<p>`).
 *
 * @since 0.1.0
 * @category models
 */
export class Profile extends Schema.Class<Profile>("@repoman/incus/IncusApi/Profile")({
  name: Schema.String,
  description: text(),
  config: map(),
  devices: devices(),
  used_by: strings(),
  project: text()
}) {}

/**
 * `POST /1.0/profiles`.
 *
 * @since 0.1.0
 * @category models
 */
export const ProfilesPost = Schema.Struct({
  name: Schema.String,
  description: Schema.String,
  config: StringMap,
  devices: Devices
})
/**
 * The decoded type of the `ProfilesPost` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type ProfilesPost = typeof ProfilesPost.Type

/**
 * `PUT /1.0/profiles/<name>`: replaces description, config and devices.
 *
 * @since 0.1.0
 * @category models
 */
export const ProfilePut = Schema.Struct({
  description: Schema.String,
  config: StringMap,
  devices: Devices
})
/**
 * The decoded type of the `ProfilePut` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type ProfilePut = typeof ProfilePut.Type

// ---------------------------------------------------------------------------
// Cluster
// ---------------------------------------------------------------------------

/**
 * A cluster member (`GET /1.0/cluster/members?recursion=1`). `status` is
 * `Online`, `Offline`, `Evacuated`, `Blocked`, ...; `message` says more.
 *
 * @since 0.1.0
 * @category models
 */
export class ClusterMember extends Schema.Class<ClusterMember>("@repoman/incus/IncusApi/ClusterMember")({
  server_name: Schema.String,
  url: text(),
  status: text(),
  message: text(),
  roles: strings(),
  failure_domain: text(),
  groups: strings(),
  architecture: text()
}) {}

// ---------------------------------------------------------------------------
// Storage pools
// ---------------------------------------------------------------------------

/**
 * A storage pool. `driver` is `dir`, `btrfs`, `zfs`, `lvm`, ...
 *
 * @since 0.1.0
 * @category models
 */
export class StoragePool extends Schema.Class<StoragePool>("@repoman/incus/IncusApi/StoragePool")({
  name: Schema.String,
  driver: Schema.String,
  description: text(),
  config: map(),
  status: text(),
  used_by: strings(),
  locations: strings()
}) {}

/**
 * `POST /1.0/storage-pools`.
 *
 * @since 0.1.0
 * @category models
 */
export const StoragePoolsPost = Schema.Struct({
  name: Schema.String,
  driver: Schema.String,
  description: Schema.String,
  config: StringMap
})
/**
 * The decoded type of the `StoragePoolsPost` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type StoragePoolsPost = typeof StoragePoolsPost.Type

/**
 * `PUT /1.0/storage-pools/<name>`.
 *
 * @since 0.1.0
 * @category models
 */
export const StoragePoolPut = Schema.Struct({
  description: Schema.String,
  config: StringMap
})
/**
 * The decoded type of the `StoragePoolPut` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type StoragePoolPut = typeof StoragePoolPut.Type

/**
 * `GET /1.0/storage-pools/<pool>/volumes/custom/<name>`: a custom storage
 * volume of a project.
 *
 * @since 0.1.0
 * @category models
 */
export class StorageVolume extends Schema.Class<StorageVolume>("@repoman/incus/IncusApi/StorageVolume")({
  name: Schema.String,
  type: text(),
  description: text(),
  config: map(),
  used_by: strings(),
  content_type: text(),
  created_at: text(),
  location: text()
}) {}

/**
 * `POST /1.0/storage-pools/<pool>/volumes/custom`: a new, empty custom volume.
 *
 * @since 0.1.0
 * @category models
 */
export const StorageVolumesPost = Schema.Struct({
  name: Schema.String,
  description: Schema.String,
  config: StringMap,
  content_type: Schema.Literal("filesystem")
})
/**
 * The decoded type of the `StorageVolumesPost` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type StorageVolumesPost = typeof StorageVolumesPost.Type

/**
 * `PUT /1.0/storage-pools/<pool>/volumes/custom/<name>`: a volume's
 * settings (replaced whole).
 *
 * @since 0.1.0
 * @category models
 */
export const StorageVolumePut = Schema.Struct({
  description: Schema.String,
  config: StringMap
})
/**
 * The decoded type of the `StorageVolumePut` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type StorageVolumePut = typeof StorageVolumePut.Type

/**
 * A snapshot of a custom volume (`name` as Incus lists it: `<volume>/<snapshot>`
 * with recursion, or the snapshot's own name).
 *
 * @since 0.1.0
 * @category models
 */
export class StorageVolumeSnapshot extends Schema.Class<StorageVolumeSnapshot>(
  "@repoman/incus/IncusApi/StorageVolumeSnapshot"
)({
  name: Schema.String,
  description: text(),
  config: map(),
  created_at: text()
}) {}

/**
 * `POST /1.0/storage-pools/<pool>/volumes/custom/<name>/backups`: a backup of
 * the volume (a tarball Incus keeps until it is deleted or expires).
 *
 * @since 0.1.0
 * @category models
 */
export const StorageVolumeBackupsPost = Schema.Struct({
  name: Schema.String,
  expires_at: Schema.String,
  volume_only: Schema.Boolean,
  optimized_storage: Schema.Boolean,
  compression_algorithm: Schema.String
})
/**
 * The decoded type of the `StorageVolumeBackupsPost` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type StorageVolumeBackupsPost = typeof StorageVolumeBackupsPost.Type

// ---------------------------------------------------------------------------
// URLs
// ---------------------------------------------------------------------------

/**
 * The last path segment of an Incus URL such as
 * `/1.0/instances/web?project=p`, URL-decoded.
 *
 * @since 0.1.0
 * @category utils
 */
export const nameFromUrl = (url: string): string => {
  const path = url.split("?")[0] ?? ""
  return decodeURIComponent(path.slice(path.lastIndexOf("/") + 1))
}

// ---------------------------------------------------------------------------
// Client results
// ---------------------------------------------------------------------------

/**
 * A resource together with the ETag of the response it came in; pass the
 * ETag back on the PUT that replaces it (`If-Match`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Versioned<A> {
  readonly value: A
  /** The `Etag` header as sent (quoted), or `""` if there was none. */
  readonly etag: string
}

/**
 * What a command run with recorded output left behind.
 *
 * @since 0.1.0
 * @category models
 */
export interface ExecOutput {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
}
