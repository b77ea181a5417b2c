/**
 * Test support for the engine: a scenario world that mirrors fleet-engine-oracle's (units checked and stored as the
 * API does, passes run until nothing changes after every step), run with our engine, and the oracle itself.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { Result } from "effect"
import * as fc from "fast-check"
import { quote } from "../src/internal/goString.ts"
import * as Engine from "../src/internal/server/engine.ts"
import { isTemplate, validateName, validateOptions } from "../src/internal/unitRules.ts"
import * as XFleet from "../src/internal/xfleet.ts"
import type { DesiredState } from "../src/Unit.ts"
import * as UnitFile from "../src/UnitFile.ts"

export interface MachineIn {
  readonly id: string
  readonly metadata?: Record<string, string>
}

export interface UnitIn {
  readonly name: string
  readonly desiredState?: string
  readonly options: ReadonlyArray<UnitFile.Option>
}

export type StepIn =
  | { readonly op: "removeMachine"; readonly id: string }
  | { readonly op: "addMachine"; readonly machine: MachineIn }
  | { readonly op: "setMetadata"; readonly id: string; readonly metadata: Record<string, string> }
  | { readonly op: "addUnits"; readonly units: ReadonlyArray<UnitIn> }
  | { readonly op: "replaceUnit"; readonly unit: UnitIn }
  | { readonly op: "setDesiredState"; readonly name: string; readonly desiredState: string }
  | { readonly op: "destroyUnit"; readonly name: string }

export interface Scenario {
  readonly name: string
  readonly machines: ReadonlyArray<MachineIn>
  readonly units: ReadonlyArray<UnitIn>
  readonly steps?: ReadonlyArray<StepIn>
}

/** One step's result, in the oracle's output format. */
export interface StepResult {
  readonly step: string
  readonly rejected?: Record<string, string>
  readonly placement: Record<string, string | null>
  readonly global?: Record<string, Array<string>>
  readonly agents: Record<string, Array<string>>
  readonly converged: boolean
  readonly cycle?: Array<string>
}

interface Stored {
  readonly name: string
  readonly options: ReadonlyArray<UnitFile.Option>
  readonly file: string
  desiredState: DesiredState
  target: string | undefined
}

const isState = (value: string): value is DesiredState =>
  value === "inactive" || value === "loaded" || value === "launched"

/** The oracle's world, with our engine: what fleet would do, step by step. */
export const runScenario = (scenario: Scenario): Array<StepResult> => {
  const machines = new Map<string, Engine.EngineMachine>()
  const units = new Map<string, Stored>()
  const putMachine = (machine: MachineIn) =>
    machines.set(machine.id, { id: machine.id, metadata: { ...(machine.metadata ?? {}) } })

  const setDesired = (name: string, desired: string | undefined): string | undefined => {
    if (desired === undefined || desired === "") return "must provide DesiredState to update existing unit"
    const unit = units.get(name)
    if (unit === undefined) return "unit does not exist"
    if (isTemplate(name) && desired !== "inactive") return `cannot activate template ${quote(name)}`
    if (!isState(desired)) return `invalid value ${quote(desired)} for JobState`
    unit.desiredState = desired
    return undefined
  }

  const store = (unit: UnitIn, target: string | undefined): string | undefined => {
    let desired: DesiredState = "inactive"
    if (unit.desiredState !== undefined && unit.desiredState !== "") {
      if (!isState(unit.desiredState)) return `invalid value ${quote(unit.desiredState)} for JobState`
      desired = unit.desiredState
    }
    const stored = UnitFile.roundTrip(unit.options)
    if (Result.isFailure(stored)) return stored.failure.message
    units.set(unit.name, {
      name: unit.name,
      options: stored.success,
      file: UnitFile.serialize(stored.success),
      desiredState: desired,
      target
    })
    return undefined
  }

  const replace = (unit: UnitIn): string | undefined => {
    const existing = units.get(unit.name)
    if (existing === undefined) return submit(unit)
    const stored = UnitFile.roundTrip(unit.options)
    if (Result.isFailure(stored)) return stored.failure.message
    if (unit.options.length > 0 && UnitFile.serialize(stored.success) !== existing.file) {
      return store(unit, existing.target)
    }
    return setDesired(unit.name, unit.desiredState)
  }

  const submit = (unit: UnitIn): string | undefined => {
    const badName = validateName(unit.name)
    if (badName !== undefined) return badName
    if (units.has(unit.name)) return replace(unit)
    if (unit.options.length === 0) return "unit does not exist and options field empty"
    const badOptions = validateOptions(unit.options)
    if (badOptions !== undefined) return badOptions
    return store(unit, undefined)
  }

  const engineUnits = (): Array<Engine.EngineUnit> =>
    Array.from(units.values(), (unit) => ({
      name: unit.name,
      requirements: XFleet.requirementsOf(unit.name, unit.options),
      desiredState: unit.desiredState,
      target: unit.target
    }))

  const settle = (step: string, rejected: Record<string, string>): StepResult => {
    const result = Engine.settle(Array.from(machines.values()), engineUnits())
    for (const [name, target] of result.targets) units.get(name)!.target = target
    const all = engineUnits().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    const placement: Record<string, string | null> = {}
    const global: Record<string, Array<string>> = {}
    for (const unit of all) {
      if (unit.requirements.global) global[unit.name] = []
      else placement[unit.name] = unit.target ?? null
    }
    const agents: Record<string, Array<string>> = {}
    for (const id of Array.from(machines.keys()).sort()) {
      agents[id] = Engine.agentUnits(machines.get(id)!, all).map((held) => {
        if (held.desiredState === "inactive") return `${held.name}(inactive)`
        if (global[held.name] !== undefined) global[held.name]!.push(id)
        return `${held.name}:${held.desiredState}`
      })
    }
    return {
      step,
      ...(Object.keys(rejected).length > 0 ? { rejected } : {}),
      placement,
      ...(Object.keys(global).length > 0 ? { global } : {}),
      agents,
      converged: result.converged,
      ...(result.cycle !== undefined ? { cycle: Array.from(result.cycle) } : {})
    }
  }

  for (const machine of scenario.machines) putMachine(machine)
  const rejected: Record<string, string> = {}
  for (const unit of scenario.units) {
    const error = submit(unit)
    if (error !== undefined) rejected[unit.name] = error
  }
  const results = [settle("initial", rejected)]
  for (const [index, step] of (scenario.steps ?? []).entries()) {
    const rejected: Record<string, string> = {}
    switch (step.op) {
      case "removeMachine":
        machines.delete(step.id)
        break
      case "addMachine":
        putMachine(step.machine)
        break
      case "setMetadata":
        putMachine({ id: step.id, metadata: step.metadata })
        break
      case "addUnits":
        for (const unit of step.units) {
          const error = submit(unit)
          if (error !== undefined) rejected[unit.name] = error
        }
        break
      case "replaceUnit": {
        const error = replace(step.unit)
        if (error !== undefined) rejected[step.unit.name] = error
        break
      }
      case "setDesiredState": {
        const error = setDesired(step.name, step.desiredState)
        if (error !== undefined) rejected[step.name] = error
        break
      }
      case "destroyUnit":
        units.delete(step.name)
        break
    }
    results.push(settle(`${index + 1}:${step.op}`, rejected))
  }
  return results
}

/** Where the oracle is, if it is here (`FLEET_REF` overrides `../shared/tools/fleet-ref`). */
export const oraclePath = (): string | undefined => {
  const root = process.env.FLEET_REF ?? path.resolve(import.meta.dirname, "../../shared/tools/fleet-ref")
  const bin = path.join(root, "bin", "fleet-engine-oracle")
  return fs.existsSync(bin) ? bin : undefined
}

interface Observed {
  readonly count: number
  readonly steps: Array<StepResult>
}

/** One scenario of a vectors file, with fleet's answer or answers. */
export interface Vector {
  readonly name: string
  readonly input?: Scenario
  readonly expected?: Array<StepResult>
  readonly observed?: Array<Observed>
}

/** Every distinct answer fleet's engine gave for each scenario over `runs` runs. */
export const oracleAnswers = (
  bin: string,
  scenarios: ReadonlyArray<Scenario>,
  runs: number
): Map<string, Array<Array<StepResult>>> => {
  const run = spawnSync(bin, ["-runs", String(runs), "-"], {
    input: JSON.stringify({ scenarios }),
    encoding: "utf8",
    maxBuffer: 1 << 30
  })
  if (run.status !== 0) throw new Error(`fleet-engine-oracle failed: ${run.stderr}`)
  return vectorAnswers(JSON.parse(run.stdout) as { vectors: Array<Vector> })
}

/**
 * The answers recorded in a vectors file (what `fleet-engine-oracle -runs N` prints, as in fleet-engine.md's
 * `hidden/scheduling-vectors.json`), by scenario name.
 */
export const vectorAnswers = (file: {
  readonly vectors: ReadonlyArray<Vector>
}): Map<string, Array<Array<StepResult>>> => {
  const answers = new Map<string, Array<Array<StepResult>>>()
  for (const vector of file.vectors) {
    answers.set(
      vector.name,
      vector.expected !== undefined ? [vector.expected] : (vector.observed ?? []).map((o) => o.steps)
    )
  }
  return answers
}

/** Where a recorded vectors file is, if any (`ENGINE_VECTORS`, else `../shared/reference/hidden/`). */
export const vectorsPath = (): string | undefined => {
  const file =
    process.env.ENGINE_VECTORS ??
    path.resolve(import.meta.dirname, "../../shared/reference/hidden/scheduling-vectors.json")
  return fs.existsSync(file) ? file : undefined
}

const canonical = (step: StepResult) =>
  JSON.stringify({
    rejected: sortKeys(step.rejected ?? {}),
    placement: sortKeys(step.placement),
    global: sortKeys(step.global ?? {}),
    agents: sortKeys(step.agents),
    converged: step.converged,
    cycle: step.cycle ?? []
  })

const sortKeys = <A>(record: Record<string, A>): Record<string, A> =>
  Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))

/**
 * Whether our answer is one of fleet's, step by step. A step that does not converge (a Replaces livelock: fleet's
 * engine writes on every pass) has no settled placement, and what follows depends on the passes' order; there it is
 * enough that fleet also livelocks, and the comparison stops.
 */
export const isOneOf = (ours: ReadonlyArray<StepResult>, answers: ReadonlyArray<ReadonlyArray<StepResult>>) =>
  matchingPrefix(ours, answers).index === ours.length

const matchingPrefix = (ours: ReadonlyArray<StepResult>, answers: ReadonlyArray<ReadonlyArray<StepResult>>) => {
  let index = 0
  let candidates = answers
  while (index < ours.length) {
    const step = ours[index]!
    if (!step.converged) {
      const livelocked = candidates.some((answer) => !answer[index]!.converged)
      return { index: livelocked ? ours.length : index, candidates }
    }
    const mine = canonical(step)
    const next = candidates.filter((answer) => canonical(answer[index]!) === mine)
    if (next.length === 0) break
    candidates = next
    index++
  }
  return { index, candidates }
}

/** A short account of where our answer leaves fleet's: the step, ours, and fleet's answers there. */
export const explain = (
  scenario: Scenario,
  ours: ReadonlyArray<StepResult>,
  answers: ReadonlyArray<ReadonlyArray<StepResult>>
): string => {
  const { candidates, index } = matchingPrefix(ours, answers)
  const theirs = Array.from(new Set(candidates.map((answer) => canonical(answer[index]!))))
  return [
    `scenario: ${JSON.stringify(scenario)}`,
    `step ${index} ours:  ${canonical(ours[index]!)}`,
    ...theirs.map((answer) => `step ${index} fleet: ${answer}`)
  ].join("\n")
}

// ---- generated scenarios ----------------------------------------------------------------------------------------

const xfleet = (name: string, value: string): UnitFile.Option => ({ section: "X-Fleet", name, value })
const service: UnitFile.Option = { section: "Service", name: "ExecStart", value: "/usr/bin/sleep 1d" }

const machineIds = ["m1", "m2", "m3", "M9", "m10", "9a0e4b1c5d6e7f80"] as const
const names = [
  "a.service",
  "b.service",
  "db.service",
  "web@1.service",
  "web@2.service",
  "web@.service",
  "side@1.service",
  "g.service"
] as const

const metadataArb = fc.dictionary(fc.constantFrom("role", "region", "disk"), fc.constantFrom("web", "db", "eu", "us"), {
  maxKeys: 2
})

const optionArb: fc.Arbitrary<UnitFile.Option> = fc.oneof(
  fc.constantFrom(...machineIds, "9a0e4b1c", "9a0e4b", "m").map((v) => xfleet("MachineID", v)),
  fc
    .constantFrom(
      "role=web",
      "role=db",
      "region=eu",
      '"role=web" "region=eu"',
      "role=web region=eu",
      "role=",
      "role!=web",
      "disk=ssd"
    )
    .map((v) => xfleet("MachineMetadata", v)),
  fc.constantFrom(...names, "web@%i.service", "nope.service").map((v) => xfleet("MachineOf", v)),
  fc
    .constantFrom("web@*.service", "%p@*.service", "a.service b.service", "db*", "[ab].service", "[", "g.service", "*")
    .map((v) => xfleet("Conflicts", v)),
  fc.constantFrom("true", "yes", "y", "false", "1").map((v) => xfleet("Global", v)),
  fc.constantFrom("a.service", "db.service", "web@*.service", "b*").map((v) => xfleet("Replaces", v))
)

const unitArb = (name: string): fc.Arbitrary<UnitIn> =>
  fc.record({
    name: fc.constant(name),
    desiredState: fc.constantFrom("launched", "launched", "launched", "loaded", "inactive", ""),
    options: fc.array(optionArb, { maxLength: 3 }).map((options) => [service, ...options])
  })

const unitsArb = fc
  .uniqueArray(fc.constantFrom(...names), { minLength: 1, maxLength: 5 })
  .chain((picked) => fc.tuple(...picked.map(unitArb)))

const stepArb: fc.Arbitrary<StepIn> = fc.oneof(
  fc.constantFrom(...machineIds).map((id): StepIn => ({ op: "removeMachine", id })),
  fc
    .record({ id: fc.constantFrom(...machineIds), metadata: metadataArb })
    .map((machine): StepIn => ({ op: "addMachine", machine })),
  unitsArb.map((units): StepIn => ({ op: "addUnits", units })),
  fc.constantFrom(...names).chain((name) => unitArb(name).map((unit): StepIn => ({ op: "replaceUnit", unit }))),
  fc
    .record({ name: fc.constantFrom(...names), desiredState: fc.constantFrom("launched", "loaded", "inactive") })
    .map((s): StepIn => ({ op: "setDesiredState", ...s })),
  fc.constantFrom(...names).map((name): StepIn => ({ op: "destroyUnit", name })),
  fc
    .record({ id: fc.constantFrom(...machineIds), metadata: metadataArb })
    .map((s): StepIn => ({ op: "setMetadata", ...s }))
)

/** Machines with metadata, units with every option alone and combined, and steps that change both. */
export const scenarioArb = fc
  .record({
    machines: fc.uniqueArray(fc.record({ id: fc.constantFrom(...machineIds), metadata: metadataArb }), {
      selector: (m) => m.id,
      minLength: 1,
      maxLength: 4
    }),
    units: unitsArb,
    steps: fc.array(stepArb, { maxLength: 4 })
  })
  // setMetadata needs a machine the scenario has at that point
  .map(({ machines, steps, units }) => {
    const live = new Set<string>(machines.map((m) => m.id))
    const kept = steps.filter((step) => {
      if (step.op === "removeMachine") live.delete(step.id)
      if (step.op === "addMachine") live.add(step.machine.id)
      return step.op !== "setMetadata" || live.has(step.id)
    })
    return { machines, units, steps: kept }
  })
