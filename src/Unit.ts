/**
 * fleet's `Unit` and `UnitOption`, the `DesiredState` a unit can be asked to reach, and immutable construction and
 * editing of units (python-fleet's `Unit`, the Effect way).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Schema from "effect/Schema"
import { dual } from "effect/Function"
import { type Pipeable, pipeArguments } from "effect/Pipeable"
import { ValueError } from "./FleetError.ts"
import { invalidStateMessage } from "./internal/messages.ts"
import * as UnitFile from "./UnitFile.ts"

/**
 * The states fleet knows: `inactive` (submitted, not scheduled), `loaded` (scheduled and loaded into systemd on a
 * machine), `launched` (loaded and started).
 *
 * @since 0.1.0
 * @category models
 */
export const DesiredState = Schema.Literals(["inactive", "loaded", "launched"])

/**
 * @since 0.1.0
 * @category models
 */
export type DesiredState = typeof DesiredState.Type

/**
 * The three states, in fleet's order.
 *
 * @since 0.1.0
 * @category constants
 */
export const desiredStates: ReadonlyArray<DesiredState> = DesiredState.literals

/**
 * Whether a string is one of fleet's three states.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isDesiredState = (state: unknown): state is DesiredState =>
  state === "inactive" || state === "loaded" || state === "launched"

/**
 * Turns an arbitrary string into a {@link DesiredState}, failing with python-fleet's `ValueError`
 * (`state must be one of: ['inactive', 'loaded', 'launched']`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Unit } from "effect-fleet"
 *
 * const state = Effect.runSync(Unit.decodeDesiredState("launched")) // "launched"
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const decodeDesiredState = (state: string): Effect.Effect<DesiredState, ValueError> =>
  isDesiredState(state) ? Effect.succeed(state) : Effect.fail(new ValueError({ message: invalidStateMessage }))

/**
 * One line of a unit file: `[section]` `name=value`.
 *
 * @since 0.1.0
 * @category models
 */
export class UnitOption extends Schema.Class<UnitOption>("effect-fleet/UnitOption")({
  // fleet leaves empty fields out of its JSON (`omitempty`), so an option with an empty value comes back without one.
  section: Schema.String.pipe(Schema.withDecodingDefaultKey(Effect.succeed(""))),
  name: Schema.String.pipe(Schema.withDecodingDefaultKey(Effect.succeed(""))),
  value: Schema.String.pipe(Schema.withDecodingDefaultKey(Effect.succeed("")))
}) {}

const emptyOptions: ReadonlyArray<UnitOption> = []

/**
 * A fleet unit. `name`, `currentState` and `machineID` are present on units fetched from fleet; a unit built
 * locally has only `options` and `desiredState`. Units are immutable and compare structurally.
 *
 * @since 0.1.0
 * @category models
 */
export class Unit extends Schema.Class<Unit>("effect-fleet/Unit")({
  name: Schema.optionalKey(Schema.String),
  options: Schema.Array(UnitOption).pipe(
    Schema.withDecodingDefaultKey(Effect.succeed([]), { encodingStrategy: "omit" })
  ),
  desiredState: Schema.optionalKey(DesiredState),
  currentState: Schema.optionalKey(DesiredState),
  machineID: Schema.optionalKey(Schema.String)
}) {
  /** Units are pipeable: `unit.pipe(Unit.addOption(...), Unit.withDesiredState("loaded"))`. */
  declare pipe: Pipeable["pipe"]
}

Unit.prototype.pipe = function (this: Unit) {
  // biome-ignore lint/complexity/noArguments: pipeArguments takes the call's arguments as they are
  return pipeArguments(this, arguments)
}

/**
 * Builds a unit locally. Like python-fleet's `Unit()`, it defaults to `launched` with no options.
 *
 * @example
 * ```ts
 * import { Unit } from "effect-fleet"
 *
 * const unit = Unit.make({
 *   options: [new Unit.UnitOption({ section: "Service", name: "ExecStart", value: "/usr/bin/sleep 1d" })]
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  fields: { readonly desiredState?: DesiredState; readonly options?: ReadonlyArray<UnitOption> } = {}
): Unit => new Unit({ options: fields.options ?? emptyOptions, desiredState: fields.desiredState ?? "launched" })

/**
 * Builds a unit from the text of a unit file, parsed as fleetctl parses it. A malformed file fails with
 * `ValueError`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Unit } from "effect-fleet"
 *
 * const unit = Unit.fromString("[Service]\nExecStart=/usr/bin/sleep 1d\n")
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromString = (text: string, desiredState: DesiredState = "launched"): Effect.Effect<Unit, ValueError> =>
  Effect.map(UnitFile.parse(text), (options) =>
    make({ desiredState, options: options.map((option) => new UnitOption(option)) })
  )

/**
 * Builds a unit from a unit file on disk, through Effect's `FileSystem`. An unreadable or malformed file fails with
 * `ValueError`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromFile = (
  path: string,
  desiredState: DesiredState = "launched"
): Effect.Effect<Unit, ValueError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs
      .readFileString(path)
      .pipe(
        Effect.mapError((error) => new ValueError({ message: `Unable to read unit file ${path}: ${error.message}` }))
      )
    return yield* fromString(text, desiredState)
  })

/**
 * Returns a copy of the unit with one more option at the end.
 *
 * @example
 * ```ts
 * import { pipe } from "effect"
 * import { Unit } from "effect-fleet"
 *
 * const unit = pipe(Unit.make(), Unit.addOption("Service", "ExecStart", "/usr/bin/sleep 1d"))
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const addOption: {
  (section: string, name: string, value: string): (self: Unit) => Unit
  (self: Unit, section: string, name: string, value: string): Unit
} = dual(
  4,
  (self: Unit, section: string, name: string, value: string): Unit =>
    new Unit({ ...self, options: [...self.options, new UnitOption({ section, name, value })] })
)

/**
 * Returns a copy of the unit without every option that matches `section` and `name` (and `value`, when given).
 * When nothing matches, the same unit is returned (`===`), so callers can tell whether anything was removed.
 *
 * @since 0.1.0
 * @category combinators
 */
export const removeOption: {
  (section: string, name: string, value?: string): (self: Unit) => Unit
  (self: Unit, section: string, name: string, value?: string): Unit
} = dual(
  (args) => args[0] instanceof Unit,
  (self: Unit, section: string, name: string, value?: string): Unit => {
    const kept = self.options.filter(
      (option) =>
        !(option.section === section && option.name === name && (value === undefined || option.value === value))
    )
    return kept.length === self.options.length ? self : new Unit({ ...self, options: kept })
  }
)

/**
 * Returns a copy of the unit with another desired state.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withDesiredState: {
  (desiredState: DesiredState): (self: Unit) => Unit
  (self: Unit, desiredState: DesiredState): Unit
} = dual(2, (self: Unit, desiredState: DesiredState): Unit => new Unit({ ...self, desiredState }))

/**
 * Renders the unit's options as a unit file, exactly as fleet serializes it.
 *
 * @since 0.1.0
 * @category getters
 */
export const toUnitFile = (self: Unit): string => UnitFile.serialize(self.options)

/**
 * The hash fleet reports in a `UnitState` for this unit: lowercase hex SHA-1 of {@link toUnitFile}.
 *
 * @since 0.1.0
 * @category getters
 */
export const hash = (self: Unit): string => UnitFile.hash(self.options)
