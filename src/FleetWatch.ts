/**
 * Watching and waiting on a fleet cluster by polling: a Stream of the unit state changes, and a wait until a unit
 * reaches a state (fleetctl's blocking `start`, `load`, `unload`). Both run over the `Fleet` service in context.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import { FleetWatch } from "effect-fleet"
 *
 * const log = FleetWatch.watchUnitStates({ interval: "1 second" }).pipe(
 *   Stream.runForEach((change) => Effect.log(change._tag, change.state.name))
 * )
 * ```
 *
 * @since 0.2.0
 */
import * as Stream from "effect/Stream"
import type * as Effect from "effect/Effect"
import type { DesiredState } from "./Unit.ts"
import type { APIError, TransportError, ValueError, WaitTimeoutError } from "./FleetError.ts"
import * as Fleet from "./Fleet.ts"
import * as internal from "./internal/client/watch.ts"

/**
 * A change seen by {@link watchUnitStates}: a unit state that appeared (`Added`), one whose hash or systemd states
 * changed (`Changed`, with the `previous` state), or one that disappeared (`Removed`, with the last state seen).
 * A unit state is identified by its unit name and machine ID.
 *
 * @since 0.2.0
 * @category models
 */
export type UnitStateChange = internal.UnitStateChange

/**
 * Constructors, `$is` and `$match` for {@link UnitStateChange}.
 *
 * @example
 * ```ts
 * import { FleetWatch } from "effect-fleet"
 *
 * const describe = FleetWatch.UnitStateChange.$match({
 *   Added: ({ state }) => `${state.name} appeared on ${state.machineID}`,
 *   Changed: ({ state, previous }) => `${state.name}: ${previous.systemdActiveState} -> ${state.systemdActiveState}`,
 *   Removed: ({ state }) => `${state.name} left ${state.machineID}`
 * })
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export const UnitStateChange = internal.UnitStateChange

/**
 * Options of {@link watchUnitStates}: the polling interval, the filters of `Fleet.listUnitStates`, and the schedule
 * that retries a failed poll (default: `Fleet.retrySchedule`'s backoff with no retry limit).
 *
 * @since 0.2.0
 * @category models
 */
export type WatchOptions = internal.WatchOptions

/**
 * Watches unit states by polling the state listing every `interval`: the first poll emits every existing state as
 * `Added`, later polls emit only what changed (nothing changed, nothing emitted). A poll that fails transiently is
 * retried on the watch's schedule instead of surfacing as a gap; the stream fails only on a non-transient error or
 * when that schedule gives up.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import { FleetWatch } from "effect-fleet"
 *
 * const log = FleetWatch.watchUnitStates({ interval: "1 second" }).pipe(
 *   Stream.runForEach((change) => Effect.log(change._tag, change.state.name, change.state.systemdActiveState))
 * )
 * ```
 *
 * @since 0.2.0
 * @category watching
 */
export const watchUnitStates = (
  options: WatchOptions
): Stream.Stream<UnitStateChange, APIError | TransportError, Fleet.Fleet> =>
  Stream.unwrap(Fleet.Fleet.useSync((fleet) => internal.watchUnitStates(fleet, options)))

/**
 * What {@link waitForUnit} observes at each poll: the unit (`undefined` when it does not exist) and its states.
 *
 * @since 0.2.0
 * @category models
 */
export type UnitStatus = internal.UnitStatus

/**
 * Options of {@link waitForUnit}: how long to wait in all, and how often to look (default 250 ms, like fleetctl).
 *
 * @since 0.2.0
 * @category models
 */
export type WaitOptions = internal.WaitOptions

/**
 * Whether a unit has reached a desired state, as fleetctl's blocking `start`/`load`/`unload` judge it: its
 * `currentState` (for a global unit, its `desiredState`) equals the target and, for `launched`, its unit state
 * reports systemd `active`. A unit that does not exist has reached nothing, not even `inactive`.
 *
 * @since 0.2.0
 * @category predicates
 */
export const hasReached: (target: DesiredState) => (status: UnitStatus) => boolean = internal.hasReached

/**
 * Waits until a unit reaches a desired state (see {@link hasReached}) or satisfies a predicate, polling every
 * `interval`; the analogue of fleetctl's blocking start and stop. A unit that does not exist does not count as
 * `inactive`: wait for `(status) => status.unit === undefined` to wait for its removal. Transient failures (see
 * `FleetError.isTransient`) are waited out. Fails with `WaitTimeoutError` (whose message says the last state seen)
 * when `timeout` passes, at once with `APIError` on a non-transient answer or `TransportError` on a permanent
 * transport failure (TLS verification, a socket it may not open), with `ValueError` for an empty name.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Fleet, FleetWatch } from "effect-fleet"
 *
 * const start = Effect.gen(function*() {
 *   yield* Fleet.setUnitDesiredState("web@1.service", "launched")
 *   yield* FleetWatch.waitForUnit("web@1.service", "launched", { timeout: "1 minute" })
 * })
 * ```
 *
 * @since 0.2.0
 * @category watching
 */
export const waitForUnit = (
  name: string,
  target: DesiredState | ((status: UnitStatus) => boolean),
  options: WaitOptions
): Effect.Effect<UnitStatus, WaitTimeoutError | APIError | TransportError | ValueError, Fleet.Fleet> =>
  Fleet.Fleet.use((fleet) => internal.waitForUnit(fleet, name, target, options))
