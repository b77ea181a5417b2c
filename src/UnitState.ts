/**
 * What fleet's agents report about a unit on a machine.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * A unit's state on one machine: the hash of the unit file it runs and systemd's load, active and sub states.
 *
 * @since 0.1.0
 * @category models
 */
export class UnitState extends Schema.Class<UnitState>("effect-fleet/UnitState")({
  name: Schema.String,
  hash: Schema.optionalKey(Schema.String),
  machineID: Schema.optionalKey(Schema.String),
  systemdLoadState: Schema.optionalKey(Schema.String),
  systemdActiveState: Schema.optionalKey(Schema.String),
  systemdSubState: Schema.optionalKey(Schema.String)
}) {}
