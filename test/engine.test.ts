import * as fs from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as Engine from "../src/internal/server/engine.ts"
import * as XFleet from "../src/internal/xfleet.ts"
import type * as UnitFile from "../src/UnitFile.ts"
import {
  explain,
  isOneOf,
  type MachineIn,
  oracleAnswers,
  oraclePath,
  runScenario,
  type Scenario,
  scenarioArb,
  type UnitIn,
  type Vector,
  vectorAnswers,
  vectorsPath
} from "./engineOracle.ts"

const xfleet = (name: string, value: string): UnitFile.Option => ({ section: "X-Fleet", name, value })
const service: UnitFile.Option = { section: "Service", name: "ExecStart", value: "/usr/bin/sleep 1d" }
const unit = (name: string, ...options: ReadonlyArray<UnitFile.Option>): UnitIn => ({
  name,
  desiredState: "launched",
  options: [service, ...options]
})
const final = (scenario: Scenario) => runScenario(scenario).map((step) => step.placement)

describe("engine: fleet's requirements", () => {
  it("splits quoted values and expands specifiers as fleet does", () => {
    expect(XFleet.parseMultivalue('"region=us" "disk=ssd"')).toEqual(["region=us", "disk=ssd"])
    expect(XFleet.parseMultivalue('"a b" "c d"')).toEqual(["a b", "c d"])
    expect(XFleet.parseMultivalue('"a" b')).toEqual(['"a" b'])
    expect(XFleet.expandSpecifiers("%p@*.service %i %N %n %m", "web@1.service")).toBe(
      "web@*.service 1 web@1 web@1.service %m"
    )
    const req = XFleet.requirementsOf("web@1.service", [
      xfleet("MachineMetadata", '"region=us" "disk=ssd"'),
      xfleet("MachineMetadata", "region=eu"),
      xfleet("MachineMetadata", "region=eu disk=ssd"),
      xfleet("MachineMetadata", "a=b=c"),
      xfleet("MachineMetadata", "=x"),
      xfleet("Conflicts", "%p@*.service  other.service"),
      xfleet("X-ConditionMachineOf", "db@%i.service"),
      xfleet("Global", "yes"),
      xfleet("Global", "y")
    ])
    expect(req.metadata).toEqual(
      new Map([
        ["region", new Set(["us", "eu"])],
        ["disk", new Set(["ssd"])]
      ])
    )
    expect(req.conflicts).toEqual(["web@*.service", "other.service"])
    expect(req.peers).toEqual(["db@1.service"])
    expect(req.global).toBe(false)
  })

  it("takes the first MachineID, then the older spellings", () => {
    const first = XFleet.requirementsOf("a.service", [
      xfleet("X-ConditionMachineID", "old"),
      xfleet("MachineID", "m1"),
      xfleet("MachineID", "m2")
    ])
    expect(first.machineID).toBe("m1")
    expect(XFleet.requirementsOf("a.service", [xfleet("X-ConditionMachineBootID", "b")]).machineID).toBe("b")
    expect(Engine.matchesMachineID("9a0e4b1c000003", "9a0e4b1c")).toBe(true)
    expect(Engine.matchesMachineID("9a0e4b1c000003", "9a0e4b")).toBe(false)
  })

  it("matches globs as Go's path.Match", () => {
    const cases: ReadonlyArray<readonly [string, string, boolean]> = [
      ["web@*.service", "web@1.service", true],
      ["*", "a.service", true],
      ["a?.service", "ab.service", true],
      ["[a-c].service", "b.service", true],
      ["[^a-c].service", "b.service", false],
      ["[!a].service", "!.service", true],
      ["\\*.service", "*.service", true],
      ["[", "[", false],
      ["a.service[", "a.service", false],
      ["x*[", "xy", false],
      ["[]a]", "]", false],
      ["*.service", "a/b.service", false],
      ["*b*", "abc", true],
      ["a*c", "abcbc", true],
      ["a*c", "abcb", false]
    ]
    for (const [pattern, name, matches] of cases)
      expect([pattern, name, XFleet.globMatch(pattern, name)]).toEqual([pattern, name, matches])
  })
})

describe("engine: fleet's worked examples", () => {
  it("breaks ties by the lowest ID, byte-wise", () => {
    expect(
      final({ name: "t", machines: [{ id: "m3" }, { id: "m1" }, { id: "m2" }], units: [unit("a.service")] })
    ).toEqual([{ "a.service": "m1" }])
    expect(
      final({ name: "t", machines: [{ id: "M9" }, { id: "m10" }, { id: "m2" }], units: [unit("a.service")] })
    ).toEqual([{ "a.service": "M9" }])
  })

  it("counts global units as load, even inactive ones", () => {
    const global = (name: string, desiredState = "launched"): UnitIn => ({
      ...unit(name, xfleet("Global", "true"), xfleet("MachineMetadata", "role=web")),
      desiredState
    })
    const steps = runScenario({
      name: "t",
      machines: [{ id: "m1", metadata: { role: "web" } }, { id: "m2" }],
      units: [global("g1.service"), global("g2.service", "inactive")],
      steps: [
        { op: "addUnits", units: [unit("a.service")] },
        { op: "addUnits", units: [unit("b.service")] },
        { op: "addUnits", units: [unit("c.service")] }
      ]
    })
    expect(steps.at(-1)!.placement).toEqual({ "a.service": "m2", "b.service": "m2", "c.service": "m1" })
    expect(steps.at(-1)!.agents.m1).toEqual(["c.service:launched", "g1.service:launched", "g2.service(inactive)"])
  })

  it("keeps conflicting instances apart and leaves the loser unscheduled until a machine frees up", () => {
    const web = (i: number) => unit(`web@${i}.service`, xfleet("Conflicts", "web@*.service"))
    const steps = runScenario({
      name: "t",
      machines: [{ id: "m1" }, { id: "m2" }],
      units: [web(1), web(2), web(3)],
      steps: [
        { op: "addMachine", machine: { id: "m3" } },
        { op: "removeMachine", id: "m1" }
      ]
    })
    expect(steps.map((step) => step.placement)).toEqual([
      { "web@1.service": "m1", "web@2.service": "m2", "web@3.service": null },
      { "web@1.service": "m1", "web@2.service": "m2", "web@3.service": "m3" },
      { "web@1.service": null, "web@2.service": "m2", "web@3.service": "m3" }
    ])
  })

  it("drops unquoted metadata pairs and never matches !=", () => {
    const machines: ReadonlyArray<MachineIn> = [
      { id: "m1" },
      { id: "m2", metadata: { region: "eu", disk: "ssd" } },
      { id: "m3", metadata: { region: "us" } }
    ]
    expect(
      final({
        name: "t",
        machines,
        units: [
          unit("a.service", xfleet("MachineMetadata", "region=eu disk=ssd")),
          unit("b.service", xfleet("MachineMetadata", '"region=eu" "disk=ssd"')),
          unit("c.service", xfleet("MachineMetadata", "region!=us"))
        ]
      })
    ).toEqual([{ "a.service": "m1", "b.service": "m2", "c.service": null }])
  })

  it("moves a unit whose machine left, and never moves it back", () => {
    const steps = final({
      name: "t",
      machines: [{ id: "m1" }, { id: "m2" }],
      units: [unit("a.service"), unit("b.service")],
      steps: [
        { op: "removeMachine", id: "m1" },
        { op: "removeMachine", id: "m2" },
        { op: "addMachine", machine: { id: "m9" } },
        { op: "addMachine", machine: { id: "m1" } }
      ]
    })
    expect(steps).toEqual([
      { "a.service": "m1", "b.service": "m2" },
      { "a.service": "m2", "b.service": "m2" },
      { "a.service": null, "b.service": null },
      { "a.service": "m9", "b.service": "m9" },
      { "a.service": "m9", "b.service": "m9" }
    ])
  })

  it("moves a unit when its machine's metadata stops matching, and follows MachineOf", () => {
    const steps = final({
      name: "t",
      machines: [
        { id: "m1", metadata: { role: "db" } },
        { id: "m2", metadata: { role: "db" } }
      ],
      units: [
        unit("db.service", xfleet("MachineMetadata", "role=db")),
        unit("side.service", xfleet("MachineOf", "db.service"))
      ],
      steps: [{ op: "setMetadata", id: "m1", metadata: {} }]
    })
    expect(steps).toEqual([
      { "db.service": "m1", "side.service": "m1" },
      { "db.service": "m2", "side.service": "m2" }
    ])
  })

  it("lets the agent refuse a unit the engine scheduled", () => {
    const steps = runScenario({
      name: "t",
      machines: [{ id: "m1" }, { id: "m2" }],
      units: [unit("s.service", xfleet("Conflicts", "a-g.service"))],
      steps: [{ op: "addUnits", units: [unit("a-g.service", xfleet("Global", "true"))] }]
    })
    expect(steps.at(-1)!.placement).toEqual({ "s.service": "m1" })
    expect(steps.at(-1)!.agents).toEqual({ m1: ["a-g.service:launched"], m2: ["a-g.service:launched"] })
  })

  it("moves the replaced unit off the replacer's machine, and cycles on a single machine", () => {
    const colocated = final({
      name: "t",
      machines: [{ id: "m1" }, { id: "m2" }],
      units: [
        unit("old.service"),
        unit("x.service", xfleet("MachineID", "m2")),
        unit("y.service", xfleet("MachineID", "m2"))
      ],
      steps: [{ op: "addUnits", units: [unit("new.service", xfleet("Replaces", "old.service"))] }]
    })
    expect(colocated.at(-1)).toEqual({ "new.service": "m1", "old.service": "m2", "x.service": "m2", "y.service": "m2" })
    const single = runScenario({
      name: "t",
      machines: [{ id: "m1" }],
      units: [unit("old.service"), unit("new.service", xfleet("Replaces", "old.service"))]
    })
    expect(single[0]!.converged).toBe(false)
    expect(single[0]!.cycle?.length).toBeGreaterThan(0)
  })
})

// ---- generated scenarios against fleet's real engine -------------------------------------------------------------

const oracle = oraclePath()
const skipReason =
  oracle === undefined ? " (skipped: no fleet-engine-oracle in ../shared/tools/fleet-ref or $FLEET_REF)" : ""

describe("engine against fleet's engine oracle", () => {
  it.skipIf(oracle === undefined)(
    "places every unit of generated scenarios where fleet could" + skipReason,
    () => {
      const count = Number(process.env.ENGINE_SCENARIOS ?? 400)
      const seed = Number(process.env.ENGINE_SEED ?? 20261130)
      const scenarios: Array<Scenario> = fc
        .sample(scenarioArb, { numRuns: count, seed })
        .map((s, i) => ({ name: `generated-${seed}-${i}`, ...s }))
      const answers = oracleAnswers(oracle!, scenarios, Number(process.env.ENGINE_RUNS ?? 40))
      const failures: Array<string> = []
      let placing = 0
      for (const scenario of scenarios) {
        const ours = runScenario(scenario)
        if (ours.some((step) => Object.values(step.placement).some((target) => target !== null))) placing++
        if (!isOneOf(ours, answers.get(scenario.name)!)) {
          failures.push(explain(scenario, ours, answers.get(scenario.name)!))
        }
      }
      expect({ failed: failures.length, first: failures.slice(0, 3) }).toEqual({ failed: 0, first: [] })
      // the generator must keep producing scenarios where something gets placed
      expect(placing).toBeGreaterThan(count / 2)
    },
    120_000
  )
})

const vectors = vectorsPath()

describe("engine against recorded vectors", () => {
  it.skipIf(vectors === undefined)(
    `agrees with every recorded scenario${vectors === undefined ? " (skipped: no ENGINE_VECTORS file)" : ""}`,
    () => {
      const file = JSON.parse(fs.readFileSync(vectors!, "utf8")) as { vectors: ReadonlyArray<Vector> }
      const answers = vectorAnswers(file)
      const failures = file.vectors
        .filter((vector) => vector.input !== undefined)
        .flatMap((vector) => {
          const ours = runScenario(vector.input!)
          return isOneOf(ours, answers.get(vector.name)!)
            ? []
            : [explain(vector.input!, ours, answers.get(vector.name)!)]
        })
      expect({ failed: failures.length, first: failures.slice(0, 3) }).toEqual({ failed: 0, first: [] })
      expect(file.vectors.length).toBeGreaterThan(0)
    }
  )
})
