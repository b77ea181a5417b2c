/**
 * The control panel of a local fleet (`FleetServer`, or the in-memory fleet of the test layer): seed machines, unit
 * states and units, reset, cut etcd off, make the next requests fail in chosen ways, and look at what happened.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { ValueError } from "./FleetError.ts"
import { Machine } from "./Machine.ts"
import { Unit } from "./Unit.ts"
import { UnitState } from "./UnitState.ts"

/**
 * A way for a request to go wrong, acted out by the server in place of fleet's answer:
 *
 * - `Unavailable`: fleet's `503 fleet server unable to communicate with etcd`.
 * - `Status`: any status and body (a proxy's HTML 502, say).
 * - `Reset`: the connection is destroyed before any response.
 * - `Truncate`: the response headers and part of the body are sent, then the connection is destroyed.
 * - `Stall`: no answer at all, ever (until the server closes).
 * - `InvalidJson`: a 200 whose body is not JSON.
 *
 * @since 0.1.0
 * @category models
 */
export type Fault =
  | { readonly _tag: "Unavailable" }
  | { readonly _tag: "Status"; readonly status: number; readonly body: string; readonly contentType: string }
  | { readonly _tag: "Reset" }
  | { readonly _tag: "Truncate" }
  | { readonly _tag: "Stall" }
  | { readonly _tag: "InvalidJson" }

/**
 * Constructors of {@link Fault}s.
 *
 * @example
 * ```ts
 * import { FleetControl } from "effect-fleet"
 *
 * const badGateway = FleetControl.Fault.Status(502, "<html>Bad Gateway</html>")
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const Fault: {
  readonly Unavailable: Fault
  readonly Reset: Fault
  readonly Truncate: Fault
  readonly Stall: Fault
  readonly InvalidJson: Fault
  readonly Status: (status: number, body: string, contentType?: string) => Fault
} = {
  Unavailable: { _tag: "Unavailable" },
  Reset: { _tag: "Reset" },
  Truncate: { _tag: "Truncate" },
  Stall: { _tag: "Stall" },
  InvalidJson: { _tag: "InvalidJson" },
  Status: (status: number, body: string, contentType = "text/html"): Fault => ({
    _tag: "Status",
    status,
    body,
    contentType
  })
}

/**
 * What the simulated agents do: `simulated` schedules loaded and launched units onto machines and publishes their
 * states; `off` leaves every unit unscheduled (`currentState: inactive`), as a fleet without agents does.
 *
 * @since 0.1.0
 * @category models
 */
export type Agents = "simulated" | "off"

/**
 * Seed data in fleet's own JSON field names: `{"machines":[...],"states":[...],"units":[...]}`.
 *
 * @since 0.1.0
 * @category models
 */
export const Seed = Schema.Struct({
  machines: Schema.optionalKey(Schema.Array(Machine)),
  states: Schema.optionalKey(Schema.Array(UnitState)),
  units: Schema.optionalKey(Schema.Array(Unit))
})

/**
 * @since 0.1.0
 * @category models
 */
export type Seed = typeof Seed.Type

/**
 * Decodes seed data from its JSON form (an already parsed value), failing with `ValueError`.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeSeed = (input: unknown): Effect.Effect<Seed, ValueError> =>
  Schema.decodeUnknownEffect(Seed)(input).pipe(
    Effect.mapError((error) => new ValueError({ message: `invalid seed: ${error.message}` }))
  )

/**
 * Decodes seed data from JSON text, failing with `ValueError`.
 *
 * @example
 * ```ts
 * import { FleetControl } from "effect-fleet"
 *
 * const seed = FleetControl.decodeSeedJson('{"machines":[{"id":"m1","primaryIP":"10.0.0.1"}]}')
 * ```
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeSeedJson = (text: string): Effect.Effect<Seed, ValueError> =>
  Effect.try({
    try: (): unknown => JSON.parse(text),
    catch: (error) =>
      new ValueError({ message: `invalid seed: ${error instanceof Error ? error.message : String(error)}` })
  }).pipe(Effect.flatMap(decodeSeed))

/**
 * One request the local fleet received.
 *
 * @since 0.1.0
 * @category models
 */
export interface RequestRecord {
  readonly method: string
  readonly url: string
}

/**
 * The local fleet's content, each list in fleet's order, units with their derived `currentState`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Snapshot {
  readonly units: ReadonlyArray<Unit>
  readonly states: ReadonlyArray<UnitState>
  readonly machines: ReadonlyArray<Machine>
}

/**
 * The operations of the control service.
 *
 * @since 0.1.0
 * @category models
 */
export interface FleetControlService {
  /** Adds machines, unit states and units (replacing those with the same key); agents then pick the units up. */
  readonly seed: (seed: Seed) => Effect.Effect<void, ValueError>
  /** Empties the fleet, the fault queue and the request log, and makes etcd reachable again. */
  readonly reset: Effect.Effect<void>
  /** While on, every request answers fleet's 503 `fleet server unable to communicate with etcd`. */
  readonly setEtcdUnavailable: (unavailable: boolean) => Effect.Effect<void>
  /** Switches the simulated agents on or off. */
  readonly setAgents: (agents: Agents) => Effect.Effect<void>
  /** Makes each of the next `count` requests act out `fault`. */
  readonly failNext: (count: number, fault: Fault) => Effect.Effect<void>
  /** Every request received so far, oldest first. */
  readonly requests: Effect.Effect<ReadonlyArray<RequestRecord>>
  /** How many requests were received so far. */
  readonly requestCount: Effect.Effect<number>
  /** The fleet's units, unit states and machines. */
  readonly snapshot: Effect.Effect<Snapshot>
}

/**
 * Controls a local fleet. Provided by `FleetServer.layer` and by `FleetTest.layer`, each over its own fleet.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { FleetControl, Machine } from "effect-fleet"
 *
 * const program = Effect.gen(function* () {
 *   const control = yield* FleetControl.FleetControl
 *   yield* control.seed({ machines: [new Machine.Machine({ id: "m1", primaryIP: "10.0.0.1" })] })
 *   yield* control.failNext(1, FleetControl.Fault.Unavailable)
 * })
 * ```
 *
 * @since 0.1.0
 * @category services
 */
export class FleetControl extends Context.Service<FleetControl, FleetControlService>()("effect-fleet/FleetControl") {}
