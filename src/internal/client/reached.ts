/**
 * fleetctl's judgement of whether a unit has reached a desired state, with no Effect code at all, so that the CLI's
 * unit operations can use it without loading the watch module (which imports the `effect` barrel).
 *
 * @since 0.2.0
 * @internal
 */
import type { DesiredState, Unit } from "../../Unit.ts"
import type { UnitState } from "../../UnitState.ts"
import { isGlobal } from "../unitRules.ts"

/**
 * Whether a unit has reached `target`, as fleetctl's blocking commands judge it: its `currentState` (a global
 * unit's `desiredState`: fleet never sets a global unit's current state) is the target and, for `launched`, systemd
 * reports it active where it runs. A unit that does not exist has reached nothing.
 *
 * @since 0.2.0
 * @internal
 */
export const hasReached =
  (target: DesiredState) =>
  ({ unit, states }: { readonly unit: Unit | undefined; readonly states: ReadonlyArray<UnitState> }): boolean => {
    if (unit === undefined) return false
    const global = isGlobal(unit.options)
    if ((global ? unit.desiredState : unit.currentState) !== target) return false
    if (target !== "launched") return true
    const mine = global
      ? states
      : states.filter(
          (s) => unit.machineID === undefined || s.machineID === undefined || s.machineID === unit.machineID
        )
    return mine.length > 0 && mine.every((s) => s.systemdActiveState === "active")
  }
