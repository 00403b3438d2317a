/**
 * Arguments and flags several commands share, validated by the core schemas
 * so that a bad name or path is a usage error (exit 2) before anything runs.
 * @module
 */
import { CheckpointId } from "@repoman/core/Checkpoints"
import { ProjectName } from "@repoman/core/Ids"
import * as Argument from "effect/cli/Argument"
import * as Flag from "effect/cli/Flag"
import * as Prompt from "effect/cli/Prompt"

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
