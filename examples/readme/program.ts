import { NodeFileSystem, NodeRuntime } from "@effect/platform-node"
import { Effect, Layer, Stream } from "effect"
import { Fleet, Unit } from "effect-fleet"

// Where effect-fleet is installed: FLEET_ENDPOINT=http://127.0.0.1:49153 UNIT_FILE=hello.service node program.ts
// In this repository, unbuilt: the same with npx node --conditions=effect-fleet-source examples/readme/program.ts
const endpoint = process.env.FLEET_ENDPOINT ?? "unix:///var/run/fleet.sock"
const unitFile = process.env.UNIT_FILE ?? "hello.service"

const program = Effect.gen(function* () {
  // Unit.fromFile reads through Effect's FileSystem: NodeFileSystem.layer below provides it
  const unit = yield* Unit.fromFile(unitFile)
  const created = yield* Fleet.createUnit("hello.service", unit)
  yield* Effect.log(`hello.service is ${created.currentState} on ${created.machineID ?? "no machine yet"}`)
  const names = yield* Fleet.listUnits().pipe(
    Stream.map((u) => u.name),
    Stream.runCollect
  )
  yield* Effect.log(`units: ${names.join(", ")}`)
  // an expected failure, handled where it happens: a unit that is already gone is fine
  yield* Fleet.destroyUnit("hello.service").pipe(
    Effect.catchTag("APIError", (error) => (error.code === 404 ? Effect.void : Effect.fail(error)))
  )
})

program.pipe(
  // Provided before the error handling below, so that the layer's own failure (an unreachable endpoint, or one that
  // is not fleet: a ValueError) is reported like any other.
  Effect.provide(Layer.mergeAll(Fleet.layer(endpoint, { timeout: "10 seconds" }), NodeFileSystem.layer)),
  Effect.tapError((error) => {
    switch (error._tag) {
      case "APIError":
        return Effect.logError(`fleet refused: ${error}`)
      case "TransportError":
        return Effect.logError(`${error.reason}: ${error.message}`)
      case "ValueError":
        return Effect.logError(error.message)
    }
  }),
  // one line per failure (logged above) and exit code 1, instead of the runtime's own report
  NodeRuntime.runMain({ disableErrorReporting: true })
)
