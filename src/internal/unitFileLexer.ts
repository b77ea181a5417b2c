/**
 * A port of go-systemd's unit file lexer (`unit/deserialize.go`), step for step, over the UTF-8 bytes of the text.
 *
 * The line length check runs between lexer steps and only when Go's `bufio.Reader` (4096 bytes over a
 * `strings.Reader`) holds at least 2048 unread bytes, so whether a long line is caught depends on where it falls in
 * that buffer. fleet validates units with exactly this code, so the reader's buffering is modelled here too.
 *
 * @since 0.1.0
 * @internal
 */

/**
 * One option of a unit file: its section, name and value as go-systemd reads them.
 *
 * @since 0.2.0
 * @internal
 */
export interface LexedOption {
  readonly section: string
  readonly name: string
  readonly value: string
}

/**
 * What lexing a unit file gives: its options, or go-systemd's error message.
 *
 * @since 0.2.0
 * @internal
 */
export type LexResult =
  | { readonly _tag: "Success"; readonly options: ReadonlyArray<LexedOption> }
  | { readonly _tag: "Failure"; readonly message: string }

/**
 * go-systemd's `SYSTEMD_LINE_MAX`.
 *
 * @since 0.2.0
 * @internal
 */
export const lineMax = 2048

/**
 * go-systemd's error for a line over {@link lineMax}.
 *
 * @since 0.2.0
 * @internal
 */
export const lineTooLongMessage = `line too long (max ${lineMax} bytes)`

const bufferSize = 4096
const LF = 0x0a
const CR = 0x0d
const BACKSLASH = 0x5c
const SPACE = 0x20

const encoder = new TextEncoder()
// A leading U+FEFF is data here, not a byte order mark to drop.
const decoder = new TextDecoder("utf-8", { ignoreBOM: true })

/**
 * Go's `unicode.IsSpace`, which `strings.TrimSpace` and `bytes.TrimSpace` also use.
 *
 * @since 0.2.0
 * @internal
 */
export const isGoSpace = (codePoint: number): boolean => {
  if (codePoint <= 0xff) {
    return (codePoint >= 0x09 && codePoint <= 0x0d) || codePoint === 0x20 || codePoint === 0x85 || codePoint === 0xa0
  }
  return (
    codePoint === 0x1680 ||
    (codePoint >= 0x2000 && codePoint <= 0x200a) ||
    codePoint === 0x2028 ||
    codePoint === 0x2029 ||
    codePoint === 0x202f ||
    codePoint === 0x205f ||
    codePoint === 0x3000
  )
}

/**
 * Go's `strings.TrimSpace` (JavaScript's `trim` differs on U+0085 and U+FEFF).
 *
 * @since 0.2.0
 * @internal
 */
export const goTrimSpace = (text: string): string => {
  let start = 0
  let end = text.length
  while (start < end) {
    const codePoint = text.codePointAt(start)!
    if (!isGoSpace(codePoint)) break
    start += codePoint > 0xffff ? 2 : 1
  }
  while (end > start) {
    const codePoint = text.charCodeAt(end - 1)
    // Every Go space is in the BMP, so a trailing surrogate never is one.
    if (!isGoSpace(codePoint)) break
    end -= 1
  }
  return text.slice(start, end)
}

const runeLength = (lead: number): number => (lead < 0x80 ? 1 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : 4)

// A model of Go's bufio.Reader reading a strings.Reader: positions are absolute offsets into `bytes`, and `end` is
// how far the underlying reader has been drained, so `end - pos` is `Buffered()`.
class Reader {
  readonly bytes: Uint8Array
  pos = 0
  end = 0
  lastRuneSize = 0

  constructor(bytes: Uint8Array) {
    this.bytes = bytes
  }

  buffered(): number {
    return this.end - this.pos
  }

  // bufio slides unread bytes to the front of its buffer, then one Read fills the rest of it.
  fill(): void {
    this.end = Math.min(this.pos + bufferSize, this.bytes.length)
  }

  atEof(): boolean {
    return this.end === this.bytes.length
  }

  hasFullRune(): boolean {
    const buffered = this.buffered()
    return buffered > 0 && buffered >= runeLength(this.bytes[this.pos]!)
  }

  /** The next code point, or -1 at the end of the input. */
  readRune(): number {
    while (this.buffered() < 4 && !this.hasFullRune() && !this.atEof() && this.buffered() < bufferSize) {
      this.fill()
    }
    if (this.buffered() === 0) return -1
    const lead = this.bytes[this.pos]!
    const size = runeLength(lead)
    let codePoint = lead
    if (size > 1) {
      codePoint = lead & (0xff >> (size + 1))
      for (let i = 1; i < size; i++) codePoint = (codePoint << 6) | (this.bytes[this.pos + i]! & 0x3f)
    }
    this.pos += size
    this.lastRuneSize = size
    return codePoint
  }

  unreadRune(): void {
    this.pos -= this.lastRuneSize
    this.lastRuneSize = 0
  }

  /** Go's `ReadBytes(delim)`: the bytes up to and including `delim`, or everything left and `eof`. */
  readBytes(delim: number): { readonly start: number; readonly stop: number; readonly eof: boolean } {
    const start = this.pos
    let scan = this.pos
    for (;;) {
      const found = this.bytes.subarray(scan, this.end).indexOf(delim)
      if (found >= 0) {
        this.pos = scan + found + 1
        return { start, stop: this.pos, eof: false }
      }
      if (this.atEof()) {
        this.pos = this.end
        return { start, stop: this.pos, eof: true }
      }
      if (this.buffered() >= bufferSize) {
        // ErrBufferFull: ReadBytes keeps the fragment and reads on from an empty buffer.
        this.pos = this.end
      }
      scan = this.end
      this.fill()
    }
  }

  /** go-systemd's `toEOL`: one line without its `\n` (and without a `\r` only when no `\n` followed it). */
  toEOL(): { readonly line: Uint8Array; readonly eof: boolean } {
    const { eof, start, stop } = this.readBytes(LF)
    let last = stop
    if (last > start && this.bytes[last - 1] === CR) last -= 1
    if (last > start && this.bytes[last - 1] === LF) last -= 1
    return { line: this.bytes.subarray(start, last), eof }
  }

  lineTooLong(): boolean {
    if (this.buffered() < lineMax) return false
    for (let i = this.pos; i < this.pos + lineMax; i++) {
      const byte = this.bytes[i]
      if (byte === LF || byte === CR) return false
    }
    return true
  }
}

type Step =
  | { readonly _tag: "NextSection" }
  | { readonly _tag: "SectionName" }
  | { readonly _tag: "SectionSuffix"; readonly section: string }
  | { readonly _tag: "NextSectionOrOption"; readonly section: string }
  | { readonly _tag: "IgnoreLine"; readonly next: Step }
  | { readonly _tag: "OptionName"; readonly section: string }
  | { readonly _tag: "OptionValue"; readonly section: string; readonly name: string; readonly partial: string }
  | { readonly _tag: "Done" }
  | { readonly _tag: "Error"; readonly message: string }

const nextSection: Step = { _tag: "NextSection" }
const done: Step = { _tag: "Done" }

const isComment = (codePoint: number): boolean => codePoint === 0x23 || codePoint === 0x3b

const endsWithBackslash = (line: Uint8Array): boolean => line.length > 0 && line[line.length - 1] === BACKSLASH

const step = (reader: Reader, current: Step, options: Array<LexedOption>): Step => {
  switch (current._tag) {
    case "NextSection": {
      const rune = reader.readRune()
      if (rune === -1) return done
      if (rune === 0x5b) return { _tag: "SectionName" }
      if (isComment(rune)) return { _tag: "IgnoreLine", next: nextSection }
      return nextSection
    }
    case "SectionName": {
      const { eof, start, stop } = reader.readBytes(0x5d)
      if (eof) return { _tag: "Error", message: "unable to find end of section" }
      return { _tag: "SectionSuffix", section: decoder.decode(reader.bytes.subarray(start, stop - 1)) }
    }
    case "SectionSuffix": {
      const garbage = goTrimSpace(decoder.decode(reader.toEOL().line))
      if (garbage.length > 0) {
        // go-systemd never sets the lexer's section field, hence the empty name before the colon; the go-systemd
        // fleet v1.0 vendors prints the garbage with %v of a byte slice: its UTF-8 bytes in decimal, in brackets.
        return { _tag: "Error", message: `found garbage after section name : [${encoder.encode(garbage).join(" ")}]` }
      }
      return { _tag: "NextSectionOrOption", section: current.section }
    }
    case "IgnoreLine": {
      for (;;) {
        let { line } = reader.toEOL()
        // Only one trailing space is forgiven before a continuing backslash, as in go-systemd.
        if (line.length > 0 && line[line.length - 1] === SPACE) line = line.subarray(0, line.length - 1)
        if (!endsWithBackslash(line)) return current.next
      }
    }
    case "NextSectionOrOption": {
      const rune = reader.readRune()
      if (rune === -1) return done
      if (isGoSpace(rune)) return current
      if (rune === 0x5b) return { _tag: "SectionName" }
      if (isComment(rune)) return { _tag: "IgnoreLine", next: current }
      reader.unreadRune()
      return { _tag: "OptionName", section: current.section }
    }
    case "OptionName": {
      const start = reader.pos
      for (;;) {
        const rune = reader.readRune()
        // Go hands back the reader's io.EOF itself.
        if (rune === -1) return { _tag: "Error", message: "EOF" }
        if (rune === LF || rune === CR) {
          return { _tag: "Error", message: "unexpected newline encountered while parsing option name" }
        }
        if (rune === 0x3d) break
      }
      const name = goTrimSpace(decoder.decode(reader.bytes.subarray(start, reader.pos - 1)))
      return { _tag: "OptionValue", section: current.section, name, partial: "" }
    }
    case "OptionValue": {
      const { eof, line } = reader.toEOL()
      let partial = current.partial
      if (goTrimSpace(decoder.decode(line)).length > 0) {
        partial += decoder.decode(line)
        if (endsWithBackslash(line)) {
          if (!eof) partial += "\n"
          return { ...current, partial }
        }
      }
      // A kept "\n" means a backslash line was followed by a blank line or the end of the input.
      const value = partial.endsWith("\n") ? `${goTrimSpace(partial)}\n` : goTrimSpace(partial)
      options.push({ section: current.section, name: current.name, value })
      return { _tag: "NextSectionOrOption", section: current.section }
    }
    case "Done":
    case "Error":
      return current
  }
}

/**
 * Lexes a unit file as go-systemd's `Deserialize` does. Never throws.
 *
 * @internal
 * @since 0.2.0
 */
export const lex = (text: string): LexResult => {
  const reader = new Reader(encoder.encode(text))
  const options: Array<LexedOption> = []
  let current: Step = nextSection
  for (;;) {
    if (reader.lineTooLong()) return { _tag: "Failure", message: lineTooLongMessage }
    current = step(reader, current, options)
    if (current._tag === "Done") return { _tag: "Success", options }
    if (current._tag === "Error") return { _tag: "Failure", message: current.message }
  }
}
