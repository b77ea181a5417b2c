import { Effect } from "effect"
import { Fleet } from "effect-fleet"

export const start = Effect.gen(function* () {
  yield* Fleet.setUnitDesiredState("web@1.service", "launched")
  yield* Fleet.waitForUnit("web@1.service", "launched", { timeout: "1 minute" })
})
