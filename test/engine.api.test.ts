import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as HttpClient from "effect/http/HttpClient"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as fc from "fast-check"
import type * as FleetControl from "../src/FleetControl.ts"
import * as FleetTest from "../src/FleetTest.ts"
import { Machine } from "../src/Machine.ts"
import {
  oracleAnswers,
  oraclePath,
  type Scenario,
  type StepIn,
  type StepResult,
  scenarioArb,
  type UnitIn
} from "./engineOracle.ts"

const base = "http://fleet.test/fleet/v1"

interface Observed {
  readonly rejected: ReadonlyArray<string>
  readonly placement: Record<string, string | null>
  /** Per machine, the units with a state there (what its agent holds and does not unload). */
  readonly running: Record<string, ReadonlyArray<string>>
}

/** Plays a scenario through the local fleet's HTTP API and control service, as a fleet user would. */
const play = (client: HttpClient.HttpClient, control: FleetControl.FleetControlService, scenario: Scenario) =>
  Effect.gen(function* () {
    const send = (method: "PUT" | "DELETE" | "GET", path: string, body?: unknown) =>
      Effect.gen(function* () {
        let request = HttpClientRequest.make(method)(`${base}${path}`)
        if (body !== undefined) request = HttpClientRequest.bodyText(request, JSON.stringify(body), "application/json")
        const response = yield* client.execute(request)
        return { status: response.status, text: yield* response.text }
      }).pipe(Effect.orDie)
    const put = (unit: UnitIn) =>
      send("PUT", `/units/${encodeURIComponent(unit.name)}`, {
        ...(unit.desiredState === undefined || unit.desiredState === "" ? {} : { desiredState: unit.desiredState }),
        options: unit.options
      })
    const observe = (rejected: ReadonlyArray<string>) =>
      Effect.gen(function* () {
        const units = JSON.parse((yield* send("GET", "/units")).text).units ?? []
        const states = JSON.parse((yield* send("GET", "/state")).text).states ?? []
        const machines = JSON.parse((yield* send("GET", "/machines")).text).machines ?? []
        const placement: Record<string, string | null> = {}
        for (const unit of units as Array<{ name: string; machineID?: string; options: Array<UnitIn["options"][0]> }>) {
          if (!isGlobal(unit.options)) placement[unit.name] = unit.machineID ?? null
        }
        const running: Record<string, Array<string>> = {}
        for (const machine of machines as Array<{ id: string }>) running[machine.id] = []
        for (const state of states as Array<{ name: string; machineID: string }>) {
          running[state.machineID]?.push(state.name)
        }
        return { rejected: [...rejected].sort(), placement, running } satisfies Observed
      })

    const steps: Array<Observed> = []
    yield* control.reset
    yield* control.seed({
      machines: scenario.machines.map((m) => new Machine({ id: m.id, metadata: m.metadata ?? {} }))
    })
    const rejected: Array<string> = []
    for (const unit of scenario.units) if ((yield* put(unit)).status >= 400) rejected.push(unit.name)
    steps.push(yield* observe(rejected))
    for (const step of scenario.steps ?? []) {
      const rejected: Array<string> = []
      switch (step.op) {
        case "removeMachine":
          yield* Effect.ignore(control.machineDown(step.id, { immediately: true }))
          break
        case "addMachine":
          yield* control.machineUp(new Machine({ id: step.machine.id, metadata: step.machine.metadata ?? {} }))
          break
        case "setMetadata":
          yield* control.setMachineMetadata(step.id, step.metadata)
          break
        case "addUnits":
          for (const unit of step.units) if ((yield* put(unit)).status >= 400) rejected.push(unit.name)
          break
        case "replaceUnit":
          if ((yield* put(step.unit)).status >= 400) rejected.push(step.unit.name)
          break
        case "setDesiredState":
          if ((yield* put({ name: step.name, desiredState: step.desiredState, options: [] })).status >= 400) {
            rejected.push(step.name)
          }
          break
        case "destroyUnit":
          yield* send("DELETE", `/units/${encodeURIComponent(step.name)}`)
          break
      }
      steps.push(yield* observe(rejected))
    }
    return steps
  })

const truthy = new Set(["true", "yes", "1", "on", "t"])
const isGlobal = (options: ReadonlyArray<UnitIn["options"][0]>) => {
  const values = options.filter((o) => o.section === "X-Fleet" && o.name === "Global")
  const last = values.at(-1)?.value
  return last !== undefined && truthy.has(last.toLowerCase())
}

/** fleet's step as the API shows it: rejected names, placement, and per machine the units with a state there. */
const expected = (step: StepResult): Observed => ({
  rejected: Object.keys(step.rejected ?? {}).sort(),
  placement: step.placement,
  running: Object.fromEntries(
    Object.entries(step.agents).map(([machine, held]) => [
      machine,
      held.filter((entry) => !entry.endsWith("(inactive)")).map((entry) => entry.slice(0, entry.lastIndexOf(":")))
    ])
  )
})

const sorted = (observed: Observed) =>
  JSON.stringify({
    rejected: observed.rejected,
    placement: Object.entries(observed.placement).sort(),
    running: Object.entries(observed.running)
      .map(([machine, names]) => [machine, [...names].sort()])
      .sort()
  })

/**
 * The scenario with every unit submitted on its own: each PUT is acted on at once (as fleet's watches trigger a pass
 * per change), so the oracle must settle after each unit too, not after a whole batch.
 */
const oneByOne = (scenario: Scenario): Scenario => ({
  ...scenario,
  units: scenario.units.slice(0, 1),
  steps: [
    ...scenario.units.slice(1).map((unit): StepIn => ({ op: "addUnits", units: [unit] })),
    ...(scenario.steps ?? []).flatMap(
      (step): ReadonlyArray<StepIn> =>
        step.op === "addUnits" ? step.units.map((unit) => ({ op: "addUnits", units: [unit] })) : [step]
    )
  ]
})

const oracle = oraclePath()
const skipReason =
  oracle === undefined ? " (skipped: no fleet-engine-oracle in ../shared/tools/fleet-ref or $FLEET_REF)" : ""

describe("the local fleet's API against fleet's engine oracle", () => {
  it.skipIf(oracle === undefined)(
    "places units and runs them where fleet could, through PUT, DELETE and FleetControl" + skipReason,
    () =>
      Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const count = Number(process.env.ENGINE_API_SCENARIOS ?? 150)
            const seed = Number(process.env.ENGINE_SEED ?? 20261130) + 1
            const scenarios: Array<Scenario> = fc
              .sample(scenarioArb, { numRuns: count, seed })
              .map((s, i) => oneByOne({ name: `api-${seed}-${i}`, ...s }))
            const answers = oracleAnswers(oracle!, scenarios, 40)
            const { control, httpClient } = yield* FleetTest.makeHttpClient({
              timing: { reconcileInterval: 0 },
              tokenLimit: 1000
            })
            const failures: Array<string> = []
            let compared = 0
            for (const scenario of scenarios) {
              const ours = (yield* play(httpClient, control, scenario)).map(sorted)
              const theirs = answers.get(scenario.name)!
              // Compare up to the first livelock (no settled placement) or the first rejection we disagree on.
              const comparable = (answer: ReadonlyArray<StepResult>) => {
                const end = answer.findIndex((step) => !step.converged)
                return end === -1 ? answer.length : end
              }
              const matches = theirs.some((answer) => {
                const n = comparable(answer)
                return answer.slice(0, n).every((step, i) => sorted(expected(step)) === ours[i])
              })
              if (matches) compared++
              else {
                let index = 0
                while (
                  theirs.some(
                    (answer) => answer[index] !== undefined && sorted(expected(answer[index]!)) === ours[index]
                  )
                ) {
                  index++
                }
                failures.push(
                  [
                    `scenario: ${JSON.stringify(scenario)}`,
                    `step ${index} ours:  ${ours[index]}`,
                    ...new Set(theirs.map((answer) => `step ${index} fleet: ${sorted(expected(answer[index]!))}`))
                  ].join("\n")
                )
              }
            }
            return { compared, failures, total: scenarios.length }
          })
        )
      ).then(({ compared, failures, total }) => {
        if (process.env.ENGINE_REPORT) console.log(`compared ${compared}`)
        expect({ failed: failures.length, first: failures.slice(0, 2) }).toEqual({ failed: 0, first: [] })
        // The API and the oracle check new units with the same function (unitRules.validateOptions): every
        // scenario is compared.
        expect(compared).toBe(total)
      }),
    180_000
  )
})
