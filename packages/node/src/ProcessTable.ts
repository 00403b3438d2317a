/**
 * What `/proc` says about host processes, for lock files that must tell a
 * live holder from a dead one whose pid was reused, and for ending a process
 * group a dead repoman left behind (an orphaned rsync).
 *
 * A process is identified by its pid *and* its start time (field 22 of
 * `/proc/<pid>/stat`, clock ticks since boot): a pid alone is reused.
 *
 * Synchronous on purpose: each call is one or a few reads of `/proc`.
 *
 * @since 0.1.0
 * @module
 */
import * as fs from "node:fs"

/**
 * A process as a lock file records it.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProcessRef {
  readonly pid: number
  /** Field 22 of /proc/<pid>/stat. */
  readonly start: string
}

const statFields = (pid: number): Array<string> | undefined => {
  let text: string
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
  } catch {
    return undefined
  }
  // The command name (field 2) may hold spaces and parentheses: fields resume after the last ")".
  return text.slice(text.lastIndexOf(")") + 2).split(" ")
}

/**
 * The start time of `pid` (clock ticks since boot), or `undefined` when no
 * such process runs (a zombie counts as gone).
 *
 * @since 0.1.0
 * @category utils
 */
export const startTime = (pid: number): string | undefined => {
  const fields = statFields(pid)
  if (fields === undefined || fields[0] === "Z" || fields[0] === "X") return undefined
  return fields[19]
}

/**
 * This process, as a lock file records it.
 *
 * @since 0.1.0
 * @category utils
 */
export const self = (): ProcessRef => ({ pid: process.pid, start: startTime(process.pid) ?? "" })

/**
 * Whether the process `ref` names still runs: the pid exists and started at
 * the recorded time (a reused pid does not count).
 *
 * @since 0.1.0
 * @category utils
 */
export const isRunning = (ref: ProcessRef): boolean => {
  const start = startTime(ref.pid)
  return start !== undefined && (ref.start === "" || start === ref.start)
}

/**
 * The live members of process group `pgid`.
 *
 * @since 0.1.0
 * @category utils
 */
export const groupMembers = (pgid: number): ReadonlyArray<number> => {
  const out: Array<number> = []
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    const fields = statFields(Number(entry))
    if (fields !== undefined && Number(fields[2]) === pgid && fields[0] !== "Z") out.push(Number(entry))
  }
  return out
}

/**
 * Sends `signal` to every process of group `pgid`; `false` when there is
 * no such group (or it is not ours to signal).
 *
 * @since 0.1.0
 * @category utils
 */
export const signalGroup = (pgid: number, signal: NodeJS.Signals): boolean => {
  if (!Number.isInteger(pgid) || pgid <= 1) return false
  try {
    process.kill(-pgid, signal)
    return true
  } catch {
    return false
  }
}
