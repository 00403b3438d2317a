/**
 * The deletion guard of a sync (design invariant 9): an agent that runs
 * `rm -rf ./*` must not take the backup with it. A sync that would delete
 * more than a share of the backup's files, or of its bytes, stops and names
 * what it would delete, unless the user allows it (`--allow-deletions`).
 *
 * - Below `minFiles` deleted files the share of files does not count (a
 *   tiny repo loses a large share with one file); the share of bytes still
 *   does.
 * - An empty backup loses nothing.
 *
 * Pure: the backup target works out what would go (rsync's dry run, say)
 * and asks {@link judge}.
 *
 * @since 0.1.0
 * @module
 */

/**
 * How much a sync may delete without the user's word.
 *
 * @since 0.1.0
 * @category models
 */
export interface DeletionPolicy {
  /** Refuse above this share (in percent) of the files, or of the bytes. */
  readonly maxPercent: number
  /** Fewer deleted files than this never count by the share of files. */
  readonly minFiles: number
}

/**
 * The default: 30 %, 20 files.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultPolicy: DeletionPolicy = { maxPercent: 30, minFiles: 20 }

/**
 * Files and bytes.
 *
 * @since 0.1.0
 * @category models
 */
export interface Amount {
  readonly files: number
  readonly bytes: number
}

/**
 * The guard's answer: go ahead, or refuse and say why (`by` is what went
 * over: the share of files or of bytes, in percent).
 *
 * @since 0.1.0
 * @category models
 */
export type Verdict =
  | { readonly _tag: "Allow" }
  | { readonly _tag: "Refuse"; readonly by: "files" | "bytes"; readonly percent: number }

const share = (part: number, whole: number) => (whole <= 0 ? 0 : (100 * part) / whole)

/**
 * Judges a sync that would delete `deleted` of a backup holding `backup`.
 *
 * @example
 * ```ts
 * import { defaultPolicy, judge } from "@repoman/core/DeletionGuard"
 * judge({ files: 400, bytes: 9e6 }, { files: 401, bytes: 9.1e6 }, defaultPolicy) // Refuse by files
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const judge = (deleted: Amount, backup: Amount, policy: DeletionPolicy): Verdict => {
  if (deleted.files <= 0 || backup.files <= 0) return { _tag: "Allow" }
  const files = share(Math.min(deleted.files, backup.files), backup.files)
  const bytes = share(Math.min(deleted.bytes, backup.bytes), backup.bytes)
  if (deleted.files >= policy.minFiles && files > policy.maxPercent) {
    return { _tag: "Refuse", by: "files", percent: files }
  }
  if (bytes > policy.maxPercent) return { _tag: "Refuse", by: "bytes", percent: bytes }
  return { _tag: "Allow" }
}
