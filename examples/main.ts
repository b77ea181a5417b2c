/**
 * The main example: starts the embedded local fleet server (an in-memory fleet with two simulated machines), then
 * talks to it with the client exactly as it would to a real fleetd. Run it with `npm run example`.
 *
 * To point it at a real cluster instead, set FLEET_ENDPOINT (e.g. `unix:///var/run/fleet.sock`).
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer, Stream } from "effect"
import { Fleet, FleetServer, Machine, Unit } from "effect-fleet"

const program = Effect.gen(function* () {
  const unit = yield* Unit.fromString(`
[Unit]
Description=Sleeps for a day

[Service]
ExecStart=/usr/bin/sleep 1d

[X-Fleet]
Conflicts=sleep@*.service
`)
  yield* Console.log(`unit file hash: ${Unit.hash(unit)}`)

  for (const name of ["sleep@1.service", "sleep@2.service"]) {
    const created = yield* Fleet.createUnit(name, unit)
    yield* Console.log(`created ${created.name}: ${created.currentState} on ${created.machineID ?? "no machine"}`)
  }

  const stopped = yield* Fleet.setUnitDesiredState("sleep@2.service", "loaded")
  yield* Console.log(`${stopped.name} is now ${stopped.currentState}`)

  yield* Fleet.listUnitStates().pipe(
    Stream.runForEach((state) =>
      Console.log(`state ${state.name} on ${state.machineID}: ${state.systemdActiveState}/${state.systemdSubState}`)
    )
  )
  const machines = yield* Fleet.listMachines().pipe(
    Stream.map((m) => m.primaryIP),
    Stream.runCollect
  )
  yield* Console.log(`machines: ${machines.join(", ")}`)

  const missing = yield* Effect.flip(Fleet.getUnit("nope.service"))
  yield* Console.log(`getUnit("nope.service") failed as expected: ${missing}`)

  for (const name of ["sleep@1.service", "sleep@2.service"]) yield* Fleet.destroyUnit(name)
  const left = yield* Fleet.listUnits().pipe(Stream.runCount)
  yield* Console.log(`units left: ${left}`)
})

const localFleet = FleetServer.layer({
  port: 0,
  seed: {
    machines: [
      new Machine.Machine({ id: "2901a44df0834bef935e24a0ddddcc23", primaryIP: "198.51.100.23" }),
      new Machine.Machine({ id: "8d3b1c4a6c1f4e6f9f0b0a7e7b8a9c0d", primaryIP: "198.51.100.24" })
    ]
  }
})

const fleet =
  process.env.FLEET_ENDPOINT === undefined
    ? Layer.unwrap(
        Effect.gen(function* () {
          const server = yield* FleetServer.FleetServer
          yield* Console.log(`local fleet server listening on ${server.url}`)
          return Fleet.layer(server.url)
        })
      ).pipe(Layer.provide(localFleet))
    : Fleet.layer(process.env.FLEET_ENDPOINT)

program.pipe(Effect.provide(fleet), NodeRuntime.runMain)
