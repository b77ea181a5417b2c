/**
 * Operations over many units with fleetctl's semantics: submit a unit from a local file or as an instance of a
 * template (local or already in the cluster), load, start, stop, unload, restart and destroy them, waiting as
 * fleetctl waits (`--block-attempts`, `--no-block`), and a many-unit wait that reports every unit that did not make
 * it, with targets fleetctl lacks (a systemd sub-state such as `running`).
 *
 * Every operation reports what fleetctl would print as {@link Progress} events, so a command line can print
 * fleetctl's lines and a program can log or ignore them.
 *
 * This module is the public face; the machinery is in `internal/client/units/`: `resolve.ts` (names, unit files,
 * templates), `wait.ts` (fleetctl's waits and `waitAll`), `change.ts` (submit, states, stop, destroy, restart),
 * `model.ts` (the errors, events and options they share).
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
import * as Effect from "effect/Effect"
import type * as Fleet from "./Fleet.ts"
import type { FleetError } from "./FleetError.ts"
import * as model from "./FleetUnitsModel.ts"
import type { DesiredState, FleetUnit, Unit } from "./Unit.ts"
import * as change from "./internal/client/units/change.ts"
import * as resolve from "./internal/client/units/resolve.ts"
import * as wait from "./internal/client/units/wait.ts"

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
export const UnitsError = model.UnitsError

/**
 * The instance type of {@link UnitsError}.
 *
 * @since 0.2.0
 * @category errors
 */
export type UnitsError = model.UnitsError

/**
 * A many-unit wait ({@link waitAll}) ended with units that did not make it: every one of them, with the last state
 * seen.
 *
 * @since 0.2.0
 * @category errors
 */
export const WaitAllError = model.WaitAllError

/**
 * The instance type of {@link WaitAllError}.
 *
 * @since 0.2.0
 * @category errors
 */
export type WaitAllError = model.WaitAllError

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
export type Progress = model.Progress

/**
 * Options shared by the operations: fleetctl's `--block-attempts` (`blockAttempts`, each attempt polling every
 * 250 ms for up to 2 seconds, `0` waiting without limit), `--no-block` (`noBlock`: set the states and return,
 * reporting `Triggered`), `--replace` (`replace`: resubmit units whose local file differs from the cluster's), where
 * relative unit file paths are read from (`cwd`), the receiver of every {@link Progress} event (`onProgress`), how a
 * fleet error is rendered inside fleetctl's messages (`describe`), and the polling `interval` and `attemptWindow`.
 *
 * @since 0.2.0
 * @category models
 */
export type Options = model.Options

// -----------------------------------------------------------------------------
// Names and unit files
// -----------------------------------------------------------------------------

/**
 * fleetctl's name for a command-line argument: the base name of a path, with `.service` appended when it has no
 * recognized unit type (`web@1` is `web@1.service`, `units/db.socket` is `db.socket`).
 *
 * @since 0.2.0
 * @category names
 */
export const unitName: (arg: string) => string = resolve.unitName

/**
 * The template of an instance name (`web@1.service` is an instance of `web@.service`), or `undefined` when the name
 * is not an instance.
 *
 * @since 0.2.0
 * @category names
 */
export const templateOf: (name: string) => string | undefined = resolve.templateOf

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
export const instantiate: (file: string, options?: Options) => Effect.Effect<Unit, UnitsError, Fleet.Fleet> =
  resolve.instantiate

/**
 * The unit a command-line argument names, as fleetctl's `getUnitFile` finds it: the local file at that path, or,
 * for an instance (`web@1.service`) with no local file, the instance of its template (see {@link instantiate}).
 * The unit comes back `inactive`, ready to submit.
 *
 * @since 0.2.0
 * @category unit files
 */
export const resolveUnitFile: (file: string, options?: Options) => Effect.Effect<Unit, UnitsError, Fleet.Fleet> =
  resolve.resolveUnitFile

// -----------------------------------------------------------------------------
// Waiting
// -----------------------------------------------------------------------------

/**
 * Waits, as fleetctl's blocking commands do, until every unit's `currentState` (a global unit's `desiredState`)
 * is `target`, reporting `Reached` for each as it gets there. Units are waited for concurrently; the first one
 * that runs out of attempts fails the wait (`stage: "wait"`, fleetctl's `timed out waiting for unit x to report
 * state y`). With `noBlock`, reports `Triggered` for each unit instead and returns at once.
 *
 * @since 0.2.0
 * @category waiting
 */
export const waitForStates: (
  names: ReadonlyArray<string>,
  target: DesiredState,
  action: string,
  options?: Options
) => Effect.Effect<void, UnitsError, Fleet.Fleet> = wait.waitForStates

/**
 * After a blocking start, fleetctl checks that systemd reports each unit `loaded` and `active`: one attempt of
 * 2 seconds per unit (fleetctl gives up after the first window even when told to wait forever). With `noBlock`,
 * reports `Triggered` (`start`) for each unit instead.
 *
 * @since 0.2.0
 * @category waiting
 */
export const waitForSystemdActive: (
  names: ReadonlyArray<string>,
  options?: Options
) => Effect.Effect<void, UnitsError, Fleet.Fleet> = wait.waitForSystemdActive

/**
 * What a many-unit wait can wait for: a fleet state (`inactive`, `loaded`, `launched`, judged as
 * fleetctl's blocking commands judge it), or a systemd state of the unit on its machine: an active state (`active`,
 * `failed`, ...) or a sub-state (`running`, `exited`, `dead`, ...).
 *
 * @since 0.2.0
 * @category models
 */
export type WaitTarget = model.WaitTarget

/**
 * Options of {@link waitAll}: the `timeout` every unit has, the polling `interval` (default 250 ms) and the
 * receiver of `Reached` and `Waiting` events (`onProgress`).
 *
 * @since 0.2.0
 * @category models
 */
export type WaitAllOptions = model.WaitAllOptions

/**
 * Waits for every unit to reach `target` (see {@link WaitTarget}) within `timeout`, polling all of them every
 * `interval` (default 250 ms); a poll that fails transiently is waited out, any other failure ends the wait. Unlike
 * fleetctl, it does not stop at the first unit that fails: it fails with {@link WaitAllError} listing every unit
 * that did not make it and the last state seen of each. A unit that does not exist never reaches anything.
 * `onProgress` receives `Reached` once per unit and `Waiting` on each poll that finds a unit not there yet.
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
export const waitAll: (
  names: ReadonlyArray<string>,
  target: WaitTarget,
  options: WaitAllOptions
) => Effect.Effect<void, WaitAllError | FleetError, Fleet.Fleet> = wait.waitAll

// -----------------------------------------------------------------------------
// The operations
// -----------------------------------------------------------------------------

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
export const submit: (
  args: ReadonlyArray<string>,
  options?: Options & { readonly command?: "submit" | "load" | "start" | "restart" }
) => Effect.Effect<ReadonlyArray<string>, UnitsError, Fleet.Fleet> = change.submit

/**
 * fleetctl's `setTargetStateOfUnits`: sets each unit's desired state unless it already has it, and returns the
 * units it changed (as they were before). Fails at the first unit that does not exist or cannot be changed.
 *
 * @since 0.2.0
 * @category operations
 */
export const setDesiredStates: (
  names: ReadonlyArray<string>,
  state: DesiredState,
  options?: Options
) => Effect.Effect<ReadonlyArray<FleetUnit>, UnitsError, Fleet.Fleet> = change.setDesiredStates

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
): Effect.Effect<ReadonlyArray<string>, UnitsError, Fleet.Fleet> => change.schedule(args, "loaded", "load", options)

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
  Effect.tap(change.schedule(args, "launched", "start", options), (started) =>
    wait.waitForSystemdActive(started, options)
  )

/**
 * fleetctl's `findUnits`: the units of the cluster that these arguments name, in argument order; names that are not
 * units are left out.
 *
 * @since 0.2.0
 * @category operations
 */
export const findUnits: (
  args: ReadonlyArray<string>,
  options?: Options
) => Effect.Effect<ReadonlyArray<FleetUnit>, UnitsError, Fleet.Fleet> = change.findUnits

/**
 * What {@link stop} and {@link unload} did: how many named units were `found`, the units they `waited` for, the
 * one they `refused` (`stop` refuses an `inactive` unit, as fleetctl does, and stops there), and the `waitError`
 * of a wait that failed (fleetctl still names every unit it waited for).
 *
 * @since 0.2.0
 * @category models
 */
export type ChangeResult = model.ChangeResult

/**
 * fleetctl's `stop`: asks every named unit that is launched for `loaded` and waits (unless `noBlock`) until they
 * are. An `inactive` unit is refused (`refused` in the result) and nothing after it is touched.
 *
 * @since 0.2.0
 * @category operations
 */
export const stop = (
  args: ReadonlyArray<string>,
  options: Options = {}
): Effect.Effect<ChangeResult, UnitsError, Fleet.Fleet> => change.unschedule(args, "loaded", "stop", options)

/**
 * fleetctl's `unload`: asks every named unit that is not inactive for `inactive` and waits (unless `noBlock`) until
 * it is.
 *
 * @since 0.2.0
 * @category operations
 */
export const unload = (
  args: ReadonlyArray<string>,
  options: Options = {}
): Effect.Effect<ChangeResult, UnitsError, Fleet.Fleet> => change.unschedule(args, "inactive", "unload", options)

/**
 * fleetctl's `destroy`: destroys every named unit that exists (a unit that disappears meanwhile is not an error),
 * reporting `Destroyed` for each and a `Warning` (`Error destroying units: ...`) for each failure, in order. Returns
 * the failures, rendered, and the number of units found.
 *
 * @since 0.2.0
 * @category operations
 */
export const destroy: (
  args: ReadonlyArray<string>,
  options?: Options
) => Effect.Effect<{ readonly found: number; readonly failures: ReadonlyArray<string> }, UnitsError, Fleet.Fleet> =
  change.destroy

/**
 * fleetctl's `restart` of non-global units: an `inactive` unit is skipped (`Skipped`), a `loaded` one is started,
 * a launched one is asked for `loaded` then `launched`, each step waited for as fleetctl waits, reporting `Reached`
 * (fleetctl waits for `launched` after the stop step as well, and so hangs once the unit has stopped; this waits
 * for `loaded` there). Global units are returned for the caller to restart over SSH, as fleetctl does.
 *
 * @since 0.2.0
 * @category operations
 */
export const restart: (
  args: ReadonlyArray<string>,
  options?: Options
) => Effect.Effect<{ readonly found: number; readonly global: ReadonlyArray<FleetUnit> }, UnitsError, Fleet.Fleet> =
  change.restart
