/**
 * What rsync says, structurally: its itemized per-file lines (our
 * `--out-format`) and its exit codes.
 *
 * @since 0.1.0
 * @module
 */
import { type BackupErrorReason, Failed, InsufficientSpace, Timeout } from "@repoman/core/BackupTarget"
import type * as Duration from "effect/Duration"

/**
 * The `--out-format` repoman asks for: itemized changes, file length, name
 * (relative to the destination, so the first segment is the repo dir). rsync
 * escapes unprintable bytes in names (`\#012`), so a name is one line.
 *
 * @since 0.1.0
 * @category constants
 */
export const OUT_FORMAT = "%i|%l|%n"

/**
 * One line of rsync's itemized output.
 *
 * @since 0.1.0
 * @category models
 */
export type ItemLine =
  | { readonly _tag: "Transferred"; readonly top: string; readonly name: string; readonly bytes: number }
  | { readonly _tag: "Deleted"; readonly top: string; readonly name: string }
  | { readonly _tag: "Other"; readonly top: string; readonly name: string }

/**
 * A name as rsync prints it (unprintable bytes as `\#ooo`; with `LC_ALL=C`
 * every byte above 0x7f is one), back to its bytes: a byte string, one char
 * per byte.
 *
 * @since 0.1.0
 * @category parsing
 */
export const unescapeName = (s: string): string =>
  s.replace(/\\#([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8) & 0xff))

/**
 * Parses one line of `--out-format=%i|%l|%n` output; `undefined` for lines
 * that are not item lines (warnings, blank lines).
 *
 * - `>f...` (a file sent to the receiver) counts as transferred, with its length;
 * - `*deleting` counts as deleted;
 * - anything else (directories, attribute changes, links) is `Other`.
 *
 * @since 0.1.0
 * @category utils
 */
export const parseItemLine = (line: string): ItemLine | undefined => {
  const first = line.indexOf("|")
  const second = first < 0 ? -1 : line.indexOf("|", first + 1)
  if (first < 0 || second < 0) return undefined
  const item = line.slice(0, first)
  const length = Number(line.slice(first + 1, second))
  const name = line.slice(second + 1)
  if (name === "" || !/^(?:\*deleting|[<>ch.][fdLDS][ .+?a-zA-Z]*)\s*$/.test(item)) return undefined
  const top = name.split("/")[0] ?? name
  const bytes = unescapeName(name)
  if (item.startsWith("*deleting")) return { _tag: "Deleted", top, name: bytes }
  if (item.startsWith(">f") || item.startsWith("<f")) {
    return { _tag: "Transferred", top, name: bytes, bytes: Number.isFinite(length) ? length : 0 }
  }
  return { _tag: "Other", top, name: bytes }
}

/**
 * What `--stats` says a transfer's source holds: entries that are not
 * directories (`Number of files` less `dir:`), and `Total file size`; `undefined`
 * until both lines were seen.
 *
 * @since 0.1.0
 * @category parsing
 */
export class StatsReader {
  private files: number | undefined
  private bytes: number | undefined
  /** Reads one line of rsync's output (lines that are not stats are ignored). */
  line(line: string): void {
    const count = /^Number of files: ([\d,]+)(.*)$/.exec(line)
    if (count !== null) {
      const dirs = /dir: ([\d,]+)/.exec(count[2] ?? "")?.[1]
      this.files = Number((count[1] ?? "0").replace(/,/g, "")) - Number((dirs ?? "0").replace(/,/g, ""))
    }
    const size = /^Total file size: ([\d,]+) bytes/.exec(line)
    if (size !== null) this.bytes = Number((size[1] ?? "0").replace(/,/g, ""))
  }
  /** The totals, once both lines were seen. */
  get totals(): { readonly files: number; readonly bytes: number } | undefined {
    return this.files === undefined || this.bytes === undefined ? undefined : { files: this.files, bytes: this.bytes }
  }
}

/**
 * Whether rsync's exit code means the mirror is complete. 24 ("some files
 * vanished before they could be transferred") is normal for a repo in use.
 *
 * @since 0.1.0
 * @category utils
 */
export const succeeded = (exitCode: number): boolean => exitCode === 0 || exitCode === 24

const meanings: Readonly<Record<number, string>> = {
  1: "syntax or usage error",
  2: "protocol incompatibility",
  3: "errors selecting input/output files or dirs",
  5: "error starting client-server protocol",
  10: "error in socket I/O",
  11: "error in file I/O",
  12: "error in rsync protocol data stream",
  13: "errors with program diagnostics",
  14: "error in IPC code",
  20: "received SIGUSR1 or SIGINT",
  21: "some error returned by waitpid()",
  22: "error allocating core memory buffers",
  23: "partial transfer due to error",
  25: "the --max-delete limit stopped deletions",
  30: "timeout in data send/receive",
  35: "timeout waiting for daemon connection"
}

/**
 * Maps a failed rsync run to a reason, by exit code: 30 and 35 are
 * timeouts; anything else is `Failed` with the code, its meaning and the
 * last lines rsync printed on stderr. `ENOSPC` shows up as rsync's own error
 * number 28 in those lines, so a full disk is recognised by that (and only
 * that) code.
 *
 * @since 0.1.0
 * @category errors
 */
export const failureReason = (
  exitCode: number,
  stderr: string,
  context: { readonly location: string; readonly ioTimeout: Duration.Duration }
): BackupErrorReason => {
  if (exitCode === 30 || exitCode === 35) return new Timeout({ operation: "rsync", after: context.ioTimeout })
  const lines = stderr.split("\n").map((l) => l.trim()).filter((l) => l !== "")
  if (lines.some((l) => /\(28\)$/.test(l))) return new InsufficientSpace({ location: context.location })
  const tail = lines.filter((l) => !l.startsWith("rsync error:")).slice(-3).join("; ")
  const meaning = meanings[exitCode] ?? "failed"
  return new Failed({ detail: `rsync: ${meaning}${tail === "" ? "" : `: ${tail}`}`, exitCode })
}
