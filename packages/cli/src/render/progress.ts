/**
 * The one-line progress bar of `sync` on a terminal, and byte sizes for
 * humans.
 * @module
 */

/** "0 B", "12.3 KB", "1.2 GB" (powers of 1024). */
export const bytes = (n: number): string => {
  const units = ["B", "KB", "MB", "GB", "TB"]
  let value = n
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit += 1
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`
}

/** The state the bar shows. */
export interface ProgressState {
  readonly projectsDone: number
  readonly projectsTotal: number
  readonly files: number
  readonly bytes: number
  readonly failed: number
}

/**
 * `[########------------]  3/10 projects  1,204 files  3.4 MB  1 failed`,
 * fitted into `width` columns.
 */
export const progressLine = (state: ProgressState, width = 80): string => {
  const ratio = state.projectsTotal === 0 ? 1 : Math.min(1, state.projectsDone / state.projectsTotal)
  const tail = `  ${state.projectsDone}/${state.projectsTotal} projects  ${
    state.files.toLocaleString("en-US")
  } files  ${bytes(state.bytes)}${state.failed > 0 ? `  ${state.failed} failed` : ""}`
  const barWidth = Math.max(10, Math.min(40, width - tail.length - 3))
  const filled = Math.round(ratio * barWidth)
  return `[${"#".repeat(filled)}${"-".repeat(barWidth - filled)}]${tail}`.slice(0, Math.max(20, width - 1))
}
