/**
 * A daemon that keeps a set of units launched: it reconciles once at start, then again whenever
 * `FleetWatch.watchUnitStates` reports a change to one of its units (and every `RESYNC` in any case), retrying transient
 * failures on `Fleet.retrySchedule`. It connects the way fleetctl does, from `FLEETCTL_*` variables
 * (`Fleet.layerConfig`).
 *
 * `npm run example:daemon` runs it. With `FLEETCTL_ENDPOINT` unset, it starts a local fleet server of its own (an
 * in-memory fleet with three simulated machines) and, to have something to repair, destroys one of its units every
 * few seconds. Stop it with Ctrl-C: the watch, the client's connections and the server all close before it exits.
 *
 * Against a real cluster: `FLEETCTL_ENDPOINT=http://10.0.0.5:49153 npm run example:daemon`.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Cause, ConfigProvider, Effect, Exit, Layer, Runtime, Schedule, Stream } from "effect"
import { Fleet, FleetServer, FleetWatch, Machine, Unit } from "effect-fleet"
import { fileURLToPath } from "node:url"

/** What the daemon keeps launched. */
export const desiredUnits: ReadonlyMap<string, Unit.Unit> = new Map(
  ["hello@1.service", "hello@2.service", "hello@3.service"].map((name) => [
    name,
    Unit.make({
      desiredState: "launched",
      options: [
        new Unit.UnitOption({ section: "Service", name: "ExecStart", value: "/usr/bin/sleep infinity" }),
        new Unit.UnitOption({ section: "X-Fleet", name: "Conflicts", value: "hello@*.service" })
      ]
    })
  ])
)

/**
 * One reconciliation: create what is missing, relaunch what is not asked to be launched. Returns what it changed.
 * Reading the whole listing first keeps the pass to one request when nothing needs doing.
 */
export const reconcile = (desired: ReadonlyMap<string, Unit.Unit>) =>
  Effect.gen(function* () {
    const existing = new Map(
      (yield* Stream.runCollect(Fleet.listUnits())).map((unit) => [unit.name ?? "", unit] as const)
    )
    const changed: Array<string> = []
    for (const [name, unit] of desired) {
      const current = existing.get(name)
      if (current === undefined) {
        yield* Fleet.createUnit(name, unit)
        changed.push(`created ${name}`)
      } else if (current.desiredState !== "launched") {
        yield* Fleet.setUnitDesiredState(name, "launched")
        changed.push(`relaunched ${name}`)
      }
    }
    if (changed.length > 0) yield* Effect.log(`reconciled: ${changed.join(", ")}`)
    return changed
  }).pipe(Effect.withSpan("daemon.reconcile"))

/**
 * The daemon: reconcile now, then on every relevant change the watch reports, and every `resync` regardless. A
 * pass that fails (fleet unreachable past the retries) is logged and the next trigger tries again: the daemon
 * itself never gives up.
 */
export const daemon = (
  desired: ReadonlyMap<string, Unit.Unit>,
  options: { readonly interval: `${number} millis` | `${number} seconds`; readonly resync: `${number} seconds` }
) => {
  const pass = reconcile(desired).pipe(
    Effect.catch((error) => Effect.logWarning(`reconcile failed, will try again: ${error}`).pipe(Effect.as([])))
  )
  const relevant = (change: FleetWatch.UnitStateChange) =>
    desired.has(change.state.name) && (change._tag === "Removed" || change.state.systemdActiveState !== "active")
  const triggers = Stream.merge(
    FleetWatch.watchUnitStates({ interval: options.interval }).pipe(
      Stream.tap((change) => Effect.logDebug(`${change._tag} ${change.state.name} on ${change.state.machineID}`)),
      Stream.filter(relevant)
    ),
    Stream.fromEffectSchedule(Effect.void, Schedule.spaced(options.resync))
  )
  return pass.pipe(Effect.andThen(triggers.pipe(Stream.runForEach(() => pass))))
}

// -----------------------------------------------------------------------------
// Running it
// -----------------------------------------------------------------------------

const machines = ["10.0.0.1", "10.0.0.2", "10.0.0.3"].map(
  (ip, i) => new Machine.Machine({ id: `machine-${i + 1}`, primaryIP: ip })
)

/** Something to repair: an operator destroying one of the daemon's units now and then. */
const chaos = Effect.gen(function* () {
  const server = yield* FleetServer.FleetServer
  yield* Effect.log(`no FLEETCTL_ENDPOINT: started a local fleet server at ${server.url}`)
  const names = [...desiredUnits.keys()]
  let turn = 0
  const strike = Effect.gen(function* () {
    const victim = names[turn++ % names.length]!
    const { units } = yield* server.control.snapshot
    if (!units.some((unit) => unit.name === victim)) return
    yield* Effect.log(`(chaos) destroying ${victim}`)
    yield* Fleet.destroyUnit(victim).pipe(Effect.ignore)
  })
  yield* strike.pipe(
    Effect.repeat(Schedule.spaced("4 seconds")),
    Effect.delay("3 seconds"),
    Effect.provide(Fleet.layer(server.url)),
    Effect.forkScoped
  )
})

/** With FLEETCTL_ENDPOINT unset: a local fleet server, and FLEETCTL_ENDPOINT pointing at it for `layerConfig`. */
const localFleet = Layer.unwrap(
  Effect.sync(() => {
    const endpoint = process.env.FLEETCTL_ENDPOINT
    if (endpoint !== undefined && endpoint !== "") return Layer.empty
    const endpointConfig = ConfigProvider.layerAdd(
      Effect.gen(function* () {
        const server = yield* FleetServer.FleetServer
        return ConfigProvider.fromUnknown({ FLEETCTL_ENDPOINT: server.url })
      })
    )
    return Layer.mergeAll(endpointConfig, Layer.effectDiscard(chaos)).pipe(
      Layer.provide(FleetServer.layer({ port: 0, seed: { machines } }))
    )
  })
)

const main = Effect.gen(function* () {
  yield* Effect.log(`keeping ${[...desiredUnits.keys()].join(", ")} launched (Ctrl-C to stop)`)
  yield* daemon(desiredUnits, { interval: "500 millis", resync: "30 seconds" }).pipe(
    Effect.provide(Fleet.layerConfig({ retry: Fleet.retrySchedule }))
  )
}).pipe(
  Effect.onInterrupt(() => Effect.log("stopping: closing the watch, the connections and the server")),
  Effect.provide(localFleet)
)

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main.pipe(
    NodeRuntime.runMain({
      // Ctrl-C is how a daemon stops: exit 0 once everything has closed.
      teardown: (exit, onExit) =>
        Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) ? onExit(0) : Runtime.defaultTeardown(exit, onExit)
    })
  )
}
