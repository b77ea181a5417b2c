/**
 * The control service over a local fleet, and the one way both doors create their fleet from options.
 *
 * @since 0.2.0
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import type { Agents, FleetControlService, Seed } from "../../FleetControl.ts"
import { ValueError } from "../../FleetError.ts"
import { LocalFleet } from "./localFleet.ts"

/**
 * The control service over `fleet`.
 *
 * @since 0.2.0
 * @internal
 */
export const makeControl = (fleet: LocalFleet): FleetControlService => ({
  seed: (seed) =>
    Effect.suspend(() => {
      const result = fleet.seed(seed)
      return Result.isFailure(result) ? Effect.fail(new ValueError({ message: result.failure })) : Effect.void
    }),
  reset: Effect.sync(() => fleet.reset()),
  setEtcdUnavailable: (unavailable) =>
    Effect.sync(() => {
      fleet.etcdUnavailable = unavailable
    }),
  setAgents: (agents) => Effect.sync(() => fleet.agents.setMode(agents)),
  failNext: (count, fault) => Effect.sync(() => fleet.faults.failNext(count, fault)),
  requests: Effect.sync(() => fleet.faults.requests),
  requestCount: Effect.sync(() => fleet.faults.requestCount),
  snapshot: Effect.sync(() => fleet.snapshot())
})

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
}

/**
 * A fresh local fleet, seeded, with its control service.
 *
 * @since 0.2.0
 * @internal
 */
export const makeLocal = (
  options: LocalOptions
): Effect.Effect<{ readonly fleet: LocalFleet; readonly control: FleetControlService }, ValueError> =>
  Effect.suspend(() => {
    const fleet = new LocalFleet({ tokenLimit: options.tokenLimit, agents: options.agents })
    const control = makeControl(fleet)
    const seeded = options.seed === undefined ? Effect.void : control.seed(options.seed)
    return Effect.as(seeded, { fleet, control })
  })
