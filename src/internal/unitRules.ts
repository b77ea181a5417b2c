/**
 * fleet's rules for units, shared by the local server and the client: unit names (systemd's), templates, `Global`,
 * the `[X-Fleet]` requirements and the checks fleet makes of a new unit's options.
 *
 * @since 0.1.0
 * @internal
 */
import * as Result from "effect/Result"
import * as UnitFile from "../UnitFile.ts"
import { quote, quoteRune } from "./goJson.ts"

const unitNameMax = 256
const validUnitTypes = new Set([
  "automount",
  "busname",
  "device",
  "mount",
  "path",
  "scope",
  "service",
  "slice",
  "snapshot",
  "socket",
  "swap",
  "target",
  "timer"
])
const templateUnitTypes = new Set(["path", "service", "socket", "target", "timer"])
const validNameChar = /^[A-Za-z0-9:\-_.\\@]$/

/**
 * fleet's unit name rules (systemd's `unit_name_is_valid`), in fleet's order, with fleet's messages.
 *
 * @since 0.1.0
 * @internal
 */
export const validateName = (name: string): string | undefined => {
  const length = Buffer.byteLength(name)
  if (length === 0) return "unit name cannot be empty"
  if (length > unitNameMax) return `unit name exceeds maximum length (${unitNameMax})`
  const dot = name.lastIndexOf(".")
  if (dot === -1) return 'unit name must contain "."'
  if (dot === name.length - 1) return 'unit name cannot end in "."'
  const suffix = name.slice(dot + 1)
  if (!validUnitTypes.has(suffix)) return `invalid unit type: ${quote(suffix)}`
  if (name.includes("@") && !templateUnitTypes.has(suffix)) return `invalid unit type for template: ${quote(suffix)}`
  for (const char of name.slice(0, dot)) {
    if (!validNameChar.test(char)) return `invalid character ${quoteRune(char)} in unit name`
  }
  if (name.startsWith("@")) return 'unit name cannot start in "@"'
  return undefined
}

/**
 * Whether a unit name is a template (`foo@.service`): an `@` with nothing between it and the type.
 *
 * @since 0.1.0
 * @internal
 */
export const isTemplate = (name: string): boolean => {
  const at = name.indexOf("@")
  if (at === -1) return false
  const dot = name.lastIndexOf(".")
  return (dot === -1 ? name.slice(at + 1) : name.slice(at + 1, dot)) === ""
}

/**
 * The `[X-Fleet]` options of a unit, by name, in order.
 *
 * @since 0.1.0
 * @internal
 */
export const requirements = (options: ReadonlyArray<UnitFile.Option>): ReadonlyMap<string, ReadonlyArray<string>> => {
  const map = new Map<string, Array<string>>()
  for (const option of options) {
    if (option.section !== "X-Fleet") continue
    const values = map.get(option.name)
    if (values === undefined) map.set(option.name, [option.value])
    else values.push(option.value)
  }
  return map
}

const values = (map: ReadonlyMap<string, ReadonlyArray<string>>, ...names: ReadonlyArray<string>) =>
  names.flatMap((name) => map.get(name) ?? [])

const unique = (items: ReadonlyArray<string>): ReadonlyArray<string> => Array.from(new Set(items))

/**
 * The machine a unit is pinned to (`MachineID` or its older spellings), if any.
 *
 * @since 0.1.0
 * @internal
 */
export const requiredTarget = (map: ReadonlyMap<string, ReadonlyArray<string>>): string | undefined => {
  for (const name of ["MachineID", "X-ConditionMachineID", "X-ConditionMachineBootID"]) {
    const found = map.get(name)
    if (found !== undefined && found.length > 0) return found[0]
  }
  return undefined
}

const isTruthy = (value: string): boolean => ["true", "yes", "1", "on", "t"].includes(value.toLowerCase())

/**
 * Whether a unit is global (`[X-Fleet] Global=` true, the last value winning).
 *
 * @since 0.1.0
 * @internal
 */
export const isGlobal = (options: ReadonlyArray<UnitFile.Option>): boolean => {
  const found = requirements(options).get("Global")
  const last = found?.[found.length - 1]
  return last !== undefined && isTruthy(last)
}

/** Go's `path.Match`; a malformed pattern matches nothing, as fleet ignores the error. */
const globMatch = (pattern: string, name: string): boolean => {
  let source = "^"
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i]!
    if (char === "*") source += "[^/]*"
    else if (char === "?") source += "[^/]"
    else if (char === "\\") {
      i++
      if (i >= pattern.length) return false
      source += "\\" + pattern[i]
    } else if (char === "[") {
      const end = pattern.indexOf("]", i + 2)
      if (end === -1) return false
      let body = pattern.slice(i + 1, end)
      const negated = body.startsWith("^")
      if (negated) body = body.slice(1)
      source += (negated ? "[^/" : "[") + body.replace(/[\]\\^]/g, "\\$&") + "]"
      i = end
    } else source += char.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")
  }
  try {
    return new RegExp(source + "$", "u").test(name)
  } catch {
    return false
  }
}

/**
 * fleet's checks of a new unit's options: the unit file must survive go-systemd's round trip, and the `[X-Fleet]`
 * requirements must not contradict each other.
 *
 * @since 0.1.0
 * @internal
 */
export const validateOptions = (options: ReadonlyArray<UnitFile.Option>): string | undefined => {
  const parsed = UnitFile.parseResult(UnitFile.serialize(options))
  if (Result.isFailure(parsed)) return parsed.failure.message
  const map = requirements(options)
  const conflicts = unique(values(map, "X-Conflicts", "Conflicts"))
  const peers = unique(values(map, "X-ConditionMachineOf", "MachineOf"))
  const replaces = values(map, "Replaces")
  for (const peer of peers) {
    for (const conflict of conflicts) {
      if (globMatch(conflict, peer)) {
        return `unresolvable requirements: peer ${quote(peer)} matches conflict ${quote(conflict)}`
      }
    }
  }
  const hasTarget = requiredTarget(map) !== undefined
  const hasPeers = peers.length > 0
  const hasConflicts = conflicts.length > 0
  const hasReplaces = replaces.length > 0
  const global = isGlobal(options)
  if (hasTarget && hasPeers) return "MachineID cannot be used with Peers"
  if (hasTarget && hasConflicts) return "MachineID cannot be used with Conflicts"
  if (hasTarget && global) return "MachineID cannot be used with Global"
  if (hasTarget && hasReplaces) return "MachineID cannot be used with Replaces"
  if (global && hasPeers) return "Global cannot be used with Peers"
  if (global && hasReplaces) return "Global cannot be used with Replaces"
  if (hasConflicts && hasReplaces) return "Conflicts cannot be used with Replaces"
  return undefined
}
