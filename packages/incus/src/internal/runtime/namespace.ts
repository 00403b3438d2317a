/**
 * The namespace part of the Incus runtime: repoman's Incus project, its
 * restrictions and allowed paths, what repoman made in it, the storage
 * pools, what the client may do (`access`), what an admin must still do
 * (`checkNamespace`), and owners (`adopt`).
 *
 * With full access (the admin socket) the runtime makes and restricts its
 * project itself, and never takes over one that repoman did not make or
 * made for another user. A restricted client (`incus-user`) can change no
 * project: it works in one an admin set up, and says what is missing.
 */
import {
  Conflict,
  type ContainerRuntime,
  coveredBy,
  Forbidden,
  Namespace,
  NamespaceCheck,
  type NamespaceSpec,
  type OwnedKind,
  StoragePool
} from "@repoman/core/ContainerRuntime"
import type { ImageRef } from "@repoman/core/Ids"
import { ProfileName, ProjectName } from "@repoman/core/Ids"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as IncusApi from "../../IncusApi.ts"
import type { IncusError } from "../../IncusError.ts"
import { imageSource } from "../../IncusInstanceConfig.ts"
import { isManaged, ownerKey, ownerOf } from "../../IncusLabels.ts"
import {
  adminSteps,
  allowedPathsOf,
  projectConfig,
  restrictsPaths,
  takeoverRefusal,
  toNamespace,
  withAllowedPaths
} from "../../IncusProjectConfig.ts"
import { mapErrors, type RuntimeContext, runtimeError, type Subject } from "./context.ts"

type Shape = ContainerRuntime["Service"]

const asProjectName = Schema.decodeUnknownOption(ProjectName)

/** A namespace with the pool its root disks come from, when that is known. */
const withPool = (ns: Namespace, pool: string | undefined): Namespace =>
  pool === undefined ? ns : new Namespace({ ...ns, rootDiskPool: pool })
const asProfileName = Schema.decodeUnknownOption(ProfileName)

export const make = (ctx: RuntimeContext): Pick<
  Shape,
  | "access"
  | "checkNamespace"
  | "adopt"
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
      if (value.project !== "" && value.project !== name) return undefined
      const root = Object.values(value.devices).find((d) => d["type"] === "disk" && d["path"] === "/")
      // A root disk already there keeps its pool (instances use it): that is the pool in use.
      if (root !== undefined) return root["pool"]
      const devices = { ...value.devices, root: { type: "disk", path: "/", pool } }
      yield* client.updateProfile(
        name,
        "default",
        { description: value.description, config: value.config, devices },
        etag
      )
      return pool
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

  /** A note on `image` in project `name`, when instances cannot be made from it there. */
  const imageNote = (name: string, config: IncusApi.StringMap, image: ImageRef) =>
    Effect.gen(function*() {
      const source = imageSource(image)
      if (Option.isNone(source) || source.value.server !== undefined) return [] // a remote image: pulled at create
      const found: Effect.Effect<unknown, IncusError> = source.value.fingerprint !== undefined
        ? client.getImage(name, source.value.fingerprint)
        : client.getImageAlias(name, source.value.alias ?? image)
      const missing = yield* found.pipe(
        Effect.as(false),
        Effect.catchReason("IncusError", "NotFound", () => Effect.succeed(true)),
        Effect.orElseSucceed(() => false)
      )
      if (!missing) return []
      return config["features.images"] === "true"
        ? [
          `image ${image} is not in project ${name}, which keeps images of its own (features.images=true): ` +
          `import it there ('incus image import FILE --alias ${image} --project ${name}', which you may do), ` +
          `or ask an admin to copy it in`
        ]
        : [`image ${image} does not exist in Incus (see 'incus image list'): import it, or pick another with --image`]
    })

  const checkNamespace = Effect.fn("IncusContainerRuntime.checkNamespace")(function*(
    spec: NamespaceSpec,
    image?: ImageRef
  ) {
    const access = yield* ctx.access
    const subject: Subject = { kind: "namespace", name: spec.name, operation: "check namespace" }
    const found = yield* client.getProject(spec.name).pipe(
      Effect.map((p) => Option.some(p.value)),
      Effect.catchReason("IncusError", "NotFound", () => Effect.succeedNone),
      Effect.catchReason("IncusError", "Forbidden", () => Effect.succeedNone),
      mapErrors(ctx, subject)
    )
    if (Option.isNone(found)) {
      if (!access.restricted) return new NamespaceCheck({ name: spec.name, adminSteps: [], unchecked: [], notes: [] })
      const granted = access.namespaces.length === 0 ? "none" : access.namespaces.join(", ")
      return new NamespaceCheck({
        name: spec.name,
        adminSteps: [{
          problem: `Incus project ${spec.name} does not exist or is not granted to you (${access.identity}; ` +
            `granted: ${granted})`,
          commands: [
            ...(access.namespaces.length > 0
              ? [`repoman setup --incus-project ${access.namespaces[0]}   # use a project you have`]
              : []),
            `incus config trust edit ${
              access.identity.replace(/^.*\((\w+)\)$/, "$1")
            }   # an admin: add ${spec.name} to its projects`
          ]
        }],
        unchecked: [],
        notes: []
      })
    }
    const config = found.value.config
    const notes = image === undefined ? [] : yield* imageNote(spec.name, config, image)
    if (!access.restricted) return new NamespaceCheck({ name: spec.name, adminSteps: [], unchecked: [], notes })
    return new NamespaceCheck({
      name: spec.name,
      adminSteps: adminSteps(spec.name, config, spec, { hostPaths: ctx.client.local }),
      unchecked: [
        `storage pools: incus-user may not list them; containers get the root disk of project ${spec.name}'s default profile`
      ],
      notes: [
        ...notes,
        ...(config["restricted.containers.nesting"] === "allow"
          ? [`project ${spec.name} allows nested containers; repoman never asks for them, and refuses profiles that do`]
          : [])
      ]
    })
  })

  return {
    access: () => ctx.access,

    checkNamespace,

    adopt: Effect.fn("IncusContainerRuntime.adopt")(function*(kind: OwnedKind, name: string) {
      const subject: Subject = { kind, name, operation: "record the owner of" }
      const mapped = mapErrors(ctx, subject)
      /** The owner config to write, or why not. */
      const claimed = (config: IncusApi.StringMap) => {
        if (!isManaged(config)) {
          return Effect.fail(runtimeError(new Conflict({ ...subject, detail: "was not made by repoman" })))
        }
        const recorded = ownerOf(config)
        if (Option.isSome(recorded) && recorded.value !== ctx.owner) {
          return Effect.fail(
            runtimeError(new Conflict({ ...subject, detail: `belongs to host uid ${recorded.value}` }))
          )
        }
        return Effect.succeed({ ...config, [ownerKey]: String(ctx.owner) })
      }
      switch (kind) {
        case "namespace": {
          if ((yield* ctx.access).restricted) {
            return yield* runtimeError(
              new Forbidden({ ...subject, namespace: name, detail: "only an admin can change an Incus project" })
            )
          }
          const { value } = yield* client.getProject(name).pipe(mapped)
          yield* claimed(value.config)
          yield* client.modifyProject(name, (current) => ({
            description: current.description,
            config: { ...current.config, [ownerKey]: String(ctx.owner) }
          })).pipe(mapped)
          return
        }
        case "instance": {
          const { etag, value } = yield* client.getInstance(project, name).pipe(mapped)
          const config = yield* claimed(value.config)
          yield* client.updateInstance(project, name, {
            architecture: value.architecture,
            config,
            devices: value.devices,
            profiles: value.profiles,
            description: value.description,
            ephemeral: value.ephemeral ?? false
          }, etag).pipe(mapped)
          return
        }
        case "profile": {
          const { etag, value } = yield* client.getProfile(project, name).pipe(mapped)
          const config = yield* claimed(value.config)
          yield* client.updateProfile(project, name, {
            description: value.description,
            config,
            devices: value.devices
          }, etag).pipe(mapped)
          return
        }
      }
    }),

    ensureNamespace: Effect.fn("IncusContainerRuntime.ensureNamespace")(function*(spec: NamespaceSpec) {
      const subject: Subject = { kind: "namespace", name: spec.name, operation: "ensure namespace" }
      const mapped = mapErrors(ctx, subject)
      if ((yield* ctx.access).restricted) {
        // Nothing of the project may change; only the default profile's root disk is ours to add.
        const check = yield* checkNamespace(spec)
        const [step] = check.adminSteps
        if (step !== undefined) {
          return yield* runtimeError(
            new Forbidden({
              ...subject,
              namespace: spec.name,
              detail: `an admin must set it up first: ${step.problem}`
            })
          )
        }
        const pool = yield* ensureRootDisk(spec.name, spec.rootDiskPool).pipe(mapped)
        return withPool(toNamespace((yield* client.getProject(spec.name).pipe(mapped)).value), pool)
      }
      const existing = yield* client.getProject(spec.name).pipe(
        Effect.map(Option.some),
        Effect.catchReason("IncusError", "NotFound", () => Effect.succeedNone),
        mapped
      )
      const refuseForeign = (config: IncusApi.StringMap) => {
        const refused = takeoverRefusal(config, ctx.owner)
        return refused === undefined
          ? Effect.void
          : Effect.fail(runtimeError(new Conflict({ kind: "namespace", name: spec.name, detail: refused })))
      }
      const bringInLine = client.modifyProject(spec.name, (current) => ({
        description: spec.description,
        config: projectConfig(spec, current.config, ctx.owner)
      }))
      if (Option.isNone(existing)) {
        yield* client.createProject({
          name: spec.name,
          description: spec.description,
          config: projectConfig(spec, {}, ctx.owner)
        }).pipe(
          // Made by someone else since our GET: never taken over (checked below).
          Effect.catchReason("IncusError", "AlreadyExists", () =>
            client.getProject(spec.name).pipe(
              Effect.flatMap((p): Effect.Effect<void, IncusError> =>
                takeoverRefusal(p.value.config, ctx.owner) === undefined ? Effect.asVoid(bringInLine) : Effect.void
              )
            )),
          mapped
        )
        yield* refuseForeign((yield* client.getProject(spec.name).pipe(mapped)).value.config)
      } else {
        yield* refuseForeign(existing.value.value.config)
        yield* bringInLine.pipe(mapped)
      }
      const pool = yield* ensureRootDisk(spec.name, spec.rootDiskPool).pipe(mapped)
      return withPool(toNamespace((yield* client.getProject(spec.name).pipe(mapped)).value), pool)
    }),

    getNamespace: Effect.fn("IncusContainerRuntime.getNamespace")(function*(name: string) {
      const subject: Subject = { kind: "namespace", name, operation: "get namespace" }
      return toNamespace((yield* client.getProject(name).pipe(mapErrors(ctx, subject))).value)
    }),

    deleteNamespace: Effect.fn("IncusContainerRuntime.deleteNamespace")(function*(name: string) {
      const subject: Subject = { kind: "namespace", name, operation: "delete namespace" }
      const mapped = mapErrors(ctx, subject)
      if ((yield* ctx.access).restricted) {
        return yield* runtimeError(
          new Forbidden({ ...subject, namespace: name, detail: "only an admin can delete an Incus project" })
        )
      }
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
      if (added.length > 0 && (yield* ctx.access).restricted) {
        const command = `incus project set ${project} restricted.devices.disk.paths=${[...allowed, ...added].join(",")}`
        return {
          added: [],
          refused: added.map((path) => ({
            path,
            reason: `only an admin can let project ${project} allow it (as an admin: ${command})`
          }))
        }
      }
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
      // A restricted client never added any (and may not change the project).
      if ((yield* ctx.access).restricted) return
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
