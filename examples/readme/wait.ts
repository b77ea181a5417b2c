import { Effect } from "effect"
import { Fleet, FleetWatch } from "effect-fleet"

export const start = Effect.gen(function* () {
  yield* Fleet.setUnitDesiredState("web@1.service", "launched")
  yield* FleetWatch.waitForUnit("web@1.service", "launched", { timeout: "1 minute" })
})
