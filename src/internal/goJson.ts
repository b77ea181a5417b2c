/**
 * Just enough of Go's `encoding/json` to answer like fleetd: a decoder that reads the first JSON value of a body with
 * Go's syntax error texts, then a typed pass with Go's `UnmarshalTypeError` texts, and an encoder with Go's escaping.
 * Go's strings themselves (bytes, `%q`, byte order) are `goString.ts`.
 *
 * @since 0.1.0
 * @internal
 */
import * as Result from "effect/Result"
import { compareBytes, isEscapedByte, quote } from "./goString.ts"

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

/**
 * The character of a JSON syntax error as Go prints it. Go's scanner works on bytes: a non-ASCII character is
 * reported as its first UTF-8 byte read as a code point.
 */
const quoteByte = (char: string): string => {
  const code = char.codePointAt(0)!
  const byte = isEscapedByte(code) ? code - 0xdc00 : code < 0x80 ? code : Buffer.from(char, "utf8")[0]!
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

// Go's encoding/json scanner allows this many open arrays and objects.
const maxNestingDepth = 10_000

interface OpenArray {
  readonly kind: "array"
  readonly items: Array<Node>
}

interface OpenObject {
  readonly kind: "object"
  readonly entries: Array<readonly [string, Node]>
  key: string
}

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

  /** The key of an object member and its colon; the cursor is on the key's opening quote (after spaces). */
  key(): string {
    this.skipSpace()
    const open = this.current()
    if (open !== '"') this.fail(open, "looking for beginning of object key string")
    this.index++
    const key = this.string()
    this.skipSpace()
    const colon = this.current()
    if (colon !== ":") this.fail(colon, "after object key")
    this.index++
    return key
  }

  /**
   * One JSON value. Iterative, with Go's limit of 10,000 open arrays and objects, so that nesting deep enough to
   * blow a recursive parser's stack gets Go's "exceeded max depth" instead.
   */
  value(): Node {
    const open: Array<OpenArray | OpenObject> = []
    for (;;) {
      this.skipSpace()
      const char = this.current()
      let node: Node
      if (char === "{" || char === "[") {
        if (open.length + 1 > maxNestingDepth) this.fail(char, "exceeded max depth")
        this.index++
        this.skipSpace()
        if (char === "{") {
          if (this.current() === "}") {
            this.index++
            node = { kind: "object", entries: [] }
          } else {
            open.push({ kind: "object", entries: [], key: this.key() })
            continue
          }
        } else if (this.current() === "]") {
          this.index++
          node = { kind: "array", items: [] }
        } else {
          open.push({ kind: "array", items: [] })
          continue
        }
      } else node = this.scalar(char)
      // Hand the finished value to the arrays and objects it closes, up to one that expects another.
      for (;;) {
        const parent = open[open.length - 1]
        if (parent === undefined) return node
        this.skipSpace()
        const after = this.current()
        if (parent.kind === "array") {
          parent.items.push(node)
          if (after === ",") {
            this.index++
            break
          }
          if (after !== "]") this.fail(after, "after array element")
          this.index++
          open.pop()
          node = { kind: "array", items: parent.items }
        } else {
          parent.entries.push([parent.key, node])
          if (after === ",") {
            this.index++
            parent.key = this.key()
            break
          }
          if (after !== "}") this.fail(after, "after object key:value pair")
          this.index++
          open.pop()
          node = { kind: "object", entries: parent.entries }
        }
      }
    }
  }

  /** A string, literal or number starting with `char`. */
  scalar(char: string): Node {
    switch (char) {
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
