/**
 * The Project record: one managed project as the registry stores it.
 *
 * @since 0.1.0
 * @module
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { ImageRef, ProfileName, ProjectName, RepoDir } from "./Ids.ts"

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
 * A managed project. `profiles` is the full list the container was created
 * with; `lastSync` is absent until the first successful backup.
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
  backup: Schema.Boolean.pipe(Schema.withDecodingDefaultKey(Effect.succeed(true)))
}).pipe(Schema.encodeKeys({ lastSync: "last_sync" }))
/**
 * The decoded type of the `Project` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type Project = typeof Project.Type
