/**
 * fleet's `[X-Fleet]` section as fleet reads it, the one reading shared by the local server's engine, its API's
 * checks of a new unit (`unitRules.validateOptions`) and the client: quoted multi-values split, specifiers expanded,
 * `MachineID` and its older spellings, `Global`, and Go's `path.Match` for the `Conflicts` and `Replaces` globs.
 *
 * @since 0.2.0
 * @internal
 */
import type * as UnitFile from "../UnitFile.ts"
import { isGoSpace } from "./unitFileLexer.ts"

/**
 * A unit's scheduling requirements as fleet's `job.Job` reads them from its `[X-Fleet]` section (specifiers expanded,
 * quoted values split).
 *
 * @since 0.2.0
 * @internal
 */
export interface Requirements {
  /** `MachineID`, else `X-ConditionMachineID`, else `X-ConditionMachineBootID`: the first value. */
  readonly machineID: string | undefined
  /** Allowed values per key; empty when no well-formed `key=value` was given. */
  readonly metadata: ReadonlyMap<string, ReadonlySet<string>>
  /** `X-ConditionMachineOf` then `MachineOf`: exact unit names. */
  readonly peers: ReadonlyArray<string>
  /** `X-Conflicts` then `Conflicts`, split on whitespace: globs. */
  readonly conflicts: ReadonlyArray<string>
  /** `Replaces`: globs, not split. */
  readonly replaces: ReadonlyArray<string>
  /** The last `Global` value is truthy. */
  readonly global: boolean
}

/**
 * fleet's `parseMultivalueLine`: a value that starts and ends with `"` is split at spaces outside quotes and loses
 * every `"`; any other value is kept whole.
 *
 * @since 0.2.0
 * @internal
 */
export const parseMultivalue = (line: string): ReadonlyArray<string> => {
  if (!line.startsWith('"') || !line.endsWith('"')) return [line]
  const values: Array<string> = []
  let current = ""
  let quoted = false
  for (const char of line) {
    if (char === '"') {
      quoted = !quoted
      continue
    }
    if (char === " " && !quoted) {
      values.push(current)
      current = ""
      continue
    }
    current += char
  }
  values.push(current)
  return values
}

/**
 * fleet's `unitPrintf`: `%n`, `%N`, `%p` and `%i` from the unit's name, replaced in that order; other specifiers stay.
 * fleet only expands them for a name containing `.`.
 *
 * @since 0.2.0
 * @internal
 */
export const expandSpecifiers = (value: string, name: string): string => {
  const dot = name.lastIndexOf(".")
  if (dot === -1) return value
  const base = name.slice(0, dot)
  const at = base.indexOf("@")
  const prefix = at === -1 ? base : base.slice(0, at)
  const instance = at === -1 ? "" : base.slice(at + 1)
  return value.replaceAll("%n", name).replaceAll("%N", base).replaceAll("%p", prefix).replaceAll("%i", instance)
}

/**
 * The `[X-Fleet]` section as fleet's `Job.requirements()` sees it: option name to values, quoted values split and
 * specifiers expanded, lines of one option accumulated in order.
 *
 * @since 0.2.0
 * @internal
 */
export const xFleet = (name: string, options: ReadonlyArray<UnitFile.Option>): ReadonlyMap<string, Array<string>> => {
  const map = new Map<string, Array<string>>()
  for (const option of options) {
    if (option.section !== "X-Fleet") continue
    const values = parseMultivalue(option.value).map((value) => expandSpecifiers(value, name))
    const existing = map.get(option.name)
    if (existing === undefined) map.set(option.name, values)
    else existing.push(...values)
  }
  return map
}

// Go's strings.Fields: split on unicode.IsSpace, empty fields dropped.
const fields = (text: string): ReadonlyArray<string> => {
  const out: Array<string> = []
  let current = ""
  for (const char of text) {
    if (isGoSpace(char.codePointAt(0)!)) {
      if (current !== "") out.push(current)
      current = ""
    } else current += char
  }
  if (current !== "") out.push(current)
  return out
}

const truthy = new Set(["true", "yes", "1", "on", "t"])

// fleet's Job.IsGlobal: the last value decides.
const lastIsTruthy = (values: ReadonlyArray<string> | undefined): boolean =>
  values !== undefined && values.length > 0 && truthy.has(values[values.length - 1]!.toLowerCase())

/**
 * A unit's requirements, read as fleet reads them.
 *
 * @since 0.2.0
 * @internal
 */
export const requirementsOf = (name: string, options: ReadonlyArray<UnitFile.Option>): Requirements => {
  const map = xFleet(name, options)
  const get = (key: string): ReadonlyArray<string> => map.get(key) ?? []
  let machineID: string | undefined
  for (const key of ["MachineID", "X-ConditionMachineID", "X-ConditionMachineBootID"]) {
    const found = get(key)
    if (found.length > 0) {
      machineID = found[0]
      break
    }
  }
  const metadata = new Map<string, Set<string>>()
  for (const pair of [...get("X-ConditionMachineMetadata"), ...get("MachineMetadata")]) {
    const parts = pair.split("=")
    if (parts.length !== 2 || parts[0] === "" || parts[1] === "") continue
    const allowed = metadata.get(parts[0]!)
    if (allowed === undefined) metadata.set(parts[0]!, new Set([parts[1]!]))
    else allowed.add(parts[1]!)
  }
  return {
    machineID,
    metadata,
    peers: [...get("X-ConditionMachineOf"), ...get("MachineOf")],
    conflicts: [...get("X-Conflicts"), ...get("Conflicts")].flatMap(fields),
    replaces: get("Replaces"),
    global: lastIsTruthy(map.get("Global"))
  }
}

/**
 * Whether a unit is global (`[X-Fleet] Global=` true, the last value winning), read as the API reads a unit: without
 * its name, so specifiers stay literal.
 *
 * @since 0.1.0
 * @internal
 */
export const isGlobal = (options: ReadonlyArray<UnitFile.Option>): boolean =>
  lastIsTruthy(xFleet("", options).get("Global"))

// ---- Go's path.Match --------------------------------------------------------------------------------------------

const badPattern = Symbol("badPattern")

const scanChunk = (pattern: string): { star: boolean; chunk: string; rest: string } => {
  let star = false
  while (pattern.startsWith("*")) {
    pattern = pattern.slice(1)
    star = true
  }
  let inRange = false
  let i = 0
  scan: for (; i < pattern.length; i++) {
    switch (pattern[i]) {
      case "\\":
        if (i + 1 < pattern.length) i++
        break
      case "[":
        inRange = true
        break
      case "]":
        inRange = false
        break
      case "*":
        if (!inRange) break scan
        break
    }
  }
  return { star, chunk: pattern.slice(0, i), rest: pattern.slice(i) }
}

const getEsc = (chunk: string): { rune: number; rest: string } | typeof badPattern => {
  if (chunk.length === 0 || chunk[0] === "-" || chunk[0] === "]") return badPattern
  if (chunk[0] === "\\") {
    chunk = chunk.slice(1)
    if (chunk.length === 0) return badPattern
  }
  const rune = chunk.codePointAt(0)!
  const rest = chunk.slice(rune > 0xffff ? 2 : 1)
  if (rest.length === 0) return badPattern
  return { rune, rest }
}

const firstRune = (s: string): { rune: number; rest: string } => {
  const rune = s.codePointAt(0)!
  return { rune, rest: s.slice(rune > 0xffff ? 2 : 1) }
}

// Go 1.19's matchChunk: the whole chunk is always parsed, so a malformed pattern is an error even after a mismatch.
const matchChunk = (chunk: string, s: string): { rest: string; ok: boolean } | typeof badPattern => {
  let failed = false
  while (chunk.length > 0) {
    if (!failed && s.length === 0) failed = true
    const head = chunk[0]
    if (head === "[") {
      let rune = -1
      if (!failed) {
        const next = firstRune(s)
        rune = next.rune
        s = next.rest
      }
      chunk = chunk.slice(1)
      let negated = false
      if (chunk.startsWith("^")) {
        negated = true
        chunk = chunk.slice(1)
      }
      let match = false
      let ranges = 0
      for (;;) {
        if (chunk.startsWith("]") && ranges > 0) {
          chunk = chunk.slice(1)
          break
        }
        const lo = getEsc(chunk)
        if (lo === badPattern) return badPattern
        chunk = lo.rest
        let hi = lo.rune
        if (chunk[0] === "-") {
          const high = getEsc(chunk.slice(1))
          if (high === badPattern) return badPattern
          chunk = high.rest
          hi = high.rune
        }
        if (lo.rune <= rune && rune <= hi) match = true
        ranges++
      }
      if (match === negated) failed = true
    } else if (head === "?") {
      if (!failed) {
        if (s[0] === "/") failed = true
        s = firstRune(s).rest
      }
      chunk = chunk.slice(1)
    } else if (head === "\\") {
      chunk = chunk.slice(1)
      if (chunk.length === 0) return badPattern
      if (!failed) {
        if (chunk[0] !== s[0]) failed = true
        s = s.slice(1)
      }
      chunk = chunk.slice(1)
    } else {
      if (!failed) {
        if (head !== s[0]) failed = true
        s = s.slice(1)
      }
      chunk = chunk.slice(1)
    }
  }
  return failed ? { rest: "", ok: false } : { rest: s, ok: true }
}

/**
 * Go's `path.Match` (Go 1.19, which fleet's oracle was built with), with a malformed pattern matching nothing, as
 * fleet's `globMatches` ignores the error.
 *
 * @since 0.2.0
 * @internal
 */
export const globMatch = (pattern: string, name: string): boolean => {
  outer: while (pattern.length > 0) {
    const { star, chunk, rest } = scanChunk(pattern)
    pattern = rest
    if (star && chunk === "") return !name.includes("/")
    const here = matchChunk(chunk, name)
    if (here !== badPattern && here.ok && (here.rest.length === 0 || pattern.length > 0)) {
      name = here.rest
      continue
    }
    if (here === badPattern) return false
    if (star) {
      for (let i = 0; i < name.length && name[i] !== "/"; i++) {
        const skipped = matchChunk(chunk, name.slice(i + 1))
        if (skipped === badPattern) return false
        if (skipped.ok) {
          if (pattern.length === 0 && skipped.rest.length > 0) continue
          name = skipped.rest
          continue outer
        }
      }
    }
    while (pattern.length > 0) {
      const next = scanChunk(pattern)
      pattern = next.rest
      if (matchChunk(next.chunk, "") === badPattern) return false
    }
    return false
  }
  return name.length === 0
}
