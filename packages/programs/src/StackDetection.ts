/**
 * Stack detection for `new`: which languages a repo is written in, from the
 * marker files at its root (Cargo.toml, package.json, go.mod, pyproject.toml
 * / requirements.txt / setup.py, Gemfile, pom.xml / build.gradle), and which
 * one dominates when there are several, by how many source files each has.
 * The profile library's profiles named after the stack (`rust`, `rust-*`)
 * are suggested.
 *
 * @since 0.1.0
 * @module
 */
import { ConfigPaths, expandHome } from "@repoman/core/ConfigPaths"
import { ContainerRuntime } from "@repoman/core/ContainerRuntime"
import { ProfileName, type ProjectName, type RepoDir } from "@repoman/core/Ids"
import { ProfileStore } from "@repoman/core/ProfileStore"
import { Registry } from "@repoman/core/Registry"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import * as Path from "effect/Path"
import * as Schema from "effect/Schema"
import { resolveRepo } from "./RepoPath.ts"

/**
 * The stacks repoman recognises.
 *
 * @since 0.1.0
 * @category models
 */
export const Stack = Schema.Literals(["rust", "node", "go", "python", "ruby", "java"])
/**
 * The type of {@link Stack}.
 *
 * @since 0.1.0
 * @category models
 */
export type Stack = typeof Stack.Type

/**
 * What marks each stack at the repo root, and the extensions of its source
 * files.
 *
 * @since 0.1.0
 * @category utils
 */
export const stackSignals: Readonly<
  Record<Stack, { readonly markers: ReadonlyArray<string>; readonly extensions: ReadonlyArray<string> }>
> = {
  rust: { markers: ["Cargo.toml"], extensions: [".rs"] },
  node: { markers: ["package.json"], extensions: [".js", ".mjs", ".cjs", ".ts", ".mts", ".cts", ".jsx", ".tsx"] },
  go: { markers: ["go.mod"], extensions: [".go"] },
  python: { markers: ["pyproject.toml", "requirements.txt", "setup.py"], extensions: [".py"] },
  ruby: { markers: ["Gemfile"], extensions: [".rb"] },
  java: { markers: ["pom.xml", "build.gradle", "build.gradle.kts"], extensions: [".java", ".kt", ".kts"] }
}

/** Directories that hold dependencies or build output, not the project's sources. */
const skipped: ReadonlySet<string> = new Set([
  ".git",
  "node_modules",
  "target",
  "vendor",
  "dist",
  "build",
  ".venv",
  "venv",
  "__pycache__",
  ".gradle"
])

/** The walk stops counting after this many entries. */
const maxEntries = 50_000

/**
 * One stack found in a repo: the markers present and the source files counted.
 *
 * @since 0.1.0
 * @category models
 */
export interface FoundStack {
  readonly stack: Stack
  readonly markers: ReadonlyArray<string>
  readonly files: number
}

/**
 * The outcome of detection: every stack found (most files first), the one
 * chosen and why, and the library's profiles matching it.
 *
 * @since 0.1.0
 * @category models
 */
export interface StackReport {
  readonly found: ReadonlyArray<FoundStack>
  readonly chosen: Option.Option<Stack>
  /** `flag`: `--stack`; `only`: the one found; `dominant`: most source files of several. */
  readonly reason: "flag" | "only" | "dominant" | "none"
  readonly profiles: ReadonlyArray<string>
}

/**
 * Counts the source files of each stack under `root`, skipping dependency
 * and build directories and symlinks.
 */
const countFiles = (root: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const counts = new Map<string, number>()
    const queue = [root]
    let seen = 0
    while (queue.length > 0 && seen < maxEntries) {
      const dir = queue.shift() ?? root
      const entries = yield* fs.readDirectory(dir).pipe(Effect.orElseSucceed(() => []))
      for (const entry of entries) {
        seen++
        const full = path.join(dir, entry)
        const info = yield* fs.stat(full).pipe(Effect.option)
        if (Option.isNone(info)) continue
        const isLink = yield* fs.readLink(full).pipe(Effect.as(true), Effect.orElseSucceed(() => false))
        if (isLink) continue
        if (info.value.type === "Directory") {
          if (!skipped.has(entry)) queue.push(full)
        } else if (info.value.type === "File") {
          const ext = path.extname(entry)
          counts.set(ext, (counts.get(ext) ?? 0) + 1)
        }
      }
    }
    return counts
  })

/**
 * Detects the stacks of the repo at `root`. Never fails: an unreadable repo
 * has no stacks.
 *
 * @since 0.1.0
 * @category programs
 */
export const detectStacks = Effect.fn("detectStacks")(function*(root: string) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const found: Array<FoundStack> = []
  let counts: Map<string, number> | undefined
  for (const stack of Stack.literals) {
    const signals = stackSignals[stack]
    const markers: Array<string> = []
    for (const marker of signals.markers) {
      if (yield* fs.exists(path.join(root, marker)).pipe(Effect.orElseSucceed(() => false))) markers.push(marker)
    }
    if (markers.length === 0) continue
    counts ??= yield* countFiles(root)
    const files = signals.extensions.reduce((n, ext) => n + (counts?.get(ext) ?? 0), 0)
    found.push({ stack, markers, files })
  }
  // Most files first; ties keep the order of `Stack`.
  return found.sort((a, b) => b.files - a.files) as ReadonlyArray<FoundStack>
})

/**
 * The library profiles for a stack: the one named after it and `<stack>-*`.
 *
 * @since 0.1.0
 * @category utils
 */
export const profilesFor = (stack: Stack, names: ReadonlyArray<string>): ReadonlyArray<string> =>
  names.filter((n) => n === stack || n.startsWith(`${stack}-`))

/**
 * Detection for `new`: the stacks of the (already checked) repo directory
 * `root`, the chosen one (`--stack` wins) and the matching library profiles
 * (when a ProfileStore is part of the environment).
 *
 * @since 0.1.0
 * @category programs
 */
export const detectForProject = Effect.fn("detectForProject")(
  function*(root: string, override: Option.Option<Stack>) {
    const found = yield* detectStacks(root)
    const [first] = found
    const chosen = Option.isSome(override) ? override : Option.fromNullishOr(first?.stack)
    const reason: StackReport["reason"] = Option.isSome(override)
      ? "flag"
      : found.length === 0
      ? "none"
      : found.length === 1
      ? "only"
      : "dominant"
    if (Option.isNone(chosen)) return { found, chosen, reason, profiles: [] } satisfies StackReport
    // The library is read only when there is a stack to suggest profiles for.
    const store = yield* ProfileStore
    const names = (yield* store.list().pipe(Effect.orElseSucceed(() => []))).map((e) => e.name as string)
    return { found, chosen, reason, profiles: profilesFor(chosen.value, names) } satisfies StackReport
  }
)

/**
 * What `new` suggests before it creates a project: the stack report of its
 * repo, and the stack's library profiles the project would not get anyway
 * (not given with `-p`, not in the registry's defaults or the project's
 * override), with those installed (which can be added right away) apart.
 *
 * @since 0.1.0
 * @category models
 */
export interface StackSuggestion {
  readonly report: StackReport
  /** The stack's library profiles the project would not get. */
  readonly suggested: ReadonlyArray<string>
  /** Those of `suggested` installed in the namespace. */
  readonly installed: ReadonlyArray<string>
}

/**
 * The suggestion for a new project whose repo is `repo` (under the repos
 * root) and which is given `profiles`. `None` when there is nothing to say
 * about the repo yet: no registry, or a repo that `new` will refuse (it
 * says why itself).
 *
 * @since 0.1.0
 * @category programs
 */
export const suggestForNew = Effect.fn("suggestForNew")(function*(options: {
  readonly name: ProjectName
  readonly repo: RepoDir
  readonly stack: Option.Option<Stack>
  readonly profiles: ReadonlyArray<string>
}) {
  const registry = yield* Registry
  const runtime = yield* ContainerRuntime
  const { home } = yield* ConfigPaths
  const found = yield* Effect.gen(function*() {
    const document = yield* registry.load
    const override = yield* registry.getOverride(options.name)
    const repo = yield* resolveRepo(expandHome(document.defaults.reposRoot, home), options.repo)
    return { document, override, repo }
  }).pipe(Effect.option)
  if (Option.isNone(found)) return Option.none<StackSuggestion>()
  const { document, override, repo } = found.value
  const report = yield* detectForProject(repo.real, options.stack)
  const given = new Set<string>([
    ...options.profiles,
    ...document.defaults.profiles,
    ...Option.match(override, { onNone: () => [], onSome: (o) => o.container.profiles })
  ])
  const suggested = report.profiles.filter((p) => !given.has(p))
  const installed = yield* Effect.filter(suggested, (p) =>
    Schema.decodeUnknownEffect(ProfileName)(p).pipe(
      Effect.flatMap((name) => runtime.getProfile(name)),
      Effect.as(true),
      Effect.orElseSucceed(() => false)
    ))
  return Option.some<StackSuggestion>({ report, suggested, installed })
})
