/**
 * Operations over many units with fleetctl's semantics: submit a unit from a local file or as an instance of a
 * template (local or already in the cluster), load, start, stop, unload, restart and destroy them, waiting as
 * fleetctl waits (`--block-attempts`, `--no-block`), and a many-unit wait that reports every unit that did not make
 * it, with targets fleetctl lacks (a systemd sub-state such as `running`).
 *
 * Every operation reports what fleetctl would print as {@link Progress} events, so a command line can print
 * fleetctl's lines and a program can log or ignore them.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { FleetUnits } from "effect-fleet"
 *
 * // fleetctl start web@1 web@2: instances of web@.service (local file or cluster template), waited for
 * const program = FleetUnits.start(["web@1", "web@2"], { blockAttempts: 10 })
 * ```
 *
 * @since 0.2.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import * as Fleet from "./Fleet.ts"
import { type FleetError, isTransient } from "./FleetError.ts"
import { type DesiredState, type FleetUnit, isDesiredState, Unit, UnitOption } from "./Unit.ts"
import * as UnitFile from "./UnitFile.ts"
import type { UnitState } from "./UnitState.ts"
import { isGlobal, validateName, validateOptions } from "./internal/unitRules.ts"

// -----------------------------------------------------------------------------
// Errors and events
// -----------------------------------------------------------------------------

/**
 * An operation over units stopped. `stage` says where, as fleetctl's messages do: `create` (resolving or submitting
 * a unit: `Error creating units: ...`), `state` (setting desired states: `Error loading units` / `Error starting
 * units`), `wait` (a unit did not reach its state), `systemd` (a started unit was not reported active), `find`
 * (listing units failed). `message` is fleetctl's own text for the failure.
 *
 * @since 0.2.0
 * @category errors
 */
export class UnitsError extends Schema.TaggedError<UnitsError>()("UnitsError", {
  stage: Schema.Literals(["create", "state", "wait", "systemd", "find"]),
  message: Schema.String
}) {}

/**
 * A many-unit wait ({@link waitAll}) ended with units that did not make it: every one of them, with the last state
 * seen.
 *
 * @since 0.2.0
 * @category errors
 */
export class WaitAllError extends Schema.TaggedError<WaitAllError>()("WaitAllError", {
  failures: Schema.Array(Schema.Struct({ unit: Schema.String, lastSeen: Schema.String })),
  message: Schema.String
}) {}

/**
 * What an operation reports as it goes; fleetctl prints one line for each:
 *
 * - `Created`: a unit was submitted.
 * - `Reached`: a unit reached the awaited state (`Unit x launched on 4f4d7a1b.../10.0.0.1`).
 * - `Triggered`: a desired state was set without waiting (`Triggered unit x start`, `Triggered global unit x load`).
 * - `Destroyed`: a unit was destroyed (`Destroyed x`).
 * - `Warning`: something fleetctl warns about on stderr (a local unit file that differs from the cluster's).
 * - `Skipped`: nothing to do for a unit (`Unable to stop unit x in state inactive` when `fatal`).
 * - `Waiting`: a poll found a unit not there yet (for progress displays).
 *
 * @since 0.2.0
 * @category models
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
 * Options shared by the operations.
 *
 * @since 0.2.0
 * @category models
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

const report = (options: Options, progress: Progress): Effect.Effect<void> =>
  options.onProgress === undefined ? Effect.void : options.onProgress(progress)

const describeWith =
  (options: Options) =>
  (error: FleetError): string =>
    options.describe === undefined ? error.message : options.describe(error)

// -----------------------------------------------------------------------------
// Names and unit files
// -----------------------------------------------------------------------------

const recognizedTypes = ["service", "socket", "timer", "path", "device", "mount", "automount"]

/**
 * fleetctl's name for a command-line argument: the base name of a path, with `.service` appended when it has no
 * recognized unit type (`web@1` is `web@1.service`, `units/db.socket` is `db.socket`).
 *
 * @since 0.2.0
 * @category names
 */
export const unitName = (arg: string): string => withDefaultType(nodePath.posix.basename(arg) || arg)

const withDefaultType = (arg: string): string =>
  recognizedTypes.some((type) => arg.endsWith(`.${type}`)) ? arg : `${arg}.service`

/**
 * The template of an instance name (`web@1.service` is an instance of `web@.service`), or `undefined` when the name
 * is not an instance.
 *
 * @since 0.2.0
 * @category names
 */
export const templateOf = (name: string): string | undefined => {
  const dot = name.lastIndexOf(".")
  if (dot === -1) return undefined
  const base = name.slice(0, dot)
  const at = base.indexOf("@")
  if (at === -1 || at === base.length - 1) return undefined
  return `${base.slice(0, at)}@${name.slice(dot)}`
}

const readLocal = (file: string): Effect.Effect<ReadonlyArray<UnitFile.Option>, string> =>
  Effect.suspend(() => {
    let text: string
    try {
      text = fs.readFileSync(file, "utf8")
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code
      return Effect.fail(
        `open ${file}: ${code === "ENOENT" ? "no such file or directory" : code === "EISDIR" ? "is a directory" : String(cause)}`
      )
    }
    return Effect.mapError(UnitFile.parse(text), (error) => error.message)
  })

const exists = (file: string): boolean => {
  try {
    fs.statSync(file)
    return true
  } catch (cause) {
    // fleetctl tests os.IsNotExist: any other stat failure counts as "there".
    return (cause as NodeJS.ErrnoException).code !== "ENOENT"
  }
}

const toUnit = (options: ReadonlyArray<UnitFile.Option>, desiredState: DesiredState = "inactive"): Unit =>
  new Unit({ options: options.map((o) => new UnitOption(o)), desiredState })

const getUnitOrUndefined = (fleet: Fleet.FleetService, name: string) =>
  fleet.getUnit(name).pipe(
    Effect.map((unit): FleetUnit | undefined => unit),
    Effect.catchTag("APIError", (error) => (error.code === 404 ? Effect.succeed(undefined) : Effect.fail(error)))
  )

/**
 * An instance's unit made from its template: the template unit already in the cluster, else `<dir>/<template>` on
 * disk (the directory of `file`), as fleetctl's `getUnitFileFromTemplate`. The unit file is the template's own;
 * systemd fills in `%i` on the machine.
 *
 * @example
 * ```ts
 * import { FleetUnits } from "effect-fleet"
 *
 * const unit = FleetUnits.instantiate("web@1.service") // from web@.service
 * ```
 *
 * @since 0.2.0
 * @category templates
 */
export const instantiate = (file: string, options: Options = {}): Effect.Effect<Unit, UnitsError, Fleet.Fleet> =>
  Effect.gen(function* () {
    const fleet = yield* Fleet.Fleet
    const describe = describeWith(options)
    const name = unitName(file)
    const template = templateOf(name)
    const fail = (message: string) => new UnitsError({ stage: "create", message })
    if (template === undefined) return yield* fail(`error Unit ${file} does not seem to be a template unit`)
    const path = resolvePath(file, options)
    const inCluster = yield* getUnitOrUndefined(fleet, template).pipe(
      Effect.mapError((error) => fail(`error retrieving template Unit(${template}) from Registry: ${describe(error)}`))
    )
    if (inCluster !== undefined) {
      yield* warnIfDifferent(path, file, inCluster, template, options)
      return toUnit(inCluster.options)
    }
    const local = nodePath.join(nodePath.dirname(path), template)
    if (!exists(local)) return yield* fail(`unable to find template Unit(${template}) in Registry or on filesystem`)
    const read = yield* Effect.mapError(readLocal(local), (why) =>
      fail(`unable to load template Unit(${template}) from file: ${why}`)
    )
    return toUnit(read)
  })

const resolvePath = (file: string, options: Options): string =>
  options.cwd === undefined || nodePath.isAbsolute(file) ? file : nodePath.join(options.cwd, file)

// fleetctl's isLocalUnitDifferent: compares by hash with the local file, else (an instance) with the local template.
const localDifference = (
  path: string,
  file: string,
  unit: Unit
): Effect.Effect<{ readonly different: boolean; readonly template: boolean } | undefined> =>
  Effect.gen(function* () {
    const clusterHash = UnitFile.hash(unit.options)
    if (exists(path)) {
      const local = yield* Effect.option(readLocal(path))
      if (local._tag === "None") return undefined
      return { different: UnitFile.hash(local.value) !== clusterHash, template: false }
    }
    const template = templateOf(nodePath.posix.basename(file))
    if (template === undefined) return undefined
    const templatePath = nodePath.join(nodePath.dirname(path), template)
    if (!exists(templatePath)) return undefined
    const local = yield* Effect.option(readLocal(templatePath))
    if (local._tag === "None") return undefined
    return { different: UnitFile.hash(local.value) !== clusterHash, template: true }
  })

const warnIfDifferent = (path: string, file: string, unit: Unit, name: string, options: Options) =>
  Effect.gen(function* () {
    const difference = yield* localDifference(path, file, unit)
    if (difference === undefined || !difference.different || options.replace === true) return difference
    yield* report(options, {
      _tag: "Warning",
      message: difference.template
        ? `WARNING: Unit ${name} in registry differs from local template unit file ${file}. Add --replace to override.`
        : `WARNING: Unit ${name} in registry differs from local unit file ${file}. Add --replace to override.`
    })
    return difference
  })

/**
 * The unit a command-line argument names, as fleetctl's `getUnitFile` finds it: the local file at that path, or,
 * for an instance (`web@1.service`) with no local file, the instance of its template (see {@link instantiate}).
 * The unit comes back `inactive`, ready to submit.
 *
 * @since 0.2.0
 * @category unit files
 */
export const resolveUnitFile = (file: string, options: Options = {}): Effect.Effect<Unit, UnitsError, Fleet.Fleet> =>
  Effect.gen(function* () {
    const name = unitName(file)
    const path = resolvePath(file, options)
    const fail = (message: string) => new UnitsError({ stage: "create", message })
    if (exists(path)) {
      const read = yield* Effect.mapError(readLocal(path), (why) =>
        fail(`failed getting Unit(${file}) from file: ${why}`)
      )
      return toUnit(read)
    }
    if (templateOf(name) === undefined) {
      return yield* fail(`unable to find Unit(${name}) in Registry or on filesystem`)
    }
    return yield* instantiate(file, options).pipe(
      Effect.mapError((error) => fail(`failed getting Unit(${file}) from template: ${error.message}`))
    )
  })

// -----------------------------------------------------------------------------
// Waiting
// -----------------------------------------------------------------------------

const defaultInterval = Duration.millis(250)
const defaultWindow = Duration.seconds(2)

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
 * Waits, as fleetctl's blocking commands do, until every unit's `currentState` (a global unit's `desiredState`)
 * is `target`, reporting `Reached` for each as it gets there. Units are waited for concurrently; the first one
 * that runs out of attempts fails the wait (`stage: "wait"`, fleetctl's `timed out waiting for unit x to report
 * state y`). With `noBlock`, reports `Triggered` for each unit instead and returns at once.
 *
 * @since 0.2.0
 * @category waiting
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
 * After a blocking start, fleetctl checks that systemd reports each unit `loaded` and `active`: one attempt of
 * 2 seconds per unit (fleetctl gives up after the first window even when told to wait forever). With `noBlock`,
 * reports `Triggered` (`start`) for each unit instead.
 *
 * @since 0.2.0
 * @category waiting
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

/**
 * What a many-unit wait can wait for: a fleet state (`inactive`, `loaded`, `launched`, judged as
 * fleetctl's blocking commands judge it), or a systemd state of the unit on its machine: an active state (`active`,
 * `failed`, ...) or a sub-state (`running`, `exited`, `dead`, ...).
 *
 * @since 0.2.0
 * @category models
 */
export type WaitTarget = DesiredState | (string & {})

const describeStatus = (unit: Unit | undefined, states: ReadonlyArray<UnitState>): string => {
  if (unit === undefined) return "the unit does not exist"
  const parts = [`currentState ${unit.currentState ?? "(none)"}`, `desiredState ${unit.desiredState ?? "(none)"}`]
  for (const s of states) {
    parts.push(`systemd ${s.systemdActiveState ?? "?"}/${s.systemdSubState ?? "?"}`)
  }
  if (states.length === 0) parts.push("no unit state reported")
  return parts.join(", ")
}

// fleetctl's judgement (as `waitForUnit`'s): the unit's currentState (a global unit's desiredState) is the target
// and, for `launched`, systemd reports it active where it runs. Kept here so that this module needs no watch code.
const hasReachedState = (target: DesiredState, unit: Unit | undefined, states: ReadonlyArray<UnitState>): boolean => {
  if (unit === undefined) return false
  const global = isGlobal(unit.options)
  if ((global ? unit.desiredState : unit.currentState) !== target) return false
  if (target !== "launched") return true
  const mine = global
    ? states
    : states.filter((s) => unit.machineID === undefined || s.machineID === undefined || s.machineID === unit.machineID)
  return mine.length > 0 && mine.every((s) => s.systemdActiveState === "active")
}

const reachedTarget = (target: WaitTarget, unit: Unit | undefined, states: ReadonlyArray<UnitState>): boolean => {
  if (isDesiredState(target)) return hasReachedState(target, unit, states)
  if (unit === undefined || states.length === 0) return false
  const mine = isGlobal(unit.options)
    ? states
    : states.filter((s) => unit.machineID === undefined || s.machineID === unit.machineID)
  return mine.length > 0 && mine.every((s) => s.systemdSubState === target || s.systemdActiveState === target)
}

/**
 * Waits for every unit to reach `target` (see {@link WaitTarget}) within `timeout`, polling all of them every
 * `interval` (default 250 ms); a poll that fails transiently is waited out, any other failure ends the wait. Unlike fleetctl, it does not stop at the first unit that fails: it fails with
 * {@link WaitAllError} listing every unit that did not make it and the last state seen of each. A unit that does not
 * exist never reaches anything. `onProgress` receives `Reached` once per unit and `Waiting` on each poll that finds a
 * unit not there yet.
 *
 * @example
 * ```ts
 * import { FleetUnits } from "effect-fleet"
 *
 * const ready = FleetUnits.waitAll(["web@1.service", "web@2.service"], "running", { timeout: "1 minute" })
 * ```
 *
 * @since 0.2.0
 * @category waiting
 */
export const waitAll = (
  names: ReadonlyArray<string>,
  target: WaitTarget,
  options: {
    readonly timeout: Duration.Input
    readonly interval?: Duration.Input | undefined
    readonly onProgress?: ((progress: Progress) => Effect.Effect<void>) | undefined
  }
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

// -----------------------------------------------------------------------------
// The operations
// -----------------------------------------------------------------------------

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
 * fleetctl's `submit` (its `lazyCreateUnits`): every argument that is not yet a unit in the cluster is submitted,
 * `inactive`, from its local file or as an instance of its template, then each new unit is waited for until fleet
 * reports it `inactive` (`Reached`). A unit already in the cluster is left alone, with a `Warning` when its local
 * file differs (or replaced, with `replace`, when its state allows). Fails at the first unit that cannot be
 * resolved or created.
 *
 * @since 0.2.0
 * @category operations
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
 * fleetctl's `setTargetStateOfUnits`: sets each unit's desired state unless it already has it, and returns the
 * units it changed (as they were before). Fails at the first unit that does not exist or cannot be changed.
 *
 * @since 0.2.0
 * @category operations
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

const schedule = (
  args: ReadonlyArray<string>,
  state: "loaded" | "launched",
  action: "load" | "start",
  options: Options
) =>
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
 * fleetctl's `load`: submits what is not in the cluster yet, asks for `loaded`, and waits (unless `noBlock`) until
 * each non-global unit is loaded on a machine. Returns the units it waited for.
 *
 * @since 0.2.0
 * @category operations
 */
export const load = (
  args: ReadonlyArray<string>,
  options: Options = {}
): Effect.Effect<ReadonlyArray<string>, UnitsError, Fleet.Fleet> => schedule(args, "loaded", "load", options)

/**
 * fleetctl's `start`: submits what is not in the cluster yet, asks for `launched`, waits (unless `noBlock`) until
 * each non-global unit is launched, then until systemd reports it active. Returns the units it started.
 *
 * @since 0.2.0
 * @category operations
 */
export const start = (
  args: ReadonlyArray<string>,
  options: Options = {}
): Effect.Effect<ReadonlyArray<string>, UnitsError, Fleet.Fleet> =>
  Effect.gen(function* () {
    const started = yield* schedule(args, "launched", "start", options)
    yield* waitForSystemdActive(started, options)
    return started
  })

/**
 * fleetctl's `findUnits`: the units of the cluster that these arguments name, in argument order; names that are not
 * units are left out.
 *
 * @since 0.2.0
 * @category operations
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
 * What {@link stop} and {@link unload} did: the units they waited for, and the ones they refused (`stop` refuses an
 * `inactive` unit, as fleetctl does, and stops there).
 *
 * @since 0.2.0
 * @category models
 */
export interface ChangeResult {
  readonly found: number
  readonly waited: ReadonlyArray<string>
  readonly refused?: { readonly name: string; readonly state: string } | undefined
  /** The wait that failed, if one did (fleetctl still names every unit it waited for). */
  readonly waitError?: UnitsError | undefined
}

const unschedule = (
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
 * fleetctl's `stop`: asks every named unit that is launched for `loaded` and waits (unless `noBlock`) until they
 * are. An `inactive` unit is refused (`refused` in the result) and nothing after it is touched.
 *
 * @since 0.2.0
 * @category operations
 */
export const stop = (args: ReadonlyArray<string>, options: Options = {}) => unschedule(args, "loaded", "stop", options)

/**
 * fleetctl's `unload`: asks every named unit that is not inactive for `inactive` and waits (unless `noBlock`) until
 * it is.
 *
 * @since 0.2.0
 * @category operations
 */
export const unload = (args: ReadonlyArray<string>, options: Options = {}) =>
  unschedule(args, "inactive", "unload", options)

/**
 * fleetctl's `destroy`: destroys every named unit that exists (a unit that disappears meanwhile is not an error),
 * reporting `Destroyed` for each and a `Warning` (`Error destroying units: ...`) for each failure, in order. Returns
 * the failures, rendered, and the number of units found.
 *
 * @since 0.2.0
 * @category operations
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
 * fleetctl's `restart` of non-global units: an `inactive` unit is skipped (`Skipped`), a `loaded` one is started,
 * a launched one is asked for `loaded` then `launched`, each step waited for as fleetctl waits, reporting `Reached`
 * (fleetctl waits for `launched` after the stop step as well, and so hangs once the unit has stopped; this waits
 * for `loaded` there). Global units are returned for the caller to restart over SSH, as fleetctl does.
 *
 * @since 0.2.0
 * @category operations
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
