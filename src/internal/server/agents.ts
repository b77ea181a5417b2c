/**
 * The simulated cluster behind the local fleet: fleet's engine (`engine.ts`) decides where units go, and one agent
 * per machine loads, starts, stops and unloads what is scheduled to it, publishing systemd-like unit states and the
 * launched heartbeat that fleet derives `currentState` from. Machines can go down (and disappear after fleet's TTL),
 * come back and change metadata; units can fail or stop on their own, and fleet does not restart them.
 *
 * Time is simulated: nothing runs in the background. Every request and control operation first calls
 * {@link Agents.advance} with the current time (the doors read it from Effect's `Clock`, so `TestClock` drives it),
 * and the agents catch up on what fell due in between, in order: machines expiring, the engine's periodic passes,
 * the agents' own reconciles and republishes, units finishing their start. Changes to units act at once, as fleet's
 * etcd watches make them. As in fleet, unloading a unit erases its states on every machine (`RemoveUnitState`); the
 * agents still holding it publish theirs again on their next republish. What each agent holds, its heartbeats and
 * what it published are kept by `holdings.ts`; this module decides when they act.
 *
 * @since 0.2.0
 * @internal
 */
import type { Agents as AgentMode } from "../../FleetControl.ts"
import type { DesiredState } from "../../Unit.ts"
import * as Engine from "./engine.ts"
import * as XFleet from "../xfleet.ts"
import { type Held, Holdings } from "./holdings.ts"
import type { MachineRecord, Storage, StoredUnit } from "./storage.ts"

/**
 * The timing knobs, in milliseconds.
 *
 * @since 0.2.0
 * @internal
 */
export interface Timing {
  /** The engine's periodic pass (fleet's `engine_reconcile_interval`, 2 s). */
  readonly reconcileInterval: number
  /** How long a machine that stopped heartbeating stays listed (fleet's `agent_ttl`, 30 s). */
  readonly machineTtl: number
  /** How long a started unit is `activating` before it is `active`. */
  readonly unitStartTime: number
  /**
   * The agents' periodic reconcile (fleet's agent `reconcileInterval`, 5 s): when they notice a metadata change
   * (which global units apply to their machine). Unit changes reach them at once.
   */
  readonly agentReconcileInterval: number
}

/**
 * fleet's defaults.
 *
 * @since 0.2.0
 * @internal
 */
export const defaultTiming: Timing = {
  reconcileInterval: 2_000,
  machineTtl: 30_000,
  unitStartTime: 0,
  agentReconcileInterval: 5_000
}

/**
 * What the rest of the local fleet asks of its agents. Methods returning `string | undefined` return a message
 * when they refuse.
 *
 * @since 0.2.0
 * @internal
 */
export interface Agents {
  /** `simulated` schedules and runs units; `off` leaves them alone. */
  readonly mode: AgentMode
  /** Switches the agents on or off; switching on picks up every loaded and launched unit. */
  readonly setMode: (mode: AgentMode) => void
  /** After unit `name` was created, changed its desired state or unit file, or was destroyed. */
  readonly unitChanged: (name: string) => void
  /**
   * After seeding: units seeded with a state on their machine count as already held there (at their desired state),
   * then the engine and the agents act at once.
   */
  readonly reconcile: (seeded?: ReadonlyArray<string>) => void
  /** Whether the launched heartbeat of `unit` names the machine it is scheduled to. */
  readonly isRunning: (unit: StoredUnit) => boolean
  /** Catches up to `now` (milliseconds, by the fleet's clock). */
  readonly advance: (now: number) => void
  /** After machine metadata changed (`PATCH /machines`): the engine and the agents on their next periodic passes. */
  readonly machinesChanged: () => void
  /** The machine stops heartbeating: gone after the machine TTL (or now), its units moved by the next engine pass. */
  readonly machineDown: (id: string, immediately: boolean) => string | undefined
  /** A machine joins, or one that went down comes back as it was (by ID); its agent starts at once. */
  readonly machineUp: (machine: MachineRecord | string) => string | undefined
  /** Replaces a machine's configured metadata (noticed like a `PATCH`). */
  readonly setMetadata: (id: string, metadata: Readonly<Record<string, string>>) => string | undefined
  /** The unit's process on `machineID` (default: its target) fails or exits; nothing restarts it. */
  readonly unitFault: (name: string, machineID: string | undefined, outcome: "failed" | "stopped") => string | undefined
  /** Forgets every machine, hold, heartbeat and timer. */
  readonly reset: () => void
}

interface Starting {
  readonly name: string
  readonly machineID: string
  readonly hash: string
  readonly due: number
}

/**
 * Agents following fleet's engine and agents.
 *
 * @since 0.2.0
 * @internal
 */
export const simulated = (
  storage: Storage,
  initial: AgentMode = "simulated",
  timing: Timing = defaultTiming,
  origin = 0
): Agents => {
  let mode = initial
  let time = origin
  // What each agent holds, its heartbeats and what it last published.
  const holdings = new Holdings(storage)
  // Machines that stopped heartbeating, to the time their presence expires.
  const down = new Map<string, number>()
  // Machines whose presence expired, remembered so they can come back as they were.
  const gone = new Map<string, MachineRecord>()
  let starting: Array<Starting> = []
  let passDue: number | undefined
  let agentsDue: number | undefined
  let republishDue: number | undefined
  // fleet's UnitStatePublisher republishes every TTL×4/5 (TTL/2 for a TTL of 10 s or less).
  const republishPeriod = timing.machineTtl <= 10_000 ? timing.machineTtl / 2 : (timing.machineTtl * 4) / 5
  const requirements = new Map<string, { readonly hash: string; readonly requirements: XFleet.Requirements }>()

  const requirementsOf = (unit: StoredUnit): XFleet.Requirements => {
    const cached = requirements.get(unit.name)
    if (cached !== undefined && cached.hash === unit.hash) return cached.requirements
    const fresh = XFleet.requirementsOf(unit.name, unit.options)
    requirements.set(unit.name, { hash: unit.hash, requirements: fresh })
    return fresh
  }

  const engineUnits = (): Array<Engine.EngineUnit> =>
    storage.listUnits().map((unit) => ({
      name: unit.name,
      requirements: requirementsOf(unit),
      desiredState: unit.desiredState,
      target: unit.machineID
    }))

  const engineMachines = (): Array<Engine.EngineMachine> =>
    storage.listMachines().map((machine) => ({ id: machine.id, metadata: machine.metadata }))

  /**
   * Engine passes until one writes nothing (or a Replaces livelock is detected), written back to storage. Returns
   * the units with their new targets.
   */
  const runEngine = (): { readonly units: ReadonlyArray<Engine.EngineUnit>; readonly wrote: boolean } => {
    const units = engineUnits()
    const settled = Engine.settle(engineMachines(), units)
    let wrote = false
    const after = units.map((entry) => {
      const target = settled.targets.get(entry.name)
      if (target === entry.target) return entry
      wrote = true
      const unit = storage.getUnit(entry.name)!
      storage.putUnit({ ...unit, machineID: target })
      return { ...entry, target }
    })
    return { units: after, wrote }
  }

  const unload = (cache: Map<string, Held>, name: string, machineID: string): void => {
    // The other agents that hold it publish their states again on their next republish.
    if (!holdings.unload(cache, name, machineID)) return
    const at = nextTick(time, republishPeriod)
    if (republishDue === undefined || at < republishDue) republishDue = at
  }

  const start = (cache: Map<string, Held>, name: string, machineID: string, hash: string, global: boolean): void => {
    // fleet sets the heartbeat before asking systemd; a global unit's heartbeat is never read, so it is not kept.
    if (!global) holdings.beat(name, machineID)
    cache.set(name, { hash, state: "launched" })
    if (timing.unitStartTime <= 0) {
      holdings.publish(name, machineID, hash, "active", "running")
      return
    }
    holdings.publish(name, machineID, hash, "activating", "start")
    starting.push({ name, machineID, hash, due: time + timing.unitStartTime })
  }

  /** One agent's reconcile, first half: what it holds and should not (or holds in an old version), unloaded. */
  const unloadStale = (machine: Engine.EngineMachine, units: ReadonlyArray<Engine.EngineUnit>) => {
    const cache = holdings.cacheOf(machine.id)
    const desired = new Map<string, DesiredState>()
    for (const unit of Engine.agentUnits(machine, units)) desired.set(unit.name, unit.desiredState)
    for (const [name] of cache) {
      const state = desired.get(name)
      const unit = storage.getUnit(name)
      if (state === undefined || state === "inactive" || unit === undefined) unload(cache, name, machine.id)
      else if (cache.get(name)!.hash !== unit.hash) unload(cache, name, machine.id)
    }
    return { cache, desired }
  }

  /** Second half: Load, Stop and Start until it holds what it should. */
  const loadAndStart = (
    machine: Engine.EngineMachine,
    { cache, desired }: { readonly cache: Map<string, Held>; readonly desired: ReadonlyMap<string, DesiredState> }
  ): void => {
    for (const [name, state] of desired) {
      if (state === "inactive") continue
      const unit = storage.getUnit(name)!
      const current = cache.get(name)
      if (current === undefined) {
        cache.set(name, { hash: unit.hash, state: "loaded" })
        holdings.publish(name, machine.id, unit.hash, "inactive", "dead")
      }
      const global = requirementsOf(unit).global
      if (state === "launched" && current?.state !== "launched") start(cache, name, machine.id, unit.hash, global)
      if (state === "loaded" && current?.state === "launched") {
        holdings.dropHeartbeat(name, machine.id)
        cache.set(name, { hash: unit.hash, state: "loaded" })
        holdings.publish(name, machine.id, unit.hash, "inactive", "dead")
      }
    }
  }

  const runAgents = (units: ReadonlyArray<Engine.EngineUnit> = engineUnits()): void => {
    // Each agent only looks at global units and the units scheduled to it.
    const globals = units.filter((unit) => unit.requirements.global)
    const byTarget = new Map<string, Array<Engine.EngineUnit>>()
    for (const unit of units) {
      if (unit.requirements.global || unit.target === undefined) continue
      const list = byTarget.get(unit.target)
      if (list === undefined) byTarget.set(unit.target, [unit])
      else list.push(unit)
    }
    // fleet's agents run side by side; here every unload comes first, so a unit moving between two machines keeps
    // the state its new machine publishes (one of the orders fleet's agents can take).
    const plans = engineMachines()
      .filter((machine) => !down.has(machine.id))
      .map((machine) => {
        const mine = byTarget.get(machine.id) ?? []
        return [machine, unloadStale(machine, globals.length === 0 ? mine : [...globals, ...mine])] as const
      })
    for (const [machine, plan] of plans) loadAndStart(machine, plan)
  }

  const act = (): void => {
    if (mode !== "simulated") return
    runAgents(runEngine().units)
  }

  // A periodic pass that moves nothing raises no etcd event: the agents wait for their own next reconcile.
  const periodicPass = (): void => {
    if (mode !== "simulated") return
    const { units, wrote } = runEngine()
    if (wrote) runAgents(units)
  }

  /** The first tick of a periodic timer after `at`. */
  const nextTick = (at: number, interval: number): number =>
    interval <= 0 ? at : origin + (Math.floor((at - origin) / interval) + 1) * interval

  const engineNotices = (): void => {
    const at = nextTick(time, timing.reconcileInterval)
    if (passDue === undefined || at < passDue) passDue = at
  }

  const agentsNotice = (): void => {
    const at = nextTick(time, timing.agentReconcileInterval)
    if (agentsDue === undefined || at < agentsDue) agentsDue = at
  }

  const expire = (id: string): void => {
    down.delete(id)
    const machine = storage.getMachine(id)
    if (machine === undefined) return
    gone.set(id, machine)
    storage.deleteMachine(id)
    holdings.forget(id)
    starting = starting.filter((entry) => entry.machineID !== id)
    engineNotices()
  }

  const advance = (now: number): void => {
    while (true) {
      let next = passDue
      if (agentsDue !== undefined && (next === undefined || agentsDue < next)) next = agentsDue
      if (republishDue !== undefined && (next === undefined || republishDue < next)) next = republishDue
      for (const due of down.values()) if (next === undefined || due < next) next = due
      for (const entry of starting) if (next === undefined || entry.due < next) next = entry.due
      if (next === undefined || next > now) break
      time = Math.max(time, next)
      for (const [id, due] of Array.from(down)) if (due <= time) expire(id)
      const finished = starting.filter((entry) => entry.due <= time)
      starting = starting.filter((entry) => entry.due > time)
      for (const entry of finished) {
        const state = storage.getState(entry.name, entry.machineID)
        if (state?.systemdActiveState === "activating" && state.hash === entry.hash) {
          holdings.publish(entry.name, entry.machineID, entry.hash, "active", "running")
        }
      }
      if (passDue !== undefined && passDue <= time) {
        passDue = undefined
        periodicPass()
      }
      if (agentsDue !== undefined && agentsDue <= time) {
        agentsDue = undefined
        if (mode === "simulated") runAgents()
      }
      if (republishDue !== undefined && republishDue <= time) {
        republishDue = undefined
        holdings.republish((machineID) => down.has(machineID))
      }
    }
    time = Math.max(time, now)
  }

  const reconcile = (seeded: ReadonlyArray<string> = []): void => {
    for (const name of seeded) {
      const unit = storage.getUnit(name)
      if (unit === undefined || unit.machineID === undefined || unit.desiredState === "inactive") continue
      if (storage.getState(name, unit.machineID) === undefined) continue
      holdings.cacheOf(unit.machineID).set(name, { hash: unit.hash, state: unit.desiredState })
      if (unit.desiredState === "launched") holdings.beat(name, unit.machineID)
      holdings.remember(name, unit.machineID, storage.getState(name, unit.machineID)!)
    }
    act()
  }

  const unitFault = (name: string, machineID: string | undefined, outcome: "failed" | "stopped") => {
    const unit = storage.getUnit(name)
    if (unit === undefined) return `unit ${name} does not exist`
    const where = machineID ?? unit.machineID
    if (where === undefined) return `unit ${name} runs on no machine; name one`
    const state = storage.getState(name, where)
    const running = state?.systemdActiveState === "active" || state?.systemdActiveState === "activating"
    if (holdings.heldBy(where, name)?.state !== "launched" || !running) return `unit ${name} is not running on ${where}`
    starting = starting.filter((entry) => entry.name !== name || entry.machineID !== where)
    if (outcome === "failed") holdings.publish(name, where, state!.hash ?? unit.hash, "failed", "failed")
    else holdings.publish(name, where, state!.hash ?? unit.hash, "inactive", "dead")
    return undefined
  }

  return {
    get mode() {
      return mode
    },
    setMode: (next) => {
      mode = next
      act()
    },
    unitChanged: (name) => {
      if (storage.getUnit(name) === undefined) requirements.delete(name)
      act()
    },
    reconcile,
    isRunning: (unit) =>
      mode === "simulated" && unit.machineID !== undefined && holdings.beatsOn(unit.name, unit.machineID),
    advance,
    machinesChanged: () => {
      engineNotices()
      agentsNotice()
    },
    machineDown: (id, immediately) => {
      if (storage.getMachine(id) === undefined) return `no machine ${id}`
      if (immediately || timing.machineTtl <= 0) {
        expire(id)
        act()
      } else if (!down.has(id)) down.set(id, time + timing.machineTtl)
      return undefined
    },
    machineUp: (machine) => {
      const record =
        typeof machine === "string"
          ? (storage.getMachine(machine) ?? gone.get(machine) ?? { id: machine, primaryIP: undefined, metadata: {} })
          : machine
      if (record.id === "") return "a machine needs an ID"
      down.delete(record.id)
      gone.delete(record.id)
      storage.putMachine(record)
      // Its agent starts at once (global units with it); the engine sees the machine on its next periodic pass.
      engineNotices()
      if (mode === "simulated") runAgents()
      return undefined
    },
    setMetadata: (id, metadata) => {
      const machine = storage.getMachine(id)
      if (machine === undefined) return `no machine ${id}`
      storage.putMachine({ ...machine, metadata: { ...metadata } })
      engineNotices()
      agentsNotice()
      return undefined
    },
    unitFault,
    reset: () => {
      holdings.clear()
      down.clear()
      gone.clear()
      starting = []
      passDue = undefined
      agentsDue = undefined
      republishDue = undefined
      requirements.clear()
    }
  }
}
