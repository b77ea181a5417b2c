import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import { desiredUnits, repairDaemon } from "../examples/repairDaemon.ts"
import * as Fleet from "../src/Fleet.ts"
import * as FleetControl from "../src/FleetControl.ts"
import * as FleetTest from "../src/FleetTest.ts"
import { Machine } from "../src/Machine.ts"
import { eventually } from "./support/localFleet.ts"

const machines = ["m1", "m2", "m3"].map((id, i) => new Machine({ id, primaryIP: `10.0.0.${i + 1}` }))

/** Every desired unit: where it is, fleet's currentState, and systemd's state there. */
const view = Effect.gen(function* () {
  const units = yield* Stream.runCollect(Fleet.listUnits())
  const states = yield* Stream.runCollect(Fleet.listUnitStates())
  return [...desiredUnits.keys()].map((name) => {
    const unit = units.find((u) => u.name === name)
    const state = states.find((s) => s.name === name && s.machineID === unit?.machineID)
    return {
      name,
      machineID: unit?.machineID,
      currentState: unit?.currentState,
      systemd: state === undefined ? undefined : `${state.systemdActiveState}/${state.systemdSubState}`
    }
  })
})

/** `eventually`, for checks that ask fleet. */
const until = <E>(check: Effect.Effect<boolean, E, Fleet.Fleet>, what: string) =>
  Effect.flatMap(Effect.context<Fleet.Fleet>(), (context) =>
    eventually(check.pipe(Effect.orDie, Effect.provideContext(context)), what)
  )

const allRunning = Effect.map(view, (units) =>
  units.every((unit) => unit.currentState === "launched" && unit.systemd === "active/running")
)

describe("examples/repairDaemon.ts", () => {
  it.live("survives failed and stopped units and a lost machine, and ends with everything running", () =>
    Effect.gen(function* () {
      const control = yield* FleetControl.FleetControl
      const repairs: Array<string> = []
      const daemon = yield* Effect.forkChild(
        repairDaemon(desiredUnits, {
          interval: "20 millis",
          resync: "200 millis",
          onRepair: (done) => Effect.sync(() => repairs.push(...done))
        })
      )
      yield* until(allRunning, "the three units to run")
      const placed = yield* view

      yield* control.failUnit("web@2.service")
      yield* until(allRunning, "web@2 to be restarted")
      yield* control.stopUnit("web@3.service")
      yield* until(allRunning, "web@3 to be restarted")

      // The machine of web@1 is lost: with Conflicts=web@*.service and two machines left, fleet cannot place it.
      const lost = placed.find((unit) => unit.name === "web@1.service")!.machineID!
      yield* control.machineDown(lost)
      yield* until(
        Effect.map(view, (units) => units[0]!.machineID === undefined),
        "fleet to unschedule web@1 after the machine TTL"
      )
      expect((yield* view)[0]).toEqual({
        name: "web@1.service",
        machineID: undefined,
        currentState: "inactive",
        systemd: undefined
      })
      yield* control.machineUp(lost)
      yield* until(allRunning, "web@1 to run again on the machine that came back")

      yield* Fiber.interrupt(daemon)
      const end = yield* view
      expect(end.map((unit) => [unit.name, unit.machineID, unit.currentState, unit.systemd])).toEqual(
        placed.map((unit) => [unit.name, unit.machineID, "launched", "active/running"])
      )
      expect(new Set(end.map((unit) => unit.machineID)).size).toBe(3)
      expect(repairs).toEqual([
        "created web@1.service",
        "created web@2.service",
        "created web@3.service",
        `restarted web@2.service on ${placed[1]!.machineID} (was failed)`,
        `restarted web@3.service on ${placed[2]!.machineID} (was inactive)`
      ])
    }).pipe(
      Effect.provide(
        FleetTest.layer({
          seed: { machines },
          timing: { machineTtl: "300 millis", reconcileInterval: "100 millis" },
          retry: Fleet.retrySchedule
        })
      )
    )
  )
})
