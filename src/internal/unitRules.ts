/**
 * fleet's rules for units, shared by the local server and the client: unit names (systemd's), templates, and the
 * checks fleet's API makes of a new unit's options. The `[X-Fleet]` section itself is read by `xfleet.ts`, the one
 * reading the engine uses too.
 *
 * @since 0.1.0
 * @internal
 */
import * as Result from "effect/Result"
import * as UnitFile from "../UnitFile.ts"
import { byteLength, quote, quoteRune } from "./goString.ts"
import * as XFleet from "./xfleet.ts"

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
  const length = byteLength(name)
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
 * Whether a unit is global; the client reads it from here, the rules of `[X-Fleet]` are in `xfleet.ts`.
 *
 * @since 0.1.0
 * @internal
 */
export const isGlobal = XFleet.isGlobal

const unique = (items: ReadonlyArray<string>): ReadonlyArray<string> => Array.from(new Set(items))

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
  // Read without a name, as fleet's API reads a new unit: specifiers stay literal.
  const requirements = XFleet.requirementsOf("", options)
  // fleet makes sets of these, and walks them in Go's random order: with several contradictions it may name any one.
  const conflicts = unique(requirements.conflicts)
  const peers = unique(requirements.peers)
  const replaces = unique(requirements.replaces)
  for (const peer of peers) {
    for (const conflict of conflicts) {
      if (XFleet.globMatch(conflict, peer)) {
        return `unresolvable requirements: peer ${quote(peer)} matches conflict ${quote(conflict)}`
      }
    }
    for (const replace of replaces) {
      if (XFleet.globMatch(replace, peer)) {
        return `unresolvable requirements: peer ${quote(peer)} matches replace ${quote(replace)}`
      }
    }
  }
  const hasTarget = requirements.machineID !== undefined
  const hasPeers = peers.length > 0
  const hasConflicts = conflicts.length > 0
  const hasReplaces = replaces.length > 0
  const global = requirements.global
  if (hasTarget && hasPeers) return "MachineID cannot be used with Peers"
  if (hasTarget && hasConflicts) return "MachineID cannot be used with Conflicts"
  if (hasTarget && global) return "MachineID cannot be used with Global"
  if (hasTarget && hasReplaces) return "MachineID cannot be used with Replaces"
  if (global && hasPeers) return "Global cannot be used with Peers"
  if (global && hasReplaces) return "Global cannot be used with Replaces"
  if (hasConflicts && hasReplaces) return "Conflicts cannot be used with Replaces"
  return undefined
}
