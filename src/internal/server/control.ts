/**
 * The control service over a local fleet, and the one way both doors create their fleet from options.
 *
 * @since 0.2.0
 * @internal
 */
import { createHash } from "node:crypto"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import type { Agents, FleetControlService, Seed, Timing } from "../../FleetControl.ts"
import { ValueError } from "../../FleetError.ts"
import { Machine } from "../../Machine.ts"
import { defaultTiming, type Timing as Millis } from "./agents.ts"
import { LocalFleet } from "./localFleet.ts"

const refused = (message: string | undefined): Effect.Effect<void, ValueError> =>
  message === undefined ? Effect.void : Effect.fail(new ValueError({ message }))

/**
 * The control service over `fleet`. Every operation first lets the simulated cluster catch up to the clock.
 *
 * @since 0.2.0
 * @internal
 */
export const makeControl = (fleet: LocalFleet): FleetControlService => {
  const now = <A>(f: () => A): Effect.Effect<A> =>
    Effect.sync(() => {
      fleet.advance()
      return f()
    })
  const checked = (f: () => string | undefined): Effect.Effect<void, ValueError> => Effect.flatMap(now(f), refused)
  return {
    seed: (seed) =>
      Effect.suspend(() => {
        fleet.advance()
        const result = fleet.seed(seed)
        return Result.isFailure(result) ? Effect.fail(new ValueError({ message: result.failure })) : Effect.void
      }),
    reset: now(() => fleet.reset()),
    setEtcdUnavailable: (unavailable) =>
      now(() => {
        fleet.etcdUnavailable = unavailable
      }),
    setAgents: (agents) => now(() => fleet.agents.setMode(agents)),
    failNext: (count, fault) => now(() => fleet.faults.failNext(count, fault)),
    requests: now(() => fleet.faults.requests),
    requestCount: now(() => fleet.faults.requestCount),
    snapshot: now(() => fleet.snapshot()),
    machineDown: (id, options = {}) => checked(() => fleet.agents.machineDown(id, options.immediately === true)),
    machineUp: (machine) =>
      checked(() =>
        fleet.agents.machineUp(
          typeof machine === "string"
            ? machine
            : { id: machine.id, primaryIP: machine.primaryIP, metadata: { ...machine.metadata } }
        )
      ),
    setMachineMetadata: (id, metadata) => checked(() => fleet.agents.setMetadata(id, metadata)),
    failUnit: (name, options = {}) => checked(() => fleet.agents.unitFault(name, options.machineID, "failed")),
    stopUnit: (name, options = {}) => checked(() => fleet.agents.unitFault(name, options.machineID, "stopped"))
  }
}

/**
 * What both doors take to create their fleet.
 *
 * @since 0.2.0
 * @internal
 */
export interface LocalOptions {
  readonly tokenLimit?: number | undefined
  readonly agents?: Agents | undefined
  readonly seed?: Seed | undefined
  /** Machines to start with, before the seed (default none). */
  readonly machines?: number | undefined
  readonly timing?: Timing | undefined
}

/**
 * `count` machines as fleet would list them: 32-hex-digit IDs (stable for a given count), and addresses from
 * 172.17.8.101 on, as fleet's Vagrant cluster has.
 *
 * @since 0.2.0
 * @internal
 */
export const makeMachines = (count: number): ReadonlyArray<Machine> =>
  Array.from(
    { length: count },
    (_, i) =>
      new Machine({
        id: createHash("sha256")
          .update(`effect-fleet machine ${i + 1}`)
          .digest("hex")
          .slice(0, 32),
        primaryIP: `172.17.${8 + Math.floor((100 + i) / 250)}.${((100 + i) % 250) + 1}`
      })
  )

const millis = (
  name: string,
  input: Duration.Input | undefined,
  fallback: number
): Effect.Effect<number, ValueError> => {
  if (input === undefined) return Effect.succeed(fallback)
  const duration = Duration.fromInput(input)
  if (duration._tag === "None" || !Duration.isFinite(duration.value)) {
    return Effect.fail(new ValueError({ message: `timing.${name} must be a finite duration` }))
  }
  return Effect.succeed(Duration.toMillis(duration.value))
}

/**
 * The timing knobs in milliseconds, fleet's defaults for those not given.
 *
 * @since 0.2.0
 * @internal
 */
export const timingMillis = (timing: Timing = {}): Effect.Effect<Millis, ValueError> =>
  Effect.all({
    reconcileInterval: millis("reconcileInterval", timing.reconcileInterval, defaultTiming.reconcileInterval),
    machineTtl: millis("machineTtl", timing.machineTtl, defaultTiming.machineTtl),
    unitStartTime: millis("unitStartTime", timing.unitStartTime, defaultTiming.unitStartTime)
  })

/**
 * A fresh local fleet on the current `Clock` (so `TestClock` drives its simulated time), seeded, with its control
 * service.
 *
 * @since 0.2.0
 * @internal
 */
export const makeLocal = (
  options: LocalOptions
): Effect.Effect<{ readonly fleet: LocalFleet; readonly control: FleetControlService }, ValueError> =>
  Effect.gen(function* () {
    const machines = options.machines ?? 0
    if (!Number.isSafeInteger(machines) || machines < 0) {
      return yield* new ValueError({ message: `machines must be a whole number, got ${machines}` })
    }
    const timing = yield* timingMillis(options.timing)
    const clock = yield* Clock.clockWith(Effect.succeed)
    const fleet = new LocalFleet({
      tokenLimit: options.tokenLimit,
      agents: options.agents,
      timing,
      clock: () => clock.currentTimeMillisUnsafe()
    })
    const control = makeControl(fleet)
    if (machines > 0) yield* control.seed({ machines: makeMachines(machines) })
    if (options.seed !== undefined) yield* control.seed(options.seed)
    return { fleet, control }
  })
