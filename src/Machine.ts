/**
 * A machine of the fleet cluster.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * A cluster machine: its ID, primary IP and metadata.
 *
 * @since 0.1.0
 * @category models
 */
export class Machine extends Schema.Class<Machine>("effect-fleet/Machine")({
  id: Schema.String,
  primaryIP: Schema.optionalKey(Schema.String),
  metadata: Schema.optionalKey(Schema.Record(Schema.String, Schema.String))
}) {}

/**
 * One change of a machine's metadata, as fleet's `PATCH /fleet/v1/machines` takes it: set a key (`add` and `replace`
 * do the same in fleet) or remove one. Keys are letters, digits, `_`, `.` and `-`; values cannot be empty.
 *
 * @example
 * ```ts
 * import { Machine } from "effect-fleet"
 *
 * const ops: ReadonlyArray<Machine.MetadataOp> = [
 *   { op: "add", machineId: "4f4d7a1b2c3d4e5f", key: "role", value: "db" },
 *   { op: "remove", machineId: "4f4d7a1b2c3d4e5f", key: "disk" }
 * ]
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export type MetadataOp =
  | { readonly op: "add" | "replace"; readonly machineId: string; readonly key: string; readonly value: string }
  | { readonly op: "remove"; readonly machineId: string; readonly key: string }

const metadataKey = /^[A-Za-z0-9_.-]+$/

/**
 * Why fleet would refuse an op (its rules, checked before anything is sent), or `undefined` when it is valid.
 *
 * @since 0.2.0
 * @category validation
 */
export const validateMetadataOp = (op: MetadataOp): string | undefined => {
  if (op.op !== "add" && op.op !== "replace" && op.op !== "remove") return "invalid op: expect add, remove, or replace"
  if (op.machineId === "" || op.machineId.includes("/")) return `invalid machine ID ${JSON.stringify(op.machineId)}`
  if (!metadataKey.test(op.key)) {
    return `invalid metadata key ${JSON.stringify(op.key)}: letters, digits, "_", "." and "-" only`
  }
  if (op.op !== "remove" && op.value === "") return "invalid value: add and replace require a value"
  return undefined
}

/**
 * The JSON body fleet's `PATCH /fleet/v1/machines` takes for these ops.
 *
 * @since 0.2.0
 * @category encoding
 */
export const metadataPatchBody = (
  ops: ReadonlyArray<MetadataOp>
): ReadonlyArray<{ readonly op: string; readonly path: string; readonly value?: { readonly value: string } }> =>
  ops.map((op) => ({
    op: op.op,
    path: `/${op.machineId}/metadata/${op.key}`,
    ...(op.op === "remove" ? {} : { value: { value: op.value } })
  }))
