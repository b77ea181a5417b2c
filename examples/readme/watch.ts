import { Effect, Stream } from "effect"
import { Fleet } from "effect-fleet"

export const log = Fleet.watchUnitStates({ interval: "1 second" }).pipe(
  Stream.runForEach((change) => Effect.log(change._tag, change.state.name, change.state.systemdActiveState))
)
