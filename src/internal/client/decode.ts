/**
 * Fast paths for decoding fleet's JSON into `Unit`, `UnitState` and `Machine`. The Schemas stay the single source of
 * truth: each function here builds exactly the value the Schema's decoding would build, and only for input it
 * recognises as well-formed; for anything else it returns `undefined` and the caller hands the input to the Schema,
 * so every decoding error is the Schema's. A property test (test/decode.test.ts) holds the two to identical results.
 *
 * Why: decoding through the Schema costs about 20 µs per unit, ten times `JSON.parse` for the same bytes; these cost
 * about what building the objects costs.
 */
import { Machine } from "../../Machine.ts"
import { type DesiredState, Unit, UnitOption } from "../../Unit.ts"
import { UnitState } from "../../UnitState.ts"

type Json = Record<string, unknown>

const isObject = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

const isState = (u: unknown): u is DesiredState => u === "launched" || u === "loaded" || u === "inactive"

// A Schema.Class instance as its decoding leaves it is the class's prototype with the decoded fields as own
// properties: each decoder fills a fresh one directly (and drops it when the input turns out not to be well-formed).
const unitPrototype: Unit = Unit.prototype
const statePrototype: UnitState = UnitState.prototype
const machinePrototype: Machine = Machine.prototype

/** An optional string field: absent stays absent, present must be a string. */
const optionalString = (from: Json, key: string, to: Record<string, unknown>): boolean => {
  const value = from[key]
  if (value === undefined) return !(key in from)
  if (typeof value !== "string") return false
  to[key] = value
  return true
}

/** An optional desired or current state: absent stays absent, present must be one of fleet's three. */
const optionalState = (from: Json, key: string, to: Record<string, unknown>): boolean => {
  const value = from[key]
  if (value === undefined) return !(key in from)
  if (!isState(value)) return false
  to[key] = value
  return true
}

const optionPrototype: UnitOption = UnitOption.prototype

const unitOption = (u: unknown): UnitOption | undefined => {
  if (!isObject(u)) return undefined
  const { name, section, value } = u
  // fleet leaves empty fields out: a missing one decodes to "" (the Schema's decoding default)
  if (section !== undefined ? typeof section !== "string" : "section" in u) return undefined
  if (name !== undefined ? typeof name !== "string" : "name" in u) return undefined
  if (value !== undefined ? typeof value !== "string" : "value" in u) return undefined
  // set one by one, always in this order, so that every option shares one hidden class
  const option = Object.create(optionPrototype)
  option.section = section ?? ""
  option.name = name ?? ""
  option.value = value ?? ""
  return option
}

/**
 * The fast path for a unit: the `Unit` when the JSON is plainly one, `undefined` to leave it to the Schema.
 *
 * @since 0.2.0
 * @internal
 */
export const unit = (u: unknown): Unit | undefined => {
  if (!isObject(u)) return undefined
  const fields = Object.create(unitPrototype)
  if (!optionalString(u, "name", fields)) return undefined
  const options = u.options
  if (options === undefined) {
    if ("options" in u) return undefined
    fields.options = []
  } else {
    if (!Array.isArray(options)) return undefined
    const decoded: Array<UnitOption> = new Array(options.length)
    for (let i = 0; i < options.length; i++) {
      const option = unitOption(options[i])
      if (option === undefined) return undefined
      decoded[i] = option
    }
    fields.options = decoded
  }
  if (!optionalState(u, "desiredState", fields) || !optionalState(u, "currentState", fields)) return undefined
  if (!optionalString(u, "machineID", fields)) return undefined
  return fields
}

const stateKeys = ["hash", "machineID", "systemdLoadState", "systemdActiveState", "systemdSubState"] as const

/**
 * The fast path for a unit state: the `UnitState` when the JSON is plainly one, `undefined` to leave it to the Schema.
 *
 * @since 0.2.0
 * @internal
 */
export const unitState = (u: unknown): UnitState | undefined => {
  if (!isObject(u) || typeof u.name !== "string") return undefined
  const fields = Object.create(statePrototype)
  fields.name = u.name
  for (const key of stateKeys) if (!optionalString(u, key, fields)) return undefined
  return fields
}

/**
 * The fast path for a machine: the `Machine` when the JSON is plainly one, `undefined` to leave it to the Schema.
 *
 * @since 0.2.0
 * @internal
 */
export const machine = (u: unknown): Machine | undefined => {
  if (!isObject(u) || typeof u.id !== "string") return undefined
  const fields = Object.create(machinePrototype)
  fields.id = u.id
  if (!optionalString(u, "primaryIP", fields)) return undefined
  const metadata = u.metadata
  if (metadata !== undefined) {
    if (!isObject(metadata)) return undefined
    const copy: Record<string, string> = {}
    for (const key of Object.keys(metadata)) {
      const value = metadata[key]
      // "__proto__" is left to the Schema, whatever it makes of it
      if (typeof value !== "string" || key === "__proto__") return undefined
      copy[key] = value
    }
    fields.metadata = copy
  } else if ("metadata" in u) return undefined
  return fields
}

/**
 * A page whose items sit under `key`: `items` absent when the key is, as the page Schema decodes it.
 *
 * @since 0.2.0
 * @internal
 */
export const page =
  <A>(key: string, item: (u: unknown) => A | undefined) =>
  (u: unknown): { readonly items?: ReadonlyArray<A>; readonly nextPageToken?: string } | undefined => {
    if (!isObject(u)) return undefined
    const fields: { items?: Array<A>; nextPageToken?: string } = {}
    const token = u.nextPageToken
    if (token !== undefined) {
      if (typeof token !== "string") return undefined
      fields.nextPageToken = token
    } else if ("nextPageToken" in u) return undefined
    const items = u[key]
    if (items !== undefined) {
      if (!Array.isArray(items)) return undefined
      const decoded: Array<A> = new Array(items.length)
      for (let i = 0; i < items.length; i++) {
        const value = item(items[i])
        if (value === undefined) return undefined
        decoded[i] = value
      }
      fields.items = decoded
    } else if (key in u) return undefined
    return fields
  }
