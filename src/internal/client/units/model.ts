/**
 * What `FleetUnits`' operations share: their errors, progress events and options (declared in the public
 * `FleetUnitsModel`, re-exported here for the modules beside this one), how an event is reported and a fleet error rendered, and the read of a unit that may
 * not exist.
 *
 * @since 0.2.0
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Fleet from "../../../Fleet.ts"
import type { FleetError } from "../../../FleetError.ts"
import type { FleetUnit } from "../../../Unit.ts"
import type { Options, Progress } from "../../../FleetUnitsModel.ts"

export { UnitsError, WaitAllError } from "../../../FleetUnitsModel.ts"
export type { ChangeResult, Options, Progress } from "../../../FleetUnitsModel.ts"

/**
 * Hands `progress` to `options.onProgress`, if there is one.
 *
 * @since 0.2.0
 * @internal
 */
export const report = (options: Options, progress: Progress): Effect.Effect<void> =>
  options.onProgress === undefined ? Effect.void : options.onProgress(progress)

/**
 * How a fleet error reads inside fleetctl's messages: `options.describe`, else its message.
 *
 * @since 0.2.0
 * @internal
 */
export const describeWith =
  (options: Options) =>
  (error: FleetError): string =>
    options.describe === undefined ? error.message : options.describe(error)

/**
 * A unit, or `undefined` where fleet answers 404.
 *
 * @since 0.2.0
 * @internal
 */
export const getUnitOrUndefined = (
  fleet: Fleet.FleetService,
  name: string
): Effect.Effect<FleetUnit | undefined, FleetError> =>
  fleet.getUnit(name).pipe(
    Effect.map((unit): FleetUnit | undefined => unit),
    Effect.catchTag("APIError", (error) => (error.code === 404 ? Effect.succeed(undefined) : Effect.fail(error)))
  )
