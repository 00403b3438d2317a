/** "3 minutes", "5 hours", "2 days": the rough age of something, for humans. */
export const age = (seconds: number): string => {
  const units: ReadonlyArray<readonly [string, number]> = [["day", 86_400], ["hour", 3_600], ["minute", 60]]
  for (const [unit, size] of units) {
    const n = Math.floor(seconds / size)
    if (n >= 1) return `${n} ${unit}${n === 1 ? "" : "s"}`
  }
  return `${Math.max(0, Math.floor(seconds))} seconds`
}
