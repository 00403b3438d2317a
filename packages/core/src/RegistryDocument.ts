/**
 * The registry document (`repoman.toml`, schema 3) and the per-project
 * override file (`repos.d/<name>.toml`), as Schemas from the TOML value tree
 * to typed values.
 *
 * @since 0.1.0
 * @module
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { CheckpointSettings } from "./Checkpoints.ts"
import { UidMode } from "./IdMapping.ts"
import { ImageRef, ProfileName } from "./Ids.ts"
import { Project } from "./Project.ts"
import { ResourceLimits } from "./ResourceLimits.ts"

/**
 * The registry schema version this release reads and writes.
 *
 * @since 0.1.0
 * @category constants
 */
export const CURRENT_SCHEMA = 3 as const

/**
 * Profiles a project gets when neither the registry nor the project names any.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_PROFILES: ReadonlyArray<ProfileName> = [ProfileName.make("default")]

/**
 * How chatty the CLI is by default.
 *
 * @since 0.1.0
 * @category models
 */
export const OutputMode = Schema.Literals(["quiet", "normal", "verbose"])
/**
 * The decoded type of the `OutputMode` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type OutputMode = typeof OutputMode.Type

/**
 * A path as written in the registry. A leading `~` stands for the user's home
 * and is expanded where the path is used (see `ConfigPaths.expandHome`).
 *
 * @since 0.1.0
 * @category models
 */
export const ConfigPath = Schema.String.pipe(
  Schema.check(
    Schema.makeFilter((s: string) =>
      (s.length > 0 && !s.includes("\0") && (s.startsWith("/") || s === "~" || s.startsWith("~/")))
      || "a path must be absolute or start with ~/"
    )
  )
)

/**
 * An IPv4 or IPv6 address in text form.
 *
 * @since 0.1.0
 * @category models
 */
export const IpAddress = Schema.String.pipe(
  Schema.check(
    Schema.makeFilter((s: string) =>
      /^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)$/.test(s)
      || (/^[0-9a-fA-F:]+$/.test(s) && s.includes(":"))
      || "not an IP address"
    )
  )
)

const withDefault = <S extends Schema.Top & { readonly "~type.make.in": unknown }>(value: S["Encoded"]) =>
  Schema.withDecodingDefaultKey<S>(Effect.succeed(value))

/**
 * `[defaults]`: where repos and backups live and what new projects get.
 *
 * @since 0.1.0
 * @category models
 */
export const Defaults = Schema.Struct({
  reposRoot: ConfigPath.pipe(withDefault("~/repos")),
  backupRoot: ConfigPath.pipe(withDefault("/nfs/repos")),
  logdir: ConfigPath.pipe(withDefault("~/.local/state/repoman")),
  incusProject: Schema.String.pipe(withDefault("repoman")),
  defaultImage: ImageRef.pipe(withDefault("images:ubuntu/26.04/cloud")),
  profiles: Schema.Array(ProfileName).pipe(withDefault(DEFAULT_PROFILES)),
  uidMode: UidMode.pipe(withDefault("idmap")),
  /** Resource limits every new container gets unless its override or `new` says otherwise. */
  limits: Schema.optionalKey(ResourceLimits)
}).pipe(Schema.encodeKeys({
  uidMode: "uid_mode",
  reposRoot: "repos_root",
  backupRoot: "backup_root",
  incusProject: "incus_project",
  defaultImage: "default_image"
}))
/**
 * The decoded type of the `Defaults` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type Defaults = typeof Defaults.Type

/**
 * `[backup]`: which backup target mirrors the repos, and its checks.
 *
 * - `target`: `"rsync"` (built in) or a backup plugin: an npm package
 *   installed under `<config dir>/plugins` (or beside repoman itself), or the
 *   absolute path of a module (see `@repoman/node/PluginModule`);
 * - `require_mount`: refuse to write unless the backup root is a mounted
 *   filesystem other than the one holding the repos root (safety invariant
 *   5 in docs/design.md); turn it off only for a local backup disk;
 * - `last_sync_warning_hours`: `status` warns when a project's last sync is
 *   older than this;
 * - `delete_guard_percent`, `delete_guard_min_files`: a sync that would
 *   delete more than this share of a backup's files or bytes stops and names
 *   what it would delete, unless the user says `--allow-deletions` (design
 *   invariant 9); fewer deleted files than the minimum never stop it, unless
 *   they hold more than the share of the bytes;
 * - `[backup.options]`: the target's own options, validated by its plugin.
 *
 * @since 0.1.0
 * @category models
 */
export const BackupSettings = Schema.Struct({
  target: Schema.NonEmptyString.pipe(withDefault("rsync")),
  requireMount: Schema.Boolean.pipe(withDefault(true)),
  lastSyncWarningHours: Schema.Number.pipe(
    Schema.check(Schema.makeFilter((n: number) => (Number.isFinite(n) && n > 0) || "must be a positive number")),
    withDefault(48)
  ),
  deleteGuardPercent: Schema.Number.pipe(
    Schema.check(Schema.makeFilter((n: number) => (n >= 0 && n <= 100) || "must be between 0 and 100")),
    withDefault(30)
  ),
  deleteGuardMinFiles: Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(0)), withDefault(20)),
  options: Schema.Record(Schema.String, Schema.Unknown).pipe(withDefault({}))
}).pipe(Schema.encodeKeys({
  requireMount: "require_mount",
  lastSyncWarningHours: "last_sync_warning_hours",
  deleteGuardPercent: "delete_guard_percent",
  deleteGuardMinFiles: "delete_guard_min_files"
}))
/**
 * The decoded type of the `BackupSettings` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type BackupSettings = typeof BackupSettings.Type

/**
 * The name of an Incus remote of the `incus` client (`incus remote list`):
 * no colon, slash, blank or control character.
 *
 * @since 0.1.0
 * @category models
 */
export const RemoteName = Schema.String.pipe(
  Schema.check(
    Schema.makeFilter((s: string) =>
      (s.length > 0 && s.length <= 255 && !/[\s:/\\\p{Cc}]/u.test(s))
      || "a remote name (as in 'incus remote list'): no colon, slash, blank or control character"
    )
  )
)

/**
 * `[incus]`: which Incus repoman talks to. `remote` names a remote of the
 * `incus` client (`~/.config/incus/config.yml`, `incus remote add`); none,
 * or `"local"`, is the unix socket. `--remote NAME` and `REPOMAN_REMOTE`
 * override it for one run.
 *
 * @since 0.1.0
 * @category models
 */
export const IncusSettings = Schema.Struct({
  remote: Schema.optionalKey(RemoteName)
})
/**
 * The decoded type of the `IncusSettings` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type IncusSettings = typeof IncusSettings.Type

/**
 * The registry document, schema 3. Keys repoman does not know are not part
 * of this type; the file-backed Registry keeps them on disk across writes.
 *
 * @example
 * ```ts
 * import * as Schema from "effect/Schema"
 * import { parse } from "smol-toml"
 * import { RegistryDocument } from "@repoman/core/RegistryDocument"
 * const doc = Schema.decodeUnknownSync(RegistryDocument)(parse("schema = 3\n"))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const RegistryDocument = Schema.Struct({
  schema: Schema.Literal(CURRENT_SCHEMA),
  repoman: Schema.Struct({
    output: OutputMode.pipe(withDefault("quiet"))
  }).pipe(withDefault({})),
  host: Schema.Struct({
    lanIp: Schema.optionalKey(IpAddress)
  }).pipe(Schema.encodeKeys({ lanIp: "lan_ip" }), withDefault({})),
  defaults: Defaults.pipe(withDefault({})),
  incus: IncusSettings.pipe(withDefault({})),
  backup: BackupSettings.pipe(withDefault({})),
  /**
   * `[agents]`: where the agents and the Node runtime shared with containers
   * are installed on the host (`claude = "~/.npm-global/lib/node_modules/@anthropic-ai/claude-code"`,
   * `node = "/opt/node-v24"`), when not found on `PATH` (see `@repoman/core/Agents`).
   */
  agents: Schema.Struct({
    node: Schema.optionalKey(ConfigPath),
    claude: Schema.optionalKey(ConfigPath),
    codex: Schema.optionalKey(ConfigPath),
    gemini: Schema.optionalKey(ConfigPath),
    pi: Schema.optionalKey(ConfigPath)
  }).pipe(withDefault({})),
  /** `[checkpoints]`: the checkpoints taken before each session (see `Checkpoints.CheckpointSettings`). */
  checkpoints: CheckpointSettings.pipe(withDefault({})),
  /** `[plugins]`: profile store plugins, e.g. `profiles = ["@acme/repoman-profiles"]`, found as `[backup] target` is. */
  plugins: Schema.Struct({
    profiles: Schema.Array(Schema.String.pipe(Schema.check(Schema.isMinLength(1)))).pipe(withDefault([]))
  }).pipe(withDefault({})),
  projects: Schema.Array(Project).pipe(withDefault([]))
}).pipe(Schema.encodeKeys({ projects: "project" }))
/**
 * The decoded type of the `RegistryDocument` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type RegistryDocument = typeof RegistryDocument.Type

/**
 * An empty schema-3 document with every default filled in.
 *
 * @since 0.1.0
 * @category models
 */
export const emptyDocument: RegistryDocument = Schema.decodeUnknownSync(RegistryDocument)({ schema: CURRENT_SCHEMA })

/**
 * A per-project override file, `repos.d/<name>.toml`: extra profiles, an
 * image, extra mounts and environment for one project.
 *
 * @since 0.1.0
 * @category models
 */
export const ProjectOverride = Schema.Struct({
  container: Schema.Struct({
    image: Schema.optionalKey(ImageRef),
    profiles: Schema.Array(ProfileName).pipe(withDefault([])),
    limits: Schema.optionalKey(ResourceLimits)
  }).pipe(withDefault({})),
  mounts: Schema.Array(Schema.Struct({
    source: ConfigPath,
    path: Schema.String.pipe(
      Schema.check(
        Schema.makeFilter((s: string) => s.startsWith("/") || "a mount path inside the container must be absolute")
      )
    )
  })).pipe(withDefault([])),
  env: Schema.Record(
    Schema.String.pipe(Schema.check(Schema.isPattern(/^[A-Za-z_][A-Za-z0-9_]*$/))),
    Schema.String
  ).pipe(withDefault({}))
}).pipe(Schema.encodeKeys({ mounts: "mount" }))
/**
 * The decoded type of the `ProjectOverride` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type ProjectOverride = typeof ProjectOverride.Type
