/**
 * Where the log of a `repoman` run goes: warnings and errors the libraries
 * log (a stale registry lock taken over, orphaned rsyncs ended) as one
 * escaped line each on stderr, `repoman: warning: ...`, never on stdout
 * (`--json` output stays JSON). Lower levels are not shown.
 *
 * @since 0.1.0
 * @module
 */
import { escapeLines } from "@repoman/core/TerminalText"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"

const text = (message: unknown): string => Array.isArray(message) ? message.map(String).join(" ") : String(message)

/**
 * The CLI's logger, replacing Effect's default one.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<never> = Logger.layer([
  Logger.make(({ logLevel, message }) => {
    if (logLevel === "None" || logLevel === "All" || !LogLevel.isGreaterThanOrEqualTo(logLevel, "Warn")) return
    const label = LogLevel.isGreaterThanOrEqualTo(logLevel, "Error") ? "error" : "warning"
    process.stderr.write(`repoman: ${label}: ${escapeLines(text(message))}\n`)
  })
])
