/**
 * Watching and waiting by polling: a Stream of unit state changes, and a wait for a unit to reach a state. Both are
 * written against the service's shape so that `FleetWatch.ts` can wrap them without an import cycle.
 */
import { Data, Duration, Effect, Option, Schedule, Stream } from "effect"
import type { FleetService, UnitStateFilter } from "./service.ts"
import { type APIError, isTransient, type TransportError, ValueError, WaitTimeoutError } from "../../FleetError.ts"
import type { DesiredState, Unit } from "../../Unit.ts"
import type { UnitState } from "../../UnitState.ts"
import { watchRetrySchedule } from "./retry.ts"
import { snapshot } from "./stateSnapshot.ts"
import { isGlobal } from "../unitRules.ts"

/**
 * A change a watch reports: a unit state that appeared, changed or disappeared.
 *
 * @since 0.2.0
 * @internal
 */
export type UnitStateChange = Data.TaggedEnum<{
  Added: { readonly state: UnitState }
  Changed: { readonly state: UnitState; readonly previous: UnitState }
  Removed: { readonly state: UnitState }
}>

/**
 * A change a watch reports: a unit state that appeared, changed or disappeared.
 *
 * @since 0.2.0
 * @internal
 */
export const UnitStateChange = Data.taggedEnum<UnitStateChange>()

/**
 * Options of {@link watchUnitStates}: the polling interval, the listing's filters and the retry schedule.
 *
 * @since 0.2.0
 * @internal
 */
export interface WatchOptions extends UnitStateFilter {
  readonly interval: Duration.Input
  readonly retry?: Schedule.Schedule<unknown, APIError | TransportError> | undefined
}

const sameState = (a: UnitState, b: UnitState): boolean =>
  a.hash === b.hash &&
  a.systemdLoadState === b.systemdLoadState &&
  a.systemdActiveState === b.systemdActiveState &&
  a.systemdSubState === b.systemdSubState

/**
 * The stream of unit state changes, by polling the state listing every `interval`.
 *
 * @since 0.2.0
 * @internal
 */
export const watchUnitStates = (
  fleet: FleetService,
  options: WatchOptions
): Stream.Stream<UnitStateChange, APIError | TransportError> => {
  const interval = Duration.fromInputUnsafe(options.interval)
  const schedule = (options.retry ?? watchRetrySchedule).pipe(Schedule.while(({ input }) => isTransient(input)))
  const filter: UnitStateFilter = {
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
 * What one poll of {@link waitForUnit} sees: the unit, if it exists, and its states.
 *
 * @since 0.2.0
 * @internal
 */
export interface UnitStatus {
  /** The unit as fleet reports it, or `undefined` when it does not exist. */
  readonly unit: Unit | undefined
  /** The unit's states on the machines that report it. */
  readonly states: ReadonlyArray<UnitState>
}

/**
 * Options of {@link waitForUnit}: how long to wait in all, and how often to look.
 *
 * @since 0.2.0
 * @internal
 */
export interface WaitOptions {
  readonly timeout: Duration.Input
  readonly interval?: Duration.Input | undefined
}

const defaultInterval = Duration.millis(250)

/**
 * Whether a unit has reached a desired state, as fleetctl's blocking commands judge it.
 *
 * @since 0.2.0
 * @internal
 */
export const hasReached =
  (target: DesiredState) =>
  ({ unit, states }: UnitStatus): boolean => {
    if (unit === undefined) return false
    const global = isGlobal(unit.options)
    // fleet never sets currentState on a global unit: fleetctl waits for its desired state instead.
    if ((global ? unit.desiredState : unit.currentState) !== target) return false
    if (target !== "launched") return true
    const mine = global
      ? states
      : states.filter(
          (s) => unit.machineID === undefined || s.machineID === undefined || s.machineID === unit.machineID
        )
    return mine.length > 0 && mine.every((s) => s.systemdActiveState === "active")
  }

/**
 * What a poll saw, in words, for the message of a `WaitTimeoutError`.
 *
 * @since 0.2.0
 * @internal
 */
export const describeStatus = ({ unit, states }: UnitStatus): string => {
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
 * Polls until a unit reaches a state or a predicate holds, failing at once on a permanent failure.
 *
 * @since 0.2.0
 * @internal
 */
export const waitForUnit = (
  fleet: FleetService,
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
