import { Effect } from "effect"
import { Fleet, Unit } from "effect-fleet"

export const program = Effect.gen(function* () {
  // a unit from a unit file (parsed exactly as fleetctl parses it), launched by default
  const unit = yield* Unit.fromString("[Service]\nExecStart=/usr/bin/sleep 1d\n")
  const created = yield* Fleet.createUnit("sleep@1.service", unit)
  yield* Effect.log(`${created.name} is ${created.currentState}`)

  // units are immutable values: edits return a new unit
  const tweaked = unit.pipe(
    Unit.addOption("X-Fleet", "Conflicts", "sleep@*.service"),
    Unit.removeOption("Service", "ExecStart"),
    Unit.addOption("Service", "ExecStart", "/usr/bin/sleep 2d")
  )
  yield* Fleet.createUnit("sleep@2.service", tweaked)

  // move a unit by name or by value; returns the unit as fleet now reports it
  yield* Fleet.setUnitDesiredState("sleep@1.service", "loaded")
  const fetched = yield* Fleet.getUnit("sleep@1.service")
  yield* Fleet.setUnitDesiredState(fetched, "inactive")

  yield* Fleet.destroyUnit("sleep@1.service")
  yield* Fleet.destroyUnit(fetched.name ?? "sleep@2.service")
})
