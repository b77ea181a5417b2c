import { describe, expect, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import * as fc from "fast-check"
import { ValueError } from "../src/FleetError.ts"
import * as UnitFile from "../src/UnitFile.ts"

const option = (section: string, name: string, value: string): UnitFile.Option => ({ section, name, value })

const parsed = (text: string): ReadonlyArray<UnitFile.Option> => {
  const result = UnitFile.parseResult(text)
  if (Result.isFailure(result)) throw new Error(`expected ${JSON.stringify(text)} to parse: ${result.failure.message}`)
  return result.success
}

const parseError = (text: string): ValueError => {
  const result = UnitFile.parseResult(text)
  if (Result.isSuccess(result)) throw new Error(`expected ${JSON.stringify(text)} to fail`)
  return result.failure
}

describe("UnitFile.parse", () => {
  it("keeps every option of a section, duplicates included, in order", () => {
    expect(parsed("[Unit]\nDescription=Foo\nDescription=Bar\nRequires=baz.service\nAfter=baz.service\n")).toEqual([
      option("Unit", "Description", "Foo"),
      option("Unit", "Description", "Bar"),
      option("Unit", "Requires", "baz.service"),
      option("Unit", "After", "baz.service")
    ])
  })

  it("reads several sections, in file order, and sections with no options", () => {
    expect(
      parsed("[Unit]\nDescription=Foo\n\n[Service]\nExecStart=/usr/bin/sleep infinity\n\n[X-Third-Party]\nPants=on\n\n")
    ).toEqual([
      option("Unit", "Description", "Foo"),
      option("Service", "ExecStart", "/usr/bin/sleep infinity"),
      option("X-Third-Party", "Pants", "on")
    ])
    expect(parsed("[Unit]\n[Service]\n[X-Third-Party]\n")).toEqual([])
    expect(parsed("")).toEqual([])
  })

  it("ignores # and ; comment lines, inside and outside sections", () => {
    const text =
      "; comment alpha\n# comment bravo\n[Unit]\n; comment charlie\n# comment delta\n#Description=Foo\n" +
      "Description=Bar\n; comment echo\n# comment foxtrot\n"
    expect(parsed(text)).toEqual([option("Unit", "Description", "Bar")])
  })

  it("continues a comment ending in a backslash onto the next line, which stays a comment", () => {
    expect(parsed("[Unit]\n# comment \\\nHidden=yes\nShown=yes\n")).toEqual([option("Unit", "Shown", "yes")])
    expect(parsed("# comment \\\n[Hidden]\nA=1\n")).toEqual([])
    // go-systemd forgives exactly one space after the backslash.
    expect(parsed("[Unit]\n# comment \\ \nHidden=yes\n")).toEqual([])
    expect(parsed("[Unit]\n# comment \\  \nShown=yes\n")).toEqual([option("Unit", "Shown", "yes")])
  })

  it("fails on anything but whitespace after a section header", () => {
    expect(parsed("[Unit] \t\nDescription=Foo\n")).toEqual([option("Unit", "Description", "Foo")])
    const error = parseError("[Unit] pants\nDescription=Foo\n")
    expect(error).toBeInstanceOf(ValueError)
    // go-systemd's message as fleet v1.0 prints it: %v of the garbage bytes (the section field it prints is never set).
    expect(error.message).toBe("found garbage after section name : [112 97 110 116 115]")
    expect(parseError("[Unit] # c\n").message).toBe("found garbage after section name : [35 32 99]")
    expect(parseError("[Unit]\u00a0é☃\u00a0\n").message).toBe(
      "found garbage after section name : [195 169 226 152 131]"
    )
    expect(parseError('[Unit]\t"a\tb"\n').message).toBe("found garbage after section name : [34 97 9 98 34]")
  })

  it("fails when a section header never ends", () => {
    expect(parseError("[Unit\nDescription=Foo\n").message).toBe("unable to find end of section")
    expect(parseError("[Unit]\nA=1\n[Service").message).toBe("unable to find end of section")
  })

  it("takes section names verbatim, up to the first ]", () => {
    expect(parsed("[ Unit ]\nA=1\n")).toEqual([option(" Unit ", "A", "1")])
    expect(parsed("[©]\nµ☃=ÇôrèÕ$")).toEqual([option("©", "µ☃", "ÇôrèÕ$")])
    // go-systemd reads to the next ] even across lines.
    expect(parsed("[Un\nit]\nA=1\n")).toEqual([option("Un\nit", "A", "1")])
  })

  it("trims names and values of Go's whitespace", () => {
    expect(parsed("[Unit]\n Description   =  words here  \n")).toEqual([option("Unit", "Description", "words here")])
    expect(parsed("[Unit]\nSome Thing = Bar\n")).toEqual([option("Unit", "Some Thing", "Bar")])
    expect(parsed('[Service]\nEnvironment= "FOO=BAR" "BAZ=QUX"\n')).toEqual([
      option("Service", "Environment", '"FOO=BAR" "BAZ=QUX"')
    ])
    // U+0085 and U+00A0 are spaces to Go; U+FEFF is not (JavaScript's trim disagrees on both).
    expect(parsed("[Unit]\nA=\u0085\u00a0v\u00a0\u0085\n")).toEqual([option("Unit", "A", "v")])
    expect(parsed("[Unit]\nA=\ufeffv\ufeff\n")).toEqual([option("Unit", "A", "\ufeffv\ufeff")])
  })

  it("keeps an option whose value is empty", () => {
    expect(parsed("[Unit]\nA=\nB=  \nC=1\n")).toEqual([
      option("Unit", "A", ""),
      option("Unit", "B", ""),
      option("Unit", "C", "1")
    ])
  })

  it("continues a value ending in a backslash, keeping the backslash and a newline", () => {
    expect(parsed("[Unit]\nDescription= Unnecessarily wrapped \\\n    words here\n")).toEqual([
      option("Unit", "Description", "Unnecessarily wrapped \\\n    words here")
    ])
    // Lines that look like comments or options are part of the value once continued.
    expect(
      parsed("[Unit]\nDescription=Bar\\\n# comment alpha\n\nDescription=Bar\\\n# comment bravo \\\nBaz\n")
    ).toEqual([
      option("Unit", "Description", "Bar\\\n# comment alpha"),
      option("Unit", "Description", "Bar\\\n# comment bravo \\\nBaz")
    ])
    expect(parsed("[Unit]\nA=x\\\nB=y\n")).toEqual([option("Unit", "A", "x\\\nB=y")])
  })

  it("ends a continued value at a blank line, keeping the newline, and at the end of the file", () => {
    expect(parsed("[Unit]\nDescription=Demo \\\n\nRequires=docker.service\n")).toEqual([
      option("Unit", "Description", "Demo \\\n"),
      option("Unit", "Requires", "docker.service")
    ])
    expect(parsed("[Unit]\nDescription=Demo \\\n   \t\nRequires=docker.service\n")).toEqual([
      option("Unit", "Description", "Demo \\\n"),
      option("Unit", "Requires", "docker.service")
    ])
    expect(parsed("[Unit]\nDescription=Bar \\")).toEqual([option("Unit", "Description", "Bar \\")])
    expect(parsed("[Unit]\nDescription=Bar")).toEqual([option("Unit", "Description", "Bar")])
  })

  it("does not continue on a backslash followed by text", () => {
    const value = '/bin/bash -c "while true; do echo \\"ping\\"; sleep 1; done"'
    expect(parsed(`[Service]\nExecStart=${value}\n`)).toEqual([option("Service", "ExecStart", value)])
  })

  it("ignores lines outside any section, but a [ anywhere there opens one", () => {
    expect(parsed("Description=Foo\n[Unit]\nDescription=Bar\n")).toEqual([option("Unit", "Description", "Bar")])
    expect(parsed("<<<<<<<<\n[Unit]\nDescription=Bar\n")).toEqual([option("Unit", "Description", "Bar")])
    expect(parsed("junk [Unit]\nA=1\n")).toEqual([option("Unit", "A", "1")])
  })

  it("accepts CRLF line ends", () => {
    expect(parsed("[Unit]\r\nDescription=Foo\r\n\r\n[Service]\r\nExecStart=/bin/true\r\n")).toEqual([
      option("Unit", "Description", "Foo"),
      option("Service", "ExecStart", "/bin/true")
    ])
    // go-systemd strips the \r only after trimming the value, so a backslash before \r\n does not continue.
    expect(parsed("[Unit]\r\nA=x \\\r\nB=y\r\n")).toEqual([option("Unit", "A", "x \\"), option("Unit", "B", "y")])
  })

  it("fails on a newline (or the end of the file) before the =", () => {
    expect(parseError("[Unit]\nDescription\n").message).toBe("unexpected newline encountered while parsing option name")
    expect(parseError("[Unit]\nDescription\r\n").message).toBe(
      "unexpected newline encountered while parsing option name"
    )
    expect(parseError("[Unit]\n<<<<<<\nDescription=Foo\n").message).toBe(
      "unexpected newline encountered while parsing option name"
    )
    // Go's io.EOF, handed back as is.
    expect(parseError("[Unit]\nDescription").message).toBe("EOF")
  })

  it("accepts empty names and keeps = after the first one in the value", () => {
    expect(parsed("[Unit]\n=v\nA==b=c\n")).toEqual([option("Unit", "", "v"), option("Unit", "A", "=b=c")])
  })

  it("fails on a line of 2048 bytes or more", () => {
    expect(parsed(`[S]\nB=${"x".repeat(2045)}\n`)).toEqual([option("S", "B", "x".repeat(2045))])
    expect(parseError(`[S]\nB=${"x".repeat(2046)}\n`).message).toBe("line too long (max 2048 bytes)")
    expect(parseError(`[S]\nB=${"x".repeat(2046)}`).message).toBe("line too long (max 2048 bytes)")
    // Bytes, not characters: é is two.
    expect(parseError(`[S]\nB=${"é".repeat(1023)}\n`).message).toBe("line too long (max 2048 bytes)")
    expect(parsed(`[S]\nB=${"é".repeat(1022)}x\n`)).toHaveLength(1)
    expect(parseError(`${"#".repeat(3000)}\n[S]\n`).message).toBe("line too long (max 2048 bytes)")
    expect(parseError(`[S${"x".repeat(3000)}]\n`).message).toBe("line too long (max 2048 bytes)")
  })

  it("checks line length only where go-systemd's 4096-byte read buffer holds 2048 unread bytes", () => {
    // The long line starts 3004 bytes in, when only 1092 bytes are buffered: fleet lets it through.
    const prefix = `[S]\n${"A=1\n".repeat(750)}`
    const options = parsed(`${prefix}B=${"x".repeat(2500)}\n`)
    expect(options).toHaveLength(751)
    expect(options[750]).toEqual(option("S", "B", "x".repeat(2500)))
    expect(parseError(`[S]\nB=${"x".repeat(2500)}\n${"A=1\n".repeat(750)}`).message).toBe(
      "line too long (max 2048 bytes)"
    )
  })

  it.effect("parse fails with ValueError in the error channel", () =>
    Effect.gen(function* () {
      expect(yield* UnitFile.parse("[Service]\nExecStart=/bin/true\n")).toEqual([
        option("Service", "ExecStart", "/bin/true")
      ])
      const error = yield* Effect.flip(UnitFile.parse("[Unit"))
      expect(error).toBeInstanceOf(ValueError)
      expect(error._tag).toBe("ValueError")
      expect(error.message).toBe("unable to find end of section")
    })
  )
})

describe("UnitFile.serialize", () => {
  it("renders no options as the empty string", () => {
    expect(UnitFile.serialize([])).toBe("")
  })

  it("renders one section, every line ending in a newline", () => {
    expect(UnitFile.serialize([option("Service", "ExecStart", "/usr/bin/sleep 1d")])).toBe(
      "[Service]\nExecStart=/usr/bin/sleep 1d\n"
    )
  })

  it("groups options by section in first-seen order, a blank line between sections", () => {
    const options = [
      option("Unit", "Description", "first"),
      option("Service", "ExecStart", "/bin/true"),
      option("Unit", "After", "docker.service"),
      option("X-Fleet", "Global", "true")
    ]
    expect(UnitFile.serialize(options)).toBe(
      "[Unit]\nDescription=first\nAfter=docker.service\n\n[Service]\nExecStart=/bin/true\n\n[X-Fleet]\nGlobal=true\n"
    )
  })

  it("writes names and values exactly as given", () => {
    expect(UnitFile.serialize([option("S", " N ", " v \\"), option("S", "E", "")])).toBe("[S]\n N = v \\\nE=\n")
  })
})

describe("UnitFile.hash", () => {
  // Expected values from `printf '<unit file>' | sha1sum`.
  it("is the SHA-1 of the serialized unit file", () => {
    expect(UnitFile.hash([])).toBe("da39a3ee5e6b4b0d3255bfef95601890afd80709")
    expect(UnitFile.hash([option("Service", "ExecStart", "/usr/bin/sleep 1d")])).toBe(
      "dd401fa78c2de99a9c4045cbb4b285679067acf6"
    )
    expect(
      UnitFile.hash([option("Unit", "Description", "sleepy"), option("Service", "ExecStart", "/usr/bin/sleep 1d")])
    ).toBe("4f90c2d11008d579df9c6ac726338b0922c7a3d3")
    expect(UnitFile.hash([option("X-Fleet", "MachineMetadata", '"role=web" "région=eu"')])).toBe(
      "0a200cd4877ec10971c28d625208ae75816e5612"
    )
    expect(
      UnitFile.hash([
        option("Unit", "Description", "first"),
        option("Service", "ExecStart", "/bin/true"),
        option("Unit", "After", "docker.service")
      ])
    ).toBe("61ddf1c2a6cd123ebeea21b556bf245476b59c67")
  })
})

describe("UnitFile.roundTrip", () => {
  const roundTripped = (options: ReadonlyArray<UnitFile.Option>) => {
    const result = UnitFile.roundTrip(options)
    if (Result.isFailure(result)) throw new Error(result.failure.message)
    return result.success
  }

  it("groups by section, trims, and keeps empty values", () => {
    expect(
      roundTripped([
        option("Unit", " Description ", "  padded  "),
        option("Service", "ExecStart", "/bin/true"),
        option("Unit", "After", ""),
        option("Unit", "Before", "b")
      ])
    ).toEqual([
      option("Unit", "Description", "padded"),
      option("Unit", "After", ""),
      option("Unit", "Before", "b"),
      option("Service", "ExecStart", "/bin/true")
    ])
  })

  it("lets a value ending in a backslash swallow the next line", () => {
    expect(roundTripped([option("S", "A", "x\\"), option("S", "B", "y"), option("T", "C", "z\\")])).toEqual([
      option("S", "A", "x\\\nB=y"),
      option("T", "C", "z\\\n")
    ])
    // The blank line between sections ends the continued value.
    expect(roundTripped([option("S", "A", "x\\"), option("T", "B", "y")])).toEqual([
      option("S", "A", "x\\\n"),
      option("T", "B", "y")
    ])
  })

  it("fails as fleet refuses such units at creation", () => {
    const tooLong = UnitFile.roundTrip([option("S", "A", "x".repeat(2046))])
    expect(Result.isFailure(tooLong) && tooLong.failure.message).toBe("line too long (max 2048 bytes)")
    const badSection = UnitFile.roundTrip([option("S]x", "A", "1")])
    expect(Result.isFailure(badSection) && badSection.failure.message).toBe(
      "found garbage after section name : [120 93]"
    )
    const badName = UnitFile.roundTrip([option("S", "A\nB", "1")])
    expect(Result.isFailure(badName) && badName.failure.message).toBe(
      "unexpected newline encountered while parsing option name"
    )
  })
})

// Characters chosen to hit every rule: Go and JavaScript whitespace that differ, the syntax characters, multi-byte
// and astral characters.
const goSpaces = [" ", "\t", "\v", "\f", "\u0085", "\u00a0", "\u2028", "\u3000"]
const pool = [..."aZ09-_.@:/\"'", "é", "☃", "😀", "\ufeff", "\u200b", "[", "]", "#", ";", "=", "\\", ...goSpaces]
const text = (exclude: ReadonlyArray<string>) =>
  fc.string({ unit: fc.constantFrom(...pool.filter((char) => !exclude.includes(char))), maxLength: 12 })
const trimmed = (value: string) =>
  value.length === 0 ||
  (!goSpaces.some((space) => value.startsWith(space)) && !goSpaces.some((space) => value.endsWith(space)))

// Representable: a section without ]; a name without =, trimmed, not starting a header or a comment; a value
// trimmed and not ending in a backslash. Newlines appear in none of them.
const representable = fc.record({
  section: text(["]"]),
  name: text(["="]).filter((name) => trimmed(name) && !["[", "#", ";"].some((char) => name.startsWith(char))),
  value: text([]).filter((value) => trimmed(value) && !value.endsWith("\\"))
})

const groupedBySection = (options: ReadonlyArray<UnitFile.Option>): ReadonlyArray<UnitFile.Option> => {
  const sections: Array<string> = []
  for (const { section } of options) if (!sections.includes(section)) sections.push(section)
  return sections.flatMap((section) => options.filter((option) => option.section === section))
}

describe("UnitFile properties", () => {
  it("parse(serialize(options)) gives back every representable option list, grouped by section", () => {
    fc.assert(
      fc.property(fc.array(representable, { maxLength: 12 }), (options) => {
        expect(parsed(UnitFile.serialize(options))).toEqual(groupedBySection(options))
      }),
      { numRuns: 500 }
    )
  })

  it("serialize(parse(text)) is a fixed point of the round trip", () => {
    fc.assert(
      fc.property(fc.array(representable, { maxLength: 8 }), (options) => {
        const once = parsed(UnitFile.serialize(options))
        expect(UnitFile.hash(parsed(UnitFile.serialize(once)))).toBe(UnitFile.hash(once))
      }),
      { numRuns: 200 }
    )
  })

  const assertNeverThrows = (input: string) => {
    const result = UnitFile.parseResult(input)
    if (Result.isFailure(result)) {
      expect(result.failure).toBeInstanceOf(ValueError)
      expect(result.failure.message.length).toBeGreaterThan(0)
    } else {
      for (const option of result.success) expect(typeof option.value).toBe("string")
    }
  }

  it("never throws on arbitrary strings", () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 200 }), assertNeverThrows), { numRuns: 1000 })
  })

  it("never throws on arbitrary unit-file-like text, long lines included", () => {
    const token = fc.constantFrom(
      "[",
      "]",
      "\n",
      "\r\n",
      "\r",
      "=",
      "\\",
      "#",
      ";",
      " ",
      "A",
      "é",
      "😀",
      "\ud800",
      "[Unit]\n",
      "X=1\n",
      "x".repeat(700)
    )
    fc.assert(
      fc.property(fc.array(token, { maxLength: 40 }), (tokens) => assertNeverThrows(tokens.join(""))),
      { numRuns: 1000 }
    )
  })
})
