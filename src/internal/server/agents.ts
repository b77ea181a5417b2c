/**
 * The agents of the local fleet: what happens to a unit between being stored and running somewhere. Everything
 * else talks to them through {@link Agents}, so a scheduler that follows fleet's engine can replace the simulated
 * agents here without touching storage, the rules or the wire.
 *
 * @since 0.2.0
 * @internal
 */
import type { Agents as AgentMode } from "../../FleetControl.ts"
import { isGlobal, isTemplate, requiredTarget, requirements } from "../unitRules.ts"
import type { MachineRecord, Storage, StoredUnit } from "./storage.ts"

/**
 * What the rest of the local fleet asks of its agents.
 *
 * @since 0.2.0
 * @internal
 */
export interface Agents {
  /** `simulated` schedules and "runs" units; `off` leaves them alone. */
  readonly mode: AgentMode
  /** Switches the agents on or off; switching on picks up every loaded and launched unit. */
  readonly setMode: (mode: AgentMode) => void
  /** After unit `name` was created, changed its desired state, or was destroyed. */
  readonly unitChanged: (name: string) => void
  /** After a change to many units or machines at once (seeding): every loaded and launched unit. */
  readonly reconcile: () => void
  /** Whether an agent heartbeats `unit` where it is scheduled: fleet's `currentState` is then `launched`. */
  readonly isRunning: (unit: StoredUnit) => boolean
}

const matchesMachine = (machine: MachineRecord, target: string): boolean =>
  machine.id === target || machine.id.slice(0, 8) === target

/**
 * Agents that act at once: a loaded or launched unit goes to its `X-Fleet` `MachineID` or else the least loaded
 * machine, gets a state there (`active`/`running` when launched), and loses its states when it becomes inactive,
 * a template, or is destroyed. Global units get a state on every machine.
 *
 * @since 0.2.0
 * @internal
 */
export const simulated = (storage: Storage, initial: AgentMode = "simulated"): Agents => {
  let mode = initial

  const pickMachine = (unit: StoredUnit): string | undefined => {
    const target = requiredTarget(requirements(unit.options))
    const candidates = storage
      .listMachines()
      .filter((machine) => target === undefined || matchesMachine(machine, target))
    let best: { id: string; load: number } | undefined
    for (const machine of candidates) {
      let load = 0
      for (const other of storage.allUnits()) if (other.machineID === machine.id) load++
      if (best === undefined || load < best.load) best = { id: machine.id, load }
    }
    return best?.id
  }

  const publish = (unit: StoredUnit, machineID: string): void => {
    const launched = unit.desiredState === "launched"
    storage.putState({
      name: unit.name,
      hash: unit.hash,
      machineID,
      systemdLoadState: "loaded",
      systemdActiveState: launched ? "active" : "inactive",
      systemdSubState: launched ? "running" : "dead"
    })
  }

  const unitChanged = (name: string): void => {
    if (mode !== "simulated") return
    const unit = storage.getUnit(name)
    const owned = storage.statesOf(name)
    if (unit === undefined || unit.desiredState === "inactive" || isTemplate(name)) {
      for (const state of owned) storage.deleteState(name, state.machineID)
      if (unit !== undefined && unit.machineID !== undefined) storage.putUnit({ ...unit, machineID: undefined })
      return
    }
    if (isGlobal(unit.options)) {
      for (const state of owned) storage.deleteState(name, state.machineID)
      for (const machine of storage.listMachines()) publish(unit, machine.id)
      return
    }
    const machineID =
      unit.machineID !== undefined && storage.getMachine(unit.machineID) !== undefined
        ? unit.machineID
        : pickMachine(unit)
    for (const state of owned) if (state.machineID !== machineID) storage.deleteState(name, state.machineID)
    const scheduled = { ...unit, machineID }
    storage.putUnit(scheduled)
    if (machineID !== undefined) publish(scheduled, machineID)
  }

  const reconcile = (): void => {
    for (const unit of Array.from(storage.allUnits())) if (unit.desiredState !== "inactive") unitChanged(unit.name)
  }

  return {
    get mode() {
      return mode
    },
    setMode: (next) => {
      mode = next
      reconcile()
    },
    unitChanged,
    reconcile,
    isRunning: (unit) => mode === "simulated" && unit.desiredState === "launched"
  }
}
