/**
 * `repoman new NAME`: create the project's container and register it.
 *
 * @since 0.1.0
 */
import { ImageRef, ProfileName, RepoDir } from "@repoman/core/Ids"
import { newProject } from "@repoman/core/NewProject"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { projectName } from "./args.ts"

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
  noBackup: Flag.Boolean("no-backup").pipe(
    Flag.withDescription("Leave this project out of backups"),
    Flag.withDefault(false)
  )
}

/** @since 0.1.0 */
export const newCommand = Command.make("new", flags).pipe(
  Command.withDescription("Create a project's container, with its repo mounted at the same path"),
  Command.withHandler(Effect.fnUntraced(function*(f) {
    const created = yield* newProject({
      name: f.name,
      profiles: f.profile,
      backup: !f.noBackup,
      ...Option.match(f.repo, { onNone: () => ({}), onSome: (repo) => ({ repo }) }),
      ...Option.match(f.image, { onNone: () => ({}), onSome: (image) => ({ image }) })
    })
    const { project } = created
    yield* Console.log(`created ${project.name}: ${project.image}, profiles ${project.profiles.join(", ")}`)
    yield* Console.log(
      `repo ${created.repo.path} is mounted at the same path; enter with 'repoman shell ${project.name}'`
    )
  }))
)
