/**
 * The changes `FleetUnits` makes to the cluster, as fleetctl makes them: submitting (with `--replace`), setting
 * desired states, the unschedule of `stop` and `unload`, `destroy` and `restart`, each followed by fleetctl's wait.
 *
 * @since 0.2.0
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as Fleet from "../../../Fleet.ts"
import type { DesiredState, FleetUnit, Unit } from "../../../Unit.ts"
import { isGlobal, validateName, validateOptions } from "../../unitRules.ts"
import { type ChangeResult, describeWith, getUnitOrUndefined, type Options, report, UnitsError } from "./model.ts"
import { resolvePath, resolveUnitFile, unitName, warnIfDifferent, withDefaultType } from "./resolve.ts"
import { defaultWindow, waitForStates } from "./wait.ts"

const createUnit = (fleet: Fleet.FleetService, name: string, unit: Unit, options: Options) =>
  Effect.gen(function* () {
    const nameError = validateName(name)
    if (nameError !== undefined) return yield* new UnitsError({ stage: "create", message: nameError })
    const optionsError = validateOptions(unit.options)
    if (optionsError !== undefined) return yield* new UnitsError({ stage: "create", message: optionsError })
    yield* fleet.createUnit(name, unit).pipe(
      Effect.mapError(
        (error) =>
          new UnitsError({
            stage: "create",
            message: `failed creating unit ${name}: ${describeWith(options)(error)}`
          })
      )
    )
    yield* report(options, { _tag: "Created", name })
  })

// The commands fleetctl lets --replace act in, and the desired states it may replace a unit in.
const replaceable: Record<string, ReadonlyArray<string>> = {
  submit: ["inactive"],
  load: ["inactive", "loaded"],
  start: ["inactive", "loaded", "launched"]
}

/**
 * `FleetUnits.submit`: fleetctl's `lazyCreateUnits`.
 *
 * @since 0.2.0
 * @internal
 */
export const submit = (
  args: ReadonlyArray<string>,
  options: Options & { readonly command?: "submit" | "load" | "start" | "restart" } = {}
): Effect.Effect<ReadonlyArray<string>, UnitsError, Fleet.Fleet> =>
  Effect.gen(function* () {
    const fleet = yield* Fleet.Fleet
    const describe = describeWith(options)
    const created: Array<string> = []
    const waits: Array<Fiber.Fiber<void, UnitsError>> = []
    const command = options.command ?? "submit"
    const run = Effect.gen(function* () {
      for (const rawArg of args) {
        const arg = withDefaultType(rawArg)
        const name = unitName(arg)
        const existing = yield* getUnitOrUndefined(fleet, name).pipe(
          Effect.mapError(
            (error) =>
              new UnitsError({
                stage: "create",
                message: `error retrieving Unit(${name}) from Registry: ${describe(error)}`
              })
          )
        )
        if (existing !== undefined) {
          const difference = yield* warnIfDifferent(resolvePath(arg, options), arg, existing, name, options)
          if (options.replace !== true) continue
          if (difference === undefined) {
            return yield* new UnitsError({
              stage: "create",
              message: `unable to find Unit(${name}) on filesystem to compare with the Registry`
            })
          }
          if (!difference.different) continue
          const allowed = replaceable[command]
          if (allowed === undefined) {
            return yield* new UnitsError({
              stage: "create",
              message: "error: replacing units is not supported in this context"
            })
          }
          if (!allowed.includes(existing.desiredState ?? "")) {
            yield* report(options, {
              _tag: "Warning",
              message: `Warning: can not replace Unit(${name}) in state '${existing.desiredState ?? ""}', use the appropriate command`
            })
            continue
          }
        }
        const unit = yield* resolveUnitFile(arg, options)
        yield* createUnit(fleet, name, unit, options)
        created.push(name)
        // Each unit is waited for from the moment it is created, as fleetctl's goroutines do.
        waits.push(
          yield* Effect.forkChild(
            waitForStates([name], "inactive", "submit", { ...options, noBlock: false }).pipe(
              Effect.provideService(Fleet.Fleet, fleet)
            )
          )
        )
      }
    })
    // fleetctl starts waiting for each unit as soon as it is created, and waits for all of them even after a failure.
    const outcome = yield* Effect.result(run)
    const waited = yield* Effect.forEach(waits, (wait) => Effect.result(Fiber.join(wait)))
    if (outcome._tag === "Failure") return yield* outcome.failure
    const failed = waited.filter((w) => w._tag === "Failure")
    if (failed.length > 0) {
      return yield* new UnitsError({
        stage: "create",
        message: failed
          .map((f) => (f._tag === "Failure" ? `Error waiting on unit creation: ${f.failure.message}` : ""))
          .join("\n")
      })
    }
    return created
  })

/**
 * `FleetUnits.setDesiredStates`: fleetctl's `setTargetStateOfUnits`.
 *
 * @since 0.2.0
 * @internal
 */
export const setDesiredStates = (
  names: ReadonlyArray<string>,
  state: DesiredState,
  options: Options = {}
): Effect.Effect<ReadonlyArray<FleetUnit>, UnitsError, Fleet.Fleet> =>
  Effect.gen(function* () {
    const fleet = yield* Fleet.Fleet
    const describe = describeWith(options)
    const triggered: Array<FleetUnit> = []
    for (const name of names) {
      const unit = yield* getUnitOrUndefined(fleet, name).pipe(
        Effect.mapError(
          (error) =>
            new UnitsError({
              stage: "state",
              message: `error retrieving unit ${name} from registry: ${describe(error)}`
            })
        )
      )
      if (unit === undefined) return yield* new UnitsError({ stage: "state", message: `unable to find unit ${name}` })
      if (unit.desiredState === state) continue
      yield* fleet
        .setUnitDesiredState(name, state)
        .pipe(Effect.mapError((error) => new UnitsError({ stage: "state", message: describe(error) })))
      triggered.push(unit)
    }
    return triggered
  })

/**
 * fleetctl's `load` and (before its systemd check) `start`: submit, set the state, wait for the non-global units.
 * Returns the units waited for.
 *
 * @since 0.2.0
 * @internal
 */
export const schedule = (
  args: ReadonlyArray<string>,
  state: "loaded" | "launched",
  action: "load" | "start",
  options: Options
): Effect.Effect<ReadonlyArray<string>, UnitsError, Fleet.Fleet> =>
  Effect.gen(function* () {
    yield* submit(args, { ...options, command: action })
    const triggered = yield* setDesiredStates(args.map(unitName), state, options)
    const waiting: Array<string> = []
    for (const unit of triggered) {
      if (isGlobal(unit.options)) {
        yield* report(options, { _tag: "Triggered", name: unit.name, action, global: true })
      } else waiting.push(unit.name)
    }
    yield* waitForStates(waiting, state, action, options)
    return waiting
  })

/**
 * `FleetUnits.findUnits`: fleetctl's `findUnits`.
 *
 * @since 0.2.0
 * @internal
 */
export const findUnits = (
  args: ReadonlyArray<string>,
  options: Options = {}
): Effect.Effect<ReadonlyArray<FleetUnit>, UnitsError, Fleet.Fleet> =>
  Effect.gen(function* () {
    const fleet = yield* Fleet.Fleet
    const units = yield* Stream.runCollect(fleet.listUnits()).pipe(
      Effect.mapError((error) => new UnitsError({ stage: "find", message: describeWith(options)(error) }))
    )
    const byName = new Map(units.map((u) => [u.name ?? "", u]))
    const found: Array<FleetUnit> = []
    for (const arg of args) {
      const unit = byName.get(unitName(arg))
      if (unit !== undefined) found.push(unit)
    }
    return found
  })

/**
 * fleetctl's `stop` (`loaded`) and `unload` (`inactive`).
 *
 * @since 0.2.0
 * @internal
 */
export const unschedule = (
  args: ReadonlyArray<string>,
  state: "loaded" | "inactive",
  action: "stop" | "unload",
  options: Options
): Effect.Effect<ChangeResult, UnitsError, Fleet.Fleet> =>
  Effect.gen(function* () {
    const fleet = yield* Fleet.Fleet
    const units = yield* findUnits(args, options)
    const waiting: Array<string> = []
    for (const unit of units) {
      const global = isGlobal(unit.options)
      if (!global) {
        if (action === "stop" && unit.currentState === "inactive") {
          return { found: units.length, waited: waiting, refused: { name: unit.name, state: "inactive" } }
        }
        if (unit.currentState === state) continue
      }
      // fleetctl ignores a failure to set the state here: the wait that follows reports it.
      yield* Effect.ignore(fleet.setUnitDesiredState(unit.name, state))
      if (global) yield* report(options, { _tag: "Triggered", name: unit.name, action, global: true })
      else waiting.push(unit.name)
    }
    const waited = units.length > 0 ? yield* Effect.result(waitForStates(waiting, state, action, options)) : undefined
    return {
      found: units.length,
      waited: waiting,
      waitError: waited?._tag === "Failure" ? waited.failure : undefined
    }
  })

/**
 * `FleetUnits.destroy`: fleetctl's `destroy`.
 *
 * @since 0.2.0
 * @internal
 */
export const destroy = (
  args: ReadonlyArray<string>,
  options: Options = {}
): Effect.Effect<{ readonly found: number; readonly failures: ReadonlyArray<string> }, UnitsError, Fleet.Fleet> =>
  Effect.gen(function* () {
    const fleet = yield* Fleet.Fleet
    const describe = describeWith(options)
    const units = yield* findUnits(args, options)
    const failures: Array<string> = []
    for (const unit of units) {
      const destroyed = yield* Effect.result(fleet.destroyUnit(unit.name))
      if (destroyed._tag === "Failure") {
        if (destroyed.failure._tag === "APIError" && destroyed.failure.code === 404) continue
        failures.push(describe(destroyed.failure))
        yield* report(options, { _tag: "Warning", message: `Error destroying units: ${describe(destroyed.failure)}` })
        continue
      }
      // fleetctl polls for the unit's disappearance only under --no-block (sic), every 2 seconds.
      if (options.noBlock === true) {
        let left = options.blockAttempts ?? 0
        while (options.blockAttempts === undefined || options.blockAttempts < 1 || --left > 0) {
          const still = yield* Effect.result(getUnitOrUndefined(fleet, unit.name))
          if (still._tag === "Failure") {
            failures.push(describe(still.failure))
            yield* report(options, { _tag: "Warning", message: `Error destroying units: ${describe(still.failure)}` })
            break
          }
          if (still.success === undefined) break
          yield* Effect.sleep(options.attemptWindow ?? defaultWindow)
        }
      }
      yield* report(options, { _tag: "Destroyed", name: unit.name })
    }
    return { found: units.length, failures }
  })

/**
 * `FleetUnits.restart`: fleetctl's `restart` of non-global units; the global ones are returned.
 *
 * @since 0.2.0
 * @internal
 */
export const restart = (
  args: ReadonlyArray<string>,
  options: Options = {}
): Effect.Effect<{ readonly found: number; readonly global: ReadonlyArray<FleetUnit> }, UnitsError, Fleet.Fleet> =>
  Effect.gen(function* () {
    const fleet = yield* Fleet.Fleet
    const describe = describeWith(options)
    const units = yield* findUnits(args, options)
    yield* submit(args, { ...options, command: "restart" })
    const global: Array<FleetUnit> = []
    const step = (name: string, state: DesiredState) =>
      fleet.setUnitDesiredState(name, state).pipe(
        Effect.mapError(
          (error) =>
            new UnitsError({
              stage: "state",
              message: `Error setting target state for unit ${name}: ${describe(error)}`
            })
        ),
        // fleetctl waits for `launched` after the stop step too, which never comes once the unit has stopped: this
        // waits for the state each step asked for.
        Effect.andThen(waitForStates([name], state, "restart", { ...options, noBlock: false }))
      )
    for (const unit of units) {
      if (isGlobal(unit.options)) {
        global.push(unit)
        continue
      }
      if (unit.currentState === "inactive") {
        yield* report(options, {
          _tag: "Skipped",
          name: unit.name,
          message: `Unable to restart unit ${unit.name} in state inactive`
        })
        continue
      }
      if (unit.currentState !== "loaded") yield* step(unit.name, "loaded")
      yield* step(unit.name, "launched")
    }
    return { found: units.length, global }
  })
