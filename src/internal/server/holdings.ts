/**
 * What the simulated agents remember, machine by machine: the units each one holds (its own cache: fleet's agent
 * trusts it, so a unit that died is not restarted), the launched heartbeats, and what each last published for the
 * units it holds (its view of systemd, which it publishes again after fleet's `RemoveUnitState` erased it). The unit
 * states it publishes are written through to storage. When things happen is `agents.ts`'s business.
 *
 * @since 0.2.0
 * @internal
 */
import type { StateRecord, Storage } from "./storage.ts"

/**
 * A unit as an agent holds it: the version it loaded and how far it took it.
 *
 * @since 0.2.0
 * @internal
 */
export interface Held {
  readonly hash: string
  readonly state: "loaded" | "launched"
}

/**
 * The agents' memory over one storage.
 *
 * @since 0.2.0
 * @internal
 */
export class Holdings {
  private readonly held = new Map<string, Map<string, Held>>()
  // The launched heartbeat: unit name to the machine whose agent started it.
  private readonly heartbeats = new Map<string, string>()
  private readonly published = new Map<string, Map<string, StateRecord>>()

  private readonly storage: Storage

  constructor(storage: Storage) {
    this.storage = storage
  }

  /** What the agent on `machineID` holds (an empty cache the first time it is asked). */
  cacheOf(machineID: string): Map<string, Held> {
    return getOrCreate(this.held, machineID)
  }

  /** How the agent on `machineID` holds `name`, without creating its cache. */
  heldBy(machineID: string, name: string): Held | undefined {
    return this.held.get(machineID)?.get(name)
  }

  /** The agent on `machineID` publishes a systemd-like state for `name` (and remembers it). */
  publish(name: string, machineID: string, hash: string, active: string, sub: string): void {
    const state: StateRecord = {
      name,
      hash,
      machineID,
      systemdLoadState: "loaded",
      systemdActiveState: active,
      systemdSubState: sub
    }
    this.remember(state.name, machineID, state)
    this.storage.putState(state)
  }

  /** Remembers `state` as what the agent on `machineID` published for `name`, without publishing it again. */
  remember(name: string, machineID: string, state: StateRecord): void {
    getOrCreate(this.published, machineID).set(name, state)
  }

  /** The agent on `machineID` set the launched heartbeat of `name`. */
  beat(name: string, machineID: string): void {
    this.heartbeats.set(name, machineID)
  }

  /** The heartbeat of `name` ends, if it is the one the agent on `machineID` set. */
  dropHeartbeat(name: string, machineID: string): void {
    if (this.heartbeats.get(name) === machineID) this.heartbeats.delete(name)
  }

  /** Whether the launched heartbeat of `name` names `machineID`. */
  beatsOn(name: string, machineID: string): boolean {
    return this.heartbeats.get(name) === machineID
  }

  /**
   * The agent on `machineID` unloads `name`. fleet's `RemoveUnitState` deletes the unit's states on every machine;
   * returns whether another agent still holds a state it published, to publish again on its next republish.
   */
  unload(cache: Map<string, Held>, name: string, machineID: string): boolean {
    this.dropHeartbeat(name, machineID)
    cache.delete(name)
    this.published.get(machineID)?.delete(name)
    let others = false
    for (const state of this.storage.statesOf(name)) {
      this.storage.deleteState(name, state.machineID)
      if (state.machineID !== undefined && this.published.get(state.machineID)?.has(name) === true) others = true
    }
    return others
  }

  /** Every agent but those `skip` names publishes again what it last published. */
  republish(skip: (machineID: string) => boolean): void {
    for (const [machineID, mine] of this.published) {
      if (skip(machineID)) continue
      for (const state of mine.values()) this.storage.putState(state)
    }
  }

  /** The agent on `machineID` is dead: what it published expires with it, and so do its heartbeats. */
  forget(machineID: string): void {
    for (const state of this.storage.listStates({ machineID })) this.storage.deleteState(state.name, machineID)
    for (const [name, beatingOn] of this.heartbeats) if (beatingOn === machineID) this.heartbeats.delete(name)
    this.held.delete(machineID)
    this.published.delete(machineID)
  }

  /** Forgets every hold, heartbeat and published state. */
  clear(): void {
    this.held.clear()
    this.heartbeats.clear()
    this.published.clear()
  }
}

const getOrCreate = <V>(map: Map<string, Map<string, V>>, key: string): Map<string, V> => {
  let inner = map.get(key)
  if (inner === undefined) {
    inner = new Map()
    map.set(key, inner)
  }
  return inner
}
