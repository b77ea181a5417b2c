import { describe, expect, it } from "@effect/vitest"
import { hasReached } from "../src/FleetWatch.ts"
import * as Unit from "../src/Unit.ts"
import { UnitState } from "../src/UnitState.ts"

const globalUnit = (value: string) =>
  new Unit.Unit({
    name: "g.service",
    desiredState: "launched",
    options: [new Unit.UnitOption({ section: "X-Fleet", name: "Global", value })]
  })

const running = new UnitState({
  name: "g.service",
  machineID: "m1",
  systemdLoadState: "loaded",
  systemdActiveState: "active",
  systemdSubState: "running"
})

describe("hasReached", () => {
  it("judges a global unit by its desired state, with fleet's truthy values for Global", () => {
    for (const value of ["true", "yes", "1", "on", "t", "TRUE"]) {
      expect(hasReached("launched")({ unit: globalUnit(value), states: [running] }), value).toBe(true)
    }
    // not global: a unit without currentState has reached nothing
    expect(hasReached("launched")({ unit: globalUnit("false"), states: [running] })).toBe(false)
  })

  it("a missing unit has reached nothing, not even inactive", () => {
    expect(hasReached("inactive")({ unit: undefined, states: [] })).toBe(false)
  })
})
