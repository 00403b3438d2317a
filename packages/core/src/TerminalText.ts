/**
 * Text from a container or a repo, made safe to print on a terminal.
 *
 * Everything a container writes (file names, ref names, a command's stderr,
 * patch names) is attacker input to the host. Printed raw, an escape
 * sequence in it can rewrite the screen, set the window title, hide a line
 * or (on some terminals) answer back into the shell. {@link escape} turns
 * every character a terminal would act on into a visible escape, so what
 * the user reads is what is there:
 *
 * - C0 controls (`\x00`-`\x1f`, ESC and BEL among them), DEL and the C1
 *   controls (`\x80`-`\x9f`) become `\xHH` (`\t`, `\n`, `\r` keep their
 *   short forms);
 * - characters that reorder or hide text (bidirectional overrides and
 *   isolates, zero-width characters, line and paragraph separators, the
 *   byte order mark) and lone surrogates become `\u{HHHH}`;
 * - a backslash becomes `\\`, so an escape in the output always means an
 *   escape was made.
 *
 * JSON output needs none of this: JSON's own string escaping already makes
 * every control character visible, so `--json` prints values as they are.
 * Programs return such text as it is; the CLI escapes it where it prints it
 * (every error line, every status, patch and ref line).
 *
 * @example
 * ```ts
 * import * as TerminalText from "@repoman/core/TerminalText"
 * TerminalText.escape("feature\x1b]0;owned\x07")   // "feature\\x1b]0;owned\\x07"
 * TerminalText.escapeLines("line 1\nline\x1b[2K 2") // "line 1\nline\\x1b[2K 2"
 * ```
 *
 * @since 0.1.0
 * @module
 */

const hex2 = (code: number) => `\\x${code.toString(16).padStart(2, "0")}`

/** Characters that reorder or hide text without being control characters. */
const invisible = (code: number): boolean =>
  (code >= 0x200b && code <= 0x200f) || // zero-width space/joiners, LRM, RLM
  (code >= 0x2028 && code <= 0x202e) || // line/paragraph separators, bidi embeddings and overrides
  (code >= 0x2060 && code <= 0x2069) || // word joiner, invisible operators, bidi isolates
  code === 0x061c || // Arabic letter mark
  code === 0xfeff // byte order mark

const escapeChar = (char: string, keepNewline: boolean): string => {
  const code = char.codePointAt(0) ?? 0
  if (char === "\\") return "\\\\"
  if (char === "\n") return keepNewline ? "\n" : "\\n"
  if (char === "\t") return "\\t"
  if (char === "\r") return "\\r"
  if (code < 0x20 || code === 0x7f || (code >= 0x80 && code <= 0x9f)) return hex2(code)
  if (invisible(code) || (code >= 0xd800 && code <= 0xdfff)) return `\\u{${code.toString(16)}}`
  return char
}

// Matching control characters is the point here.
// oxlint-disable-next-line no-control-regex
const needsEscape = /[\\\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]/

const escapeWith = (text: string, keepNewline: boolean): string => {
  if (!needsEscape.test(text)) return text
  let out = ""
  // Iterating a string by code point keeps surrogate pairs (emoji) whole;
  // a lone surrogate comes through on its own and is escaped.
  for (const char of text) out += escapeChar(char, keepNewline)
  return out
}

/**
 * One value on one line: every control and invisible character escaped,
 * newlines included.
 *
 * @since 0.1.0
 * @category escaping
 */
export const escape = (text: string): string => escapeWith(text, false)

/**
 * A block of lines (a command's stderr, say): like {@link escape}, but `\n`
 * stays a line break.
 *
 * @since 0.1.0
 * @category escaping
 */
export const escapeLines = (text: string): string => escapeWith(text, true)

/**
 * The first line of what a command printed, cut to `max` characters (with
 * `…` when cut), for a one-line message quoting it. It is not escaped: the
 * message is, where it is printed.
 *
 * @since 0.1.0
 * @category escaping
 */
export const firstLine = (text: string, max = 200): string => {
  const line = text.trim().split("\n")[0] ?? ""
  return line.length > max ? `${line.slice(0, max)}…` : line
}

const utf8 = new TextDecoder("utf-8", { fatal: true })

/**
 * Shows a byte string (one char per byte, as latin1 decodes: how
 * `@repoman/core/Checkpoints` carries file names, which need not be UTF-8)
 * on a terminal: valid UTF-8 is decoded and escaped with {@link escape}; a
 * name that is not valid UTF-8 is shown byte by byte, printable ASCII as it
 * is (a backslash as `\\`) and every other byte as `\xHH`.
 *
 * @example
 * ```ts
 * import { displayBytes } from "@repoman/core/TerminalText"
 * displayBytes("caf\xc3\xa9")  // "café"
 * displayBytes("bad\xff\n")    // "bad\\xff\\x0a"
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const displayBytes = (bytes: string): string => {
  // oxlint-disable-next-line no-control-regex
  if (!/[^\x20-\x7e]/.test(bytes)) return escape(bytes)
  const raw = new Uint8Array(bytes.length)
  for (let i = 0; i < bytes.length; i++) raw[i] = bytes.charCodeAt(i) & 0xff
  let text: string | undefined
  try {
    text = utf8.decode(raw)
  } catch {
    text = undefined
  }
  if (text !== undefined) return escape(text)
  let out = ""
  for (const b of raw) {
    out += b === 0x5c ? "\\\\" : b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : hex2(b)
  }
  return out
}

/**
 * The byte string of a text (its UTF-8 bytes, one char per byte): how a
 * name typed by the user is matched against the names of a checkpoint.
 *
 * @since 0.1.0
 * @category utils
 */
export const toBytes = (text: string): string => {
  let out = ""
  for (const b of new TextEncoder().encode(text)) out += String.fromCharCode(b)
  return out
}
