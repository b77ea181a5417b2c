/**
 * What the local fleet stores, as fleet keeps it in etcd: units (as their unit file), unit states and machines, in
 * fleet's byte-wise order. No rules live here: validation is `localFleet.ts`, scheduling is `agents.ts`.
 *
 * @since 0.2.0
 * @internal
 */
import type { DesiredState } from "../../Unit.ts"
import type * as UnitFile from "../../UnitFile.ts"
import { compareBytes } from "../goString.ts"

/**
 * A unit as fleet stores it: its options after the trip through the unit file, and the hash of the file as
 * submitted (before that trip).
 *
 * @since 0.1.0
 * @internal
 */
export interface StoredUnit {
  readonly name: string
  readonly options: ReadonlyArray<UnitFile.Option>
  readonly hash: string
  readonly desiredState: DesiredState
  readonly machineID: string | undefined
  /**
   * Whether an agent's heartbeat for the unit is in the registry (fleet's `job-state` key): seeded with
   * `currentState: "launched"`, it makes the unit read `launched` where it has a unit state, agents or not.
   */
  readonly heartbeat?: boolean | undefined
}

/**
 * A machine of the simulated cluster.
 *
 * @since 0.1.0
 * @internal
 */
export interface MachineRecord {
  readonly id: string
  readonly primaryIP: string | undefined
  readonly metadata: Readonly<Record<string, string>>
}

/**
 * A unit state as an agent publishes it.
 *
 * @since 0.1.0
 * @internal
 */
export interface StateRecord {
  readonly name: string
  readonly hash: string | undefined
  readonly machineID: string | undefined
  readonly systemdLoadState: string | undefined
  readonly systemdActiveState: string | undefined
  readonly systemdSubState: string | undefined
}

/**
 * Filters of a unit-state listing; `undefined` or `""` matches everything.
 *
 * @since 0.2.0
 * @internal
 */
export interface StateFilter {
  readonly machineID?: string | undefined
  readonly unitName?: string | undefined
}

/**
 * Whether fleet's etcd registry lists a key segment: etcd v2 hides every key whose name starts with `_` from
 * directory listings, so fleet never lists such units, unit states or machines (though it finds a unit by name).
 *
 * @since 0.2.0
 * @internal
 */
export const listed = (segment: string | undefined): boolean => segment === undefined || !segment.startsWith("_")

const stateKey = (name: string, machineID: string | undefined): string => name + "\u0000" + (machineID ?? "")

/**
 * The local fleet's three tables. Synchronous and mutable: every request is handled to completion before the next
 * one, which is what keeps parallel requests consistent.
 *
 * @since 0.2.0
 * @internal
 */
export class Storage {
  private readonly units = new Map<string, StoredUnit>()
  // Every page of a listing needs the units in order; sorting once per change, not once per page, keeps paging
  // through a large fleet linear.
  private sortedUnits: ReadonlyArray<StoredUnit> | undefined
  private listedUnits: ReadonlyArray<StoredUnit> | undefined
  private readonly states = new Map<string, StateRecord>()
  private readonly machines = new Map<string, MachineRecord>()

  /** Empties every table. */
  clear(): void {
    this.units.clear()
    this.sortedUnits = undefined
    this.listedUnits = undefined
    this.states.clear()
    this.machines.clear()
  }

  // ---- units ----------------------------------------------------------------------------------------------------

  /** Every unit, by name (byte-wise). */
  listUnits(): ReadonlyArray<StoredUnit> {
    this.sortedUnits ??= Array.from(this.units.values()).sort((a, b) => compareBytes(a.name, b.name))
    return this.sortedUnits
  }

  /** The units fleet's listing shows, by name (byte-wise): every unit but those etcd hides. */
  listUnitsAsFleet(): ReadonlyArray<StoredUnit> {
    if (this.listedUnits === undefined) {
      const all = this.listUnits()
      this.listedUnits = all.every((unit) => listed(unit.name)) ? all : all.filter((unit) => listed(unit.name))
    }
    return this.listedUnits
  }

  /** Every unit, in no particular order (cheaper than {@link listUnits} while units change). */
  allUnits(): IterableIterator<StoredUnit> {
    return this.units.values()
  }

  getUnit(name: string): StoredUnit | undefined {
    return this.units.get(name)
  }

  /** Adds or replaces a unit. */
  putUnit(unit: StoredUnit): void {
    const replaced = this.units.has(unit.name)
    this.units.set(unit.name, unit)
    if (!replaced || this.sortedUnits === undefined) {
      this.sortedUnits = undefined
      this.listedUnits = undefined
      return
    }
    // The listing is the sorted array itself unless etcd hides a unit; a filtered copy would keep the old unit.
    if (this.listedUnits !== this.sortedUnits) this.listedUnits = undefined
    // A replacement keeps the order: swap it in place (the agents rewrite every unit they schedule).
    const sorted = this.sortedUnits as Array<StoredUnit>
    let low = 0
    let high = sorted.length - 1
    while (low <= high) {
      const middle = (low + high) >>> 1
      const order = compareBytes(sorted[middle]!.name, unit.name)
      if (order === 0) {
        sorted[middle] = unit
        return
      }
      if (order < 0) low = middle + 1
      else high = middle - 1
    }
    this.sortedUnits = undefined
    this.listedUnits = undefined
  }

  /** Removes a unit; `false` when there was none. */
  deleteUnit(name: string): boolean {
    if (!this.units.delete(name)) return false
    this.sortedUnits = undefined
    this.listedUnits = undefined
    return true
  }

  // ---- unit states ----------------------------------------------------------------------------------------------

  getState(name: string, machineID: string | undefined): StateRecord | undefined {
    return this.states.get(stateKey(name, machineID))
  }

  /** Adds or replaces the state of `state.name` on `state.machineID`. */
  putState(state: StateRecord): void {
    this.states.set(stateKey(state.name, state.machineID), state)
  }

  deleteState(name: string, machineID: string | undefined): void {
    this.states.delete(stateKey(name, machineID))
  }

  /** Every state published for unit `name`, on any machine. */
  statesOf(name: string): ReadonlyArray<StateRecord> {
    return Array.from(this.states.values()).filter((state) => state.name === name)
  }

  /** Unit states by unit name then machine ID (byte-wise), filtered by exact matches. */
  listStates(filter: StateFilter = {}): ReadonlyArray<StateRecord> {
    return Array.from(this.states.values())
      .filter(
        (state) =>
          (filter.machineID === undefined || filter.machineID === "" || state.machineID === filter.machineID) &&
          (filter.unitName === undefined || filter.unitName === "" || state.name === filter.unitName)
      )
      .sort((a, b) => compareBytes(a.name, b.name) || compareBytes(a.machineID ?? "", b.machineID ?? ""))
  }

  // ---- machines -------------------------------------------------------------------------------------------------

  getMachine(id: string): MachineRecord | undefined {
    return this.machines.get(id)
  }

  /** Adds or replaces a machine. */
  putMachine(machine: MachineRecord): void {
    this.machines.set(machine.id, machine)
  }

  /** Removes a machine (its presence expired); `false` when there was none. */
  deleteMachine(id: string): boolean {
    return this.machines.delete(id)
  }

  /** Machines by ID (byte-wise). */
  listMachines(): ReadonlyArray<MachineRecord> {
    return Array.from(this.machines.values()).sort((a, b) => compareBytes(a.id, b.id))
  }
}
