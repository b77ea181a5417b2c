/**
 * The local fleet's brain: storage, agents and faults put together, and fleet's API operations over them (the
 * checks of a `PUT` in fleet's order, destroy, machine metadata, seeding, snapshots, the derived `currentState`).
 * Both doors, the wire app and the control service hold one of these.
 *
 * @since 0.2.0
 * @internal
 */
import * as Result from "effect/Result"
import type { Agents as AgentMode, Snapshot } from "../../FleetControl.ts"
import { Machine } from "../../Machine.ts"
import { type DesiredState, isDesiredState, Unit, UnitOption } from "../../Unit.ts"
import * as UnitFile from "../../UnitFile.ts"
import { UnitState } from "../../UnitState.ts"
import { quote } from "../goString.ts"
import { isGlobal, isTemplate, validateName, validateOptions } from "../unitRules.ts"
import * as Agents from "./agents.ts"
import type { MetadataOp, UnitInput } from "./bodies.ts"
import { Faults } from "./faults.ts"
import * as PageToken from "./pageToken.ts"
import { listed, type StateRecord, Storage, type StoredUnit } from "./storage.ts"

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
 * What a local fleet can be seeded with (fleet's own models).
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
 * Options of a local fleet.
 *
 * @since 0.2.0
 * @internal
 */
export interface LocalFleetOptions {
  readonly tokenLimit?: number | undefined
  readonly agents?: AgentMode | undefined
  /** The simulated cluster's timing (fleet's defaults). */
  readonly timing?: Agents.Timing | undefined
  /** The fleet's clock, in milliseconds (default `Date.now`). */
  readonly clock?: (() => number) | undefined
}

const metadataPath = /^\/([^/]+)\/metadata\/([A-Za-z0-9_.-]+)$/

const fail = (status: number, message: string): Outcome => ({ status, message })

const defined = <K extends string>(key: K, value: string | undefined): { [P in K]?: string } =>
  (value === undefined || value === "" ? {} : { [key]: value }) as { [P in K]?: string }

/**
 * The in-memory fleet.
 *
 * @since 0.2.0
 * @internal
 */
export class LocalFleet {
  /** fleetd's page size (`token_limit`). */
  readonly tokenLimit: number
  readonly storage = new Storage()
  readonly agents: Agents.Agents
  readonly faults = new Faults()
  /** The fleet's clock, in milliseconds. */
  readonly clock: () => number
  /** While set, every request answers fleet's 503. */
  etcdUnavailable = false

  constructor(options: LocalFleetOptions = {}) {
    this.tokenLimit = options.tokenLimit ?? PageToken.defaultTokenLimit
    this.clock = options.clock ?? Date.now
    this.agents = Agents.simulated(
      this.storage,
      options.agents ?? "simulated",
      options.timing ?? Agents.defaultTiming,
      this.clock()
    )
  }

  /** Lets the simulated cluster catch up to the clock: what every request and control operation does first. */
  advance(): void {
    this.agents.advance(this.clock())
  }

  /** Empties the fleet, the fault queue and the request log, and leaves the etcd-unavailable mode. */
  reset(): void {
    this.storage.clear()
    this.agents.reset()
    this.faults.clear()
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
      const machineID = unit.machineID === "" ? undefined : unit.machineID
      units.push({
        name: unit.name,
        options: stored.success,
        hash: UnitFile.hash(unit.options),
        desiredState: unit.desiredState ?? "inactive",
        machineID,
        // A seed is taken as given: a unit seeded launched on a machine carries the heartbeat that makes fleet
        // report it launched there (with the unit state the seed gives for that machine), agents or not.
        heartbeat: unit.currentState === "launched" && machineID !== undefined
      })
    }
    for (const machine of data.machines ?? []) {
      this.storage.putMachine({ id: machine.id, primaryIP: machine.primaryIP, metadata: { ...machine.metadata } })
    }
    for (const state of data.states ?? []) {
      this.storage.putState({
        name: state.name,
        hash: state.hash,
        machineID: state.machineID,
        systemdLoadState: state.systemdLoadState,
        systemdActiveState: state.systemdActiveState,
        systemdSubState: state.systemdSubState
      })
    }
    for (const unit of units) this.storage.putUnit(unit)
    this.agents.reconcile(units.map((unit) => unit.name))
    return Result.succeed(undefined)
  }

  /**
   * The derived `currentState`, as fleet's registry derives it: `inactive` unless the unit is scheduled and a state
   * exists for it there; `launched` when an agent heartbeats it there. A global unit fetched alone has none (fleet
   * does not look up its schedule); a listing derives it like any other.
   */
  currentState(unit: StoredUnit, context: "get" | "list"): DesiredState | undefined {
    if (context === "get" && isGlobal(unit.options)) return undefined
    if (unit.machineID === undefined || this.storage.getState(unit.name, unit.machineID) === undefined) {
      return "inactive"
    }
    // A seeded heartbeat stands for agents that are not simulated; simulated agents keep their own.
    const seededHeartbeat = this.agents.mode === "off" && unit.heartbeat === true
    return seededHeartbeat || this.agents.isRunning(unit) ? "launched" : "loaded"
  }

  /** The machine a unit is reported on: fleet does not look up the schedule of a global unit fetched alone. */
  reportedMachine(unit: StoredUnit, context: "get" | "list"): string | undefined {
    return context === "get" && isGlobal(unit.options) ? undefined : unit.machineID
  }

  /**
   * `GET /state/{name}`: fleet's registry looks up one unit state by unit name among those etcd lists. With several,
   * fleet takes whichever etcd hands it first (in no set order); this takes the first by machine ID.
   */
  stateOf(name: string): StateRecord | undefined {
    return this.storage.listStates({ unitName: name }).find((state) => listed(state.name) && listed(state.machineID))
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
    const existing = this.storage.getUnit(name)
    if (existing === undefined) {
      if (options.length === 0) return fail(409, "unit does not exist and options field empty")
      const invalidOptions = validateOptions(options)
      if (invalidOptions !== undefined) return fail(400, invalidOptions)
      // fleet stores an invalid state and breaks the unit; refusing it keeps the local fleet sound.
      if (desired !== undefined && !isDesiredState(desired)) return fail(500, "")
      return this.store(name, options, desired ?? "inactive", undefined)
    }
    // "Same unit?" compares the submitted options with the stored unit file as it reads back (what GET returns), so
    // options that round-trip differently (padding, say) replace the unit every time.
    if (options.length > 0 && UnitFile.hash(options) !== UnitFile.hash(existing.options)) {
      if (desired !== undefined && !isDesiredState(desired)) return fail(500, "")
      return this.store(name, options, desired ?? "inactive", existing)
    }
    if (desired === undefined) return fail(409, "must provide DesiredState to update existing unit")
    if (isTemplate(name) && desired !== "inactive") return fail(400, `cannot activate template ${quote(name)}`)
    if (!isDesiredState(desired)) return fail(500, "")
    this.storage.putUnit({ ...existing, desiredState: desired })
    this.agents.unitChanged(name)
    return { status: 204 }
  }

  private store(
    name: string,
    options: ReadonlyArray<UnitFile.Option>,
    desiredState: DesiredState,
    replaced: StoredUnit | undefined
  ): Outcome {
    const stored = UnitFile.roundTrip(options)
    // fleet stores such a file anyway and can never read the unit back (every later request on it answers 500, and
    // it cannot be deleted); refusing it keeps the local fleet sound (a deviation the README lists).
    if (Result.isFailure(stored)) return fail(500, "")
    this.storage.putUnit({
      name,
      options: stored.success,
      // fleet keys the unit file by the hash of the file as submitted, before reading it back: padding counts
      hash: UnitFile.hash(options),
      desiredState,
      // A replacement writes the unit file and the desired state only: the schedule and the heartbeat stay.
      machineID: replaced?.machineID,
      heartbeat: replaced?.heartbeat
    })
    this.agents.unitChanged(name)
    return { status: 201 }
  }

  /** `DELETE /units/{name}`: removes the unit; its states stay unless an agent cleans them up. */
  destroy(name: string): Outcome {
    if (!this.storage.deleteUnit(name)) return fail(404, "unit does not exist")
    this.agents.unitChanged(name)
    return { status: 204 }
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
    let changed = false
    for (const op of ops) {
      const [, id, key] = metadataPath.exec(op.path)!
      const machine = this.storage.getMachine(id!)
      if (machine === undefined) continue
      const metadata = { ...machine.metadata }
      if (op.op === "remove") delete metadata[key!]
      else metadata[key!] = op.value
      this.storage.putMachine({ ...machine, metadata })
      changed = true
    }
    if (changed) this.agents.machinesChanged()
    return { status: 204 }
  }

  /** The fleet's content as fleet's models, each list in fleet's order. */
  snapshot(): Snapshot {
    return {
      units: this.storage.listUnits().map((unit) => {
        const currentState = this.currentState(unit, "list")
        return new Unit({
          name: unit.name,
          options: unit.options.map((option) => new UnitOption(option)),
          desiredState: unit.desiredState,
          ...(currentState === undefined ? {} : { currentState }),
          ...(unit.machineID === undefined ? {} : { machineID: unit.machineID })
        })
      }),
      states: this.storage.listStates().map(
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
      machines: this.storage.listMachines().map(
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
