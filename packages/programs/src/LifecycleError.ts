/**
 * The error of the project-lifecycle programs (setup, new, status, remove,
 * shell): what the user asked for cannot be done as asked, and nothing was
 * changed. Errors of the services they call (registry, container runtime)
 * pass through as they are.
 *
 * @since 0.1.0
 * @module
 */
import * as Schema from "effect/Schema"

/**
 * The repo directory does not exist (or is not a directory).
 *
 * @since 0.1.0
 * @category errors
 */
export class RepoMissing
  extends Schema.TaggedClass<RepoMissing>("@repoman/programs/LifecycleError/RepoMissing")("RepoMissing", {
    path: Schema.String
  })
{
  get message(): string {
    return `the repo directory ${this.path} does not exist: create it (or clone into it) first`
  }
}

/**
 * The repo directory resolves outside the repos root (a symlink out, say).
 *
 * @since 0.1.0
 * @category errors
 */
export class RepoOutsideRoot
  extends Schema.TaggedClass<RepoOutsideRoot>("@repoman/programs/LifecycleError/RepoOutsideRoot")("RepoOutsideRoot", {
    path: Schema.String,
    resolved: Schema.String,
    root: Schema.String
  })
{
  get message(): string {
    return `the repo ${this.path} resolves to ${this.resolved}, outside the repos root ${this.root}`
  }
}

/**
 * The host has not delegated the user's ids to Incus (`/etc/subuid`,
 * `/etc/subgid`); `commands` fix it.
 *
 * @since 0.1.0
 * @category models
 */
export class IdmapNotDelegated
  extends Schema.TaggedClass<IdmapNotDelegated>("@repoman/programs/LifecycleError/IdmapNotDelegated")(
    "IdmapNotDelegated",
    {
      missing: Schema.Array(Schema.String),
      commands: Schema.Array(Schema.String)
    }
  )
{
  get message(): string {
    return `Incus may not map your ids yet (missing ${this.missing.join(", ")}). Run as root:\n  ${
      this.commands.join("\n  ")
    }\nthen run 'repoman setup' again (or use --uid-mode shift)`
  }
}

/**
 * No storage pool to put containers on, or not the one asked for.
 *
 * @since 0.1.0
 * @category models
 */
export class StoragePoolMissing
  extends Schema.TaggedClass<StoragePoolMissing>("@repoman/programs/LifecycleError/StoragePoolMissing")(
    "StoragePoolMissing",
    {
      wanted: Schema.optionalKey(Schema.String),
      available: Schema.Array(Schema.String)
    }
  )
{
  get message(): string {
    const have = this.available.length === 0 ? "there are none" : `available: ${this.available.join(", ")}`
    return this.wanted === undefined
      ? `Incus has no storage pool (${have}): create one, e.g. 'incus storage create default btrfs'`
      : `Incus has no storage pool named ${this.wanted} (${have})`
  }
}

/**
 * A path given by the user is not acceptable (relative, or not a directory).
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidPath
  extends Schema.TaggedClass<InvalidPath>("@repoman/programs/LifecycleError/InvalidPath")("InvalidPath", {
    path: Schema.String,
    detail: Schema.String
  })
{
  get message(): string {
    return `${this.path}: ${this.detail}`
  }
}

/**
 * What the user asked for needs the engine to reach this host's files
 * (`what`: a host mount, a profile sharing host state, hermetic mode), and
 * the engine is remote: the repo lives in a storage volume there.
 *
 * @since 0.1.0
 * @category models
 */
export class NeedsLocalEngine
  extends Schema.TaggedClass<NeedsLocalEngine>("@repoman/programs/LifecycleError/NeedsLocalEngine")(
    "NeedsLocalEngine",
    { what: Schema.String }
  )
{
  get message(): string {
    return `${this.what} needs a local Incus (this one is remote, so the repo lives in a storage volume there)`
  }
}

/**
 * The project is registered but its container does not exist.
 *
 * @since 0.1.0
 * @category models
 */
export class ContainerMissing
  extends Schema.TaggedClass<ContainerMissing>("@repoman/programs/LifecycleError/ContainerMissing")(
    "ContainerMissing",
    {
      name: Schema.String,
      namespace: Schema.String
    }
  )
{
  get message(): string {
    return `project ${this.name} has no container in Incus project ${this.namespace} (remove it with 'repoman remove ${this.name} --keep-incus')`
  }
}

/**
 * `new` failed after its container existed, and deleting the container failed
 * too (typically: the daemon went away). The container carries repoman's keys
 * but has no registry entry; `list` shows it as unregistered.
 *
 * @since 0.1.0
 * @category errors
 */
export class LeftBehind
  extends Schema.TaggedClass<LeftBehind>("@repoman/programs/LifecycleError/LeftBehind")("LeftBehind", {
    name: Schema.String,
    failure: Schema.String
  })
{
  get message(): string {
    return `${this.failure}; the container ${this.name} may be left behind (not registered): ` +
      `once Incus answers again, 'repoman remove ${this.name}' deletes it`
  }
}

/**
 * An object of the container engine that repoman will not act on: another
 * user's repoman made it, or no repoman did, or an older repoman that
 * recorded no owner and nothing shows it is this user's (`why` says which).
 *
 * @since 0.1.0
 * @category models
 */
export class NotYours extends Schema.TaggedClass<NotYours>("@repoman/programs/LifecycleError/NotYours")("NotYours", {
  kind: Schema.String,
  name: Schema.String,
  namespace: Schema.String,
  why: Schema.String
}) {
  get message(): string {
    const where = this.kind === "Incus project" ? "" : ` in Incus project ${this.namespace}`
    return `${this.kind} ${this.name}${where} ${this.why}: repoman leaves it alone`
  }
}

/**
 * repoman may not change the Incus project it is to work in (a restricted
 * client, such as `incus-user`), and an admin must set it up once first:
 * `steps` say what is missing and the commands that fix it.
 *
 * @since 0.1.0
 * @category models
 */
export class AdminStepsNeeded
  extends Schema.TaggedClass<AdminStepsNeeded>("@repoman/programs/LifecycleError/AdminStepsNeeded")(
    "AdminStepsNeeded",
    {
      namespace: Schema.String,
      via: Schema.String,
      steps: Schema.Array(Schema.Struct({ problem: Schema.String, commands: Schema.Array(Schema.String) }))
    }
  )
{
  get message(): string {
    const lines = this.steps.flatMap((s) => [`- ${s.problem}`, ...s.commands.map((c) => `    ${c}`)])
    return `repoman reaches Incus through ${this.via}, which may not change Incus project ${this.namespace}; ` +
      `an admin must do this once, then run 'repoman setup' again:\n${lines.join("\n")}`
  }
}

/**
 * `new --target`: the container cannot be placed on that member. `why`:
 * `not-clustered` (the Incus server is one machine), `unknown` (no member has
 * that name), `unavailable` (the member is not `Online`: offline,
 * evacuated), `elsewhere` (the member is another machine, and the repo is a
 * path of this one). `members` are the cluster's members with their state.
 *
 * @since 0.1.0
 * @category errors
 */
export class TargetRefused
  extends Schema.TaggedClass<TargetRefused>("@repoman/programs/LifecycleError/TargetRefused")("TargetRefused", {
    target: Schema.String,
    why: Schema.Literals(["not-clustered", "unknown", "unavailable", "elsewhere"]),
    members: Schema.Array(
      Schema.Struct({ name: Schema.String, status: Schema.String, message: Schema.String, thisHost: Schema.Boolean })
    )
  })
{
  get message(): string {
    const list = this.members.map((m) => `${m.name} (${m.status})`).join(", ")
    const member = this.members.find((m) => m.name === this.target)
    return this.why === "not-clustered"
      ? `cannot place the container on ${this.target}: the Incus server is not a cluster (leave out --target)`
      : this.why === "unknown"
      ? `cannot place the container on ${this.target}: no cluster member has that name (members: ${
        list === "" ? "none" : list
      })`
      : this.why === "elsewhere"
      ? `cannot place the container on ${this.target}: it is another machine, and the repo is a directory of this ` +
        `one (${this.members.find((m) => m.thisHost)?.name ?? "no member"}); leave out --target`
      : `cannot place the container on ${this.target}: the member is ${member?.status ?? "not available"}${
        member === undefined || member.message === "" ? "" : ` (${member.message})`
      }; members: ${list}`
  }
}

/**
 * Why a lifecycle program refused.
 *
 * @since 0.1.0
 * @category errors
 */
export const LifecycleErrorReason = Schema.Union([
  RepoMissing,
  RepoOutsideRoot,
  IdmapNotDelegated,
  StoragePoolMissing,
  InvalidPath,
  ContainerMissing,
  LeftBehind,
  NotYours,
  AdminStepsNeeded,
  TargetRefused,
  NeedsLocalEngine
])
/**
 * The decoded type of the `LifecycleErrorReason` schema.
 *
 * @since 0.1.0
 * @category errors
 */
export type LifecycleErrorReason = typeof LifecycleErrorReason.Type

/**
 * The one error of the lifecycle programs.
 *
 * @since 0.1.0
 * @category errors
 */
export class LifecycleError
  extends Schema.TaggedError<LifecycleError>("@repoman/programs/LifecycleError/LifecycleError")("LifecycleError", {
    reason: LifecycleErrorReason,
    cause: Schema.optional(Schema.Defect())
  })
{
  override get message(): string {
    return this.reason.message
  }

  /** Whether the user's input was at fault (the CLI exits 2) rather than the operation (exit 1). */
  get usage(): boolean {
    return this.reason._tag === "RepoOutsideRoot" || this.reason._tag === "NeedsLocalEngine" ||
      (this.reason._tag === "TargetRefused" && this.reason.why !== "unavailable")
  }
}
