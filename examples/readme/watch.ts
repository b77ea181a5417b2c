import { Effect, Stream } from "effect"
import { FleetWatch } from "effect-fleet"

export const log = FleetWatch.watchUnitStates({ interval: "1 second" }).pipe(
  Stream.runForEach((change) => Effect.log(change._tag, change.state.name, change.state.systemdActiveState))
)
