/**
 * `repoman new NAME`: create the project's container and register it.
 *
 * @since 0.1.0
 * @module
 */
import { ImageRef, ProfileName, RepoDir } from "@repoman/core/Ids"
import { MemorySize, PositiveInt } from "@repoman/core/ResourceLimits"
import { cloneForProject, GitUrl } from "@repoman/programs/GitClone"
import { newProject } from "@repoman/programs/NewProject"
import { detectForProject, Stack, type StackReport } from "@repoman/programs/StackDetection"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { projectName } from "./args.ts"

/** What `new` says about the stack: what was found, what was chosen and why, the matching profiles. */
const stackLines = (report: StackReport): ReadonlyArray<string> => {
  if (Option.isNone(report.chosen)) return []
  const stack = report.chosen.value
  const head = report.reason === "flag"
    ? [`stack: ${stack} (from --stack)`]
    : report.reason === "only"
    ? [`stack: ${stack} (found ${report.found[0]?.markers.join(", ") ?? ""})`]
    : [
      `stacks found: ${report.found.map((s) => `${s.stack} (${s.files} files)`).join(", ")}; ` +
      `using ${stack}, the dominant one by file count (--stack to choose)`
    ]
  return report.profiles.length === 0
    ? head
    : [...head, `library profiles for ${stack}: ${report.profiles.join(", ")} (add with --profile NAME)`]
}

const flags = {
  name: projectName,
  repo: Flag.String("repo").pipe(
    Flag.withSchema(RepoDir),
    Flag.withDescription("The repo directory under the repos root (default: NAME)"),
    Flag.optional
  ),
  image: Flag.String("image").pipe(
    Flag.withSchema(ImageRef),
    Flag.withDescription("Image to create from"),
    Flag.optional
  ),
  profile: Flag.String("profile").pipe(
    Flag.withSchema(ProfileName),
    Flag.withAlias("p"),
    Flag.withDescription("A profile to add to the defaults (repeatable)"),
    Flag.atLeast(0)
  ),
  cpu: Flag.Int("cpu").pipe(
    Flag.withSchema(PositiveInt),
    Flag.withDescription("Limit the container to N CPUs (limits.cpu)"),
    Flag.optional
  ),
  memory: Flag.String("memory").pipe(
    Flag.withSchema(MemorySize),
    Flag.withDescription("Limit the container's memory, e.g. 4GiB (limits.memory)"),
    Flag.optional
  ),
  stack: Flag.Literals("stack", Stack.literals).pipe(
    Flag.withDescription("The project's stack, instead of detecting it"),
    Flag.optional
  ),
  git: Flag.String("git").pipe(
    Flag.withSchema(GitUrl),
    Flag.withDescription("Clone this repo into the repo directory first (hooks disabled; refuses if it exists)"),
    Flag.optional
  ),
  hermetic: Flag.Boolean("hermetic").pipe(
    Flag.withDescription("Mount the repo read-only; work on a clone inside; patches out through /patches"),
    Flag.withDefault(false)
  ),
  noBackup: Flag.Boolean("no-backup").pipe(
    Flag.withDescription("Leave this project out of backups"),
    Flag.withDefault(false)
  )
}

/**
 * The `repoman new` command.
 *
 * @since 0.1.0
 */
export const newCommand = Command.make("new", flags).pipe(
  Command.withDescription("Create a project's container, with its repo mounted at the same path"),
  Command.withHandler(Effect.fnUntraced(function*(f) {
    const repoDir = Option.getOrElse(f.repo, () => RepoDir.make(f.name))
    if (Option.isSome(f.git)) {
      const cloned = yield* cloneForProject(f.name, repoDir, f.git.value)
      yield* Console.log(`cloned ${f.git.value} into ${cloned} (hooks disabled)`)
    }
    const created = yield* newProject({
      name: f.name,
      profiles: f.profile,
      backup: !f.noBackup,
      hermetic: f.hermetic,
      ...Option.match(f.repo, { onNone: () => ({}), onSome: (repo) => ({ repo }) }),
      ...Option.match(f.image, { onNone: () => ({}), onSome: (image) => ({ image }) }),
      limits: {
        ...Option.match(f.cpu, { onNone: () => ({}), onSome: (cpu) => ({ cpu }) }),
        ...Option.match(f.memory, { onNone: () => ({}), onSome: (memory) => ({ memory }) })
      }
    })
    const { project } = created
    // Detected once the repo is known to lie inside the repos root.
    for (const line of stackLines(yield* detectForProject(created.repo.real, f.stack))) yield* Console.log(line)
    yield* Console.log(`created ${project.name}: ${project.image}, profiles ${project.profiles.join(", ")}`)
    yield* Console.log(
      `repo ${created.repo.path} is mounted at the same path; enter with 'repoman shell ${project.name}'`
    )
    if (Option.isSome(created.agentState)) {
      const state = created.agentState.value
      yield* Console.log(
        `agent state of this project: ${state.root} (${state.mounts.map((m) => m.path).join(", ")} inside; ` +
          `removed with the project)`
      )
      for (const note of state.notes) yield* Console.log(`note: ${note}`)
    }
  }))
)
