/**
 * The waits of `FleetUnits`: fleetctl's (attempts of 2 seconds polled every 250 ms, one unit at a time, the
 * reason for the last failed poll kept for the message) and the many-unit `waitAll` (one state listing per poll for
 * all the units, every unit that did not make it reported). Neither is `FleetWatch.waitForUnit`'s deadline loop:
 * fleetctl's lines, its request pattern and its retry of every failed poll are what the CLI must reproduce. A
 * fleet state is judged by `../reached.ts`, as `FleetWatch.hasReached` judges it.
 *
 * @since 0.2.0
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Fleet from "../../../Fleet.ts"
import { type FleetError, isTransient } from "../../../FleetError.ts"
import { type DesiredState, isDesiredState, type Unit } from "../../../Unit.ts"
import type { UnitState } from "../../../UnitState.ts"
import type { WaitAllOptions, WaitTarget } from "../../../FleetUnitsModel.ts"
import { isGlobal } from "../../unitRules.ts"
import { hasReached } from "../reached.ts"
import { describeWith, getUnitOrUndefined, type Options, report, UnitsError, WaitAllError } from "./model.ts"

const defaultInterval = Duration.millis(250)

/**
 * fleetctl's attempt window (2 seconds), also its pause between polls for a destroyed unit.
 *
 * @since 0.2.0
 * @internal
 */
export const defaultWindow = Duration.seconds(2)

/**
 * fleetctl's wait for one unit: attempts of `attemptWindow` (2 s), polling every `interval` (250 ms, the first poll
 * one interval in), until `check` succeeds; `attempts` of 0 polls forever. Fails with the last reason after the
 * last attempt.
 */
const pollAttempts = <A>(
  check: Effect.Effect<A, string>,
  attempts: number,
  options: Options,
  timedOut: string
): Effect.Effect<A, string> => {
  const interval = options.interval === undefined ? defaultInterval : Duration.fromInputUnsafe(options.interval)
  const window = options.attemptWindow === undefined ? defaultWindow : Duration.fromInputUnsafe(options.attemptWindow)
  const polls = Math.max(1, Math.floor(Duration.toMillis(window) / Duration.toMillis(interval)))
  const attempt = (left: number): Effect.Effect<A, string> =>
    Effect.sleep(interval).pipe(
      Effect.andThen(check),
      Effect.catch((why) => (left > 1 ? attempt(left - 1) : Effect.fail(why)))
    )
  const loop = (n: number): Effect.Effect<A, string> =>
    attempt(polls).pipe(
      Effect.catch((why) =>
        attempts < 1 ? loop(n + 1) : n + 1 < attempts ? loop(n + 1) : Effect.fail(timedOut || why)
      )
    )
  return loop(0)
}

const stateOf = (unit: Unit): string | undefined => (isGlobal(unit.options) ? unit.desiredState : unit.currentState)

/**
 * `FleetUnits.waitForStates`: fleetctl's blocking wait for every unit's state, concurrently.
 *
 * @since 0.2.0
 * @internal
 */
export const waitForStates = (
  names: ReadonlyArray<string>,
  target: DesiredState,
  action: string,
  options: Options = {}
): Effect.Effect<void, UnitsError, Fleet.Fleet> =>
  Effect.gen(function* () {
    if (options.noBlock === true) {
      for (const name of names) yield* report(options, { _tag: "Triggered", name, action, global: false })
      return
    }
    const fleet = yield* Fleet.Fleet
    const describe = describeWith(options)
    const attempts = options.blockAttempts ?? 0
    yield* Effect.forEach(
      names,
      (name) =>
        pollAttempts(
          Effect.gen(function* () {
            const unit = yield* getUnitOrUndefined(fleet, name).pipe(
              Effect.mapError((error) => `Error retrieving Unit(${name}) from Registry: ${describe(error)}`)
            )
            if (unit === undefined) return yield* Effect.fail(`Unit ${name} not found`)
            const state = stateOf(unit)
            if (state !== target) {
              yield* report(options, { _tag: "Waiting", name, seen: state ?? "" })
              return yield* Effect.fail(`Waiting for Unit(${name}) state(${state ?? ""}) to be ${target}`)
            }
            return unit
          }),
          attempts,
          options,
          `timed out waiting for unit ${name} to report state ${target}`
        ).pipe(
          Effect.flatMap((unit) => report(options, { _tag: "Reached", name, unit })),
          Effect.mapError((message) => new UnitsError({ stage: "wait", message }))
        ),
      { concurrency: "unbounded", discard: true }
    )
  })

/**
 * `FleetUnits.waitForSystemdActive`: fleetctl's one-attempt check that systemd reports each unit active.
 *
 * @since 0.2.0
 * @internal
 */
export const waitForSystemdActive = (
  names: ReadonlyArray<string>,
  options: Options = {}
): Effect.Effect<void, UnitsError, Fleet.Fleet> =>
  Effect.gen(function* () {
    if (options.noBlock === true) {
      for (const name of names) yield* report(options, { _tag: "Triggered", name, action: "start", global: false })
      return
    }
    const fleet = yield* Fleet.Fleet
    const describe = describeWith(options)
    const window = options.attemptWindow === undefined ? defaultWindow : Duration.fromInputUnsafe(options.attemptWindow)
    yield* Effect.forEach(
      names,
      (name) =>
        pollAttempts(
          Effect.gen(function* () {
            const states = yield* Stream.runCollect(fleet.listUnitStates({ unitName: name })).pipe(
              Effect.mapError((error) => `Error getting unit state of ${name}: ${describe(error)}`)
            )
            const ok = states.some((s) => s.systemdActiveState === "active" && s.systemdLoadState === "loaded")
            if (!ok) return yield* Effect.fail(`Failed to find an active unit ${name}`)
          }),
          1,
          options,
          ""
        ).pipe(
          Effect.mapError(
            (why) =>
              new UnitsError({
                stage: "systemd",
                message: `Failed to find an active unit ${name} within ${Duration.format(window).replace(/ seconds?$/, "s")}, err: ${why}`
              })
          )
        ),
      { concurrency: "unbounded", discard: true }
    )
  })

// Shorter than the watch module's `describeStatus` (no machines, no load state): `effect-fleet wait` prints it.
const describeStatus = (unit: Unit | undefined, states: ReadonlyArray<UnitState>): string => {
  if (unit === undefined) return "the unit does not exist"
  const parts = [`currentState ${unit.currentState ?? "(none)"}`, `desiredState ${unit.desiredState ?? "(none)"}`]
  for (const s of states) {
    parts.push(`systemd ${s.systemdActiveState ?? "?"}/${s.systemdSubState ?? "?"}`)
  }
  if (states.length === 0) parts.push("no unit state reported")
  return parts.join(", ")
}

const reachedTarget = (target: WaitTarget, unit: Unit | undefined, states: ReadonlyArray<UnitState>): boolean => {
  if (isDesiredState(target)) return hasReached(target)({ unit, states })
  if (unit === undefined || states.length === 0) return false
  const mine = isGlobal(unit.options)
    ? states
    : states.filter((s) => unit.machineID === undefined || s.machineID === unit.machineID)
  return mine.length > 0 && mine.every((s) => s.systemdSubState === target || s.systemdActiveState === target)
}

/**
 * `FleetUnits.waitAll`: waits for every unit to reach `target` within `timeout`, reporting all that did not.
 *
 * @since 0.2.0
 * @internal
 */
export const waitAll = (
  names: ReadonlyArray<string>,
  target: WaitTarget,
  options: WaitAllOptions
): Effect.Effect<void, WaitAllError | FleetError, Fleet.Fleet> =>
  Effect.gen(function* () {
    const fleet = yield* Fleet.Fleet
    const interval = options.interval === undefined ? defaultInterval : Duration.fromInputUnsafe(options.interval)
    const timeout = Duration.fromInputUnsafe(options.timeout)
    const deadline = Date.now() + Duration.toMillis(timeout)
    const pending = new Map<string, string>(names.map((name) => [name, "no state seen"]))
    while (pending.size > 0) {
      // One listing of every state per poll, however many units are awaited.
      // A poll that fails transiently (fleet's 503, a dropped connection) is waited out like a state not reached
      // yet, and what it failed with is what each pending unit was last seen as.
      const polled = yield* Effect.result(Stream.runCollect(fleet.listUnitStates()))
      if (polled._tag === "Failure") {
        if (!isTransient(polled.failure)) return yield* polled.failure
        for (const name of pending.keys()) pending.set(name, `the last poll failed: ${polled.failure.message}`)
      }
      const states = polled._tag === "Success" ? polled.success : undefined
      for (const name of states === undefined ? [] : [...pending.keys()]) {
        const found = yield* Effect.result(getUnitOrUndefined(fleet, name))
        if (found._tag === "Failure") {
          if (!isTransient(found.failure)) return yield* found.failure
          pending.set(name, `the last poll failed: ${found.failure.message}`)
          continue
        }
        const unit = found.success
        const mine = states!.filter((s) => s.name === name)
        if (reachedTarget(target, unit, mine)) {
          pending.delete(name)
          if (options.onProgress !== undefined && unit !== undefined) {
            yield* options.onProgress({ _tag: "Reached", name, unit })
          }
        } else {
          const seen = describeStatus(unit, mine)
          pending.set(name, seen)
          if (options.onProgress !== undefined) yield* options.onProgress({ _tag: "Waiting", name, seen })
        }
      }
      if (pending.size === 0) return
      if (Date.now() + Duration.toMillis(interval) > deadline) {
        const failures = [...pending].map(([unit, lastSeen]) => ({ unit, lastSeen }))
        return yield* new WaitAllError({
          failures,
          message:
            `${failures.length} of ${names.length} unit(s) did not reach ${target} within ${Duration.format(timeout)}: ` +
            failures.map((f) => `${f.unit} (${f.lastSeen})`).join("; ")
        })
      }
      yield* Effect.sleep(interval)
    }
  })
