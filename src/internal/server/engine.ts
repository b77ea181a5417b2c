/**
 * fleet v1.0's engine and agents as pure functions over a cluster state, each unit's `[X-Fleet]` requirements read by
 * `../xfleet.ts`: one engine pass (`Reconciler.calculateClusterTasks` with the `leastLoadedScheduler`), the registry
 * writes it makes (create-only schedule, compare-and-delete unschedule), passes repeated until nothing changes, and
 * what each agent would hold (`desiredAgentState`).
 *
 * Where fleet iterates a Go map (so its choice is random), this module takes units in name order: for the small maps
 * these choices come from, Go iterates a rotation of insertion order and inserts in name order, so name order is
 * always one of the answers fleet can give. The facts behind every rule are in `reference/fleet-engine.md`.
 *
 * @since 0.2.0
 * @internal
 */
import type { DesiredState } from "../../Unit.ts"
import { compareBytes } from "../goString.ts"
import { globMatch, type Requirements } from "../xfleet.ts"

// ---- machines ------------------------------------------------------------------------------------------------

/**
 * A live machine as the engine sees it: its ID and its metadata (configured, with the API's dynamic metadata merged
 * over it).
 *
 * @since 0.2.0
 * @internal
 */
export interface EngineMachine {
  readonly id: string
  readonly metadata: Readonly<Record<string, string>>
}

/**
 * fleet's `MachineState.MatchID`: the full ID, or the 8-character short ID.
 *
 * @since 0.2.0
 * @internal
 */
export const matchesMachineID = (machineID: string, wanted: string): boolean =>
  machineID === wanted || (machineID.length <= 8 ? machineID : machineID.slice(0, 8)) === wanted

/**
 * fleet's `machine.HasMetadata`: every key present with one of its allowed values.
 *
 * @since 0.2.0
 * @internal
 */
export const hasMetadata = (
  metadata: Readonly<Record<string, string>>,
  wanted: ReadonlyMap<string, ReadonlySet<string>>
): boolean => {
  for (const [key, allowed] of wanted) {
    if (!Object.hasOwn(metadata, key)) return false
    if (!allowed.has(metadata[key]!)) return false
  }
  return true
}

// ---- units and the cluster ---------------------------------------------------------------------------------------

/**
 * A unit as the engine reads it from the registry: its requirements, desired state and target (`undefined` while
 * unscheduled; global units have none).
 *
 * @since 0.2.0
 * @internal
 */
export interface EngineUnit {
  readonly name: string
  readonly requirements: Requirements
  readonly desiredState: DesiredState
  readonly target: string | undefined
}

/**
 * A registry write of an engine pass.
 *
 * @since 0.2.0
 * @internal
 */
export interface Task {
  readonly op: "schedule" | "unschedule"
  readonly name: string
  readonly machineID: string
  readonly reason: string
}

interface Named {
  readonly name: string
  readonly requirements: Requirements
}

interface Job extends Named {
  readonly desiredState: DesiredState
  target: string | undefined
}

const conflictBetween = (existing: Named, name: string, patterns: ReadonlyArray<string>): boolean =>
  existing.name !== name &&
  (existing.requirements.conflicts.some((pattern) => globMatch(pattern, name)) ||
    patterns.some((pattern) => globMatch(pattern, existing.name)))

// AgentState.hasReplace: the first unit whose Replaces relation with the candidate goes exactly one way.
const replaceBetween = (existing: Named, name: string, patterns: ReadonlyArray<string>): boolean => {
  if (existing.name === name) return false
  const forward = patterns.some((pattern) => globMatch(pattern, existing.name))
  const backward = existing.requirements.replaces.some((pattern) => globMatch(pattern, name))
  return forward !== backward
}

type Verdict = "schedule" | "unschedule" | "reschedule"

const byName = <A extends { readonly name: string }>(a: A, b: A): number => compareBytes(a.name, b.name)

// Callers usually pass units already in name order (the local fleet keeps them so): check before sorting.
const inNameOrder = <A extends { readonly name: string }>(items: ReadonlyArray<A>): Array<A> => {
  for (let i = 1; i < items.length; i++) if (byName(items[i - 1]!, items[i]!) > 0) return items.slice().sort(byName)
  return items.slice()
}

/**
 * fleet's `clusterState` for one pass: jobs (non-global units) with their in-memory targets, global units, live
 * machines, and the units that count as on each machine (rebuilt by fleet on every question, cached here until a
 * target changes).
 */
class Cluster {
  readonly jobs: ReadonlyArray<Job>
  readonly jobsByName = new Map<string, Job>()
  readonly globals: ReadonlyArray<Named>
  readonly machines: ReadonlyMap<string, EngineMachine>
  private readonly on = new Map<string, Map<string, Job>>()
  private readonly globalsOn = new Map<string, ReadonlyArray<Named>>()
  // Most fleets have no Conflicts or Replaces anywhere; then no unit needs to look at its neighbours.
  private readonly anyConflicts: boolean
  readonly anyReplaces: boolean

  constructor(machines: ReadonlyArray<EngineMachine>, units: ReadonlyArray<EngineUnit>) {
    this.machines = new Map(machines.map((machine) => [machine.id, machine]))
    const jobs: Array<Job> = []
    const globals: Array<Named> = []
    for (const unit of units) {
      if (unit.requirements.global) globals.push(unit)
      else jobs.push({ ...unit })
    }
    this.jobs = inNameOrder(jobs)
    this.globals = inNameOrder(globals)
    for (const machine of this.machines.keys()) this.on.set(machine, new Map())
    for (const job of this.jobs) {
      this.jobsByName.set(job.name, job)
      this.place(job)
    }
    this.anyConflicts = units.some((unit) => unit.requirements.conflicts.length > 0)
    this.anyReplaces = units.some((unit) => unit.requirements.replaces.length > 0)
  }

  private place(job: Job): void {
    if (job.target === undefined || job.desiredState === "inactive") return
    const on = this.on.get(job.target)
    if (on === undefined) return
    on.set(job.name, job)
    this.globalsOn.delete(job.target)
  }

  private remove(job: Job): void {
    if (job.target === undefined) return
    if (this.on.get(job.target)?.delete(job.name) === true) this.globalsOn.delete(job.target)
  }

  /** `clusterState.schedule` and `unschedule`. */
  setTarget(name: string, target: string | undefined): void {
    const job = this.jobsByName.get(name)
    if (job === undefined) return
    this.remove(job)
    job.target = target
    this.place(job)
  }

  private conflictAmong(units: Iterable<Named>, name: string, patterns: ReadonlyArray<string>): boolean {
    if (!this.anyConflicts) return false
    for (const unit of units) if (conflictBetween(unit, name, patterns)) return true
    return false
  }

  /** Global units counted on a machine: its metadata, and no conflict with the units already counted there. */
  globalsOf(machineID: string): ReadonlyArray<Named> {
    const cached = this.globalsOn.get(machineID)
    if (cached !== undefined) return cached
    const machine = this.machines.get(machineID)!
    const jobs = this.on.get(machineID)!
    const taken: Array<Named> = []
    for (const global of this.globals) {
      if (!hasMetadata(machine.metadata, global.requirements.metadata)) continue
      const patterns = global.requirements.conflicts
      if (this.conflictAmong(jobs.values(), global.name, patterns)) continue
      if (this.conflictAmong(taken, global.name, patterns)) continue
      taken.push(global)
    }
    this.globalsOn.set(machineID, taken)
    return taken
  }

  load(machineID: string): number {
    return this.on.get(machineID)!.size + this.globalsOf(machineID).length
  }

  private isOn(machineID: string, name: string): boolean {
    return this.on.get(machineID)!.has(name) || this.globalsOf(machineID).some((global) => global.name === name)
  }

  /** `AgentState.AbleToRun`: the first failing check decides. */
  ableToRun(machineID: string, unit: Named): Verdict {
    const machine = this.machines.get(machineID)!
    const requirements = unit.requirements
    if (requirements.machineID !== undefined && !matchesMachineID(machine.id, requirements.machineID)) {
      return "unschedule"
    }
    if (requirements.metadata.size > 0 && !hasMetadata(machine.metadata, requirements.metadata)) return "unschedule"
    for (const peer of requirements.peers) if (!this.isOn(machineID, peer)) return "unschedule"
    const patterns = requirements.conflicts
    if (this.conflictAmong(this.on.get(machineID)!.values(), unit.name, patterns)) return "unschedule"
    if (this.conflictAmong(this.globalsOf(machineID), unit.name, patterns)) return "unschedule"
    if (this.replacedOn(machineID, unit) !== undefined) return "reschedule"
    return "schedule"
  }

  /** `AgentState.GetReplacedUnit`, visiting the machine's jobs in name order, then its global units. */
  replacedOn(machineID: string, unit: Named): string | undefined {
    if (!this.anyReplaces) return undefined
    const jobs = Array.from(this.on.get(machineID)!.values()).sort(byName)
    for (const other of [...jobs, ...this.globalsOf(machineID)]) {
      if (replaceBetween(other, unit.name, unit.requirements.replaces)) return other.name
    }
    return undefined
  }

  /** `sortedAgents`: by load, then by ID byte-wise. */
  sortedMachines(): ReadonlyArray<string> {
    return Array.from(this.machines.keys())
      .map((id) => ({ id, load: this.load(id) }))
      .sort((a, b) => a.load - b.load || compareBytes(a.id, b.id))
      .map((entry) => entry.id)
  }
}

/**
 * One engine pass (`calculateClusterTasks`): the registry writes it makes, in order. Loop 1 visits scheduled jobs and
 * unschedules those that may not stay (or moves a unit they replace); loop 2 places every unscheduled job that is not
 * `inactive` on the least-loaded machine that can run it. Jobs are visited in name order.
 *
 * @since 0.2.0
 * @internal
 */
export const reconcile = (
  machines: ReadonlyArray<EngineMachine>,
  units: ReadonlyArray<EngineUnit>
): ReadonlyArray<Task> => {
  const cluster = new Cluster(machines, units)
  const tasks: Array<Task> = []

  const decide = (job: Job): { verdict: Verdict; reason: string } => {
    if (job.desiredState === "inactive") return { verdict: "unschedule", reason: "target state inactive" }
    if (!cluster.machines.has(job.target!)) {
      return { verdict: "unschedule", reason: `target Machine(${job.target}) went away` }
    }
    const verdict = cluster.ableToRun(job.target!, job)
    return { verdict, reason: verdict === "schedule" ? "" : `target Machine(${job.target}) unable to run unit` }
  }

  // handle_reschedule: move the unit this one replaces (or that replaces it) off the shared machine.
  const reschedule = (job: Job, reason: string): boolean => {
    const machineID = job.target!
    const replaced = cluster.replacedOn(machineID, job)
    if (replaced === undefined) return false
    tasks.push({ op: "unschedule", name: replaced, machineID, reason })
    // DecideReschedule: the first machine in load order other than this one, whatever the unit requires there.
    const destination = cluster.sortedMachines().find((id) => id !== machineID)
    if (destination === undefined) return false
    tasks.push({ op: "schedule", name: replaced, machineID: destination, reason })
    cluster.setTarget(replaced, destination)
    return true
  }

  for (const job of cluster.jobs) {
    if (job.target === undefined) continue
    const { reason, verdict } = decide(job)
    if (verdict === "reschedule" && reschedule(job, reason)) continue
    if (verdict !== "unschedule") continue
    tasks.push({ op: "unschedule", name: job.name, machineID: job.target, reason })
    cluster.setTarget(job.name, undefined)
  }

  for (const job of cluster.jobs) {
    if (job.target !== undefined || job.desiredState === "inactive") continue
    const machineID = cluster.sortedMachines().find((id) => cluster.ableToRun(id, job) !== "unschedule")
    if (machineID === undefined) continue
    tasks.push({ op: "schedule", name: job.name, machineID, reason: `target state ${job.desiredState}` })
    cluster.setTarget(job.name, machineID)
  }
  return tasks
}

/**
 * Applies a pass's writes to the registry's targets as etcd does: a schedule is a create-only write (refused when a
 * target is set, or when the unit is gone), an unschedule a compare-and-delete on the expected machine (a missing
 * target is not an error). Returns how many writes took effect.
 *
 * @since 0.2.0
 * @internal
 */
export const applyTasks = (targets: Map<string, string | undefined>, tasks: ReadonlyArray<Task>): number => {
  let writes = 0
  for (const task of tasks) {
    if (!targets.has(task.name)) continue
    const current = targets.get(task.name)
    if (task.op === "schedule") {
      if (current !== undefined) continue
      targets.set(task.name, task.machineID)
      writes++
    } else {
      if (current === undefined || current !== task.machineID) continue
      targets.set(task.name, undefined)
      writes++
    }
  }
  return writes
}

/**
 * How a run of passes ended: `converged` when a pass wrote nothing; otherwise `cycle` holds the placements that kept
 * repeating (fleet's engine writes on every pass there, as with a unit replacing another on a single machine).
 *
 * @since 0.2.0
 * @internal
 */
export interface Settled {
  readonly targets: ReadonlyMap<string, string | undefined>
  readonly converged: boolean
  readonly passes: number
  readonly cycle: ReadonlyArray<string> | undefined
}

// `units` in name order.
const placementKey = (units: ReadonlyArray<EngineUnit>, targets: ReadonlyMap<string, string | undefined>): string =>
  units
    .filter((unit) => !unit.requirements.global)
    .map((unit) => `${unit.name}=${targets.get(unit.name) ?? "-"}`)
    .join(" ")

/**
 * Runs engine passes until one writes nothing, the placement repeats (a cycle) or `maxPasses` is reached.
 *
 * @since 0.2.0
 * @internal
 */
export const settle = (
  machines: ReadonlyArray<EngineMachine>,
  units: ReadonlyArray<EngineUnit>,
  maxPasses = 20
): Settled => {
  const targets = new Map(units.map((unit) => [unit.name, unit.target]))
  const sorted = inNameOrder(units)
  const seen = new Map<string, number>()
  const history: Array<string> = []
  let current = units
  for (let pass = 1; pass <= maxPasses; pass++) {
    const writes = applyTasks(targets, reconcile(machines, current))
    current = current.map((unit) => ({ ...unit, target: targets.get(unit.name) }))
    if (writes === 0) return { targets, converged: true, passes: pass, cycle: undefined }
    const key = placementKey(sorted, targets)
    const first = seen.get(key)
    if (first !== undefined) {
      const loop = history.slice(first)
      let best = 0
      for (let i = 1; i < loop.length; i++) if (compareBytes(loop[i]!, loop[best]!) < 0) best = i
      return { targets, converged: false, passes: pass, cycle: [...loop.slice(best), ...loop.slice(0, best)] }
    }
    seen.set(key, history.length)
    history.push(key)
  }
  return { targets, converged: false, passes: maxPasses, cycle: [`no repeat within maxPasses`] }
}

/**
 * What the agent on `machine` holds (`desiredAgentState`): in name order, every global unit whose metadata the
 * machine has and every unit scheduled to it, each skipped when it conflicts (either way) with one already taken,
 * whatever the desired states. The agent unloads those whose desired state is `inactive`.
 *
 * @since 0.2.0
 * @internal
 */
export const agentUnits = (
  machine: EngineMachine,
  units: ReadonlyArray<EngineUnit>
): ReadonlyArray<{ readonly name: string; readonly desiredState: DesiredState }> => {
  const taken: Array<EngineUnit> = []
  // Only units with Conflicts patterns can refuse a newcomer that has none: keep them apart, so a fleet without
  // Conflicts costs one look per unit.
  const guards: Array<EngineUnit> = []
  for (const unit of inNameOrder(units)) {
    if (unit.requirements.global) {
      if (!hasMetadata(machine.metadata, unit.requirements.metadata)) continue
    } else if (unit.target !== machine.id) continue
    const patterns = unit.requirements.conflicts
    const against = patterns.length > 0 ? taken : guards
    if (against.some((other) => conflictBetween(other, unit.name, patterns))) continue
    taken.push(unit)
    if (patterns.length > 0) guards.push(unit)
  }
  return taken.map((unit) => ({ name: unit.name, desiredState: unit.desiredState }))
}
