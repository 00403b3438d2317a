/**
 * `exec`: runs one command in a project's container as the uid-1000 user,
 * with the caller's stdin, stdout, stderr (and terminal, when there is one)
 * passed through, and returns the command's exit code. A stopped container is
 * started first. This is {@link openShell} with a command that must be given
 * and `KEY=VALUE` environment assignments validated at the boundary.
 *
 * @since 0.1.0
 * @module
 */
import type { ProjectName } from "@repoman/core/Ids"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { openShell } from "./OpenShell.ts"

/**
 * One `--env` value: `NAME=VALUE`, where NAME is a shell-style variable name
 * (letters, digits, underscores, not starting with a digit). The value may be
 * empty and may contain `=`.
 *
 * @example
 * ```ts
 * import * as Schema from "effect/Schema"
 * import { EnvAssignment } from "@repoman/programs/ExecInProject"
 * Schema.decodeUnknownSync(EnvAssignment)("RUST_LOG=debug")   // "RUST_LOG=debug"
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const EnvAssignment = Schema.String.pipe(
  Schema.check(
    Schema.makeFilter((s: string) =>
      /^[A-Za-z_][A-Za-z0-9_]*=/.test(s) || "an environment assignment is NAME=VALUE, e.g. RUST_LOG=debug"
    )
  )
)
/**
 * The type of {@link EnvAssignment}.
 *
 * @since 0.1.0
 * @category models
 */
export type EnvAssignment = typeof EnvAssignment.Type

/**
 * An absolute path inside the container (`--cwd`).
 *
 * @since 0.1.0
 * @category models
 */
export const ContainerPath = Schema.String.pipe(
  Schema.check(
    Schema.makeFilter((s: string) =>
      (s.startsWith("/") && !s.includes("\0")) || "a path inside the container is absolute, e.g. /home/me/repos/foo"
    )
  )
)

/**
 * Turns `NAME=VALUE` assignments into an environment map; a later assignment
 * of the same name wins.
 *
 * @since 0.1.0
 * @category utils
 */
export const envFromAssignments = (assignments: ReadonlyArray<EnvAssignment>): Readonly<Record<string, string>> =>
  Object.fromEntries(assignments.map((a) => {
    const eq = a.indexOf("=")
    return [a.slice(0, eq), a.slice(eq + 1)]
  }))

/**
 * Options of {@link execInProject}.
 *
 * @since 0.1.0
 * @category models
 */
export interface ExecInput {
  /** The command and its arguments (no shell involved). */
  readonly argv: readonly [string, ...Array<string>]
  /** Working directory inside the container (default: the repo). */
  readonly cwd?: string
  /** Extra environment variables. */
  readonly env?: Readonly<Record<string, string>>
  /** Take a checkpoint before the session (default: `[checkpoints] enabled`). */
  readonly checkpoint?: boolean
}

/**
 * Runs the command and returns its exit code.
 *
 * @since 0.1.0
 * @category programs
 */
export const execInProject = Effect.fn("execInProject")(function*(name: ProjectName, input: ExecInput) {
  return yield* openShell(name, {
    argv: input.argv,
    ...(input.cwd === undefined ? {} : { cwd: input.cwd }),
    ...(input.env === undefined ? {} : { env: input.env }),
    ...(input.checkpoint === undefined ? {} : { checkpoint: input.checkpoint })
  })
})
