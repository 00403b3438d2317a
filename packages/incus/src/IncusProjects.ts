/**
 * The projects resource of the Incus REST API (`/1.0/projects`). A project's
 * config is only changed by GET, change, then PUT with the ETag
 * ({@link ProjectsClient.modifyProject}): Incus's PATCH replaces the whole
 * config map. Part of {@link IncusClient}.
 *
 * @since 0.1.0
 * @module
 */
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { Project, type ProjectPut, type ProjectsPost, type StringMap, type Versioned } from "./IncusApi.ts"
import type { IncusError } from "./IncusError.ts"
import { type Call, seg, type Transport } from "./IncusTransport.ts"

/**
 * The project calls.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProjectsClient {
  /** `GET /1.0/projects`: every Incus project. */
  readonly listProjects: () => Effect.Effect<ReadonlyArray<Project>, IncusError>
  /** `GET /1.0/projects/NAME`: one project and its ETag. */
  readonly getProject: (name: string) => Effect.Effect<Versioned<Project>, IncusError>
  /** `POST /1.0/projects`: creates a project, exactly as `body` says. */
  readonly createProject: (body: ProjectsPost) => Effect.Effect<void, IncusError>
  /** Replaces description and config of a project read with that `etag`. */
  readonly updateProject: (name: string, body: ProjectPut, etag: string) => Effect.Effect<void, IncusError>
  /**
   * Reads the project, computes the new description and config from it, and
   * writes them with `If-Match` (nothing when they are unchanged); starts over
   * (a few times) when someone else changed the project in between.
   */
  readonly modifyProject: (
    name: string,
    f: (current: Project) => ProjectPut
  ) => Effect.Effect<Project, IncusError>
  /** `force` also deletes the project's instances, profiles, images and volumes. */
  readonly deleteProject: (name: string, options?: { readonly force?: boolean }) => Effect.Effect<void, IncusError>
}

const sameMap = (a: StringMap, b: StringMap): boolean => {
  const keys = Object.keys(a)
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k])
}

/**
 * The project calls over `transport`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (transport: Transport): ProjectsClient => {
  const projectPath = (name: string) => `/1.0/projects/${seg(name)}`
  return {
    listProjects: Effect.fn("IncusClient.listProjects")(function*() {
      const call: Call = { method: "GET", path: "/1.0/projects", params: { recursion: "1" } }
      return (yield* transport.getSync(call, Schema.Array(Project))).value
    }),

    getProject: Effect.fn("IncusClient.getProject")(function*(name) {
      return yield* transport.getSync({ method: "GET", path: projectPath(name) }, Project)
    }),

    createProject: Effect.fn("IncusClient.createProject")(function*(body) {
      yield* transport.asVoid({ method: "POST", path: "/1.0/projects", body })
    }),

    updateProject: Effect.fn("IncusClient.updateProject")(function*(name, body, etag) {
      yield* transport.asVoid({ method: "PUT", path: projectPath(name), body, etag })
    }),

    modifyProject: Effect.fn("IncusClient.modifyProject")(function*(name, f) {
      const path = projectPath(name)
      const once = Effect.gen(function*() {
        const current = yield* transport.getSync({ method: "GET", path }, Project)
        const body = f(current.value)
        if (body.description === current.value.description && sameMap(body.config, current.value.config)) {
          return current
        }
        yield* transport.asVoid({ method: "PUT", path, body, etag: current.etag })
        return yield* transport.getSync({ method: "GET", path }, Project)
      })
      const updated = yield* once.pipe(
        Effect.retry({
          // 412: the project changed between our GET and PUT.
          while: (e) => e.reason._tag === "Conflict" && e.reason.status === 412,
          times: 4,
          schedule: Schedule.exponential("20 millis")
        })
      )
      return updated.value
    }),

    deleteProject: Effect.fn("IncusClient.deleteProject")(function*(name, options) {
      const params: Record<string, string> = options?.force === true ? { force: "true" } : {}
      yield* transport.asVoid({ method: "DELETE", path: projectPath(name), params })
    })
  }
}
