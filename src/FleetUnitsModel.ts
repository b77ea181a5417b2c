/**
 * The errors, progress events and options of `FleetUnits`' operations, declared apart from `FleetUnits` so that the
 * internal modules implementing those operations can name them without importing `FleetUnits`, which imports them.
 * `FleetUnits` re-exports each under the same name (`FleetUnits.UnitsError`, `FleetUnits.Options`, ...).
 *
 * @since 0.2.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { FleetError } from "./FleetError.ts"
import type { DesiredState, Unit } from "./Unit.ts"

/**
 * An operation over units stopped. `stage` says where, as fleetctl's messages do: `create`, `state`, `wait`,
 * `systemd` or `find`; `message` is fleetctl's own text for the failure.
 *
 * @since 0.2.0
 * @category errors
 */
export class UnitsError extends Schema.TaggedError<UnitsError>()("UnitsError", {
  stage: Schema.Literals(["create", "state", "wait", "systemd", "find"]),
  message: Schema.String
}) {}

/**
 * A many-unit wait ended with units that did not make it: every one of them, with the last state seen.
 *
 * @since 0.2.0
 * @category errors
 */
export class WaitAllError extends Schema.TaggedError<WaitAllError>()("WaitAllError", {
  failures: Schema.Array(Schema.Struct({ unit: Schema.String, lastSeen: Schema.String })),
  message: Schema.String
}) {}

/**
 * What an operation reports as it goes; fleetctl prints one line for each: `Created`, `Reached`, `Triggered`,
 * `Destroyed`, `Warning`, `Skipped`, `Waiting` (see `FleetUnits.Progress`).
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
 * The options shared by the operations.
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

/**
 * What `stop` and `unload` did.
 *
 * @since 0.2.0
 * @category models
 */
export interface ChangeResult {
  /** How many of the named units exist in the cluster. */
  readonly found: number
  /** The units waited for, in order. */
  readonly waited: ReadonlyArray<string>
  /** The unit refused (`stop` refuses an `inactive` unit, as fleetctl does, and stops there), if any. */
  readonly refused?: { readonly name: string; readonly state: string } | undefined
  /** The wait that failed, if one did (fleetctl still names every unit it waited for). */
  readonly waitError?: UnitsError | undefined
}

/**
 * What a many-unit wait can wait for: a fleet state (`inactive`, `loaded`, `launched`), or a systemd active state
 * (`active`, `failed`, ...) or sub-state (`running`, `exited`, `dead`, ...) of the unit on its machine.
 *
 * @since 0.2.0
 * @category models
 */
export type WaitTarget = DesiredState | (string & {})

/**
 * Options of `FleetUnits.waitAll`.
 *
 * @since 0.2.0
 * @category models
 */
export interface WaitAllOptions {
  /** How long every unit has to get there. */
  readonly timeout: Duration.Input
  /** Between polls (default 250 ms). */
  readonly interval?: Duration.Input | undefined
  /** Receives `Reached` once per unit and `Waiting` on each poll that finds a unit not there yet. */
  readonly onProgress?: ((progress: Progress) => Effect.Effect<void>) | undefined
}
