/**
 * `repoman new NAME`: create the project's container and register it.
 *
 * Git is sealed unless `--git-mode shared` says otherwise: the container
 * gets a gitdir repoman seeds from the repo, never the host's `.git` (see
 * `GitSeal`). Shared mode prints why it is dangerous and, at a terminal,
 * asks first (`--yes` skips the question; without a terminal the flag is
 * the consent).
 *
 * Before anything is created, the repo's stack and its library profiles
 * that the project would not get anyway are said (see
 * `StackDetection.suggestForNew`); at a terminal each installed one is
 * offered (default no; `--yes` asks nothing), without one they are only
 * said.
 *
 * @since 0.1.0
 * @module
 */
import { ContainerRuntime } from "@repoman/core/ContainerRuntime"
import { ImageRef, MemberName, ProfileName, type ProjectName, RepoDir } from "@repoman/core/Ids"
import type { ResourceLimits } from "@repoman/core/ResourceLimits"
import { escape } from "@repoman/core/TerminalText"
import { requireTarget } from "@repoman/programs/ClusterTarget"
import { cloneForProject, GitUrl } from "@repoman/programs/GitClone"
import { type PreparedSeal, SHARED_WARNING } from "@repoman/programs/GitSeal"
import { ORIGIN } from "@repoman/programs/Hermetic"
import { newProject } from "@repoman/programs/NewProject"
import { hostAlias, renewSshAccess } from "@repoman/programs/SshAccess"
import { Stack, type StackReport, suggestForNew } from "@repoman/programs/StackDetection"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Prompt from "effect/cli/Prompt"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Path from "effect/Path"
import * as Stdio from "effect/Stdio"
import { ExitCode } from "../ExitCode.ts"
import { selfArgv } from "../host/self.ts"
import { limitFlags, limitsFrom, projectName } from "./args.ts"

/**
 * What `new` says about the stack before it creates: what was found, what
 * was chosen and why, the matching library profiles not already given.
 */
const stackLines = (report: StackReport, suggested: ReadonlyArray<string>): ReadonlyArray<string> => {
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
  return suggested.length === 0
    ? head
    : [...head, `library profiles for ${stack}: ${suggested.join(", ")} (add with --profile NAME)`]
}

/** What `new` says about the git seal it made (see `GitSeal.PreparedSeal`; `None`: hermetic). */
const sealLines = (
  repo: string,
  name: string,
  seal: Option.Option<PreparedSeal>
): ReadonlyArray<string> => {
  if (Option.isNone(seal)) return ["git: the repo is mounted read-only; patches come out through /patches"]
  const { initialized, record, submodules } = seal.value
  return [
    ...(initialized ? [`initialized an empty git repo in ${repo} (a sealed project needs one)`] : []),
    record.mode === "shared"
      ? `git: SHARED: the container writes ${repo}/.git`
      : `git: sealed: the container has its own .git (${record.gitDir ?? ""}); ` +
        `bring its commits over with 'repoman fetch ${name}'`,
    ...(submodules.length > 0
      ? [`warning: the repo has submodules; run 'git -C ${repo} config diff.ignoreSubmodules all'`]
      : [])
  ]
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
  ...limitFlags,
  stack: Flag.Literals("stack", Stack.literals).pipe(
    Flag.withDescription("The project's stack, instead of detecting it"),
    Flag.optional
  ),
  git: Flag.String("git").pipe(
    Flag.withSchema(GitUrl),
    Flag.withDescription("Clone this repo into the repo directory first (hooks disabled; refuses if it exists)"),
    Flag.optional
  ),
  from: Flag.String("from").pipe(
    Flag.withDescription("Remote Incus: send this directory into the repo volume (modes and symlinks kept)"),
    Flag.optional
  ),
  hermetic: Flag.Boolean("hermetic").pipe(
    Flag.withDescription("Mount the repo read-only; work on a clone inside; patches out through /patches"),
    Flag.withDefault(false)
  ),
  noBackup: Flag.Boolean("no-backup").pipe(
    Flag.withDescription("Leave this project out of backups"),
    Flag.withDefault(false)
  ),
  gitMode: Flag.Literals("git-mode", ["sealed", "shared"]).pipe(
    Flag.withDescription(
      "sealed (default): the container gets its own gitdir, never your .git; shared: it writes your .git (dangerous)"
    ),
    Flag.withDefault("sealed" as const)
  ),
  acceptSubmoduleRisk: Flag.Boolean("accept-submodule-risk").pipe(
    Flag.withDescription("Seal a repo with submodules anyway (a host git status enters them)"),
    Flag.withDefault(false)
  ),
  target: Flag.String("target").pipe(
    Flag.withSchema(MemberName),
    Flag.withDescription("The Incus cluster member to put the container on (default: Incus chooses)"),
    Flag.optional
  ),
  yes: Flag.Boolean("yes").pipe(
    Flag.withAlias("y"),
    Flag.withDescription("Do not ask (--git-mode shared; the stack's profiles are then only suggested)"),
    Flag.withDefault(false)
  )
}

/**
 * When ~/.ssh/config names the project's ssh Host (a block left from an
 * earlier project of that name), the new container gets the key: the
 * project exists either way, so a failure is a warning.
 */
const renewSsh = (name: ProjectName) =>
  renewSshAccess(name, selfArgv()).pipe(
    Effect.flatMap(Option.match({
      onNone: () => Effect.void,
      onSome: (file) => Console.log(`ssh: installed the key for Host ${hostAlias(name)} (named in ${file})`)
    })),
    Effect.catch((e) => Console.error(`repoman: warning: ${e.message}; run 'repoman ssh-config ${name}'`))
  )

/** `new` against a remote engine: the repo is a volume there (see `NewVolumeProject`). */
const newInVolume = Effect.fnUntraced(function*(f: {
  readonly name: ProjectName
  readonly repo: Option.Option<RepoDir>
  readonly image: Option.Option<ImageRef>
  readonly profile: ReadonlyArray<ProfileName>
  readonly from: Option.Option<string>
  readonly git: Option.Option<GitUrl>
  readonly hermetic: boolean
  readonly noBackup: boolean
  readonly target: Option.Option<MemberName>
  readonly limits: ResourceLimits
}) {
  const path = yield* Path.Path
  const created = yield* newProject({
    name: f.name,
    profiles: f.profile,
    backup: !f.noBackup,
    hermetic: f.hermetic,
    ...Option.match(f.repo, { onNone: () => ({}), onSome: (repo) => ({ repo }) }),
    ...Option.match(f.image, { onNone: () => ({}), onSome: (image) => ({ image }) }),
    ...Option.match(f.from, { onNone: () => ({}), onSome: (from) => ({ from: path.resolve(from) }) }),
    ...Option.match(f.git, { onNone: () => ({}), onSome: (git) => ({ git }) }),
    ...Option.match(f.target, { onNone: () => ({}), onSome: (target) => ({ target }) }),
    limits: f.limits
  })
  if (created.storage !== "volume") return
  const { instance, project, repoPath, transfer } = created
  yield* Console.log(
    `created ${project.name}: ${project.image}, profiles ${project.profiles.join(", ")}${
      Option.match(instance.location, { onNone: () => "", onSome: (m) => `, on member ${escape(m)}` })
    }`
  )
  yield* Console.log(
    `repo ${repoPath} is a storage volume of the remote Incus, at the same path inside; ` +
      `enter with 'repoman shell ${project.name}'`
  )
  if (Option.isSome(transfer)) {
    const t = transfer.value
    yield* Console.log(
      `sent ${Option.getOrElse(f.from, () => "")}: ${t.files} files, ${t.directories} directories, ` +
        `${t.symlinks} symlinks, ${t.bytes} bytes`
    )
    for (const s of t.skipped) yield* Console.log(`skipped ${s.path}: ${s.reason}`)
  }
  if (Option.isSome(f.git)) yield* Console.log(`cloned ${f.git.value} inside (hooks disabled)`)
  yield* Console.log(`bring the tree back with 'repoman pull ${project.name} DIR'`)
})

/**
 * The `repoman new` command.
 *
 * @since 0.1.0
 */
export const newCommand = Command.make("new", flags).pipe(
  Command.withDescription("Create a project's container, with its repo mounted at the same path"),
  Command.withHandler(Effect.fnUntraced(function*(f) {
    const repoDir = Option.getOrElse(f.repo, () => RepoDir.make(f.name))
    if (f.hermetic && f.gitMode === "shared") {
      yield* Console.error(
        "repoman: --hermetic and --git-mode shared do not go together (a hermetic repo is read-only)"
      )
      return yield* new ExitCode({ code: 2 })
    }
    if (f.gitMode === "shared") {
      yield* Console.error(`repoman: warning: --git-mode shared: ${SHARED_WARNING}.`)
      if (!f.yes && (yield* (yield* Stdio.Stdio).stdinIsTerminal)) {
        if (!(yield* Prompt.Confirm({ message: `Share this repo's .git with ${f.name}?`, initial: false }))) return
      }
    }
    // A remote engine keeps the repo in a volume there: the clone is made inside.
    const local = (yield* ContainerRuntime).hostPaths
    if (!local) return yield* newInVolume({ ...f, limits: limitsFrom(f) })
    if (Option.isSome(f.from)) {
      yield* Console.error(
        "repoman: --from is for a remote Incus (the repo then lives in a volume there); " +
          "locally the repo directory under the repos root is mounted as it is"
      )
      return yield* new ExitCode({ code: 2 })
    }
    // A target the cluster cannot take is refused before the clone and the questions.
    yield* requireTarget(Option.getOrUndefined(f.target))
    if (Option.isSome(f.git)) {
      const cloned = yield* cloneForProject(f.name, repoDir, f.git.value)
      yield* Console.log(`cloned ${f.git.value} into ${cloned} (hooks disabled)`)
    }
    // The stack and its profiles are said before the container exists; at a
    // terminal, each installed one is offered (default no).
    const suggestion = yield* suggestForNew({ name: f.name, repo: repoDir, stack: f.stack, profiles: f.profile })
    const accepted: Array<ProfileName> = []
    if (Option.isSome(suggestion)) {
      const { installed, report, suggested } = suggestion.value
      for (const line of stackLines(report, suggested)) yield* Console.log(line)
      if (installed.length > 0 && !f.yes && (yield* (yield* Stdio.Stdio).stdinIsTerminal)) {
        for (const p of installed) {
          const stack = Option.getOrElse(report.chosen, () => "")
          if (yield* Prompt.Confirm({ message: `Add profile ${p} (for ${stack})?`, initial: false })) {
            accepted.push(ProfileName.make(p))
          }
        }
      }
    }
    const created = yield* newProject({
      name: f.name,
      profiles: [...f.profile, ...accepted],
      backup: !f.noBackup,
      hermetic: f.hermetic,
      gitMode: f.gitMode,
      acceptSubmoduleRisk: f.acceptSubmoduleRisk,
      ...Option.match(f.repo, { onNone: () => ({}), onSome: (repo) => ({ repo }) }),
      ...Option.match(f.image, { onNone: () => ({}), onSome: (image) => ({ image }) }),
      ...Option.match(f.target, { onNone: () => ({}), onSome: (target) => ({ target }) }),
      limits: limitsFrom(f)
    })
    if (created.storage === "volume") return
    const { project } = created
    yield* Console.log(
      `created ${project.name}: ${project.image}, profiles ${project.profiles.join(", ")}${
        Option.match(created.instance.location, { onNone: () => "", onSome: (m) => `, on member ${escape(m)}` })
      }`
    )
    yield* Console.log(
      f.hermetic
        ? `repo ${created.repo.path} is mounted read-only at ${ORIGIN}; the container works on its own clone at ` +
          `${created.repo.path}; enter with 'repoman shell ${project.name}'`
        : `repo ${created.repo.path} is mounted at the same path; enter with 'repoman shell ${project.name}'`
    )
    for (const line of sealLines(created.repo.path, project.name, created.seal)) yield* Console.log(line)
    if (Option.isSome(created.agentState)) {
      const state = created.agentState.value
      yield* Console.log(
        `agent state of this project: ${state.root} (${state.mounts.map((m) => m.path).join(", ")} inside; ` +
          `removed with the project)`
      )
      for (const note of state.notes) yield* Console.log(`note: ${note}`)
    }
    yield* renewSsh(project.name)
  }))
)
