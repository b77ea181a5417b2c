import { Effect } from "effect"
import { Fleet } from "effect-fleet"

export const program = Fleet.setUnitDesiredState("web.service", "launched").pipe(
  Effect.catchTags({
    // fleet answered >= 400: its code and message
    APIError: (error) =>
      error.code === 404 ? Effect.logWarning("no such unit") : Effect.logError(`fleet refused: ${error}`),
    // refused before anything was sent (here: never, "launched" is valid)
    ValueError: (error) => Effect.logError(error.message),
    // between us and fleet: Connect, Reset, Timeout, MalformedResponse or Tunnel
    TransportError: (error) => Effect.logError(`${error.reason}: ${error.message}`)
  })
)
