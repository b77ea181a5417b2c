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
