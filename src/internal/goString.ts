/**
 * Go's strings as fleetd holds and prints them: bytes that are not valid UTF-8 kept (not replaced), Go's `len`,
 * `strconv.Quote` and `QuoteRune` (`%q`), and Go's byte-wise string order.
 *
 * @since 0.2.0
 * @internal
 */
import { isUtf8 } from "node:buffer"

const hexDigit = (code: number): string => "0123456789abcdef"[code & 0xf]!

const isPrintable = (codePoint: number): boolean => {
  if (codePoint < 0x20 || codePoint === 0x7f) return false
  if (codePoint >= 0x80 && codePoint < 0xa0) return false
  if (codePoint >= 0xd800 && codePoint < 0xe000) return false
  return /[\p{L}\p{M}\p{N}\p{P}\p{S}\u0020]/u.test(String.fromCodePoint(codePoint))
}

/**
 * Whether a UTF-16 code unit is a byte kept by {@link decodeBytes}: a byte that is not valid UTF-8 is carried as a lone
 * low surrogate U+DC80..U+DCFF (no valid UTF-8 decodes to one).
 *
 * @since 0.2.0
 * @internal
 */
export const isEscapedByte = (code: number): boolean => code >= 0xdc80 && code <= 0xdcff

const continuation = (byte: number | undefined): boolean => byte !== undefined && byte >= 0x80 && byte <= 0xbf

/** The length of the valid UTF-8 sequence at `at` by Go's `utf8.DecodeRune` rules, or 0 when it is invalid. */
const sequenceLength = (bytes: Uint8Array, at: number): number => {
  const lead = bytes[at]!
  if (lead < 0x80) return 1
  const second = bytes[at + 1]
  if (lead >= 0xc2 && lead <= 0xdf) return continuation(second) ? 2 : 0
  if (lead >= 0xe0 && lead <= 0xef) {
    const low = lead === 0xe0 ? 0xa0 : 0x80
    const high = lead === 0xed ? 0x9f : 0xbf
    return second !== undefined && second >= low && second <= high && continuation(bytes[at + 2]) ? 3 : 0
  }
  if (lead >= 0xf0 && lead <= 0xf4) {
    const low = lead === 0xf0 ? 0x90 : 0x80
    const high = lead === 0xf4 ? 0x8f : 0xbf
    const ok = second !== undefined && second >= low && second <= high
    return ok && continuation(bytes[at + 2]) && continuation(bytes[at + 3]) ? 4 : 0
  }
  return 0
}

/**
 * Bytes as a Go string holds them: valid UTF-8 decoded, and each byte of an invalid sequence kept (as U+DC80..U+DCFF)
 * instead of being replaced. So a request body's syntax error names the byte itself and its strings turn each one
 * into U+FFFD, as Go's JSON decoder does, and an unescaped URL path keeps its bytes for `len` and `%q`.
 *
 * @since 0.2.0
 * @internal
 */
export const decodeBytes = (bytes: Uint8Array): string => {
  if (isUtf8(bytes)) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8")
  let out = ""
  let start = 0
  let at = 0
  while (at < bytes.length) {
    const length = sequenceLength(bytes, at)
    if (length > 0) {
      at += length
      continue
    }
    out += Buffer.from(bytes.subarray(start, at)).toString("utf8") + String.fromCharCode(0xdc00 + bytes[at]!)
    at += 1
    start = at
  }
  return out + Buffer.from(bytes.subarray(start)).toString("utf8")
}

/**
 * The bytes of a string decoded by {@link decodeBytes}, kept invalid bytes restored.
 *
 * @since 0.2.0
 * @internal
 */
export const encodeBytes = (text: string): Uint8Array => {
  if (!/[\udc80-\udcff]/.test(text)) return Buffer.from(text, "utf8")
  const parts: Array<Uint8Array> = []
  let start = 0
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    // Only a lone low surrogate is a kept byte; the second half of a pair is not.
    if (isEscapedByte(code) && !(i > 0 && text.charCodeAt(i - 1) >= 0xd800 && text.charCodeAt(i - 1) <= 0xdbff)) {
      parts.push(Buffer.from(text.slice(start, i), "utf8"), Uint8Array.of(code - 0xdc00))
      start = i + 1
    }
  }
  parts.push(Buffer.from(text.slice(start), "utf8"))
  return Buffer.concat(parts)
}

/**
 * Go's `len` of a string decoded by {@link decodeBytes}: its UTF-8 bytes, a kept invalid byte counting one.
 *
 * @since 0.2.0
 * @internal
 */
export const byteLength = (text: string): number => {
  let kept = 0
  for (let i = 0; i < text.length; i++) if (isEscapedByte(text.charCodeAt(i))) kept++
  // Buffer.byteLength counts a lone surrogate as the three bytes of U+FFFD.
  return Buffer.byteLength(text) - 2 * kept
}

const quoteRuneBody = (codePoint: number, quote: string): string => {
  // A kept invalid byte: %q of a string prints it as \xNN; ranging over a string yields it as U+FFFD.
  if (isEscapedByte(codePoint)) return quote === '"' ? "\\x" + hexDigit(codePoint >> 4) + hexDigit(codePoint) : "\ufffd"
  const char = String.fromCodePoint(codePoint)
  if (char === quote || char === "\\") return "\\" + char
  if (isPrintable(codePoint)) return char
  switch (char) {
    case "\x07":
      return "\\a"
    case "\b":
      return "\\b"
    case "\f":
      return "\\f"
    case "\n":
      return "\\n"
    case "\r":
      return "\\r"
    case "\t":
      return "\\t"
    case "\v":
      return "\\v"
  }
  if (codePoint < 0x20 || codePoint === 0x7f) return "\\x" + hexDigit(codePoint >> 4) + hexDigit(codePoint)
  if (codePoint >= 0xd800 && codePoint < 0xe000) return "\\ufffd"
  if (codePoint > 0xffff) return "\\U" + codePoint.toString(16).padStart(8, "0")
  return "\\u" + codePoint.toString(16).padStart(4, "0")
}

/**
 * Go's `%q` of a string (`strconv.Quote`).
 *
 * @since 0.1.0
 * @internal
 */
export const quote = (text: string): string => {
  let out = '"'
  for (const char of text) out += quoteRuneBody(char.codePointAt(0)!, '"')
  return out + '"'
}

/**
 * Go's `%q` of a rune (`strconv.QuoteRune`).
 *
 * @since 0.1.0
 * @internal
 */
export const quoteRune = (char: string): string => "'" + quoteRuneBody(char.codePointAt(0)!, "'") + "'"

/**
 * Byte-wise (UTF-8) comparison of two strings, Go's string order.
 *
 * @since 0.1.0
 * @internal
 */
export const compareBytes = (a: string, b: string): number => {
  if (a === b) return 0
  // UTF-16 order only differs from UTF-8 order around surrogates; stay exact there.
  if (/[\ud800-\uffff]/.test(a) || /[\ud800-\uffff]/.test(b)) return Buffer.compare(Buffer.from(a), Buffer.from(b))
  return a < b ? -1 : 1
}
