/**
 * What `FleetUnits`' operations share: their errors, their progress events and options (documented where
 * `FleetUnits` exports them), how an event is reported and a fleet error rendered, and the read of a unit that may
 * not exist.
 *
 * @since 0.2.0
 * @internal
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as Fleet from "../../../Fleet.ts"
import type { FleetError } from "../../../FleetError.ts"
import type { FleetUnit, Unit } from "../../../Unit.ts"

/**
 * `FleetUnits.UnitsError`: an operation over units stopped, at `stage`, with fleetctl's `message`.
 *
 * @since 0.2.0
 * @internal
 */
export class UnitsError extends Schema.TaggedError<UnitsError>()("UnitsError", {
  stage: Schema.Literals(["create", "state", "wait", "systemd", "find"]),
  message: Schema.String
}) {}

/**
 * `FleetUnits.WaitAllError`: a many-unit wait ended with units that did not make it.
 *
 * @since 0.2.0
 * @internal
 */
export class WaitAllError extends Schema.TaggedError<WaitAllError>()("WaitAllError", {
  failures: Schema.Array(Schema.Struct({ unit: Schema.String, lastSeen: Schema.String })),
  message: Schema.String
}) {}

/**
 * `FleetUnits.Progress`: what an operation reports as it goes.
 *
 * @since 0.2.0
 * @internal
 */
export type Progress =
  | { readonly _tag: "Created"; readonly name: string }
  | { readonly _tag: "Reached"; readonly name: string; readonly unit: Unit }
  | { readonly _tag: "Triggered"; readonly name: string; readonly action: string; readonly global: boolean }
  | { readonly _tag: "Destroyed"; readonly name: string }
  | { readonly _tag: "Warning"; readonly message: string }
  | { readonly _tag: "Skipped"; readonly name: string; readonly message: string }
  | { readonly _tag: "Waiting"; readonly name: string; readonly seen: string }

/**
 * `FleetUnits.Options`: the options shared by the operations.
 *
 * @since 0.2.0
 * @internal
 */
export interface Options {
  /**
   * fleetctl's `--block-attempts`: each attempt polls every 250 ms for up to 2 seconds; `0` (the default) waits
   * without limit.
   */
  readonly blockAttempts?: number | undefined
  /** fleetctl's `--no-block`: set the states and return, reporting `Triggered` for each unit. */
  readonly noBlock?: boolean | undefined
  /** fleetctl's `--replace`: resubmit units whose local file differs from the cluster's (submit, load, start). */
  readonly replace?: boolean | undefined
  /** Where relative unit file paths are read from (default: the process's working directory). */
  readonly cwd?: string | undefined
  /** Receives every {@link Progress} event, in order. */
  readonly onProgress?: ((progress: Progress) => Effect.Effect<void>) | undefined
  /** Renders a fleet error inside fleetctl's messages (default: its message). */
  readonly describe?: ((error: FleetError) => string) | undefined
  /** Between polls (default 250 ms, fleetctl's). */
  readonly interval?: Duration.Input | undefined
  /** The length of one attempt (default 2 seconds, fleetctl's). */
  readonly attemptWindow?: Duration.Input | undefined
}

/**
 * `FleetUnits.ChangeResult`: what `stop` and `unload` did.
 *
 * @since 0.2.0
 * @internal
 */
export interface ChangeResult {
  readonly found: number
  readonly waited: ReadonlyArray<string>
  readonly refused?: { readonly name: string; readonly state: string } | undefined
  /** The wait that failed, if one did (fleetctl still names every unit it waited for). */
  readonly waitError?: UnitsError | undefined
}

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
