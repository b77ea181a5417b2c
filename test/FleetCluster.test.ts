import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/testing/TestClock"
import * as Fleet from "../src/Fleet.ts"
import * as FleetControl from "../src/FleetControl.ts"
import * as FleetTest from "../src/FleetTest.ts"
import { Machine } from "../src/Machine.ts"
import * as Unit from "../src/Unit.ts"

const option = (section: string, name: string, value: string) => new Unit.UnitOption({ section, name, value })
const service = option("Service", "ExecStart", "/usr/bin/sleep 1d")
const unit = (...xfleet: ReadonlyArray<readonly [string, string]>) =>
  Unit.make({ options: [service, ...xfleet.map(([name, value]) => option("X-Fleet", name, value))] })

const machines = [
  new Machine({ id: "m1", primaryIP: "10.0.0.1", metadata: { role: "web" } }),
  new Machine({ id: "m2", primaryIP: "10.0.0.2", metadata: { role: "web" } }),
  new Machine({ id: "m3", primaryIP: "10.0.0.3", metadata: { role: "db" } })
]

const control = Effect.service(FleetControl.FleetControl)

/** Where each unit is scheduled (`-` when it waits), by name. */
const placement = Effect.gen(function* () {
  const units = yield* Stream.runCollect(Fleet.listUnits())
  return Object.fromEntries(units.map((u) => [u.name!, u.machineID ?? "-"]))
})

const statesOf = (name: string) =>
  Effect.map(Stream.runCollect(Fleet.listUnitStates({ unitName: name })), (states) =>
    states.map((s) => `${s.machineID}:${s.systemdActiveState}/${s.systemdSubState}`)
  )

const testLayer = (options: FleetTest.Options = {}) => FleetTest.layer({ seed: { machines }, ...options })

describe("the simulated cluster schedules as fleet's engine does", () => {
  it.effect("honours MachineMetadata, Conflicts, MachineOf, MachineID and Global", () =>
    Effect.gen(function* () {
      yield* Fleet.createUnit("gpu.service", unit(["MachineMetadata", "role=gpu"]))
      yield* Fleet.createUnit("db.service", unit(["MachineMetadata", "role=db"]))
      yield* Fleet.createUnit("web@1.service", unit(["Conflicts", "web@*.service"]))
      yield* Fleet.createUnit("web@2.service", unit(["Conflicts", "web@*.service"]))
      yield* Fleet.createUnit("web@3.service", unit(["Conflicts", "web@*.service"]))
      yield* Fleet.createUnit("web@4.service", unit(["Conflicts", "web@*.service"]))
      yield* Fleet.createUnit("side.service", unit(["MachineOf", "db.service"]))
      yield* Fleet.createUnit("pinned.service", unit(["MachineID", "m2"]))
      yield* Fleet.createUnit("agent.service", unit(["Global", "true"], ["MachineMetadata", "role=web"]))
      const placed = yield* placement
      expect(placed).toEqual({
        "agent.service": "-",
        "db.service": "m3",
        "gpu.service": "-",
        "pinned.service": "m2",
        "side.service": "m3",
        "web@1.service": "m1",
        "web@2.service": "m2",
        "web@3.service": "m3",
        "web@4.service": "-"
      })
      expect(yield* statesOf("agent.service")).toEqual(["m1:active/running", "m2:active/running"])
      expect((yield* Fleet.getUnit("gpu.service")).currentState).toBe("inactive")
    }).pipe(Effect.provide(testLayer()))
  )
})

describe("machines that leave, come back and change", () => {
  it.effect("a machine that goes down leaves after the machine TTL; its units move on the next engine pass", () =>
    Effect.gen(function* () {
      const c = yield* control
      yield* Fleet.createUnit("a.service", unit())
      yield* Fleet.createUnit("b.service", unit())
      expect(yield* placement).toEqual({ "a.service": "m1", "b.service": "m2" })
      yield* c.machineDown("m1")
      yield* TestClock.adjust("29 seconds")
      // still listed, its unit still there (fleet has not noticed yet)
      expect((yield* Stream.runCollect(Fleet.listMachines())).map((m) => m.id)).toEqual(["m1", "m2", "m3"])
      expect((yield* placement)["a.service"]).toBe("m1")
      yield* TestClock.adjust("1 second")
      expect((yield* Stream.runCollect(Fleet.listMachines())).map((m) => m.id)).toEqual(["m2", "m3"])
      // gone, but the engine moves units on its next periodic pass
      expect((yield* placement)["a.service"]).toBe("m1")
      expect((yield* Fleet.getUnit("a.service")).currentState).toBe("inactive")
      yield* TestClock.adjust("2 seconds")
      expect(yield* placement).toEqual({ "a.service": "m3", "b.service": "m2" })
      expect((yield* Fleet.getUnit("a.service")).currentState).toBe("launched")
      expect(yield* statesOf("a.service")).toEqual(["m3:active/running"])
      // back, with its metadata; nothing moves back (fleet never rebalances)
      yield* c.machineUp("m1")
      yield* TestClock.adjust("2 seconds")
      expect(yield* placement).toEqual({ "a.service": "m3", "b.service": "m2" })
      expect((yield* Stream.runCollect(Fleet.listMachines())).map((m) => [m.id, m.metadata])).toEqual([
        ["m1", { role: "web" }],
        ["m2", { role: "web" }],
        ["m3", { role: "db" }]
      ])
    }).pipe(Effect.provide(testLayer()))
  )

  it.effect("down immediately moves units at once; waiting units go to a machine that joins", () =>
    Effect.gen(function* () {
      const c = yield* control
      yield* Fleet.createUnit("db.service", unit(["MachineMetadata", "role=db"]))
      expect((yield* placement)["db.service"]).toBe("m3")
      yield* c.machineDown("m3", { immediately: true })
      expect((yield* placement)["db.service"]).toBe("-")
      yield* c.machineUp(new Machine({ id: "m4", metadata: { role: "db" } }))
      yield* TestClock.adjust("2 seconds")
      expect((yield* placement)["db.service"]).toBe("m4")
      const error = yield* Effect.flip(c.machineDown("nope"))
      expect(error.message).toBe("no machine nope")
    }).pipe(Effect.provide(testLayer()))
  )

  it.effect("a metadata change moves units that no longer fit, on the next engine pass", () =>
    Effect.gen(function* () {
      const c = yield* control
      yield* Fleet.createUnit("web.service", unit(["MachineMetadata", "role=web"]))
      expect((yield* placement)["web.service"]).toBe("m1")
      yield* c.setMachineMetadata("m1", { role: "db" })
      expect((yield* placement)["web.service"]).toBe("m1")
      yield* TestClock.adjust("2 seconds")
      expect((yield* placement)["web.service"]).toBe("m2")
      const error = yield* Effect.flip(c.setMachineMetadata("m9", {}))
      expect(error.message).toBe("no machine m9")
    }).pipe(Effect.provide(testLayer()))
  )
})

describe("units that fail", () => {
  it.effect("a failed unit stays failed and launched; fleet does not restart it, a new start does", () =>
    Effect.gen(function* () {
      const c = yield* control
      yield* Fleet.createUnit("a.service", unit())
      yield* c.failUnit("a.service")
      yield* TestClock.adjust("1 minute")
      expect(yield* statesOf("a.service")).toEqual(["m1:failed/failed"])
      expect((yield* Fleet.getUnit("a.service")).currentState).toBe("launched")
      yield* Fleet.setUnitDesiredState("a.service", "loaded")
      expect(yield* statesOf("a.service")).toEqual(["m1:inactive/dead"])
      yield* Fleet.setUnitDesiredState("a.service", "launched")
      expect(yield* statesOf("a.service")).toEqual(["m1:active/running"])
      yield* c.stopUnit("a.service")
      expect(yield* statesOf("a.service")).toEqual(["m1:inactive/dead"])
      expect((yield* Fleet.getUnit("a.service")).currentState).toBe("launched")
      const twice = yield* Effect.flip(c.failUnit("a.service"))
      expect(twice.message).toBe("unit a.service is not running on m1")
      const missing = yield* Effect.flip(c.failUnit("nope.service"))
      expect(missing.message).toBe("unit nope.service does not exist")
    }).pipe(Effect.provide(testLayer()))
  )

  it.effect("a global unit fails on the machine named", () =>
    Effect.gen(function* () {
      const c = yield* control
      yield* Fleet.createUnit("g.service", unit(["Global", "true"]))
      const unnamed = yield* Effect.flip(c.failUnit("g.service"))
      expect(unnamed.message).toBe("unit g.service runs on no machine; name one")
      yield* c.failUnit("g.service", { machineID: "m2" })
      expect(yield* statesOf("g.service")).toEqual(["m1:active/running", "m2:failed/failed", "m3:active/running"])
    }).pipe(Effect.provide(testLayer()))
  )

  it.effect("a unit is activating for the unit start time", () =>
    Effect.gen(function* () {
      yield* Fleet.createUnit("a.service", unit())
      expect(yield* statesOf("a.service")).toEqual(["m1:activating/start"])
      expect((yield* Fleet.getUnit("a.service")).currentState).toBe("launched")
      yield* TestClock.adjust("3 seconds")
      expect(yield* statesOf("a.service")).toEqual(["m1:active/running"])
    }).pipe(Effect.provide(testLayer({ timing: { unitStartTime: "3 seconds" } })))
  )

  it.effect("timing knobs are checked", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Effect.scoped(Effect.asVoid(FleetTest.makeHttpClient({ timing: { machineTtl: "Infinity" } })))
      )
      expect(error.message).toBe("timing.machineTtl must be a finite duration")
      const machinesError = yield* Effect.flip(Effect.asVoid(FleetTest.makeHttpClient({ machines: -1 })))
      expect(machinesError.message).toBe("machines must be a whole number, got -1")
    })
  )

  it.effect("starts with generated machines", () =>
    Effect.gen(function* () {
      const listed = yield* Stream.runCollect(Fleet.listMachines())
      expect(listed).toHaveLength(3)
      for (const machine of listed) expect(machine.id).toMatch(/^[0-9a-f]{32}$/)
      expect(listed.map((m) => m.primaryIP).sort()).toEqual(["172.17.8.101", "172.17.8.102", "172.17.8.103"])
    }).pipe(Effect.provide(FleetTest.layer({ machines: 3 })))
  )
})

describe("README: scheduling, faults and the control port", () => {
  it.effect("examples/readme/cluster.ts moves the unit off the lost machine", () =>
    Effect.gen(function* () {
      const { program } = yield* Effect.promise(() => import("../examples/readme/cluster.ts"))
      const moved = yield* program
      expect([moved.machineID, moved.currentState]).toEqual(["m2", "launched"])
    })
  )
})
