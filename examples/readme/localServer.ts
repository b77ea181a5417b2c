import { Effect, Layer, Stream } from "effect"
import { Fleet, FleetControl, FleetServer, Machine } from "effect-fleet"

// A real HTTP server on a loopback port (and/or a unix socket) that answers exactly like fleetd.
const server = FleetServer.layer({
  port: 0, // pick a free port; `socketPath: "/tmp/fleet.sock"` serves a unix socket too
  tokenLimit: 100, // fleet's page size
  agents: "simulated", // launched units get a machine and a running UnitState
  maxBodyBytes: 1024 * 1024, // larger request bodies get fleet's 413 (default 16 MiB)
  seed: { machines: [new Machine.Machine({ id: "m1", primaryIP: "10.0.0.1" })] }
})

// Connect the client to wherever it listens.
const client = Layer.unwrap(FleetServer.FleetServer.useSync((s) => Fleet.layer(s.url)))

export const program = Effect.gen(function* () {
  const control = yield* FleetControl.FleetControl
  yield* control.setEtcdUnavailable(true) // every request now answers fleet's 503
  const failed = yield* Effect.flip(Fleet.listUnits().pipe(Stream.runCollect))
  yield* control.setEtcdUnavailable(false)
  return failed
}).pipe(Effect.provide(client.pipe(Layer.provideMerge(server))))
