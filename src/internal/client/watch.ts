/**
 * Watching and waiting by polling: a Stream of unit state changes, and a wait for a unit to reach a state. Both are
 * written against the service's shape so that `Fleet.ts` can wrap them without an import cycle.
 */
import { Data, Duration, Effect, Option, Schedule, Stream } from "effect"
import type { FleetService, UnitStateFilter } from "../../Fleet.ts"
import { type APIError, isTransient, TransportError, ValueError, WaitTimeoutError } from "../../FleetError.ts"
import type { DesiredState, Unit } from "../../Unit.ts"
import type { UnitState } from "../../UnitState.ts"
import { watchRetrySchedule } from "./retry.ts"
import { isGlobal } from "../unitRules.ts"

export type UnitStateChange = Data.TaggedEnum<{
  Added: { readonly state: UnitState }
  Changed: { readonly state: UnitState; readonly previous: UnitState }
  Removed: { readonly state: UnitState }
}>

export const UnitStateChange = Data.taggedEnum<UnitStateChange>()

export interface WatchOptions extends UnitStateFilter {
  readonly interval: Duration.Input
  readonly retry?: Schedule.Schedule<unknown, APIError | TransportError> | undefined
}

// Unit names cannot contain "/", so this cannot collide.
const keyOf = (state: UnitState): string => `${state.machineID ?? ""}/${state.name}`

const sameState = (a: UnitState, b: UnitState): boolean =>
  a.hash === b.hash &&
  a.systemdLoadState === b.systemdLoadState &&
  a.systemdActiveState === b.systemdActiveState &&
  a.systemdSubState === b.systemdSubState

const compareBytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b))

/** Events come in fleet's order (unit name, then machine ID, byte-wise) even when a state was found afterwards. */
const inFleetOrder = (states: ReadonlyMap<string, UnitState>): Map<string, UnitState> =>
  new Map(
    Array.from(states).sort(
      ([, a], [, b]) => compareBytes(a.name, b.name) || compareBytes(a.machineID ?? "", b.machineID ?? "")
    )
  )

/** One whole listing, and how many pages it took: a listing of one page is one consistent read by fleet. */
interface Listing {
  readonly states: ReadonlyArray<UnitState>
  readonly pages: number
}

// Paged here rather than through `listUnitStates`, because whether a listing spanned pages decides what it proves.
const listAll = (fleet: FleetService, filter: UnitStateFilter): Effect.Effect<Listing, APIError | TransportError> =>
  Effect.suspend(() => {
    const states: Array<UnitState> = []
    const tokens = new Set<string>()
    const next = (pageToken: string | undefined, pages: number): Effect.Effect<Listing, APIError | TransportError> =>
      Effect.flatMap(
        fleet.listUnitStatesPage(pageToken === undefined ? filter : { ...filter, pageToken }),
        (page): Effect.Effect<Listing, APIError | TransportError> => {
          for (const state of page.items) states.push(state)
          const token = page.nextPageToken
          if (token === undefined) return Effect.succeed({ states, pages: pages + 1 })
          if (tokens.has(token)) {
            return Effect.fail(
              new TransportError({
                reason: "MalformedResponse",
                message: `GET /fleet/v1/state: the next page token ${JSON.stringify(token)} was already seen in this listing`
              })
            )
          }
          tokens.add(token)
          return next(token, pages + 1)
        }
      )
    return next(undefined, 0)
  })

/**
 * The states fleet holds now, as far as a poll can tell without reporting anything false.
 *
 * fleet's page tokens are page numbers, not snapshots: a unit removed before the cursor between two page requests
 * shifts every later state one place forward, so the next page starts one state late and that state is missing
 * from the listing although it never changed (a state added before the cursor is listed twice instead, which is
 * harmless here). A listing of one page is a single read and proves absence; a longer one does not, so each known
 * state missing from it is looked up on its own (`?unitName=&machineID=`, one page) before it counts as removed.
 * The first poll has nothing to compare with: when it spans pages, a second listing is merged in, so that a state
 * skipped by one is still reported by the other.
 */
const snapshot = (
  fleet: FleetService,
  filter: UnitStateFilter,
  seen: ReadonlyMap<string, UnitState> | undefined
): Effect.Effect<Map<string, UnitState>, APIError | TransportError> =>
  Effect.gen(function* () {
    const listing = yield* listAll(fleet, filter)
    const current = new Map<string, UnitState>()
    for (const state of listing.states) current.set(keyOf(state), state)
    if (listing.pages === 1) return current
    if (seen === undefined) {
      // Later wins: a state in both listings is reported as the second one saw it.
      const size = current.size
      for (const state of (yield* listAll(fleet, filter)).states) current.set(keyOf(state), state)
      return current.size === size ? current : inFleetOrder(current)
    }
    const missing = Array.from(seen.values()).filter((state) => !current.has(keyOf(state)))
    const found = yield* Effect.forEach(
      missing,
      (state) =>
        Effect.map(
          listAll(fleet, {
            unitName: state.name,
            ...(state.machineID !== undefined ? { machineId: state.machineID } : {})
          }),
          ({ states }) => states.find((candidate) => keyOf(candidate) === keyOf(state))
        ),
      { concurrency: 4 }
    )
    const size = current.size
    for (const state of found) if (state !== undefined) current.set(keyOf(state), state)
    return current.size === size ? current : inFleetOrder(current)
  })

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

export interface UnitStatus {
  /** The unit as fleet reports it, or `undefined` when it does not exist. */
  readonly unit: Unit | undefined
  /** The unit's states on the machines that report it. */
  readonly states: ReadonlyArray<UnitState>
}

export interface WaitOptions {
  readonly timeout: Duration.Input
  readonly interval?: Duration.Input | undefined
}

const defaultInterval = Duration.millis(250)

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

export const waitForUnit = (
  fleet: FleetService,
  name: string,
  target: DesiredState | ((status: UnitStatus) => boolean),
  options: WaitOptions
): Effect.Effect<UnitStatus, WaitTimeoutError | APIError | ValueError> =>
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

    // A failure that a later poll may not repeat is recorded and waited out, like a state not reached yet.
    const poll: Effect.Effect<Option.Option<UnitStatus>, APIError | ValueError> = observe.pipe(
      Effect.map((status) => {
        lastSeen = describeStatus(status)
        lastFailure = undefined
        return reached(status) ? Option.some(status) : Option.none()
      }),
      Effect.catchTag("TransportError", (error) => {
        lastFailure = error.message
        return Effect.succeed(Option.none<UnitStatus>())
      }),
      Effect.catchTag("APIError", (error) => {
        if (!isTransient(error)) return Effect.fail(error)
        lastFailure = String(error)
        return Effect.succeed(Option.none<UnitStatus>())
      })
    )

    const loop: Effect.Effect<UnitStatus, APIError | ValueError> = Effect.flatMap(poll, (found) =>
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
