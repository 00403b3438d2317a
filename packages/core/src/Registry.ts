/**
 * The Registry service: the central registry file (`repoman.toml`) and the
 * per-project override files (`repos.d/<name>.toml`).
 *
 * Implementations supply four primitives (`load`, `modify`, `initialize`,
 * `overrides`); {@link make} derives the project-level operations from them,
 * so a file-backed, in-memory or third-party registry behaves the same.
 *
 * @since 0.1.0
 * @module
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { ProjectName } from "./Ids.ts"
import type { Project } from "./Project.ts"
import type { ProjectOverride, RegistryDocument } from "./RegistryDocument.ts"

/**
 * There is no registry yet: `repoman setup` has not run.
 *
 * @since 0.1.0
 * @category errors
 */
export class NotInitialized
  extends Schema.TaggedClass<NotInitialized>("@repoman/core/Registry/NotInitialized")("NotInitialized", {
    path: Schema.String
  })
{
  get message(): string {
    return `no registry at ${this.path}: run 'repoman setup' first`
  }
}

/**
 * The file is not valid TOML. `line` and `column` are 1-based.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidToml extends Schema.TaggedClass<InvalidToml>("@repoman/core/Registry/InvalidToml")("InvalidToml", {
  path: Schema.String,
  line: Schema.Number,
  column: Schema.Number,
  detail: Schema.String
}) {
  get message(): string {
    return `${this.path}:${this.line}:${this.column}: not valid TOML: ${this.detail}`
  }
}

/**
 * The file is valid TOML but does not match the schema. `key` is the dotted
 * path of the offending key (`project[2].name`); `line` is where it (or its
 * table, when the key is missing) stands in the file.
 *
 * @since 0.1.0
 * @category models
 */
export class InvalidDocument
  extends Schema.TaggedClass<InvalidDocument>("@repoman/core/Registry/InvalidDocument")("InvalidDocument", {
    path: Schema.String,
    key: Schema.String,
    line: Schema.optionalKey(Schema.Number),
    detail: Schema.String
  })
{
  get message(): string {
    const where = this.line === undefined ? this.path : `${this.path}:${this.line}`
    return `${where}: ${this.key === "" ? "" : `key ${this.key}: `}${this.detail}`
  }
}

/**
 * The file declares a schema version this release does not know (written by
 * a newer repoman, or mistyped). Nothing is changed.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnsupportedSchema
  extends Schema.TaggedClass<UnsupportedSchema>("@repoman/core/Registry/UnsupportedSchema")("UnsupportedSchema", {
    path: Schema.String,
    version: Schema.String
  })
{
  get message(): string {
    return `${this.path}: schema ${this.version} is not supported by this repoman (it reads 1, 2 and 3)`
  }
}

/**
 * Another repoman process held the registry lock for longer than the wait.
 *
 * @since 0.1.0
 * @category errors
 */
export class LockTimeout extends Schema.TaggedClass<LockTimeout>("@repoman/core/Registry/LockTimeout")("LockTimeout", {
  path: Schema.String,
  holder: Schema.String
}) {
  get message(): string {
    return `the registry is locked by ${this.holder} (${this.path}); try again when it has finished`
  }
}

/**
 * A project of that name is already registered.
 *
 * @since 0.1.0
 * @category errors
 */
export class ProjectExists
  extends Schema.TaggedClass<ProjectExists>("@repoman/core/Registry/ProjectExists")("ProjectExists", {
    name: Schema.String
  })
{
  get message(): string {
    return `a project named ${this.name} is already registered`
  }
}

/**
 * No project of that name is registered.
 *
 * @since 0.1.0
 * @category errors
 */
export class ProjectNotFound
  extends Schema.TaggedClass<ProjectNotFound>("@repoman/core/Registry/ProjectNotFound")("ProjectNotFound", {
    name: Schema.String
  })
{
  get message(): string {
    return `no project named ${this.name} is registered`
  }
}

/**
 * Reading or writing a registry file failed at the operating-system level.
 *
 * @since 0.1.0
 * @category errors
 */
export class Io extends Schema.TaggedClass<Io>("@repoman/core/Registry/Io")("Io", {
  path: Schema.String,
  operation: Schema.String,
  detail: Schema.String
}) {
  get message(): string {
    return `cannot ${this.operation} ${this.path}: ${this.detail}`
  }
}

/**
 * Why a registry operation failed.
 *
 * @since 0.1.0
 * @category errors
 */
export const RegistryErrorReason = Schema.Union([
  NotInitialized,
  InvalidToml,
  InvalidDocument,
  UnsupportedSchema,
  LockTimeout,
  ProjectExists,
  ProjectNotFound,
  Io
])
/**
 * The decoded type of the `RegistryErrorReason` schema.
 *
 * @since 0.1.0
 * @category errors
 */
export type RegistryErrorReason = typeof RegistryErrorReason.Type

/**
 * The one error of the Registry boundary; `reason` says what went wrong.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { Registry } from "@repoman/core/Registry"
 * const names = Effect.gen(function*() {
 *   const registry = yield* Registry
 *   return (yield* registry.projects).map((p) => p.name)
 * }).pipe(Effect.catchTag("RegistryError", (e) => Effect.succeed([e.message])))
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class RegistryError
  extends Schema.TaggedError<RegistryError>("@repoman/core/Registry/RegistryError")("RegistryError", {
    reason: RegistryErrorReason,
    cause: Schema.optional(Schema.Defect())
  })
{
  override get message(): string {
    return this.reason.message
  }
}

/**
 * A per-project override file whose project is not in the registry.
 *
 * @since 0.1.0
 * @category models
 */
export interface OrphanOverride {
  readonly name: string
  readonly path: string
}

/**
 * All override files: each valid one by project name (`new` applies the
 * override of a project it is about to register), and those that name no
 * registered project (reported by `list`, never silently ignored).
 *
 * @since 0.1.0
 * @category models
 */
export interface Overrides {
  readonly byProject: ReadonlyMap<ProjectName, ProjectOverride>
  readonly orphans: ReadonlyArray<OrphanOverride>
}

/**
 * What an implementation supplies; see {@link make}.
 *
 * `getOverride` reads one project's override alone, without the registry
 * (`new` reads it beside the registry it loaded already); `overrides`
 * reads them all and names the orphans.
 *
 * @since 0.1.0
 * @category models
 */
export interface RegistryPrimitives {
  /** A human-readable location of the registry (a file path for the file-backed one). */
  readonly location: string
  /** Reads the current document, migrating older schemas in memory. Never writes. */
  readonly load: Effect.Effect<RegistryDocument, RegistryError>
  /**
   * Applies `f` to the current document and stores the result atomically,
   * serialized against every other writer. When `f` fails nothing is written.
   */
  readonly modify: <A, E>(
    f: (document: RegistryDocument) => Effect.Effect<readonly [A, RegistryDocument], E>
  ) => Effect.Effect<A, RegistryError | E>
  /** Stores `document` if there is no registry yet; `true` when it wrote. */
  readonly initialize: (document: RegistryDocument) => Effect.Effect<boolean, RegistryError>
  /** Reads and validates every override file. */
  readonly overrides: Effect.Effect<Overrides, RegistryError>
  /** The override of one project, if it has a file. */
  readonly getOverride: (name: ProjectName) => Effect.Effect<Option.Option<ProjectOverride>, RegistryError>
}

/**
 * The Registry service.
 *
 * @since 0.1.0
 * @category services
 */
export class Registry extends Context.Service<
  Registry,
  RegistryPrimitives & {
    /** Every registered project, in registry order. */
    readonly projects: Effect.Effect<ReadonlyArray<Project>, RegistryError>
    /** One project; fails with `ProjectNotFound`. */
    readonly getProject: (name: ProjectName) => Effect.Effect<Project, RegistryError>
    /** Adds a project; fails with `ProjectExists` when the name is taken. */
    readonly addProject: (project: Project) => Effect.Effect<void, RegistryError>
    /** Removes a project and returns it; fails with `ProjectNotFound`. */
    readonly removeProject: (name: ProjectName) => Effect.Effect<Project, RegistryError>
    /** Replaces a project with `f(project)` and returns the new record. */
    readonly updateProject: (
      name: ProjectName,
      f: (project: Project) => Project
    ) => Effect.Effect<Project, RegistryError>
  }
>()("@repoman/core/Registry") {}

const fail = (reason: RegistryErrorReason) => Effect.fail(new RegistryError({ reason }))

/**
 * Builds the Registry service from an implementation's primitives.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (primitives: RegistryPrimitives): Registry["Service"] => {
  const findIndex = (document: RegistryDocument, name: ProjectName) =>
    document.projects.findIndex((p) => p.name === name)
  return Registry.of({
    ...primitives,
    projects: Effect.map(primitives.load, (d) => d.projects),
    getProject: (name) =>
      Effect.flatMap(primitives.load, (d) => {
        const found = d.projects.find((p) => p.name === name)
        return found === undefined ? fail(new ProjectNotFound({ name })) : Effect.succeed(found)
      }),
    addProject: (project) =>
      primitives.modify((d) =>
        findIndex(d, project.name) >= 0
          ? fail(new ProjectExists({ name: project.name }))
          : Effect.succeed([undefined, { ...d, projects: [...d.projects, project] }] as const)
      ),
    removeProject: (name) =>
      primitives.modify((d) => {
        const i = findIndex(d, name)
        const found = d.projects[i]
        return found === undefined
          ? fail(new ProjectNotFound({ name }))
          : Effect.succeed([found, { ...d, projects: d.projects.filter((_, j) => j !== i) }] as const)
      }),
    updateProject: (name, f) =>
      primitives.modify((d) => {
        const i = findIndex(d, name)
        const found = d.projects[i]
        if (found === undefined) return fail(new ProjectNotFound({ name }))
        const next = f(found)
        return Effect.succeed([next, { ...d, projects: d.projects.map((p, j) => j === i ? next : p) }] as const)
      })
  })
}
