/**
 * The way to test programs that use effect-fleet: the `Fleet` service over an in-memory fleet, with no sockets.
 * Requests go through the real client (encoding, decoding, error mapping) and the real fleet wire protocol of the
 * local server (`FleetServer`), so a program sees exactly what it would see from fleet: the same status codes,
 * messages and paging. `FleetControl` comes with it, to seed machines, units and states and to make the next
 * request(s) fail, so retry logic can be tested too.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Fleet, FleetControl, FleetTest, Machine, Unit } from "effect-fleet"
 *
 * const program = Effect.gen(function*() {
 *   const control = yield* FleetControl.FleetControl
 *   yield* control.failNext(2, FleetControl.Fault.Unavailable)
 *   const unit = yield* Unit.fromString("[Service]\nExecStart=/usr/bin/sleep 1d\n")
 *   return yield* Fleet.createUnit("sleep.service", unit)
 * })
 *
 * const test = program.pipe(
 *   Effect.provide(FleetTest.layer({
 *     seed: { machines: [new Machine.Machine({ id: "m1", primaryIP: "10.0.0.1" })] },
 *     retry: Fleet.retrySchedule
 *   }))
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as HttpClient from "effect/http/HttpClient"
import * as Layer from "effect/Layer"
import * as Fleet from "./Fleet.ts"
import * as FleetControl from "./FleetControl.ts"
import type { ValueError } from "./FleetError.ts"
import { makeLocal } from "./internal/server/control.ts"
import { httpClient } from "./internal/server/memoryDoor.ts"

/**
 * What the in-memory fleet starts with and how it behaves.
 *
 * @since 0.2.0
 * @category models
 */
export interface FleetOptions {
  /** Initial machines, unit states and units, in fleet's JSON field names. */
  readonly seed?: FleetControl.Seed | undefined
  /** fleet's page size (default 100). */
  readonly tokenLimit?: number | undefined
  /** Simulated agents (default: on) schedule launched and loaded units onto the seeded machines. */
  readonly agents?: FleetControl.Agents | undefined
  /** Machines to start with, before the seed (default none; since 0.2.0). */
  readonly machines?: number | undefined
  /**
   * The simulated cluster's timing (fleet's defaults). Its time is Effect's `Clock`: under `TestClock`, a machine
   * that goes down leaves when the test adjusts the clock past the machine TTL (since 0.2.0).
   */
  readonly timing?: FleetControl.Timing | undefined
}

/**
 * Options of the in-memory fleet (seed, page size, simulated agents) and of the client over it (`retry`,
 * `timeout`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends Fleet.ClientOptions, FleetOptions {}

/** The base URL the in-memory client pretends to talk to; nothing listens there. */
const baseUrl = "http://fleet.test"

/**
 * A fresh in-memory fleet: an `HttpClient` that serves every request from it through fleet's wire protocol, without
 * a socket, and its control service. Faults queued with `FleetControl.failNext` are acted out: `Reset` fails the
 * request as a dropped connection, `Truncate` cuts the body short, `Stall` never answers. Use it to put your own
 * `HttpClient` middleware in front of the in-memory fleet (`Fleet.layerHttpClient`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { FleetTest } from "effect-fleet"
 *
 * const program = Effect.gen(function* () {
 *   const { control, httpClient } = yield* FleetTest.makeHttpClient({ tokenLimit: 10 })
 *   const response = yield* httpClient.get("http://fleet.test/fleet/v1/units")
 *   return [response.status, yield* control.requestCount]
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeHttpClient = (
  options: FleetOptions = {}
): Effect.Effect<
  { readonly httpClient: HttpClient.HttpClient; readonly control: FleetControl.FleetControlService },
  ValueError
> => Effect.map(makeLocal(options), ({ control, fleet }) => ({ httpClient: httpClient(fleet), control }))

/**
 * The `Fleet` service over a fresh in-memory fleet, plus its `FleetControl`. The fleet starts with `options.seed`
 * (machines, unit states, units in fleet's JSON field names) and is discarded with the layer. The other options are
 * fleet's page size and simulated agents, and the client's `retry` and `timeout`.
 *
 * @example
 * ```ts
 * import { it } from "@effect/vitest"
 * import { Effect } from "effect"
 * import { Fleet, FleetTest } from "effect-fleet"
 *
 * it.effect("reports a missing unit", () =>
 *   Effect.gen(function*() {
 *     const error = yield* Effect.flip(Fleet.getUnit("nope.service"))
 *     // error.code === 404, error.message === "unit does not exist"
 *   }).pipe(Effect.provide(FleetTest.layer()))
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<Fleet.Fleet | FleetControl.FleetControl, ValueError> =>
  Layer.unwrap(
    Effect.map(makeHttpClient(options), ({ control, httpClient }) =>
      Fleet.layerHttpClient({ ...options, baseUrl, probe: false }).pipe(
        Layer.provide(Layer.succeed(HttpClient.HttpClient, httpClient)),
        Layer.merge(Layer.succeed(FleetControl.FleetControl, control))
      )
    )
  )
