import { Effect, type Layer } from "effect"
import * as TestClock from "effect/testing/TestClock"
import { Fleet, FleetControl, FleetTest, Machine, Unit } from "effect-fleet"

const machines = ["m1", "m2", "m3"].map(
  (id) => new Machine.Machine({ id, metadata: { role: id === "m3" ? "db" : "web" } })
)

export const program = Effect.gen(function* () {
  const control = yield* FleetControl.FleetControl
  const web = yield* Unit.fromString("[Service]\nExecStart=/usr/bin/sleep 1d\n[X-Fleet]\nMachineMetadata=role=web\n")
  const placed = yield* Fleet.createUnit("web.service", web) // on m1: least loaded of the role=web machines

  yield* control.machineDown(placed.machineID!) // m1 stops heartbeating...
  yield* TestClock.adjust("32 seconds") // ...is gone after the machine TTL (30 s); the next engine pass moves the unit
  const moved = yield* Fleet.getUnit("web.service") // on m2, launched

  yield* control.failUnit("web.service") // systemd says failed/failed; fleet still says launched, and never restarts it
  yield* control.machineUp("m1") // back as it was; nothing moves back (fleet never rebalances)
  return moved
}).pipe(Effect.provide(FleetTest.layer({ seed: { machines } })))

// The same control surface, for a server in another process (`effect-fleet serve --control-port 49154`):
export const remote: Layer.Layer<FleetControl.FleetControl> = FleetControl.layerRemote("http://127.0.0.1:49154")
