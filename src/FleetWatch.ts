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
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import type { DesiredState, Unit } from "./Unit.ts"
import type { UnitState } from "./UnitState.ts"
import { type APIError, isTransient, type TransportError, ValueError, WaitTimeoutError } from "./FleetError.ts"
import * as Fleet from "./Fleet.ts"
import { watchRetrySchedule } from "./internal/client/retry.ts"
import { snapshot } from "./internal/client/stateSnapshot.ts"
import * as Reached from "./internal/client/reached.ts"

/**
 * A change seen by {@link watchUnitStates}: a unit state that appeared (`Added`), one whose hash or systemd states
 * changed (`Changed`, with the `previous` state), or one that disappeared (`Removed`, with the last state seen).
 * A unit state is identified by its unit name and machine ID.
 *
 * @since 0.2.0
 * @category models
 */
export type UnitStateChange = Data.TaggedEnum<{
  /** A unit state that was not there at the previous poll (at the first poll, every state). */
  Added: { readonly state: UnitState }
  /** A unit state whose hash or systemd states changed: `state` as it is now, `previous` as it was. */
  Changed: { readonly state: UnitState; readonly previous: UnitState }
  /** A unit state that is gone, as it was last seen. */
  Removed: { readonly state: UnitState }
}>

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
export const UnitStateChange = Data.taggedEnum<UnitStateChange>()

/**
 * Options of {@link watchUnitStates}: the polling interval, the filters of `Fleet.listUnitStates`, and the schedule
 * that retries a failed poll (default: `Fleet.retrySchedule`'s backoff with no retry limit).
 *
 * @since 0.2.0
 * @category models
 */
export interface WatchOptions extends Fleet.UnitStateFilter {
  /** How long to wait between the end of one poll and the start of the next. */
  readonly interval: Duration.Input
  /** Retries a poll that failed transiently (default: exponential backoff with jitter, no retry limit). */
  readonly retry?: Schedule.Schedule<unknown, APIError | TransportError> | undefined
}

const sameState = (a: UnitState, b: UnitState): boolean =>
  a.hash === b.hash &&
  a.systemdLoadState === b.systemdLoadState &&
  a.systemdActiveState === b.systemdActiveState &&
  a.systemdSubState === b.systemdSubState

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
  Stream.unwrap(Fleet.Fleet.useSync((fleet) => watchWith(fleet, options)))

const watchWith = (
  fleet: Fleet.FleetService,
  options: WatchOptions
): Stream.Stream<UnitStateChange, APIError | TransportError> => {
  const interval = Duration.fromInputUnsafe(options.interval)
  const schedule = (options.retry ?? watchRetrySchedule).pipe(Schedule.while(({ input }) => isTransient(input)))
  const filter: Fleet.UnitStateFilter = {
    ...(options.machineId !== undefined ? { machineId: options.machineId } : {}),
    ...(options.unitName !== undefined ? { unitName: options.unitName } : {})
  }
  return Stream.paginate(undefined as ReadonlyMap<string, UnitState> | undefined, (seen) =>
    Effect.gen(function* () {
      if (seen !== undefined) yield* Effect.sleep(interval)
      // A whole snapshot or nothing: diffing a listing cut short by a failure would report every unlisted state removed.
      const next = yield* snapshot(fleet, filter, seen).pipe(Effect.retry(schedule))
      const changes: Array<UnitStateChange> = []
      for (const [key, state] of next) {
        const previous = seen?.get(key)
        if (previous === undefined) changes.push(UnitStateChange.Added({ state }))
        else if (!sameState(previous, state)) changes.push(UnitStateChange.Changed({ state, previous }))
      }
      if (seen !== undefined) {
        for (const [key, state] of seen) {
          if (!next.has(key)) changes.push(UnitStateChange.Removed({ state }))
        }
      }
      return [changes, Option.some(next as ReadonlyMap<string, UnitState>)] as const
    })
  )
}

/**
 * What {@link waitForUnit} observes at each poll: the unit (`undefined` when it does not exist) and its states.
 *
 * @since 0.2.0
 * @category models
 */
export interface UnitStatus {
  /** The unit as fleet reports it, or `undefined` when it does not exist. */
  readonly unit: Unit | undefined
  /** The unit's states on the machines that report it (none when the unit does not exist). */
  readonly states: ReadonlyArray<UnitState>
}

/**
 * Options of {@link waitForUnit}: how long to wait in all, and how often to look (default 250 ms, like fleetctl).
 *
 * @since 0.2.0
 * @category models
 */
export interface WaitOptions {
  /** How long to wait in all before failing with `WaitTimeoutError`. */
  readonly timeout: Duration.Input
  /** How long to wait between polls (default 250 ms, like fleetctl). */
  readonly interval?: Duration.Input | undefined
}

const defaultInterval = Duration.millis(250)

/**
 * Whether a unit has reached a desired state, as fleetctl's blocking `start`/`load`/`unload` judge it: its
 * `currentState` (for a global unit, its `desiredState`) equals the target and, for `launched`, its unit state
 * reports systemd `active`. A unit that does not exist has reached nothing, not even `inactive`.
 *
 * @since 0.2.0
 * @category predicates
 */
export const hasReached: (target: DesiredState) => (status: UnitStatus) => boolean = Reached.hasReached

// What a poll saw, in words, for the message of a `WaitTimeoutError`.
const describeStatus = ({ unit, states }: UnitStatus): string => {
  if (unit === undefined) return "the unit does not exist"
  const parts = [`currentState ${unit.currentState ?? "(none)"}`, `desiredState ${unit.desiredState ?? "(none)"}`]
  if (unit.machineID !== undefined) parts.push(`machine ${unit.machineID}`)
  for (const s of states) {
    parts.push(
      `systemd ${s.systemdLoadState ?? "?"}/${s.systemdActiveState ?? "?"}/${s.systemdSubState ?? "?"}` +
        (s.machineID !== undefined ? ` on ${s.machineID}` : "")
    )
  }
  if (states.length === 0) parts.push("no unit state reported")
  return parts.join(", ")
}

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
  Fleet.Fleet.use((fleet) => waitWith(fleet, name, target, options))

const waitWith = (
  fleet: Fleet.FleetService,
  name: string,
  target: DesiredState | ((status: UnitStatus) => boolean),
  options: WaitOptions
): Effect.Effect<UnitStatus, WaitTimeoutError | APIError | TransportError | ValueError> =>
  Effect.suspend(() => {
    if (name === "") return Effect.fail(new ValueError({ message: "unit name cannot be empty" }))
    const reached = typeof target === "function" ? target : hasReached(target)
    const wanted = typeof target === "function" ? "the awaited state" : target
    const timeout = Duration.fromInputUnsafe(options.timeout)
    const interval = options.interval === undefined ? defaultInterval : Duration.fromInputUnsafe(options.interval)
    let lastSeen: string | undefined
    let lastFailure: string | undefined

    const observe: Effect.Effect<UnitStatus, APIError | TransportError | ValueError> = Effect.gen(function* () {
      const unit = yield* fleet.getUnit(name).pipe(
        Effect.map((unit): Unit | undefined => unit),
        Effect.catchTag("APIError", (error) => (error.code === 404 ? Effect.succeed(undefined) : Effect.fail(error)))
      )
      const states = unit === undefined ? [] : yield* Stream.runCollect(fleet.listUnitStates({ unitName: name }))
      return { unit, states }
    })

    // A failure that a later poll may not repeat is recorded and waited out, like a state not reached yet; a permanent
    // one (TLS verification, EACCES, a 4xx) would only repeat until the timeout, so it fails the wait at once.
    const poll: Effect.Effect<Option.Option<UnitStatus>, APIError | TransportError | ValueError> = observe.pipe(
      Effect.map((status) => {
        lastSeen = describeStatus(status)
        lastFailure = undefined
        return reached(status) ? Option.some(status) : Option.none()
      }),
      Effect.catchTag("TransportError", (error) => {
        if (!isTransient(error)) return Effect.fail(error)
        lastFailure = error.message
        return Effect.succeed(Option.none<UnitStatus>())
      }),
      Effect.catchTag("APIError", (error) => {
        if (!isTransient(error)) return Effect.fail(error)
        lastFailure = String(error)
        return Effect.succeed(Option.none<UnitStatus>())
      })
    )

    const loop: Effect.Effect<UnitStatus, APIError | TransportError | ValueError> = Effect.flatMap(poll, (found) =>
      Option.isSome(found) ? Effect.succeed(found.value) : Effect.flatMap(Effect.sleep(interval), () => loop)
    )

    return loop.pipe(
      Effect.timeoutOrElse({
        duration: timeout,
        orElse: () => {
          const seen = lastSeen === undefined ? "no state seen" : `last seen: ${lastSeen}`
          const failure = lastFailure === undefined ? "" : `; the last poll failed: ${lastFailure}`
          return Effect.fail(
            new WaitTimeoutError({
              unit: name,
              lastSeen: lastSeen ?? lastFailure ?? "nothing",
              message: `${name} did not reach ${wanted} within ${Duration.format(timeout)} (${seen}${failure})`
            })
          )
        }
      })
    )
  })
