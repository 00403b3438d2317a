/**
 * Arguments and flags several commands share, validated by the core schemas
 * so that a bad name or path is a usage error (exit 2) before anything runs.
 * @module
 */
import { ProjectName } from "@repoman/core/Ids"
import * as Argument from "effect/cli/Argument"
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
