/**
 * The in-memory fleet: units (kept as their unit file, as fleet keeps them in etcd), unit states, machines, fleet's
 * validation rules and messages, derived `currentState`, byte-wise ordering, paging, the etcd-unavailable mode,
 * simulated agents, and the fault queue and request log that tests drive. Synchronous and mutable: every request is
 * handled to completion before the next one, which is what keeps parallel requests consistent.
 *
 * @since 0.1.0
 * @internal
 */
import { Result } from "effect"
import { Machine } from "../../Machine.ts"
import { type DesiredState, isDesiredState, Unit, UnitOption } from "../../Unit.ts"
import * as UnitFile from "../../UnitFile.ts"
import { UnitState } from "../../UnitState.ts"
import { compareBytes, quote } from "../goJson.ts"
import * as PageToken from "./pageToken.ts"
import { isGlobal, isTemplate, requiredTarget, requirements, validateName, validateOptions } from "../unitRules.ts"

/**
 * What the simulated cluster's agents do: `simulated` schedules and "runs" units, `off` leaves them unscheduled.
 *
 * @since 0.1.0
 * @internal
 */
export type AgentMode = "simulated" | "off"

/**
 * A misbehaviour for the adapters (the socket server, the in-memory client) to act out instead of, or on top of,
 * the normal answer.
 *
 * @since 0.1.0
 * @internal
 */
export type Fault =
  | { readonly _tag: "Unavailable" }
  | { readonly _tag: "Status"; readonly status: number; readonly body: string; readonly contentType: string }
  | { readonly _tag: "Reset" }
  | { readonly _tag: "Truncate" }
  | { readonly _tag: "Stall" }
  | { readonly _tag: "InvalidJson" }

/**
 * One request as the registry saw it.
 *
 * @since 0.1.0
 * @internal
 */
export interface RequestRecord {
  readonly method: string
  readonly url: string
}

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
 * The outcome of a write: a status and, for errors, fleet's message (`""` for a 500).
 *
 * @since 0.1.0
 * @internal
 */
export interface Outcome {
  readonly status: number
  readonly message?: string
}

/**
 * A unit as a `PUT` body decodes it (Go's zero values are `undefined`).
 *
 * @since 0.1.0
 * @internal
 */
export interface UnitInput {
  readonly name: string | undefined
  readonly desiredState: string | undefined
  readonly options: ReadonlyArray<UnitFile.Option> | undefined
}

/**
 * One machine metadata operation of a `PATCH /machines` body.
 *
 * @since 0.1.0
 * @internal
 */
export interface MetadataOp {
  readonly op: string
  readonly path: string
  readonly value: string
}

/**
 * What a registry can be seeded with (fleet's own models).
 *
 * @since 0.1.0
 * @internal
 */
export interface SeedData {
  readonly machines?: ReadonlyArray<Machine> | undefined
  readonly states?: ReadonlyArray<UnitState> | undefined
  readonly units?: ReadonlyArray<Unit> | undefined
}

/**
 * Options of a registry.
 *
 * @since 0.1.0
 * @internal
 */
export interface RegistryOptions {
  readonly tokenLimit?: number | undefined
  readonly agents?: AgentMode | undefined
}

const metadataPath = /^\/([^/]+)\/metadata\/([A-Za-z0-9_.-]+)$/

const stateKey = (name: string, machineID: string | undefined): string => name + "\u0000" + (machineID ?? "")

const matchesMachine = (machine: MachineRecord, target: string): boolean =>
  machine.id === target || machine.id.slice(0, 8) === target

const fail = (status: number, message: string): Outcome => ({ status, message })

/**
 * The in-memory fleet.
 *
 * @since 0.1.0
 * @internal
 */
export class Registry {
  /** fleetd's page size (`token_limit`). */
  readonly tokenLimit: number
  agents: AgentMode
  /** While set, every request answers fleet's 503. */
  etcdUnavailable = false

  private readonly units = new Map<string, StoredUnit>()
  // Every page of a listing needs the units in order; sorting once per change, not once per page, keeps paging
  // through a large fleet linear.
  private sortedUnits: ReadonlyArray<StoredUnit> | undefined
  private readonly states = new Map<string, StateRecord>()
  private readonly machines = new Map<string, MachineRecord>()
  private readonly faults: Array<Fault> = []
  private readonly log: Array<RequestRecord> = []

  constructor(options: RegistryOptions = {}) {
    this.tokenLimit = options.tokenLimit ?? PageToken.defaultTokenLimit
    this.agents = options.agents ?? "simulated"
  }

  // ---- faults and observation ----------------------------------------------------------------------------------

  /** Queues `fault` for each of the next `count` requests. */
  failNext(count: number, fault: Fault): void {
    for (let i = 0; i < count; i++) this.faults.push(fault)
  }

  /** The fault the next request must act out, if any (consumed). */
  takeFault(): Fault | undefined {
    return this.faults.shift()
  }

  /** Logs a request. */
  recordRequest(method: string, url: string): void {
    this.log.push({ method, url })
  }

  /** Logs a request and takes its fault: what an adapter does first with every request. */
  admit(method: string, url: string): Fault | undefined {
    this.recordRequest(method, url)
    return this.takeFault()
  }

  /** Every request seen, oldest first. */
  get requests(): ReadonlyArray<RequestRecord> {
    return this.log.slice()
  }

  // ---- whole-registry operations ------------------------------------------------------------------------------

  /** Empties the registry, the fault queue and the request log, and leaves the etcd-unavailable mode. */
  reset(): void {
    this.units.clear()
    this.sortedUnits = undefined
    this.states.clear()
    this.machines.clear()
    this.faults.length = 0
    this.log.length = 0
    this.etcdUnavailable = false
  }

  /**
   * Adds machines, unit states and units (replacing any with the same key), then lets the agents pick up the loaded
   * and launched units. Seeded units are not validated, so tests can set up states fleet itself would refuse.
   */
  seed(data: SeedData): Result.Result<void, string> {
    const units: Array<StoredUnit> = []
    for (const unit of data.units ?? []) {
      if (unit.name === undefined || unit.name === "") return Result.fail("every seeded unit needs a name")
      const stored = UnitFile.roundTrip(unit.options)
      if (Result.isFailure(stored)) return Result.fail(`unit ${unit.name}: ${stored.failure.message}`)
      units.push({
        name: unit.name,
        options: stored.success,
        hash: UnitFile.hash(unit.options),
        desiredState: unit.desiredState ?? "inactive",
        machineID: unit.machineID === "" ? undefined : unit.machineID
      })
    }
    for (const machine of data.machines ?? []) {
      this.machines.set(machine.id, {
        id: machine.id,
        primaryIP: machine.primaryIP,
        metadata: { ...machine.metadata }
      })
    }
    for (const state of data.states ?? []) {
      this.states.set(stateKey(state.name, state.machineID), {
        name: state.name,
        hash: state.hash,
        machineID: state.machineID,
        systemdLoadState: state.systemdLoadState,
        systemdActiveState: state.systemdActiveState,
        systemdSubState: state.systemdSubState
      })
    }
    for (const unit of units) this.putUnit(unit)
    for (const unit of this.units.values()) {
      if (unit.desiredState !== "inactive") this.runAgents(unit.name)
    }
    return Result.succeed(undefined)
  }

  /** Switches the simulated agents on or off (existing schedules are kept). */
  setAgents(mode: AgentMode): void {
    this.agents = mode
    if (mode === "simulated") {
      for (const unit of this.units.values()) if (unit.desiredState !== "inactive") this.runAgents(unit.name)
    }
  }

  // ---- units ----------------------------------------------------------------------------------------------------

  private putUnit(unit: StoredUnit): void {
    this.units.set(unit.name, unit)
    this.sortedUnits = undefined
  }

  /** Every unit, by name (byte-wise). */
  listUnits(): ReadonlyArray<StoredUnit> {
    this.sortedUnits ??= Array.from(this.units.values()).sort((a, b) => compareBytes(a.name, b.name))
    return this.sortedUnits
  }

  getUnit(name: string): StoredUnit | undefined {
    return this.units.get(name)
  }

  /**
   * The derived `currentState`: `inactive` unless the unit is scheduled and a state exists for it there; `launched`
   * when an agent heartbeats it (a simulated agent running a launched unit). A global unit fetched alone has none;
   * in a listing it shows `inactive`, as in fleet.
   */
  currentState(unit: StoredUnit, context: "get" | "list"): DesiredState | undefined {
    if (isGlobal(unit.options)) return context === "get" ? undefined : "inactive"
    if (unit.machineID === undefined || !this.states.has(stateKey(unit.name, unit.machineID))) return "inactive"
    return this.agents === "simulated" && unit.desiredState === "launched" ? "launched" : "loaded"
  }

  /** `PUT /units/{name}` after the body was decoded: fleet's checks, in fleet's order. */
  put(item: string, input: UnitInput): Outcome {
    const name = input.name === undefined || input.name === "" ? item : input.name
    if (name !== item) {
      return fail(400, `name in URL ${quote(item)} differs from unit name in request body ${quote(name)}`)
    }
    const invalidName = validateName(name)
    if (invalidName !== undefined) return fail(400, invalidName)
    const desired = input.desiredState === "" ? undefined : input.desiredState
    const options = input.options ?? []
    const existing = this.units.get(name)
    if (existing === undefined) {
      if (options.length === 0) return fail(409, "unit does not exist and options field empty")
      const invalidOptions = validateOptions(options)
      if (invalidOptions !== undefined) return fail(400, invalidOptions)
      // fleet stores an invalid state and breaks the unit; refusing it keeps the registry sound.
      if (desired !== undefined && !isDesiredState(desired)) return fail(500, "")
      return this.store(name, options, desired ?? "inactive", undefined)
    }
    if (options.length > 0 && UnitFile.hash(options) !== existing.hash) {
      if (desired !== undefined && !isDesiredState(desired)) return fail(500, "")
      return this.store(name, options, desired ?? "inactive", existing.machineID)
    }
    if (desired === undefined) return fail(409, "must provide DesiredState to update existing unit")
    if (isTemplate(name) && desired !== "inactive") return fail(400, `cannot activate template ${quote(name)}`)
    if (!isDesiredState(desired)) return fail(500, "")
    this.putUnit({ ...existing, desiredState: desired })
    this.runAgents(name)
    return { status: 204 }
  }

  private store(
    name: string,
    options: ReadonlyArray<UnitFile.Option>,
    desiredState: DesiredState,
    machineID: string | undefined
  ): Outcome {
    const stored = UnitFile.roundTrip(options)
    if (Result.isFailure(stored)) return fail(500, "")
    this.putUnit({
      name,
      options: stored.success,
      // fleet hashes the unit file as submitted, before reading it back: padding counts
      hash: UnitFile.hash(options),
      desiredState,
      machineID
    })
    this.runAgents(name)
    return { status: 201 }
  }

  /** `DELETE /units/{name}`: removes the unit; its states stay unless an agent cleans them up. */
  destroy(name: string): Outcome {
    if (!this.units.delete(name)) return fail(404, "unit does not exist")
    this.sortedUnits = undefined
    this.runAgents(name)
    return { status: 204 }
  }

  // ---- unit states and machines ---------------------------------------------------------------------------------

  /** Unit states by unit name then machine ID (byte-wise), filtered by exact matches. */
  listStates(filter: { readonly machineID?: string | undefined; readonly unitName?: string | undefined } = {}) {
    return Array.from(this.states.values())
      .filter(
        (state) =>
          (filter.machineID === undefined || filter.machineID === "" || state.machineID === filter.machineID) &&
          (filter.unitName === undefined || filter.unitName === "" || state.name === filter.unitName)
      )
      .sort((a, b) => compareBytes(a.name, b.name) || compareBytes(a.machineID ?? "", b.machineID ?? ""))
  }

  /** Machines by ID (byte-wise). */
  listMachines(): ReadonlyArray<MachineRecord> {
    return Array.from(this.machines.values()).sort((a, b) => compareBytes(a.id, b.id))
  }

  /** `PATCH /machines`: every operation is validated before any is applied; unknown machines are ignored. */
  patchMachines(ops: ReadonlyArray<MetadataOp>): Outcome {
    for (const op of ops) {
      if (op.op !== "add" && op.op !== "remove" && op.op !== "replace") {
        return fail(400, "invalid op: expect add, remove, or replace")
      }
      if (!metadataPath.test(op.path)) return fail(400, "machine metadata path invalid")
      if (op.op !== "remove" && op.value === "") return fail(400, "invalid value: add and replace require a value")
    }
    for (const op of ops) {
      const [, id, key] = metadataPath.exec(op.path)!
      const machine = this.machines.get(id!)
      if (machine === undefined) continue
      const metadata = { ...machine.metadata }
      if (op.op === "remove") delete metadata[key!]
      else metadata[key!] = op.value
      this.machines.set(machine.id, { ...machine, metadata })
    }
    return { status: 204 }
  }

  // ---- the simulated agents -------------------------------------------------------------------------------------

  private statesOf(name: string): ReadonlyArray<string> {
    return Array.from(this.states.entries())
      .filter(([, state]) => state.name === name)
      .map(([key]) => key)
  }

  private pickMachine(unit: StoredUnit): string | undefined {
    const target = requiredTarget(requirements(unit.options))
    const candidates = this.listMachines().filter((machine) => target === undefined || matchesMachine(machine, target))
    let best: { id: string; load: number } | undefined
    for (const machine of candidates) {
      let load = 0
      for (const other of this.units.values()) if (other.machineID === machine.id) load++
      if (best === undefined || load < best.load) best = { id: machine.id, load }
    }
    return best?.id
  }

  private publish(unit: StoredUnit, machineID: string): void {
    const launched = unit.desiredState === "launched"
    this.states.set(stateKey(unit.name, machineID), {
      name: unit.name,
      hash: unit.hash,
      machineID,
      systemdLoadState: "loaded",
      systemdActiveState: launched ? "active" : "inactive",
      systemdSubState: launched ? "running" : "dead"
    })
  }

  /** What the agents do after a unit changed: schedule it, publish its state, or clean up after it. */
  private runAgents(name: string): void {
    if (this.agents !== "simulated") return
    const unit = this.units.get(name)
    const owned = this.statesOf(name)
    if (unit === undefined || unit.desiredState === "inactive" || isTemplate(name)) {
      for (const key of owned) this.states.delete(key)
      if (unit !== undefined && unit.machineID !== undefined) this.putUnit({ ...unit, machineID: undefined })
      return
    }
    if (isGlobal(unit.options)) {
      for (const key of owned) this.states.delete(key)
      for (const machine of this.machines.keys()) this.publish(unit, machine)
      return
    }
    const machineID =
      unit.machineID !== undefined && this.machines.has(unit.machineID) ? unit.machineID : this.pickMachine(unit)
    for (const key of owned) if (key !== stateKey(name, machineID)) this.states.delete(key)
    const scheduled = { ...unit, machineID }
    this.putUnit(scheduled)
    if (machineID !== undefined) this.publish(scheduled, machineID)
  }

  // ---- snapshot -------------------------------------------------------------------------------------------------

  /** The registry's content as fleet's models, each list in fleet's order. */
  snapshot(): {
    readonly units: ReadonlyArray<Unit>
    readonly states: ReadonlyArray<UnitState>
    readonly machines: ReadonlyArray<Machine>
  } {
    return {
      units: this.listUnits().map((unit) => {
        const currentState = this.currentState(unit, "list")
        return new Unit({
          name: unit.name,
          options: unit.options.map((option) => new UnitOption(option)),
          desiredState: unit.desiredState,
          ...(currentState === undefined ? {} : { currentState }),
          ...(unit.machineID === undefined ? {} : { machineID: unit.machineID })
        })
      }),
      states: this.listStates().map(
        (state) =>
          new UnitState({
            name: state.name,
            ...defined("hash", state.hash),
            ...defined("machineID", state.machineID),
            ...defined("systemdLoadState", state.systemdLoadState),
            ...defined("systemdActiveState", state.systemdActiveState),
            ...defined("systemdSubState", state.systemdSubState)
          })
      ),
      machines: this.listMachines().map(
        (machine) =>
          new Machine({
            id: machine.id,
            ...defined("primaryIP", machine.primaryIP),
            ...(Object.keys(machine.metadata).length === 0 ? {} : { metadata: { ...machine.metadata } })
          })
      )
    }
  }
}

const defined = <K extends string>(key: K, value: string | undefined): { [P in K]?: string } =>
  (value === undefined || value === "" ? {} : { [key]: value }) as { [P in K]?: string }
