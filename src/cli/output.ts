/**
 * `--output json|yaml`: listings and status as data, with the API's own field names (fleet leaves empty fields out,
 * and so does this).
 *
 * @internal
 */
import * as Flag from "effect/cli/Flag"
import type { Machine } from "../Machine.ts"
import type { Unit } from "../Unit.ts"
import type { UnitState } from "../UnitState.ts"

export type Format = "text" | "json" | "yaml"

export const flag = Flag.Literals("output", ["text", "json", "yaml"]).pipe(
  Flag.withAlias("o"),
  Flag.withDescription("text (fleetctl's table, the default), or json or yaml with the API's field names"),
  Flag.withDefault("text" as Format)
)

type Data = string | number | boolean | null | ReadonlyArray<Data> | { readonly [key: string]: Data }

const defined = (entries: ReadonlyArray<readonly [string, Data | undefined]>): { [key: string]: Data } => {
  const out: { [key: string]: Data } = {}
  for (const [key, value] of entries) if (value !== undefined && value !== "") out[key] = value
  return out
}

export const unitData = (unit: Unit): Data =>
  defined([
    ["name", unit.name],
    ["options", unit.options.map((o) => ({ section: o.section, name: o.name, value: o.value }))],
    ["desiredState", unit.desiredState],
    ["currentState", unit.currentState],
    ["machineID", unit.machineID]
  ])

export const stateData = (state: UnitState): Data =>
  defined([
    ["name", state.name],
    ["hash", state.hash],
    ["machineID", state.machineID],
    ["systemdLoadState", state.systemdLoadState],
    ["systemdActiveState", state.systemdActiveState],
    ["systemdSubState", state.systemdSubState]
  ])

export const machineData = (machine: Machine): Data =>
  defined([
    ["id", machine.id],
    ["primaryIP", machine.primaryIP],
    ["metadata", machine.metadata]
  ])

const yamlScalar = (value: string | number | boolean | null): string => {
  if (typeof value !== "string") return String(value)
  // Plain only when YAML cannot read it as anything but this string.
  return /^[A-Za-z0-9_./@-][A-Za-z0-9_./@ :=-]*$/.test(value) &&
    !/: |:$| $/.test(value) &&
    !/^(true|false|null|yes|no|on|off|y|n|~|[-+]?(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?|0x[0-9a-f]+|0o[0-7]+)$/i.test(value)
    ? value
    : JSON.stringify(value)
}

const yaml = (value: Data, indent: string): string => {
  if (Array.isArray(value)) {
    if (value.length === 0) return " []\n"
    return `\n${value
      .map((item: Data) => {
        const body = yaml(item, `${indent}  `)
        return typeof item === "object" && item !== null && !Array.isArray(item) && Object.keys(item).length > 0
          ? `${indent}- ${body.slice(indent.length + 3)}`
          : `${indent}-${body}`
      })
      .join("")}`
  }
  if (typeof value === "object" && value !== null) {
    const keys = Object.keys(value)
    if (keys.length === 0) return " {}\n"
    return `\n${keys.map((key) => `${indent}${yamlScalar(key)}:${yaml((value as Record<string, Data>)[key]!, `${indent}  `)}`).join("")}`
  }
  return ` ${yamlScalar(value as string | number | boolean | null)}\n`
}

/** The document `--output` prints for a value. */
export const render = (format: "json" | "yaml", value: Data): string =>
  format === "json" ? `${JSON.stringify(value, null, 2)}\n` : yaml(value, "").replace(/^[\n ]/, "")
