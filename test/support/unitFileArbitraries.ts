/**
 * Generated unit files that walk every state of go-systemd's lexer: comments (`#`, `;`, continued with `\`),
 * sections with and without garbage after `]` or a missing `]`, options with continuations (and the trailing space
 * go-systemd forgives), lines outside any section, lines without `=`, blank and whitespace-only lines, `\n`, `\r\n`
 * and `\r` line ends (mixed too), a byte order mark, Unicode (multi-byte text and Go's Unicode spaces), and lines
 * near go-systemd's 2,048-byte limit placed anywhere in files up to a few times its 4,096-byte read buffer.
 */
import * as fc from "fast-check"

const word = fc.string({
  unit: fc.constantFrom(..."abcXYZ019-_./%@".split(""), "é", "ü", "☃", "\u{1F600}"),
  minLength: 1,
  maxLength: 10
})

const space = fc.constantFrom(" ", "\t", "  ", "\u00a0", "\u0085", "\u2003", "\u3000", "\v", "\f")
const maybeSpace = fc.oneof({ weight: 3, arbitrary: fc.constant("") }, { weight: 1, arbitrary: space })

const sectionName = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom("Unit", "Service", "X-Fleet", "Install") },
  { weight: 1, arbitrary: word },
  { weight: 1, arbitrary: fc.constantFrom("", " Unit ", "Se rvice", "\ufeffUnit") }
)

const header = fc
  .record({
    name: sectionName,
    before: maybeSpace,
    after: fc.oneof(
      { weight: 6, arbitrary: maybeSpace },
      { weight: 1, arbitrary: fc.constantFrom(" # c", "x", "]", " ; y", "é ☃", '\t"a\tb"') }
    ),
    closed: fc.oneof({ weight: 12, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) })
  })
  .map(({ after, before, closed, name }) => (closed ? `${before}[${name}]${after}` : `${before}[${name}`))

const value = fc.oneof(
  { weight: 5, arbitrary: word },
  { weight: 2, arbitrary: fc.tuple(maybeSpace, word, maybeSpace, word, maybeSpace).map((parts) => parts.join("")) },
  { weight: 1, arbitrary: fc.constantFrom("", " ", "\ufeff", "a=b=c", "#not a comment", '"x=1" "y=2"') }
)

const optionName = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("Description", "ExecStart", "MachineOf", "Conflicts", "Global") },
  { weight: 1, arbitrary: fc.tuple(maybeSpace, word, maybeSpace).map((parts) => parts.join("")) }
)

// Only a bare "\" continues a value; with a space after it the next line is a line of its own (for comments, go-systemd
// forgives one trailing space).
const continuation = fc.oneof(
  { weight: 8, arbitrary: fc.constant("\\") },
  { weight: 1, arbitrary: fc.constantFrom("\\ ", "\\  ") }
)

/** One logical line; continuations produce several physical lines (joined with a marker replaced by line ends). */
const line = fc.oneof(
  { weight: 3, arbitrary: header },
  {
    weight: 16,
    arbitrary: fc
      .record({
        name: optionName,
        value,
        continued: fc.array(fc.tuple(value, continuation), { maxLength: 2 })
      })
      .map(({ continued, name, value: first }) => {
        // A value ending in "\" continues on the next physical line.
        const parts = [`${name}=${first}`, ...continued.map(([text]) => text)]
        return parts.map((part, i) => (i < parts.length - 1 ? `${part}${continued[i]![1]}` : part)).join("\u0000")
      })
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom("#", ";"), value, fc.constantFrom("", "\\", "\\ ", " \\"), value)
      .map(([mark, text, tail, next]) => (tail.includes("\\") ? `${mark}${text}${tail}\u0000${next}` : mark + text))
  },
  { weight: 2, arbitrary: fc.constantFrom("", " ", "\t", "\u00a0") },
  { weight: 1, arbitrary: fc.tuple(maybeSpace, word).map(([lead, text]) => lead + text) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.integer({ min: 2036, max: 2052 }), fc.constantFrom("x", "é"), optionName)
      .map(([length, fill, name]) => {
        const prefix = `${name}=`
        const fillBytes = Buffer.byteLength(fill)
        return prefix + fill.repeat(Math.max(0, Math.floor((length - Buffer.byteLength(prefix)) / fillBytes)))
      })
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 40, max: 120 }).map((count) => `Filler=${"f".repeat(count)}`)
  }
)

const lineEnd = fc.oneof(
  { weight: 12, arbitrary: fc.constant("\n") },
  { weight: 4, arbitrary: fc.constant("\r\n") },
  { weight: 1, arbitrary: fc.constant("\r") }
)

/** A whole unit file. */
export const unitFileText: fc.Arbitrary<string> = fc
  .record({
    bom: fc.oneof({ weight: 8, arbitrary: fc.constant("") }, { weight: 1, arbitrary: fc.constant("\ufeff") }),
    first: header,
    lines: fc.array(fc.tuple(line, lineEnd), { maxLength: 14 }),
    padding: fc.oneof(
      { weight: 4, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 60 }) }
    ),
    endsWithNewline: fc.boolean(),
    mixedEnds: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    end: lineEnd
  })
  .map(({ bom, end, endsWithNewline, first, lines, mixedEnds, padding }) => {
    // Filler lines push whatever follows across the 4,096-byte buffer boundaries the length check depends on.
    const filler = Array.from({ length: padding }, (_, i) => [`Pad${i}=${"p".repeat(90)}`, end] as const)
    const all: ReadonlyArray<readonly [string, string]> = [[first, end], ...filler, ...lines]
    const text = all
      .map(([content, own]) => {
        const ending = mixedEnds ? own : end
        return content.replace(/\u0000/g, ending) + ending
      })
      .join("")
    return bom + (endsWithNewline ? text : text.replace(/(\r\n|\r|\n)$/, ""))
  })
