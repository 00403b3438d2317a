/**
 * The Project record: one managed project as the registry stores it.
 *
 * @since 0.1.0
 * @module
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { ImageRef, ProfileName, ProjectName, RepoDir } from "./Ids.ts"
import { ResourceLimits } from "./ResourceLimits.ts"

/**
 * An ISO 8601 UTC timestamp as written in the registry, e.g. `2026-04-28T15:00:00Z`.
 *
 * @since 0.1.0
 * @category models
 */
export const Timestamp = Schema.String.pipe(
  Schema.check(
    Schema.makeFilter((s: string) =>
      /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z$/.test(s) && !Number.isNaN(Date.parse(s))
      || "a timestamp is ISO 8601 in UTC, e.g. 2026-04-28T15:00:00Z"
    )
  ),
  Schema.brand("Timestamp")
)
/**
 * The decoded type of the `Timestamp` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type Timestamp = typeof Timestamp.Type

/**
 * Formats a `Date` as a registry {@link Timestamp} (second precision).
 *
 * @since 0.1.0
 * @category utils
 */
export const timestampFromDate = (date: Date): Timestamp => Timestamp.make(date.toISOString().replace(/\.\d{3}Z$/, "Z"))

/**
 * How a project's container reaches git metadata:
 *
 * - `sealed` (what `new` makes): the container sees a gitdir repoman owns
 *   (`<state dir>/git/<name>`) at the repo's `.git`; the host's own `.git`
 *   is never visible inside, and the agent's commits come to the host with
 *   `repoman fetch`.
 * - `shared`: the container writes the host's `.git` directly. Anything it
 *   plants there (hooks, `core.fsmonitor`, ...) runs as the user at the
 *   next git command on the host.
 *
 * @since 0.1.0
 * @category models
 */
export const GitMode = Schema.Literals(["sealed", "shared"])
/**
 * The decoded type of the `GitMode` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type GitMode = typeof GitMode.Type

/**
 * A host directory mounted into a project's container, as `repoman config`
 * records it: `source` on the host at `path` inside.
 *
 * @since 0.1.0
 * @category models
 */
export const ProjectMount = Schema.Struct({
  source: Schema.String,
  path: Schema.String,
  readOnly: Schema.Boolean
}).pipe(Schema.encodeKeys({ readOnly: "read_only" }))
/**
 * The decoded type of the `ProjectMount` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type ProjectMount = typeof ProjectMount.Type

/**
 * Where a project's repo lives: `host` (a directory of this host, mounted
 * into the container: what a local engine does) or `volume` (a storage
 * volume of a remote engine; see `ContainerRuntime.Volume`).
 *
 * @since 0.1.0
 * @category models
 */
export const RepoLocation = Schema.Literals(["host", "volume"])
/**
 * The decoded type of the `RepoLocation` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type RepoLocation = typeof RepoLocation.Type

/**
 * A managed project. `storage` says where its repo lives (absent: `host`,
 * see {@link storageOf}). `profiles` is the full list the container has (as
 * created, or as `repoman config` last changed it); `lastSync` is absent
 * until the first successful backup; `git` is its {@link GitMode}, absent
 * in an entry written before the seal existed (such a project is `shared`:
 * see {@link gitModeOf}). `mounts`, `env` and `limits` are the container's
 * own settings as `repoman config` last set them (absent: never changed
 * since `new`).
 *
 * In the file the keys are snake_case (`last_sync`); in code they are camelCase.
 *
 * @since 0.1.0
 * @category models
 */
export const Project = Schema.Struct({
  name: ProjectName,
  repo: RepoDir,
  image: ImageRef,
  profiles: Schema.Array(ProfileName),
  created: Timestamp,
  lastSync: Schema.optionalKey(Timestamp),
  backup: Schema.Boolean.pipe(Schema.withDecodingDefaultKey(Effect.succeed(true))),
  git: Schema.optionalKey(GitMode),
  mounts: Schema.optionalKey(Schema.Array(ProjectMount)),
  env: Schema.optionalKey(Schema.Record(Schema.String, Schema.String)),
  limits: Schema.optionalKey(ResourceLimits),
  storage: Schema.optionalKey(RepoLocation)
}).pipe(Schema.encodeKeys({ lastSync: "last_sync" }))
/**
 * The decoded type of the `Project` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type Project = typeof Project.Type

/**
 * A project's git mode: what its entry says, and `shared` for an entry
 * written before the seal existed (its container was made with the host's
 * `.git` mounted).
 *
 * @since 0.1.0
 * @category models
 */
export const gitModeOf = (project: Project): GitMode => project.git ?? "shared"

/**
 * Where a project's repo lives: what its entry says, `host` when it says
 * nothing (every entry written before remote engines).
 *
 * @since 0.1.0
 * @category models
 */
export const storageOf = (project: Project): RepoLocation => project.storage ?? "host"
