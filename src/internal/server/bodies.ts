/**
 * Request bodies as Go's `encoding/json` decodes them into fleet's structs: case-insensitive keys, the last duplicate
 * winning, `null` leaving a field alone, and Go's error texts, which fleet forwards in its 400 answers.
 *
 * @since 0.2.0
 * @internal
 */
import { Result } from "effect"
import type * as UnitFile from "../../UnitFile.ts"
import * as GoJson from "../goJson.ts"

/**
 * A unit as a `PUT` body decodes it (Go's zero values are `undefined`).
 *
 * @since 0.1.0
 * @internal
 */
export interface UnitInput {
  readonly name: string | undefined
  readonly desiredState: string | undefined
  readonly options: ReadonlyArray<UnitFile.Option> | undefined
}

/**
 * One machine metadata operation of a `PATCH /machines` body.
 *
 * @since 0.1.0
 * @internal
 */
export interface MetadataOp {
  readonly op: string
  readonly path: string
  readonly value: string
}

const unitFields = new Map([
  ["currentstate", "currentState"],
  ["desiredstate", "desiredState"],
  ["machineid", "machineID"],
  ["name", "name"],
  ["options", "options"]
])

interface OptionDraft {
  section: string | undefined
  name: string | undefined
  value: string | undefined
}

const decodeString = (
  node: GoJson.Node,
  errors: GoJson.TypeErrors,
  struct: string,
  field: string,
  current: string | undefined
): string | undefined => {
  if (node.kind === "string") return node.value
  if (node.kind !== "null") errors.field(node, struct, field, "string")
  return current
}

const decodeOption = (node: GoJson.Node, errors: GoJson.TypeErrors, previous: OptionDraft | undefined) => {
  const option: OptionDraft = { ...(previous ?? { section: undefined, name: undefined, value: undefined }) }
  if (node.kind !== "object") {
    errors.field(node, "Unit", "options", "schema.UnitOption")
    return option
  }
  for (const [key, value] of node.entries) {
    const field = GoJson.foldKey(key)
    if (field === "section" || field === "name" || field === "value") {
      // Go names a nested field by its whole path of JSON names (array indices left out) after the innermost struct.
      option[field] = decodeString(value, errors, "UnitOption", `options.${field}`, option[field])
    }
  }
  return option
}

/**
 * A `PUT /units/{name}` body, decoded into fleet's `schema.Unit` by Go's rules; `Failure` is Go's error text.
 *
 * @since 0.1.0
 * @internal
 */
export const decodeUnit = (body: string): Result.Result<UnitInput, string> => {
  const parsed = GoJson.parse(body)
  if (Result.isFailure(parsed)) return Result.fail(parsed.failure)
  const node = parsed.success
  const errors = new GoJson.TypeErrors()
  const unit: { name?: string | undefined; desiredState?: string | undefined; options?: Array<OptionDraft> } = {}
  if (node.kind === "object") {
    for (const [key, value] of node.entries) {
      const field = unitFields.get(GoJson.foldKey(key))
      if (field === undefined) continue
      if (field === "options") {
        if (value.kind === "null") delete unit.options
        else if (value.kind !== "array") errors.field(value, "Unit", "options", "[]*schema.UnitOption")
        else {
          // Go reuses the elements of an earlier duplicate "options" array; the last key still wins.
          const previous = unit.options ?? []
          unit.options = value.items
            .map((item, index) => (item.kind === "null" ? undefined : decodeOption(item, errors, previous[index])))
            .filter((option): option is OptionDraft => option !== undefined)
        }
      } else if (field === "name" || field === "desiredState") {
        unit[field] = decodeString(value, errors, "Unit", field, unit[field])
      } else decodeString(value, errors, "Unit", field, undefined)
    }
  } else if (node.kind !== "null") errors.value(node, "schema.Unit")
  if (errors.first !== undefined) return Result.fail(errors.first)
  return Result.succeed({
    name: unit.name,
    desiredState: unit.desiredState,
    options: unit.options?.map((option) => ({
      section: option.section ?? "",
      name: option.name ?? "",
      value: option.value ?? ""
    }))
  })
}

// Go prints an anonymous struct type with its field tags, quoted as Go source.
const metadataValueType = 'struct { Value string "json:\\"value\\"" }'

/**
 * A `PATCH /machines` body, decoded into fleet's `[]machineMetadataOp` by Go's rules.
 *
 * @since 0.1.0
 * @internal
 */
export const decodeMetadataOps = (body: string): Result.Result<ReadonlyArray<MetadataOp>, string> => {
  const parsed = GoJson.parse(body)
  if (Result.isFailure(parsed)) return Result.fail(parsed.failure)
  const node = parsed.success
  const errors = new GoJson.TypeErrors()
  const ops: Array<MetadataOp> = []
  if (node.kind === "array") {
    for (const item of node.items) {
      const op = { op: "", path: "", value: "" }
      if (item.kind === "object") {
        for (const [key, value] of item.entries) {
          const field = GoJson.foldKey(key)
          if (field === "op") op.op = decodeString(value, errors, "machineMetadataOp", "op", op.op) ?? ""
          else if (field === "path") op.path = decodeString(value, errors, "machineMetadataOp", "path", op.path) ?? ""
          else if (field === "value") {
            if (value.kind === "object") {
              for (const [innerKey, inner] of value.entries) {
                if (GoJson.foldKey(innerKey) === "value") {
                  // The anonymous struct has no name: Go's message reads "Go struct field .Value.value".
                  op.value = decodeString(inner, errors, "", "Value.value", op.value) ?? ""
                }
              }
            } else if (value.kind !== "null") errors.field(value, "machineMetadataOp", "Value", metadataValueType)
          }
        }
      } else if (item.kind !== "null") errors.value(item, "api.machineMetadataOp")
      ops.push(op)
    }
  } else if (node.kind !== "null") errors.value(node, "[]api.machineMetadataOp")
  if (errors.first !== undefined) return Result.fail(errors.first)
  return Result.succeed(ops)
}
