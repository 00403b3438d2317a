/**
 * The header of a git bundle that a container made, read by repoman itself.
 *
 * `repoman fetch` brings an agent's commits to the host as a bundle made
 * inside the container. git's own `bundle list-heads` and `verify` print
 * ref names as they are (escape sequences included), and the bundle is
 * attacker input, so repoman parses the header here and keeps only what it
 * would fetch: branch refs (`refs/heads/...`) whose names pass git's
 * `check-ref-format` rules and have no control, space or non-ASCII bytes,
 * with well-formed object ids. Everything else is reported as rejected (its
 * name as it is: escape it with `TerminalText` before printing).
 *
 * Format (gitformat-bundle(5)): a signature line (`# v2 git bundle`; v3
 * adds capability lines, which repoman does not accept), prerequisite lines
 * (`-<oid> <comment>`), reference lines (`<oid> <refname>`), an empty line,
 * then the pack.
 *
 * @since 0.1.0
 * @module
 */
/**
 * The most bytes of a header repoman reads before giving up on finding its
 * end.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_HEADER_BYTES = 1024 * 1024

/**
 * The most references a header may list.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_REFS = 10_000

/**
 * A reference the bundle carries that repoman will fetch.
 *
 * @since 0.1.0
 * @category models
 */
export interface BundleRef {
  readonly oid: string
  /** The full name, `refs/heads/<branch>`. */
  readonly name: string
  /** The branch: the name without `refs/heads/`. */
  readonly branch: string
}

/**
 * A reference line repoman will not fetch: its name as the bundle has it
 * (each byte one character; escape it before printing), and why.
 *
 * @since 0.1.0
 * @category models
 */
export interface RejectedRef {
  readonly name: string
  readonly reason: string
}

/**
 * A parsed header: the references to fetch, the ones rejected, the
 * prerequisite commits, and where the pack starts.
 *
 * @since 0.1.0
 * @category models
 */
export interface BundleHeader {
  readonly refs: ReadonlyArray<BundleRef>
  readonly rejected: ReadonlyArray<RejectedRef>
  readonly prerequisites: ReadonlyArray<string>
  readonly packOffset: number
}

/**
 * Why a header cannot be used at all (not a v2 bundle, no end, too many refs).
 *
 * @since 0.1.0
 * @category models
 */
export interface HeaderProblem {
  readonly problem: string
}

const OID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/

/**
 * Whether `oid` is a full object id (40 hex digits for SHA-1, 64 for SHA-256).
 *
 * @since 0.1.0
 * @category validation
 */
export const isObjectId = (oid: string): boolean => OID.test(oid)

/**
 * Why `name` is not a branch ref repoman will write, or `undefined` when it
 * is one. The rules are git's `check-ref-format` ones, plus: only printable
 * ASCII, under `refs/heads/`, and the last component not `HEAD`.
 *
 * @example
 * ```ts
 * import { branchRefProblem } from "@repoman/core/GitBundle"
 * branchRefProblem("refs/heads/feature/x")   // undefined
 * branchRefProblem("refs/heads/a/../b")      // "has a '..' or a component starting with '.'"
 * ```
 *
 * @since 0.1.0
 * @category validation
 */
export const branchRefProblem = (name: string): string | undefined => {
  if (!name.startsWith("refs/heads/")) return "not a branch (refs/heads/...)"
  if (!/^[\x21-\x7e]+$/.test(name)) return "has a control, space or non-ASCII character"
  if (/[~^:?*[\\]/.test(name)) return "has one of ~ ^ : ? * [ \\"
  if (name.includes("..") || name.includes("@{")) return "has '..' or '@{'"
  if (name.endsWith("/") || name.endsWith(".") || name.includes("//")) return "has an empty component or ends with '.'"
  const parts = name.split("/")
  if (parts.some((p) => p.startsWith(".") || p.endsWith(".lock"))) {
    return "has a component starting with '.' or ending with '.lock'"
  }
  if (parts.at(-1) === "HEAD") return "its last component is HEAD"
  if (name === "refs/heads/@") return "is '@'"
  return undefined
}

const newline = 0x0a

/**
 * Parses the header at the start of `bytes` (which may hold the whole
 * bundle or only its first {@link MAX_HEADER_BYTES} bytes).
 *
 * @example
 * ```ts
 * import { parseHeader } from "@repoman/core/GitBundle"
 * const header = parseHeader(new TextEncoder().encode(
 *   "# v2 git bundle\n" + "a".repeat(40) + " refs/heads/main\n\nPACK"
 * ))
 * ```
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseHeader = (bytes: Uint8Array): BundleHeader | HeaderProblem => {
  // The header ends at the first empty line: "\n\n".
  let end = -1
  const limit = Math.min(bytes.length, MAX_HEADER_BYTES)
  for (let i = 0; i + 1 < limit; i++) {
    if (bytes[i] === newline && bytes[i + 1] === newline) {
      end = i
      break
    }
  }
  if (end < 0) return { problem: "no end of the bundle header within the first MiB" }
  const text = new TextDecoder("latin1").decode(bytes.subarray(0, end))
  const [signature, ...lines] = text.split("\n")
  if (signature !== "# v2 git bundle") {
    return { problem: `not a v2 git bundle (it starts with "${signature ?? ""}")` }
  }
  if (lines.length > MAX_REFS) return { problem: `more than ${MAX_REFS} lines in the bundle header` }
  const refs: Array<BundleRef> = []
  const rejected: Array<RejectedRef> = []
  const prerequisites: Array<string> = []
  const seen = new Set<string>()
  for (const line of lines) {
    if (line.startsWith("-")) {
      const oid = line.slice(1).split(" ")[0] ?? ""
      if (!isObjectId(oid)) return { problem: "a prerequisite line has no valid object id" }
      prerequisites.push(oid)
      continue
    }
    const space = line.indexOf(" ")
    const oid = space < 0 ? line : line.slice(0, space)
    const name = space < 0 ? "" : line.slice(space + 1)
    if (!isObjectId(oid)) {
      rejected.push({ name: line, reason: "no valid object id" })
      continue
    }
    const problem = branchRefProblem(name)
    if (problem !== undefined) {
      rejected.push({ name, reason: problem })
      continue
    }
    if (seen.has(name)) {
      rejected.push({ name, reason: "listed twice" })
      continue
    }
    seen.add(name)
    refs.push({ oid, name, branch: name.slice("refs/heads/".length) })
  }
  return { refs, rejected, prerequisites, packOffset: end + 2 }
}

/**
 * Whether a parse gave a usable header.
 *
 * @since 0.1.0
 * @category parsing
 */
export const isHeader = (result: BundleHeader | HeaderProblem): result is BundleHeader => "refs" in result
