/**
 * The profile part of the Incus runtime: the namespace's profiles (put,
 * read, list, delete) and how a profile document reads
 * ({@link IncusProfileDocument}).
 */
import { Conflict, type ContainerRuntime, Profile, type ProfileSpec } from "@repoman/core/ContainerRuntime"
import { ProfileName, ProjectName } from "@repoman/core/Ids"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as IncusApi from "../../IncusApi.ts"
import { nameFromUrl } from "../../IncusApi.ts"
import { isManaged, markManaged, ownerOf, withoutManaged } from "../../IncusLabels.ts"
import * as IncusProfileDocument from "../../IncusProfileDocument.ts"
import { mapErrors, type RuntimeContext, runtimeError, type Subject } from "./context.ts"

type Shape = ContainerRuntime["Service"]

const asProjectName = Schema.decodeUnknownOption(ProjectName)
const asProfileName = Schema.decodeUnknownOption(ProfileName)

export const make = (ctx: RuntimeContext): Pick<
  Shape,
  "inspectProfile" | "resolveProfile" | "putProfile" | "getProfile" | "listProfiles" | "deleteProfile"
> => {
  const { client, project } = ctx
  const subject = (name: string, operation: string): Subject => ({ kind: "profile", name, operation })

  const toProfile = (p: IncusApi.Profile) =>
    Option.map(asProfileName(p.name), (name) =>
      new Profile({
        name,
        description: p.description,
        config: withoutManaged(p.config),
        devices: p.devices,
        usedBy: p.used_by.flatMap((url) => {
          if (!url.startsWith("/1.0/instances/")) return []
          const query = new URLSearchParams(url.split("?")[1] ?? "")
          if ((query.get("project") ?? "default") !== project) return []
          return Option.toArray(asProjectName(nameFromUrl(url)))
        }),
        managed: isManaged(p.config),
        owner: ownerOf(p.config)
      }))

  return {
    inspectProfile: IncusProfileDocument.inspect,

    resolveProfile: IncusProfileDocument.resolve,

    putProfile: Effect.fn("IncusContainerRuntime.putProfile")(function*(name: ProfileName, spec: ProfileSpec) {
      const mapped = mapErrors(ctx, subject(name, "put profile"))
      const existing = yield* client.getProfile(project, name).pipe(
        Effect.map(Option.some),
        Effect.catchReason("IncusError", "NotFound", () => Effect.succeedNone),
        mapped
      )
      if (Option.isNone(existing)) {
        yield* client.createProfile(project, {
          name,
          description: spec.description,
          config: markManaged(spec.config, ctx.owner),
          devices: spec.devices
        }).pipe(mapped)
        return
      }
      const current = existing.value.value.config
      const recorded = ownerOf(current)
      if (Option.isSome(recorded) && recorded.value !== ctx.owner) {
        return yield* runtimeError(
          new Conflict({ kind: "profile", name, detail: `belongs to another user (host uid ${recorded.value})` })
        )
      }
      // A profile repoman made stays marked as such (now with its owner); a foreign one is not claimed.
      const config = isManaged(current) ? markManaged(spec.config, ctx.owner) : spec.config
      yield* client.updateProfile(
        project,
        name,
        { description: spec.description, config, devices: spec.devices },
        existing.value.etag
      ).pipe(mapped)
    }),

    getProfile: Effect.fn("IncusContainerRuntime.getProfile")(function*(name: ProfileName) {
      const { value } = yield* client.getProfile(project, name).pipe(mapErrors(ctx, subject(name, "get profile")))
      return Option.getOrElse(
        toProfile(value),
        () =>
          new Profile({
            name,
            description: value.description,
            config: {},
            devices: {},
            usedBy: [],
            managed: isManaged(value.config),
            owner: ownerOf(value.config)
          })
      )
    }),

    listProfiles: Effect.fn("IncusContainerRuntime.listProfiles")(function*() {
      const profiles = yield* client.listProfiles(project).pipe(
        mapErrors(ctx, { kind: "namespace", name: project, operation: "list profiles" })
      )
      return profiles.flatMap((p) => Option.toArray(toProfile(p)))
    }),

    deleteProfile: Effect.fn("IncusContainerRuntime.deleteProfile")(function*(name: ProfileName) {
      const mapped = mapErrors(ctx, subject(name, "delete profile"))
      if (name === "default") {
        // Incus answers 403; it is a conflict with what the default profile is.
        yield* client.getProfile(project, name).pipe(mapped)
        return yield* runtimeError(
          new Conflict({ kind: "profile", name, detail: "the default profile cannot be deleted" })
        )
      }
      yield* client.deleteProfile(project, name).pipe(mapped)
    })
  }
}
