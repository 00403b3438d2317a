/**
 * The namespace part of the Incus runtime: repoman's Incus project, its
 * restrictions and allowed paths, what repoman made in it, and the storage
 * pools.
 */
import {
  Conflict,
  type ContainerRuntime,
  coveredBy,
  type NamespaceSpec,
  StoragePool
} from "@repoman/core/ContainerRuntime"
import { ProfileName, ProjectName } from "@repoman/core/Ids"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { isManaged } from "../../IncusLabels.ts"
import {
  allowedPathsOf,
  projectConfig,
  restrictsPaths,
  toNamespace,
  withAllowedPaths
} from "../../IncusProjectConfig.ts"
import { mapErrors, type RuntimeContext, runtimeError, type Subject } from "./context.ts"

type Shape = ContainerRuntime["Service"]

const asProjectName = Schema.decodeUnknownOption(ProjectName)
const asProfileName = Schema.decodeUnknownOption(ProfileName)

export const make = (ctx: RuntimeContext): Pick<
  Shape,
  | "ensureNamespace"
  | "getNamespace"
  | "deleteNamespace"
  | "allowPaths"
  | "disallowPaths"
  | "listManaged"
  | "listStoragePools"
> => {
  const { client, project } = ctx
  const own: Subject = { kind: "namespace", name: project, operation: "change namespace" }

  /**
   * Adds a root disk on `pool` to the project's default profile unless it
   * has one. A project without `features.profiles` uses the `default`
   * project's profiles, which are left alone.
   */
  const ensureRootDisk = (name: string, pool: string) =>
    Effect.gen(function*() {
      const { etag, value } = yield* client.getProfile(name, "default")
      if (value.project !== "" && value.project !== name) return
      const hasRoot = Object.values(value.devices).some((d) => d["type"] === "disk" && d["path"] === "/")
      if (hasRoot) return
      const devices = { ...value.devices, root: { type: "disk", path: "/", pool } }
      yield* client.updateProfile(
        name,
        "default",
        { description: value.description, config: value.config, devices },
        etag
      )
    })

  /** Why Incus could not allow a host path: it opens an allowed path as a directory. */
  const pathRefusal = (path: string) =>
    ctx.fs.stat(path).pipe(
      Effect.map((i) =>
        i.type === "Directory"
          ? undefined
          : i.type === "File"
          ? "it is a file: Incus allows only directories as disk sources"
          : `it is a ${i.type.toLowerCase()}, not a directory`
      ),
      Effect.orElseSucceed(() => "it does not exist")
    )

  return {
    ensureNamespace: Effect.fn("IncusContainerRuntime.ensureNamespace")(function*(spec: NamespaceSpec) {
      const subject: Subject = { kind: "namespace", name: spec.name, operation: "ensure namespace" }
      const mapped = mapErrors(ctx, subject)
      const existing = yield* client.getProject(spec.name).pipe(
        Effect.map(Option.some),
        Effect.catchReason("IncusError", "NotFound", () => Effect.succeedNone),
        mapped
      )
      const bringInLine = client.modifyProject(spec.name, (current) => ({
        description: spec.description,
        config: projectConfig(spec, current.config)
      }))
      if (Option.isNone(existing)) {
        yield* client.createProject({ name: spec.name, description: spec.description, config: projectConfig(spec, {}) })
          .pipe(
            // Made by someone else since our GET: bring it in line instead.
            Effect.catchReason("IncusError", "AlreadyExists", () => bringInLine),
            mapped
          )
      } else {
        yield* bringInLine.pipe(mapped)
      }
      yield* ensureRootDisk(spec.name, spec.rootDiskPool).pipe(mapped)
      return toNamespace((yield* client.getProject(spec.name).pipe(mapped)).value)
    }),

    getNamespace: Effect.fn("IncusContainerRuntime.getNamespace")(function*(name: string) {
      const subject: Subject = { kind: "namespace", name, operation: "get namespace" }
      return toNamespace((yield* client.getProject(name).pipe(mapErrors(ctx, subject))).value)
    }),

    deleteNamespace: Effect.fn("IncusContainerRuntime.deleteNamespace")(function*(name: string) {
      const mapped = mapErrors(ctx, { kind: "namespace", name, operation: "delete namespace" })
      yield* client.getProject(name).pipe(mapped)
      // Check emptiness structurally rather than reading Incus's message.
      const instances = yield* client.listInstances(name).pipe(mapped)
      const profiles = (yield* client.listProfiles(name).pipe(mapped)).filter((p) => p.name !== "default")
      const held = [...instances.map((i) => `instance ${i.name}`), ...profiles.map((p) => `profile ${p.name}`)]
      if (held.length > 0) {
        return yield* runtimeError(
          new Conflict({ kind: "namespace", name, detail: `is not empty: ${held.join(", ")}` })
        )
      }
      yield* client.deleteProject(name).pipe(mapped)
    }),

    allowPaths: Effect.fn("IncusContainerRuntime.allowPaths")(function*(paths: ReadonlyArray<string>) {
      const mapped = mapErrors(ctx, own)
      const { value } = yield* client.getProject(project).pipe(mapped)
      if (!restrictsPaths(value.config)) return { added: [], refused: [] }
      const allowed = allowedPathsOf(value.config)
      const added = [...new Set(paths)].filter((p) => !coveredBy(p, allowed))
      const refused: Array<{ path: string; reason: string }> = []
      for (const path of added) {
        const reason = yield* pathRefusal(path)
        if (reason !== undefined) refused.push({ path, reason })
      }
      if (refused.length > 0) return { added: [], refused }
      if (added.length === 0) return { added, refused }
      yield* client.modifyProject(project, (current) => ({
        description: current.description,
        config: withAllowedPaths(current.config, [...allowedPathsOf(current.config), ...added])
      })).pipe(mapped)
      return { added, refused }
    }),

    disallowPaths: Effect.fn("IncusContainerRuntime.disallowPaths")(function*(paths: ReadonlyArray<string>) {
      yield* client.modifyProject(project, (current) =>
        restrictsPaths(current.config)
          ? {
            description: current.description,
            config: withAllowedPaths(current.config, allowedPathsOf(current.config).filter((p) => !paths.includes(p)))
          }
          : { description: current.description, config: current.config }).pipe(mapErrors(ctx, own))
    }),

    listManaged: Effect.fn("IncusContainerRuntime.listManaged")(function*() {
      const mapped = mapErrors(ctx, { ...own, operation: "list managed objects" })
      yield* client.getProject(project).pipe(mapped)
      const instances = yield* client.listInstances(project).pipe(mapped)
      const profiles = yield* client.listProfiles(project).pipe(mapped)
      return {
        instances: instances.filter((i) => isManaged(i.config)).flatMap((i) => Option.toArray(asProjectName(i.name))),
        profiles: profiles.filter((p) => p.name !== "default" && isManaged(p.config)).flatMap((p) =>
          Option.toArray(asProfileName(p.name))
        )
      }
    }),

    listStoragePools: Effect.fn("IncusContainerRuntime.listStoragePools")(function*() {
      const pools = yield* client.listStoragePools().pipe(
        mapErrors(ctx, { kind: "storage pool", name: "*", operation: "list storage pools" })
      )
      return pools.map((p) => new StoragePool({ name: p.name, driver: p.driver }))
    })
  }
}
