/**
 * A repair daemon: it keeps a set of units launched **and running**. fleet itself moves units off a machine that
 * is lost, but it never restarts a unit whose process failed or exited (its `currentState` stays `launched`; only
 * systemd's state says `failed`). So on every pass the daemon
 *
 * - creates units that are missing and relaunches units not asked to be launched;
 * - restarts, through fleet (desired state `loaded`, then `launched`, as `fleetctl stop` and `start` do), every
 *   unit whose state on its machine is `failed` or `inactive`;
 * - leaves alone units fleet cannot place right now (after a machine loss, say): fleet places them when a machine
 *   that fits comes back.
 *
 * Passes run at start, whenever `FleetWatch.watchUnitStates` reports a change to one of its units, and every `resync`.
 *
 * `node --conditions=effect-fleet-source examples/repairDaemon.ts` runs it. With `FLEETCTL_ENDPOINT` unset it
 * starts a local fleet of three machines and, to have something to repair, fails a unit, takes a machine down and
 * brings it back, over and over, through `FleetControl`. Point `FLEETCTL_CONTROL` at the control port of an
 * `effect-fleet serve --control-port PORT` to do the same to a server in another process.
 */
import { NodeRuntime } from "@effect/platform-node"
import { fileURLToPath } from "node:url"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Runtime from "effect/Runtime"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { Fleet, FleetControl, FleetServer, FleetWatch, Unit } from "effect-fleet"

const option = (section: string, name: string, value: string) => new Unit.UnitOption({ section, name, value })

/** Three web servers, never two on one machine. */
export const desiredUnits: ReadonlyMap<string, Unit.Unit> = new Map(
  ["web@1.service", "web@2.service", "web@3.service"].map((name) => [
    name,
    Unit.make({
      options: [
        option("Service", "ExecStart", "/usr/bin/python3 -m http.server 8080"),
        option("X-Fleet", "Conflicts", "web@*.service")
      ]
    })
  ])
)

/** What one pass did, in words. */
export type Repair = string

/** One pass: create, relaunch, restart. Returns what it changed. */
export const repair = (desired: ReadonlyMap<string, Unit.Unit>) =>
  Effect.gen(function* () {
    const units = new Map((yield* Stream.runCollect(Fleet.listUnits())).map((unit) => [unit.name ?? "", unit]))
    const states = yield* Stream.runCollect(Fleet.listUnitStates())
    const done: Array<Repair> = []
    for (const [name, unit] of desired) {
      const current = units.get(name)
      if (current === undefined) {
        yield* Fleet.createUnit(name, unit)
        done.push(`created ${name}`)
        continue
      }
      if (current.desiredState !== "launched") {
        yield* Fleet.setUnitDesiredState(name, "launched")
        done.push(`relaunched ${name}`)
        continue
      }
      // fleet reports the unit launched even when its process is gone: systemd's state on its machine tells.
      const state = states.find((s) => s.name === name && s.machineID === current.machineID)
      const active = state?.systemdActiveState
      if (current.machineID !== undefined && (active === "failed" || active === "inactive")) {
        yield* Fleet.setUnitDesiredState(name, "loaded")
        yield* Fleet.setUnitDesiredState(name, "launched")
        done.push(`restarted ${name} on ${current.machineID} (was ${active})`)
      }
    }
    if (done.length > 0) yield* Effect.log(`repaired: ${done.join(", ")}`)
    return done
  }).pipe(Effect.withSpan("repairDaemon.repair"))

/**
 * The daemon: a pass now, then on every change to one of its units and every `resync`. `onRepair` sees what each
 * pass did. A pass that fails (fleet unreachable past the retries) is logged; the next trigger tries again.
 */
export const repairDaemon = (
  desired: ReadonlyMap<string, Unit.Unit>,
  options: {
    readonly interval: `${number} millis` | `${number} seconds`
    readonly resync: `${number} millis` | `${number} seconds`
    readonly onRepair?: (done: ReadonlyArray<Repair>) => Effect.Effect<void>
  }
) => {
  const pass = repair(desired).pipe(
    Effect.tap((done) => (options.onRepair === undefined || done.length === 0 ? Effect.void : options.onRepair(done))),
    Effect.catch((error) => Effect.logWarning(`repair failed, will try again: ${error}`))
  )
  const triggers = Stream.merge(
    FleetWatch.watchUnitStates({ interval: options.interval }).pipe(
      Stream.filter((change) => desired.has(change.state.name))
    ),
    Stream.fromEffectSchedule(Effect.void, Schedule.spaced(options.resync))
  )
  return pass.pipe(Effect.andThen(triggers.pipe(Stream.runForEach(() => pass))))
}

// -----------------------------------------------------------------------------
// Running it
// -----------------------------------------------------------------------------

/** What a real cluster does to a daemon now and then: a unit fails, a machine is lost and comes back. */
export const chaos = Effect.gen(function* () {
  const control = yield* FleetControl.FleetControl
  const names = [...desiredUnits.keys()]
  let turn = 0
  const strike = Effect.gen(function* () {
    const { units } = yield* control.snapshot
    const victim = units.find((unit) => unit.name === names[turn % names.length])
    turn++
    if (victim?.machineID === undefined) return
    if (turn % 2 === 1) {
      yield* Effect.log(`(chaos) ${victim.name} fails on ${victim.machineID}`)
      yield* control.failUnit(victim.name!).pipe(Effect.ignore)
    } else {
      yield* Effect.log(`(chaos) machine ${victim.machineID} goes down for a while`)
      yield* control.machineDown(victim.machineID)
      yield* control.machineUp(victim.machineID).pipe(Effect.delay("45 seconds"), Effect.forkDetach)
    }
  })
  yield* strike.pipe(Effect.repeat(Schedule.spaced("20 seconds")), Effect.delay("5 seconds"))
})

const local = Layer.unwrap(
  Effect.sync(() => {
    const endpoint = process.env.FLEETCTL_ENDPOINT
    if (endpoint !== undefined && endpoint !== "") {
      const control = process.env.FLEETCTL_CONTROL
      const fleet = Fleet.layer(endpoint, { retry: Fleet.retrySchedule })
      return control === undefined ? fleet : Layer.merge(fleet, FleetControl.layerRemote(control))
    }
    return Layer.unwrap(
      Effect.gen(function* () {
        const server = yield* FleetServer.FleetServer
        yield* Effect.log(`no FLEETCTL_ENDPOINT: started a local fleet of three machines at ${server.url}`)
        return Fleet.layer(server.url, { retry: Fleet.retrySchedule })
      })
    ).pipe(Layer.provideMerge(FleetServer.layer({ port: 0, machines: 3 })))
  })
)

const main = Effect.gen(function* () {
  yield* Effect.log(`keeping ${[...desiredUnits.keys()].join(", ")} running (Ctrl-C to stop)`)
  const control = yield* Effect.serviceOption(FleetControl.FleetControl)
  if (control._tag === "Some")
    yield* Effect.forkScoped(Effect.provideService(chaos, FleetControl.FleetControl, control.value))
  yield* repairDaemon(desiredUnits, { interval: "500 millis", resync: "30 seconds" })
}).pipe(Effect.scoped, Effect.provide(local))

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main.pipe(
    NodeRuntime.runMain({
      teardown: (exit, onExit) =>
        Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) ? onExit(0) : Runtime.defaultTeardown(exit, onExit)
    })
  )
}
