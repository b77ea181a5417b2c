/**
 * The control panel of a local fleet (`FleetServer`, or the in-memory fleet of the test layer): seed machines, unit
 * states and units, reset, cut etcd off, make the next requests fail in chosen ways, and look at what happened.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
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
 * One request the local fleet received. `status` and `durationMillis` are set once it was answered (a `Reset` or
 * `Stall` fault, or a request still running, has neither); `fault` names the fault it acted out.
 *
 * @since 0.1.0
 * @category models
 */
export interface RequestRecord {
  readonly method: string
  readonly url: string
  /** The status code sent (since 0.2.0). */
  readonly status?: number | undefined
  /** When the request arrived, in milliseconds since the epoch, by the server's clock (since 0.2.0). */
  readonly receivedAt?: number | undefined
  /** Milliseconds from arrival to the answer (since 0.2.0). */
  readonly durationMillis?: number | undefined
  /** The fault acted out instead of fleet's answer (since 0.2.0). */
  readonly fault?: Fault["_tag"] | undefined
}

/**
 * Timing knobs of the simulated cluster, with defaults close to fleet's:
 *
 * - `reconcileInterval` (2 seconds, fleet's `engine_reconcile_interval`): the engine's periodic pass, which notices
 *   machines that joined or left and metadata changes. Unit changes are acted on at once, as fleet's watches do.
 * - `machineTtl` (30 seconds, fleet's `agent_ttl`): a machine that goes down disappears this long after its last
 *   heartbeat; its units are then moved by the next periodic pass.
 * - `unitStartTime` (0): how long a started unit stays `activating`/`start` before it is `active`/`running`.
 *
 * @since 0.2.0
 * @category models
 */
export interface Timing {
  readonly reconcileInterval?: Duration.Input | undefined
  readonly machineTtl?: Duration.Input | undefined
  readonly unitStartTime?: Duration.Input | undefined
}

/**
 * Where a unit fault happens: the machine running it (default: the machine it is scheduled to; a global unit needs
 * one).
 *
 * @since 0.2.0
 * @category models
 */
export interface UnitFaultOptions {
  readonly machineID?: string | undefined
}

/**
 * How a machine goes down: by default it stops heartbeating and disappears after the machine TTL (the engine then
 * moves its units on its next periodic pass); `immediately` makes it disappear, and its units move, at once.
 *
 * @since 0.2.0
 * @category models
 */
export interface MachineDownOptions {
  readonly immediately?: boolean | undefined
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
  /**
   * A machine goes down: it stops heartbeating and leaves the cluster after the machine TTL (or at once); its units
   * are then placed again as fleet's engine would. Fails for an unknown machine (since 0.2.0).
   */
  readonly machineDown: (id: string, options?: MachineDownOptions) => Effect.Effect<void, ValueError>
  /**
   * A machine joins, or comes back (by ID, with the metadata it had). It receives only units that wait for a machine;
   * fleet never rebalances (since 0.2.0).
   */
  readonly machineUp: (machine: string | Machine) => Effect.Effect<void, ValueError>
  /** Replaces a machine's metadata, as a change of its fleetd configuration would (since 0.2.0). */
  readonly setMachineMetadata: (
    id: string,
    metadata: Readonly<Record<string, string>>
  ) => Effect.Effect<void, ValueError>
  /**
   * The unit's process fails on its machine: systemd reports `failed`/`failed`. fleet does not restart it, and its
   * `currentState` stays as fleet derives it (`launched`) (since 0.2.0).
   */
  readonly failUnit: (name: string, options?: UnitFaultOptions) => Effect.Effect<void, ValueError>
  /** The unit's process exits on its own: systemd reports `inactive`/`dead`; fleet does not restart it (since 0.2.0). */
  readonly stopUnit: (name: string, options?: UnitFaultOptions) => Effect.Effect<void, ValueError>
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

const RequestRecordJson = Schema.Struct({
  method: Schema.String,
  url: Schema.String,
  status: Schema.optionalKey(Schema.Number),
  receivedAt: Schema.optionalKey(Schema.Number),
  durationMillis: Schema.optionalKey(Schema.Number),
  fault: Schema.optionalKey(Schema.Literals(["Unavailable", "Status", "Reset", "Truncate", "Stall", "InvalidJson"]))
})

const decodeRequests = Schema.decodeUnknownSync(Schema.Array(RequestRecordJson))
const decodeCount = Schema.decodeUnknownSync(Schema.Int)
const decodeSnapshot = Schema.decodeUnknownSync(Seed)
const encodeSeed = Schema.encodeSync(Seed)

/**
 * The control service of a local fleet in another process, over the control port of `effect-fleet serve
 * --control-port PORT` (or `FleetServer`'s `controlPort`): the same operations as in-process. A refused operation
 * fails with `ValueError` as in-process; a control server that cannot be reached, or answers something else, is a
 * defect.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { FleetControl } from "effect-fleet"
 *
 * const control = FleetControl.makeRemote("http://127.0.0.1:49154")
 * const program = Effect.gen(function* () {
 *   yield* control.machineDown("m1", { immediately: true })
 *   yield* control.setEtcdUnavailable(true)
 * })
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeRemote = (url: string): FleetControlService => {
  const base = url.endsWith("/") ? url : `${url}/`
  const call = (method: string, path: string, body?: unknown): Effect.Effect<unknown, ValueError> =>
    Effect.tryPromise({
      try: async (signal) => {
        const response = await fetch(new URL(path, base), {
          method,
          signal,
          ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } })
        })
        return { status: response.status, text: await response.text() }
      },
      catch: (cause) => new Error(`control server ${base} unreachable: ${String(cause)}`, { cause })
    }).pipe(
      Effect.orDie,
      Effect.flatMap(({ status, text }) => {
        const json: unknown = text === "" ? undefined : JSON.parse(text)
        if (status >= 200 && status < 300) return Effect.succeed(json)
        const message = (json as { error?: unknown } | undefined)?.error
        if (status === 400 && typeof message === "string") return Effect.fail(new ValueError({ message }))
        return Effect.die(new Error(`control server ${base} answered ${status} to ${method} /${path}: ${text}`))
      })
    )
  const unit = (name: string, action: string, options: UnitFaultOptions = {}) =>
    Effect.asVoid(call("POST", `units/${encodeURIComponent(name)}/${action}`, options))
  return {
    seed: (seed) => Effect.asVoid(call("POST", "seed", encodeSeed(seed))),
    reset: Effect.orDie(Effect.asVoid(call("POST", "reset"))),
    setEtcdUnavailable: (unavailable) => Effect.orDie(Effect.asVoid(call("PUT", "etcd-unavailable", unavailable))),
    setAgents: (agents) => Effect.orDie(Effect.asVoid(call("PUT", "agents", agents))),
    failNext: (count, fault) => Effect.orDie(Effect.asVoid(call("POST", "faults", { count, fault }))),
    requests: Effect.orDie(Effect.map(call("GET", "requests"), decodeRequests)),
    requestCount: Effect.orDie(Effect.map(call("GET", "requests/count"), decodeCount)),
    snapshot: Effect.orDie(
      Effect.map(call("GET", "snapshot"), (json) => {
        const seed = decodeSnapshot(json)
        return { units: seed.units ?? [], states: seed.states ?? [], machines: seed.machines ?? [] }
      })
    ),
    machineDown: (id, options = {}) =>
      Effect.asVoid(call("POST", `machines/${encodeURIComponent(id)}/down`, { ...options })),
    machineUp: (machine) =>
      Effect.asVoid(
        call(
          "POST",
          "machines/up",
          typeof machine === "string" ? { id: machine } : { machine: Schema.encodeSync(Machine)(machine) }
        )
      ),
    setMachineMetadata: (id, metadata) =>
      Effect.asVoid(call("PUT", `machines/${encodeURIComponent(id)}/metadata`, metadata)),
    failUnit: (name, options) => unit(name, "fail", options),
    stopUnit: (name, options) => unit(name, "stop", options)
  }
}

/**
 * {@link makeRemote} as a Layer: drive a `serve` process (or any local fleet with a control port) from a test.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { FleetControl } from "effect-fleet"
 *
 * const program = Effect.gen(function* () {
 *   const control = yield* FleetControl.FleetControl
 *   yield* control.failUnit("web.service")
 * }).pipe(Effect.provide(FleetControl.layerRemote("http://127.0.0.1:49154")))
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layerRemote = (url: string): Layer.Layer<FleetControl> => Layer.succeed(FleetControl, makeRemote(url))
