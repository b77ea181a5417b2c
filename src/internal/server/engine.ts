/**
 * fleet v1.0's engine and agents as pure functions over a cluster state: the `[X-Fleet]` requirements as fleet reads
 * them, one engine pass (`Reconciler.calculateClusterTasks` with the `leastLoadedScheduler`), the registry writes it
 * makes (create-only schedule, compare-and-delete unschedule), passes repeated until nothing changes, and what each
 * agent would hold (`desiredAgentState`).
 *
 * Where fleet iterates a Go map (so its choice is random), this module takes units in name order: for the small maps
 * these choices come from, Go iterates a rotation of insertion order and inserts in name order, so name order is
 * always one of the answers fleet can give. The facts behind every rule are in `reference/fleet-engine.md`.
 *
 * @since 0.2.0
 * @internal
 */
import type * as UnitFile from "../../UnitFile.ts"
import type { DesiredState } from "../../Unit.ts"
import { compareBytes, quote } from "../goJson.ts"

// ---- requirements ----------------------------------------------------------------------------------------------

/**
 * A unit's scheduling requirements as fleet's `job.Job` reads them from its `[X-Fleet]` section (specifiers expanded,
 * quoted values split).
 *
 * @since 0.2.0
 * @internal
 */
export interface Requirements {
  /** `MachineID`, else `X-ConditionMachineID`, else `X-ConditionMachineBootID`: the first value. */
  readonly machineID: string | undefined
  /** Allowed values per key; empty when no well-formed `key=value` was given. */
  readonly metadata: ReadonlyMap<string, ReadonlySet<string>>
  /** `X-ConditionMachineOf` then `MachineOf`: exact unit names. */
  readonly peers: ReadonlyArray<string>
  /** `X-Conflicts` then `Conflicts`, split on whitespace: globs. */
  readonly conflicts: ReadonlyArray<string>
  /** `Replaces`: globs, not split. */
  readonly replaces: ReadonlyArray<string>
  /** The last `Global` value is truthy. */
  readonly global: boolean
}

/**
 * fleet's `parseMultivalueLine`: a value that starts and ends with `"` is split at spaces outside quotes and loses
 * every `"`; any other value is kept whole.
 *
 * @since 0.2.0
 * @internal
 */
export const parseMultivalue = (line: string): ReadonlyArray<string> => {
  if (!line.startsWith('"') || !line.endsWith('"')) return [line]
  const values: Array<string> = []
  let current = ""
  let quoted = false
  for (const char of line) {
    if (char === '"') {
      quoted = !quoted
      continue
    }
    if (char === " " && !quoted) {
      values.push(current)
      current = ""
      continue
    }
    current += char
  }
  values.push(current)
  return values
}

/**
 * fleet's `unitPrintf`: `%n`, `%N`, `%p` and `%i` from the unit's name, replaced in that order; other specifiers stay.
 * fleet only expands them for a name containing `.`.
 *
 * @since 0.2.0
 * @internal
 */
export const expandSpecifiers = (value: string, name: string): string => {
  const dot = name.lastIndexOf(".")
  if (dot === -1) return value
  const base = name.slice(0, dot)
  const at = base.indexOf("@")
  const prefix = at === -1 ? base : base.slice(0, at)
  const instance = at === -1 ? "" : base.slice(at + 1)
  return value.replaceAll("%n", name).replaceAll("%N", base).replaceAll("%p", prefix).replaceAll("%i", instance)
}

/**
 * The `[X-Fleet]` section as fleet's `Job.requirements()` sees it: option name to values, quoted values split and
 * specifiers expanded, lines of one option accumulated in order.
 *
 * @since 0.2.0
 * @internal
 */
export const xFleet = (name: string, options: ReadonlyArray<UnitFile.Option>): ReadonlyMap<string, Array<string>> => {
  const map = new Map<string, Array<string>>()
  for (const option of options) {
    if (option.section !== "X-Fleet") continue
    const values = parseMultivalue(option.value).map((value) => expandSpecifiers(value, name))
    const existing = map.get(option.name)
    if (existing === undefined) map.set(option.name, values)
    else existing.push(...values)
  }
  return map
}

// Go's strings.Fields splits on unicode.IsSpace: JavaScript's \s without U+FEFF, plus U+0085.
const goSpace = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/u

const fields = (value: string): ReadonlyArray<string> => value.split(goSpace).filter((part) => part !== "")

const truthy = new Set(["true", "yes", "1", "on", "t"])

/**
 * A unit's requirements, read as fleet reads them.
 *
 * @since 0.2.0
 * @internal
 */
export const requirementsOf = (name: string, options: ReadonlyArray<UnitFile.Option>): Requirements => {
  const map = xFleet(name, options)
  const get = (key: string): ReadonlyArray<string> => map.get(key) ?? []
  let machineID: string | undefined
  for (const key of ["MachineID", "X-ConditionMachineID", "X-ConditionMachineBootID"]) {
    const found = get(key)
    if (found.length > 0) {
      machineID = found[0]
      break
    }
  }
  const metadata = new Map<string, Set<string>>()
  for (const pair of [...get("X-ConditionMachineMetadata"), ...get("MachineMetadata")]) {
    const parts = pair.split("=")
    if (parts.length !== 2 || parts[0] === "" || parts[1] === "") continue
    const allowed = metadata.get(parts[0]!)
    if (allowed === undefined) metadata.set(parts[0]!, new Set([parts[1]!]))
    else allowed.add(parts[1]!)
  }
  const global = get("Global")
  return {
    machineID,
    metadata,
    peers: [...get("X-ConditionMachineOf"), ...get("MachineOf")],
    conflicts: [...get("X-Conflicts"), ...get("Conflicts")].flatMap(fields),
    replaces: get("Replaces"),
    global: global.length > 0 && truthy.has(global[global.length - 1]!.toLowerCase())
  }
}

// ---- Go's path.Match --------------------------------------------------------------------------------------------

const badPattern = Symbol("badPattern")

const scanChunk = (pattern: string): { star: boolean; chunk: string; rest: string } => {
  let star = false
  while (pattern.startsWith("*")) {
    pattern = pattern.slice(1)
    star = true
  }
  let inRange = false
  let i = 0
  scan: for (; i < pattern.length; i++) {
    switch (pattern[i]) {
      case "\\":
        if (i + 1 < pattern.length) i++
        break
      case "[":
        inRange = true
        break
      case "]":
        inRange = false
        break
      case "*":
        if (!inRange) break scan
        break
    }
  }
  return { star, chunk: pattern.slice(0, i), rest: pattern.slice(i) }
}

const getEsc = (chunk: string): { rune: number; rest: string } | typeof badPattern => {
  if (chunk.length === 0 || chunk[0] === "-" || chunk[0] === "]") return badPattern
  if (chunk[0] === "\\") {
    chunk = chunk.slice(1)
    if (chunk.length === 0) return badPattern
  }
  const rune = chunk.codePointAt(0)!
  const rest = chunk.slice(rune > 0xffff ? 2 : 1)
  if (rest.length === 0) return badPattern
  return { rune, rest }
}

const firstRune = (s: string): { rune: number; rest: string } => {
  const rune = s.codePointAt(0)!
  return { rune, rest: s.slice(rune > 0xffff ? 2 : 1) }
}

// Go 1.19's matchChunk: the whole chunk is always parsed, so a malformed pattern is an error even after a mismatch.
const matchChunk = (chunk: string, s: string): { rest: string; ok: boolean } | typeof badPattern => {
  let failed = false
  while (chunk.length > 0) {
    if (!failed && s.length === 0) failed = true
    const head = chunk[0]
    if (head === "[") {
      let rune = -1
      if (!failed) {
        const next = firstRune(s)
        rune = next.rune
        s = next.rest
      }
      chunk = chunk.slice(1)
      let negated = false
      if (chunk.startsWith("^")) {
        negated = true
        chunk = chunk.slice(1)
      }
      let match = false
      let ranges = 0
      for (;;) {
        if (chunk.startsWith("]") && ranges > 0) {
          chunk = chunk.slice(1)
          break
        }
        const lo = getEsc(chunk)
        if (lo === badPattern) return badPattern
        chunk = lo.rest
        let hi = lo.rune
        if (chunk[0] === "-") {
          const high = getEsc(chunk.slice(1))
          if (high === badPattern) return badPattern
          chunk = high.rest
          hi = high.rune
        }
        if (lo.rune <= rune && rune <= hi) match = true
        ranges++
      }
      if (match === negated) failed = true
    } else if (head === "?") {
      if (!failed) {
        if (s[0] === "/") failed = true
        s = firstRune(s).rest
      }
      chunk = chunk.slice(1)
    } else if (head === "\\") {
      chunk = chunk.slice(1)
      if (chunk.length === 0) return badPattern
      if (!failed) {
        if (chunk[0] !== s[0]) failed = true
        s = s.slice(1)
      }
      chunk = chunk.slice(1)
    } else {
      if (!failed) {
        if (head !== s[0]) failed = true
        s = s.slice(1)
      }
      chunk = chunk.slice(1)
    }
  }
  return failed ? { rest: "", ok: false } : { rest: s, ok: true }
}

/**
 * Go's `path.Match` (Go 1.19, which fleet's oracle was built with), with a malformed pattern matching nothing, as
 * fleet's `globMatches` ignores the error.
 *
 * @since 0.2.0
 * @internal
 */
export const globMatch = (pattern: string, name: string): boolean => {
  outer: while (pattern.length > 0) {
    const { star, chunk, rest } = scanChunk(pattern)
    pattern = rest
    if (star && chunk === "") return !name.includes("/")
    const here = matchChunk(chunk, name)
    if (here !== badPattern && here.ok && (here.rest.length === 0 || pattern.length > 0)) {
      name = here.rest
      continue
    }
    if (here === badPattern) return false
    if (star) {
      for (let i = 0; i < name.length && name[i] !== "/"; i++) {
        const skipped = matchChunk(chunk, name.slice(i + 1))
        if (skipped === badPattern) return false
        if (skipped.ok) {
          if (pattern.length === 0 && skipped.rest.length > 0) continue
          name = skipped.rest
          continue outer
        }
      }
    }
    while (pattern.length > 0) {
      const next = scanChunk(pattern)
      pattern = next.rest
      if (matchChunk(next.chunk, "") === badPattern) return false
    }
    return false
  }
  return name.length === 0
}

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
    this.jobs = jobs.sort(byName)
    this.globals = globals.sort(byName)
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
  const sorted = units.slice().sort(byName)
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
  for (const unit of units.slice().sort(byName)) {
    if (unit.requirements.global) {
      if (!hasMetadata(machine.metadata, unit.requirements.metadata)) continue
    } else if (unit.target !== machine.id) continue
    if (taken.some((other) => conflictBetween(other, unit.name, unit.requirements.conflicts))) continue
    taken.push(unit)
  }
  return taken.map((unit) => ({ name: unit.name, desiredState: unit.desiredState }))
}

/**
 * The `[X-Fleet]` part of fleet's `api.ValidateOptions` for a new unit: requirements read without a name (so
 * specifiers stay literal), then a MachineOf peer matched by one of the unit's own Conflicts or Replaces globs, then
 * the combinations fleet refuses, with fleet's messages.
 *
 * @since 0.2.0
 * @internal
 */
export const checkRequirements = (options: ReadonlyArray<UnitFile.Option>): string | undefined => {
  const requirements = requirementsOf("", options)
  const conflicts = Array.from(new Set(requirements.conflicts))
  const replaces = Array.from(new Set(requirements.replaces))
  const peers = Array.from(new Set(requirements.peers))
  for (const peer of peers) {
    for (const conflict of conflicts) {
      if (globMatch(conflict, peer)) {
        return `unresolvable requirements: peer ${quote(peer)} matches conflict ${quote(conflict)}`
      }
    }
    for (const replace of replaces) {
      if (globMatch(replace, peer)) {
        return `unresolvable requirements: peer ${quote(peer)} matches replace ${quote(replace)}`
      }
    }
  }
  const hasTarget = requirements.machineID !== undefined
  const hasPeers = peers.length > 0
  const hasConflicts = conflicts.length > 0
  const hasReplaces = replaces.length > 0
  if (hasTarget && hasPeers) return "MachineID cannot be used with Peers"
  if (hasTarget && hasConflicts) return "MachineID cannot be used with Conflicts"
  if (hasTarget && requirements.global) return "MachineID cannot be used with Global"
  if (hasTarget && hasReplaces) return "MachineID cannot be used with Replaces"
  if (requirements.global && hasPeers) return "Global cannot be used with Peers"
  if (requirements.global && hasReplaces) return "Global cannot be used with Replaces"
  if (hasConflicts && hasReplaces) return "Conflicts cannot be used with Replaces"
  return undefined
}
