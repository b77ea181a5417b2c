/**
 * The simulated cluster behind the local fleet: fleet's engine (`engine.ts`) decides where units go, and one agent
 * per machine loads, starts, stops and unloads what is scheduled to it, publishing systemd-like unit states and the
 * launched heartbeat that fleet derives `currentState` from. Machines can go down (and disappear after fleet's TTL),
 * come back and change metadata; units can fail or stop on their own, and fleet does not restart them.
 *
 * Time is simulated: nothing runs in the background. Every request and control operation first calls
 * {@link Agents.advance} with the current time (the doors read it from Effect's `Clock`, so `TestClock` drives it),
 * and the agents catch up on what fell due in between, in order: machines expiring, the engine's periodic passes,
 * units finishing their start. Changes to units act at once, as fleet's etcd watches make them.
 *
 * @since 0.2.0
 * @internal
 */
import type { Agents as AgentMode } from "../../FleetControl.ts"
import type { DesiredState } from "../../Unit.ts"
import { compareBytes } from "../goJson.ts"
import * as Engine from "./engine.ts"
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
}

/**
 * fleet's defaults.
 *
 * @since 0.2.0
 * @internal
 */
export const defaultTiming: Timing = { reconcileInterval: 2_000, machineTtl: 30_000, unitStartTime: 0 }

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
  /** After machine metadata changed (`PATCH /machines`): agents at once, the engine on its next periodic pass. */
  readonly machinesChanged: () => void
  readonly machineDown: (id: string, immediately: boolean) => string | undefined
  readonly machineUp: (machine: MachineRecord | string) => string | undefined
  readonly setMetadata: (id: string, metadata: Readonly<Record<string, string>>) => string | undefined
  readonly unitFault: (name: string, machineID: string | undefined, outcome: "failed" | "stopped") => string | undefined
  /** Forgets every machine, hold, heartbeat and timer. */
  readonly reset: () => void
}

interface Held {
  readonly hash: string
  readonly state: "loaded" | "launched"
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
  // What each agent has loaded (its own cache: fleet's agent trusts it, so a unit that died is not restarted).
  const held = new Map<string, Map<string, Held>>()
  // The launched heartbeat: unit name to the machine whose agent started it.
  const heartbeats = new Map<string, string>()
  // Machines that stopped heartbeating, to the time their presence expires.
  const down = new Map<string, number>()
  // Machines whose presence expired, remembered so they can come back as they were.
  const gone = new Map<string, MachineRecord>()
  let starting: Array<Starting> = []
  let passDue: number | undefined
  const requirements = new Map<string, { readonly hash: string; readonly requirements: Engine.Requirements }>()

  const requirementsOf = (unit: StoredUnit): Engine.Requirements => {
    const cached = requirements.get(unit.name)
    if (cached !== undefined && cached.hash === unit.hash) return cached.requirements
    const fresh = Engine.requirementsOf(unit.name, unit.options)
    requirements.set(unit.name, { hash: unit.hash, requirements: fresh })
    return fresh
  }

  const engineUnits = (): Array<Engine.EngineUnit> =>
    Array.from(storage.allUnits(), (unit) => ({
      name: unit.name,
      requirements: requirementsOf(unit),
      desiredState: unit.desiredState,
      target: unit.machineID
    })).sort((a, b) => compareBytes(a.name, b.name))

  const engineMachines = (): Array<Engine.EngineMachine> =>
    storage.listMachines().map((machine) => ({ id: machine.id, metadata: machine.metadata }))

  /** Engine passes until one writes nothing (or a Replaces livelock is detected), written back to storage. */
  const runEngine = (): void => {
    const settled = Engine.settle(engineMachines(), engineUnits())
    for (const [name, target] of settled.targets) {
      const unit = storage.getUnit(name)
      if (unit !== undefined && unit.machineID !== target) storage.putUnit({ ...unit, machineID: target })
    }
  }

  const publish = (name: string, machineID: string, hash: string, active: string, sub: string): void =>
    storage.putState({
      name,
      hash,
      machineID,
      systemdLoadState: "loaded",
      systemdActiveState: active,
      systemdSubState: sub
    })

  const dropHeartbeat = (name: string, machineID: string): void => {
    if (heartbeats.get(name) === machineID) heartbeats.delete(name)
  }

  const unload = (cache: Map<string, Held>, name: string, machineID: string): void => {
    dropHeartbeat(name, machineID)
    storage.deleteState(name, machineID)
    cache.delete(name)
  }

  const start = (cache: Map<string, Held>, name: string, machineID: string, hash: string, global: boolean): void => {
    // fleet sets the heartbeat before asking systemd; a global unit's heartbeat is never read, so it is not kept.
    if (!global) heartbeats.set(name, machineID)
    cache.set(name, { hash, state: "launched" })
    if (timing.unitStartTime <= 0) {
      publish(name, machineID, hash, "active", "running")
      return
    }
    publish(name, machineID, hash, "activating", "start")
    starting.push({ name, machineID, hash, due: time + timing.unitStartTime })
  }

  /** One agent's reconcile: what it should hold against what it holds, as Unload, Load, Stop and Start. */
  const runAgent = (machine: Engine.EngineMachine, units: ReadonlyArray<Engine.EngineUnit>): void => {
    let cache = held.get(machine.id)
    if (cache === undefined) {
      cache = new Map()
      held.set(machine.id, cache)
    }
    const desired = new Map<string, DesiredState>()
    for (const unit of Engine.agentUnits(machine, units)) desired.set(unit.name, unit.desiredState)
    for (const [name] of cache) {
      const state = desired.get(name)
      const unit = storage.getUnit(name)
      if (state === undefined || state === "inactive" || unit === undefined) unload(cache, name, machine.id)
      else if (cache.get(name)!.hash !== unit.hash) unload(cache, name, machine.id)
    }
    for (const [name, state] of desired) {
      if (state === "inactive") continue
      const unit = storage.getUnit(name)!
      const current = cache.get(name)
      if (current === undefined) {
        cache.set(name, { hash: unit.hash, state: "loaded" })
        publish(name, machine.id, unit.hash, "inactive", "dead")
      }
      const global = requirementsOf(unit).global
      if (state === "launched" && current?.state !== "launched") start(cache, name, machine.id, unit.hash, global)
      if (state === "loaded" && current?.state === "launched") {
        dropHeartbeat(name, machine.id)
        cache.set(name, { hash: unit.hash, state: "loaded" })
        publish(name, machine.id, unit.hash, "inactive", "dead")
      }
    }
  }

  const runAgents = (): void => {
    const units = engineUnits()
    for (const machine of engineMachines()) if (!down.has(machine.id)) runAgent(machine, units)
  }

  const act = (): void => {
    if (mode !== "simulated") return
    runEngine()
    runAgents()
  }

  /** The first periodic engine pass after `at`. */
  const nextTick = (at: number): number =>
    timing.reconcileInterval <= 0
      ? at
      : origin + (Math.floor((at - origin) / timing.reconcileInterval) + 1) * timing.reconcileInterval

  const engineNotices = (): void => {
    const at = nextTick(time)
    if (passDue === undefined || at < passDue) passDue = at
  }

  const expire = (id: string): void => {
    down.delete(id)
    const machine = storage.getMachine(id)
    if (machine === undefined) return
    gone.set(id, machine)
    storage.deleteMachine(id)
    // Its agent is dead: what it published expires with it.
    for (const state of storage.listStates({ machineID: id })) storage.deleteState(state.name, id)
    for (const [name, machineID] of heartbeats) if (machineID === id) heartbeats.delete(name)
    held.delete(id)
    starting = starting.filter((entry) => entry.machineID !== id)
    engineNotices()
  }

  const advance = (now: number): void => {
    while (true) {
      let next = passDue
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
          publish(entry.name, entry.machineID, entry.hash, "active", "running")
        }
      }
      if (passDue !== undefined && passDue <= time) {
        passDue = undefined
        act()
      }
    }
    time = Math.max(time, now)
  }

  const reconcile = (seeded: ReadonlyArray<string> = []): void => {
    for (const name of seeded) {
      const unit = storage.getUnit(name)
      if (unit === undefined || unit.machineID === undefined || unit.desiredState === "inactive") continue
      if (storage.getState(name, unit.machineID) === undefined) continue
      let cache = held.get(unit.machineID)
      if (cache === undefined) {
        cache = new Map()
        held.set(unit.machineID, cache)
      }
      cache.set(name, { hash: unit.hash, state: unit.desiredState })
      if (unit.desiredState === "launched") heartbeats.set(name, unit.machineID)
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
    if (held.get(where)?.get(name)?.state !== "launched" || !running) return `unit ${name} is not running on ${where}`
    starting = starting.filter((entry) => entry.name !== name || entry.machineID !== where)
    if (outcome === "failed") publish(name, where, state!.hash ?? unit.hash, "failed", "failed")
    else publish(name, where, state!.hash ?? unit.hash, "inactive", "dead")
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
    unitChanged: act,
    reconcile,
    isRunning: (unit) =>
      mode === "simulated" && unit.machineID !== undefined && heartbeats.get(unit.name) === unit.machineID,
    advance,
    machinesChanged: () => {
      engineNotices()
      if (mode === "simulated") runAgents()
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
      if (mode === "simulated") runAgents()
      return undefined
    },
    unitFault,
    reset: () => {
      held.clear()
      heartbeats.clear()
      down.clear()
      gone.clear()
      starting = []
      passDue = undefined
      requirements.clear()
    }
  }
}
