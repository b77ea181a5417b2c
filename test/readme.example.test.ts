import { describe, expect, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { Fleet, FleetControl, FleetTest, Machine, Unit } from "effect-fleet"

// The program under test: launch a unit, retrying while fleet cannot reach etcd.
const launch = (name: string) =>
  Effect.gen(function* () {
    const unit = yield* Unit.fromString("[Service]\nExecStart=/usr/bin/sleep 1d\n")
    return yield* Fleet.createUnit(name, unit)
  })

const machines = [new Machine.Machine({ id: "m1", primaryIP: "10.0.0.1" })]

describe("launch", () => {
  it.live("schedules the unit onto a machine", () =>
    Effect.gen(function* () {
      const unit = yield* launch("web.service")
      expect(unit.currentState).toBe("launched")
      expect(unit.machineID).toBe("m1")
      expect(yield* Fleet.listUnitStates().pipe(Stream.runCount)).toBe(1)
    }).pipe(Effect.provide(FleetTest.layer({ seed: { machines } })))
  )

  it.live("survives fleet's 503 when the client retries", () =>
    Effect.gen(function* () {
      const control = yield* FleetControl.FleetControl
      yield* control.failNext(2, FleetControl.Fault.Unavailable)
      const unit = yield* launch("web.service")
      expect(unit.name).toBe("web.service")
      expect(yield* control.requestCount).toBe(4) // two 503s, then the PUT and the GET
    }).pipe(Effect.provide(FleetTest.layer({ seed: { machines }, retry: Fleet.retrySchedule })))
  )
})
