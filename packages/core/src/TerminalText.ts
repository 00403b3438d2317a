/**
 * Text from a container or a repo, made safe to print on a terminal (design
 * invariant 8): file names the agent chose can hold escape sequences, newlines,
 * bidi overrides and bytes that are not UTF-8, and printed as they are they
 * could rewrite the user's screen or disguise one name as another.
 *
 * - {@link escape} escapes control characters (C0, DEL, C1), the Unicode line
 *   and paragraph separators, bidi overrides and isolates, and the backslash,
 *   as `\xHH` or `\u{H}`; everything else is kept.
 * - {@link displayBytes} shows a *byte string* (a string whose every char is
 *   one byte of a file name, as `@repoman/core/Checkpoints` carries paths):
 *   decoded as UTF-8 where it is valid, escaped as above, and each byte of an
 *   invalid name shown as `\xHH`.
 *
 * @since 0.1.0
 */

// Control characters, the backslash, U+2028/2029, bidi embeddings/overrides and isolates.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\x00-\x1f\x7f-\x9f\\\u2028\u2029\u202a-\u202e\u2066-\u2069]/g

const hex = (code: number) => code.toString(16).padStart(2, "0")

/**
 * Escapes `text` for a terminal: control characters and the backslash as
 * `\xHH` (those above U+00FF as `\u{H}`), the rest unchanged.
 *
 * @example
 * ```ts
 * import { escape } from "@repoman/core/TerminalText"
 * escape("evil\x1b[2Jname") // "evil\\x1b[2Jname"
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const escape = (text: string): string =>
  text.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0)
    return code <= 0xff ? `\\x${hex(code)}` : `\\u{${code.toString(16)}}`
  })

const utf8 = new TextDecoder("utf-8", { fatal: true })

/**
 * Shows a byte string (one char per byte, as latin1 decodes) on a terminal:
 * valid UTF-8 is decoded and escaped with {@link escape}; a name that is not
 * valid UTF-8 is shown byte by byte, printable ASCII as is and every other
 * byte as `\xHH`.
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
  if (!/[^\x20-\x7e]/.test(bytes)) return bytes.replaceAll("\\", "\\x5c")
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
  for (const b of raw) out += b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${hex(b)}`
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
