/**
 * Just enough of Go's `encoding/json` (and `strconv.Quote`) to answer like fleetd: a decoder that reads the first
 * JSON value of a body with Go's syntax error texts, then a typed pass with Go's `UnmarshalTypeError` texts, and an
 * encoder with Go's escaping.
 *
 * @since 0.1.0
 * @internal
 */
import * as Result from "effect/Result"

/**
 * A parsed JSON value. Objects keep every key in order, duplicates included, because Go lets the last one win and
 * matches keys case-insensitively.
 *
 * @since 0.1.0
 * @internal
 */
export type Node =
  | { readonly kind: "object"; readonly entries: ReadonlyArray<readonly [string, Node]> }
  | { readonly kind: "array"; readonly items: ReadonlyArray<Node> }
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "number"; readonly text: string }
  | { readonly kind: "bool"; readonly value: boolean }
  | { readonly kind: "null" }

const hexDigit = (code: number): string => "0123456789abcdef"[code & 0xf]!

const isPrintable = (codePoint: number): boolean => {
  if (codePoint < 0x20 || codePoint === 0x7f) return false
  if (codePoint >= 0x80 && codePoint < 0xa0) return false
  if (codePoint >= 0xd800 && codePoint < 0xe000) return false
  return /[\p{L}\p{M}\p{N}\p{P}\p{S}\u0020]/u.test(String.fromCodePoint(codePoint))
}

const quoteRuneBody = (codePoint: number, quote: string): string => {
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
 * The character of a JSON syntax error as Go prints it. Go's scanner works on bytes: a non-ASCII character is
 * reported as its first UTF-8 byte read as a code point.
 */
const quoteByte = (char: string): string => {
  const code = char.codePointAt(0)!
  const byte = code < 0x80 ? code : Buffer.from(char, "utf8")[0]!
  if (byte === 0x27) return "'\\''"
  if (byte === 0x22) return "'\"'"
  const quoted = quote(String.fromCodePoint(byte))
  return "'" + quoted.slice(1, -1) + "'"
}

class GoSyntaxError {
  readonly message: string
  constructor(message: string) {
    this.message = message
  }
}

const wellFormed = (text: string): string =>
  text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd")

const isSpace = (char: string | undefined): boolean => char === " " || char === "\t" || char === "\n" || char === "\r"

const isDigit = (char: string | undefined): boolean => char !== undefined && char >= "0" && char <= "9"

const isHex = (char: string | undefined): boolean => char !== undefined && /^[0-9a-fA-F]$/.test(char)

const unexpectedEof = "unexpected EOF"

class Parser {
  readonly text: string
  index = 0
  constructor(text: string) {
    this.text = text
  }

  fail(char: string, context: string): never {
    throw new GoSyntaxError(`invalid character ${quoteByte(char)} ${context}`)
  }

  peek(): string | undefined {
    return this.text[this.index]
  }

  next(): string {
    const char = this.text[this.index]
    if (char === undefined) throw new GoSyntaxError(unexpectedEof)
    this.index += char.length
    return char
  }

  skipSpace(): void {
    while (isSpace(this.text[this.index])) this.index++
  }

  /** The character at the cursor, whole (surrogate pairs kept together). */
  current(): string {
    const code = this.text.codePointAt(this.index)
    if (code === undefined) throw new GoSyntaxError(unexpectedEof)
    return String.fromCodePoint(code)
  }

  value(): Node {
    this.skipSpace()
    const char = this.current()
    switch (char) {
      case "{":
        this.index++
        return this.object()
      case "[":
        this.index++
        return this.array()
      case '"':
        this.index++
        return { kind: "string", value: this.string() }
      case "t":
        return this.literal("true", { kind: "bool", value: true })
      case "f":
        return this.literal("false", { kind: "bool", value: false })
      case "n":
        return this.literal("null", { kind: "null" })
    }
    if (char === "-" || isDigit(char)) return this.number()
    return this.fail(char, "looking for beginning of value")
  }

  object(): Node {
    const entries: Array<readonly [string, Node]> = []
    this.skipSpace()
    if (this.current() === "}") {
      this.index++
      return { kind: "object", entries }
    }
    for (;;) {
      this.skipSpace()
      const open = this.current()
      if (open !== '"') this.fail(open, "looking for beginning of object key string")
      this.index++
      const key = this.string()
      this.skipSpace()
      const colon = this.current()
      if (colon !== ":") this.fail(colon, "after object key")
      this.index++
      entries.push([key, this.value()])
      this.skipSpace()
      const after = this.current()
      if (after === ",") {
        this.index++
        continue
      }
      if (after === "}") {
        this.index++
        return { kind: "object", entries }
      }
      this.fail(after, "after object key:value pair")
    }
  }

  array(): Node {
    const items: Array<Node> = []
    this.skipSpace()
    if (this.current() === "]") {
      this.index++
      return { kind: "array", items }
    }
    for (;;) {
      items.push(this.value())
      this.skipSpace()
      const after = this.current()
      if (after === ",") {
        this.index++
        continue
      }
      if (after === "]") {
        this.index++
        return { kind: "array", items }
      }
      this.fail(after, "after array element")
    }
  }

  string(): string {
    const start = this.index
    for (;;) {
      const char = this.current()
      if (char === '"') {
        const literal = this.text.slice(start - 1, this.index + 1)
        this.index++
        // Go replaces unpaired surrogates (from \u escapes) with U+FFFD.
        return wellFormed(JSON.parse(literal) as string)
      }
      if (char === "\\") {
        this.index++
        const escaped = this.current()
        if (escaped === "u") {
          this.index++
          for (let i = 0; i < 4; i++) {
            const digit = this.current()
            if (!isHex(digit)) this.fail(digit, "in \\u hexadecimal character escape")
            this.index++
          }
          continue
        }
        if (!'"\\/bfnrt'.includes(escaped)) this.fail(escaped, "in string escape code")
        this.index++
        continue
      }
      if (char.codePointAt(0)! < 0x20) this.fail(char, "in string literal")
      this.index += char.length
    }
  }

  literal(word: string, node: Node): Node {
    this.index++
    for (const expected of word.slice(1)) {
      const char = this.current()
      if (char !== expected) this.fail(char, `in literal ${word} (expecting ${quoteByte(expected)})`)
      this.index++
    }
    return node
  }

  /** Numbers end at the first character that cannot continue them; the caller judges that character. */
  number(): Node {
    const start = this.index
    if (this.peek() === "-") {
      this.index++
      const char = this.current()
      if (!isDigit(char)) this.fail(char, "in numeric literal")
    }
    if (this.peek() === "0") this.index++
    else while (isDigit(this.peek())) this.index++
    if (this.peek() === ".") {
      this.index++
      const char = this.current()
      if (!isDigit(char)) this.fail(char, "after decimal point in numeric literal")
      while (isDigit(this.peek())) this.index++
    }
    if (this.peek() === "e" || this.peek() === "E") {
      this.index++
      if (this.peek() === "+" || this.peek() === "-") this.index++
      const char = this.current()
      if (!isDigit(char)) this.fail(char, "in exponent of numeric literal")
      while (isDigit(this.peek())) this.index++
    }
    return { kind: "number", text: this.text.slice(start, this.index) }
  }
}

/**
 * Reads the first JSON value of `text` as Go's `json.Decoder.Decode` does: data after it is ignored, an empty body
 * is `EOF`, a cut-short one `unexpected EOF`, and syntax errors carry Go's texts.
 *
 * @since 0.1.0
 * @internal
 */
export const parse = (text: string): Result.Result<Node, string> => {
  const parser = new Parser(text)
  parser.skipSpace()
  if (parser.index >= text.length) return Result.fail("EOF")
  try {
    return Result.succeed(parser.value())
  } catch (error) {
    if (error instanceof GoSyntaxError) return Result.fail(error.message)
    throw error
  }
}

/**
 * The JSON type name Go's `UnmarshalTypeError` reports for a value.
 *
 * @since 0.1.0
 * @internal
 */
export const kindName = (node: Node): string => node.kind

/**
 * Collects the first type error of a typed decoding pass, as Go's decoder does: decoding goes on after a mismatch,
 * and the first one is reported.
 *
 * @since 0.1.0
 * @internal
 */
export class TypeErrors {
  first: string | undefined
  field(node: Node, struct: string, field: string, type: string): void {
    this.first ??= `json: cannot unmarshal ${kindName(node)} into Go struct field ${struct}.${field} of type ${type}`
  }
  value(node: Node, type: string): void {
    this.first ??= `json: cannot unmarshal ${kindName(node)} into Go value of type ${type}`
  }
}

/**
 * Go's case-insensitive key match (`bytes.EqualFold` plus the Kelvin sign and long s folds).
 *
 * @since 0.1.0
 * @internal
 */
export const foldKey = (key: string): string =>
  key
    .replace(/\u017f/g, "s")
    .replace(/\u212a/g, "k")
    .toLowerCase()

/**
 * A JSON string as Go's `json.Marshal` writes it (HTML characters and line separators escaped).
 *
 * @since 0.1.0
 * @internal
 */
export const encodeString = (value: string): string => {
  let out = '"'
  for (const char of wellFormed(value)) {
    const code = char.codePointAt(0)!
    switch (char) {
      case '"':
        out += '\\"'
        continue
      case "\\":
        out += "\\\\"
        continue
      case "\n":
        out += "\\n"
        continue
      case "\r":
        out += "\\r"
        continue
      case "\t":
        out += "\\t"
        continue
    }
    if (code < 0x20 || char === "<" || char === ">" || char === "&" || code === 0x2028 || code === 0x2029) {
      out += "\\u" + code.toString(16).padStart(4, "0")
      continue
    }
    out += char
  }
  return out + '"'
}

/**
 * An ordered JSON object whose empty fields are omitted (Go's `omitempty`): `undefined`, `""`, empty arrays and
 * empty objects are left out.
 *
 * @since 0.1.0
 * @internal
 */
export const encodeObject = (fields: ReadonlyArray<readonly [string, string | undefined]>): string =>
  "{" +
  fields
    .filter((field): field is readonly [string, string] => field[1] !== undefined)
    .map(([name, value]) => encodeString(name) + ":" + value)
    .join(",") +
  "}"

/**
 * Encodes a non-empty string field, or nothing (`omitempty`).
 *
 * @since 0.1.0
 * @internal
 */
export const optionalString = (value: string | undefined): string | undefined =>
  value === undefined || value === "" ? undefined : encodeString(value)

/**
 * Encodes a non-empty array field, or nothing (`omitempty`).
 *
 * @since 0.1.0
 * @internal
 */
export const optionalArray = (items: ReadonlyArray<string> | undefined): string | undefined =>
  items === undefined || items.length === 0 ? undefined : "[" + items.join(",") + "]"

/**
 * Encodes a non-empty string map with its keys sorted byte-wise, as Go does, or nothing (`omitempty`).
 *
 * @since 0.1.0
 * @internal
 */
export const optionalMap = (map: Readonly<Record<string, string>> | undefined): string | undefined => {
  if (map === undefined) return undefined
  const keys = Object.keys(map).sort(compareBytes)
  if (keys.length === 0) return undefined
  return encodeObject(keys.map((key) => [key, encodeString(map[key]!)]))
}

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
