/**
 * Arguments and flags several commands share, validated by the core schemas
 * so that a bad name or path is a usage error (exit 2) before anything runs.
 * @module
 */
import { CheckpointId } from "@repoman/core/Checkpoints"
import { ProjectName } from "@repoman/core/Ids"
import { DiskSize, MemorySize, PositiveInt, type ResourceLimits } from "@repoman/core/ResourceLimits"
import * as Argument from "effect/cli/Argument"
import * as Flag from "effect/cli/Flag"
import * as Prompt from "effect/cli/Prompt"
import * as Option from "effect/Option"

/** `NAME`: a project name (Incus instance rules); prompted for on a terminal. */
export const projectName = Argument.String("name").pipe(
  Argument.withDescription("Project name: letters, digits and hyphens, starting with a letter"),
  Argument.withFallbackPrompt(Prompt.String({ message: "Project name" })),
  Argument.withSchema(ProjectName)
)

/** `[NAME]`: one project, or all of them when left out. */
export const optionalProjectName = (description: string) =>
  Argument.String("name").pipe(
    Argument.withSchema(ProjectName),
    Argument.withDescription(description),
    Argument.optional
  )

/** `--checkpoint` (on by default; `--no-checkpoint` skips the checkpoint before a session). */
export const checkpointFlag = Flag.Boolean("checkpoint").pipe(
  Flag.withDescription(
    "Take a checkpoint of the repo before the session ([checkpoints] enabled; --no-checkpoint: none)"
  ),
  Flag.optional
)

/** A checkpoint id, validated (`20260501T101502.123Z-k3v9`). */
export const checkpointFlagOf = (name: string, description: string) =>
  Flag.String(name).pipe(Flag.withDescription(description), Flag.withSchema(CheckpointId), Flag.optional)

/** `--json`. */
export const jsonFlag = Flag.Boolean("json").pipe(Flag.withDescription("Print JSON"), Flag.withDefault(false))

/**
 * `--cpu`, `--memory`, `--processes`, `--disk`: resource limits (`new`, `config`), validated by the core
 * schemas; `defaults` names each one's default in its description (for `new`).
 */
export const limitFlagsWith = (defaults: boolean) => {
  const said = (text: string, fallback: string) => defaults ? `${text} (${fallback})` : text
  return {
    cpu: Flag.Int("cpu").pipe(
      Flag.withSchema(PositiveInt),
      Flag.withDescription(said("Limit the container to N CPUs", "default: no limit")),
      Flag.optional
    ),
    memory: Flag.String("memory").pipe(
      Flag.withSchema(MemorySize),
      Flag.withDescription(said("Limit the container's memory, e.g. 4GiB", "default 50% of the host's")),
      Flag.optional
    ),
    processes: Flag.Int("processes").pipe(
      Flag.withSchema(PositiveInt),
      Flag.withDescription(said("Limit the number of processes in the container", "default 2000")),
      Flag.optional
    ),
    disk: Flag.String("disk").pipe(
      Flag.withSchema(DiskSize),
      Flag.withDescription(said("Limit the size of the container's root disk, e.g. 40GiB", "default 20GiB")),
      Flag.optional
    )
  }
}

/** The limit flags of `new`, each with its default. */
export const limitFlags = limitFlagsWith(true)

/** The limits the {@link limitFlags} give (those left out are absent). */
export const limitsFrom = (f: {
  readonly cpu: Option.Option<ResourceLimits["cpu"] & {}>
  readonly memory: Option.Option<ResourceLimits["memory"] & {}>
  readonly processes: Option.Option<ResourceLimits["processes"] & {}>
  readonly disk: Option.Option<ResourceLimits["disk"] & {}>
}): ResourceLimits => ({
  ...Option.match(f.cpu, { onNone: () => ({}), onSome: (cpu) => ({ cpu }) }),
  ...Option.match(f.memory, { onNone: () => ({}), onSome: (memory) => ({ memory }) }),
  ...Option.match(f.processes, { onNone: () => ({}), onSome: (processes) => ({ processes }) }),
  ...Option.match(f.disk, { onNone: () => ({}), onSome: (disk) => ({ disk }) })
})
