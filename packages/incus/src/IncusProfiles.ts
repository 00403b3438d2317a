/**
 * The profiles resource of the Incus REST API (`/1.0/profiles`), per
 * project. Part of {@link IncusClient}.
 *
 * @since 0.1.0
 * @module
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Profile, type ProfilePut, type ProfilesPost, type Versioned } from "./IncusApi.ts"
import type { IncusError } from "./IncusError.ts"
import { type Call, seg, type Transport } from "./IncusTransport.ts"

/**
 * The profile calls.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProfilesClient {
  /** `GET /1.0/profiles`: the profiles of a project. */
  readonly listProfiles: (project: string) => Effect.Effect<ReadonlyArray<Profile>, IncusError>
  /** `GET /1.0/profiles/NAME`: one profile and its ETag. */
  readonly getProfile: (project: string, name: string) => Effect.Effect<Versioned<Profile>, IncusError>
  /** `POST /1.0/profiles`: creates a profile in a project, exactly as `body` says. */
  readonly createProfile: (project: string, body: ProfilesPost) => Effect.Effect<void, IncusError>
  /** `PUT /1.0/profiles/NAME`: replaces a profile (with `If-Match` when `etag` is given). */
  readonly updateProfile: (
    project: string,
    name: string,
    body: ProfilePut,
    etag?: string
  ) => Effect.Effect<void, IncusError>
  /** `DELETE /1.0/profiles/NAME`: deletes a profile no instance uses. */
  readonly deleteProfile: (project: string, name: string) => Effect.Effect<void, IncusError>
}

/**
 * The profile calls over `transport`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (transport: Transport): ProfilesClient => {
  const profilePath = (name: string) => `/1.0/profiles/${seg(name)}`
  return {
    listProfiles: Effect.fn("IncusClient.listProfiles")(function*(project) {
      const call: Call = { method: "GET", path: "/1.0/profiles", project, params: { recursion: "1" } }
      return (yield* transport.getSync(call, Schema.Array(Profile))).value
    }),

    getProfile: Effect.fn("IncusClient.getProfile")(function*(project, name) {
      return yield* transport.getSync({ method: "GET", path: profilePath(name), project }, Profile)
    }),

    createProfile: Effect.fn("IncusClient.createProfile")(function*(project, body) {
      yield* transport.asVoid({ method: "POST", path: "/1.0/profiles", project, body })
    }),

    updateProfile: Effect.fn("IncusClient.updateProfile")(function*(project, name, body, etag) {
      yield* transport.asVoid({ method: "PUT", path: profilePath(name), project, body, etag })
    }),

    deleteProfile: Effect.fn("IncusClient.deleteProfile")(function*(project, name) {
      yield* transport.asVoid({ method: "DELETE", path: profilePath(name), project })
    })
  }
}
