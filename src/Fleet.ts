/**
 * The fleet client: every python-fleet operation as an Effect with typed failures, listings as lazy Streams, and
 * Layers that connect it to an endpoint (TCP, HTTPS, unix socket, SSH) or to any `HttpClient` you provide. How a
 * request travels lives in `internal/client/request.ts`, how an endpoint becomes a transport in
 * `internal/client/connect.ts`; watching and waiting are in `FleetWatch`.
 *
 * Why it is a little over 450 lines: it is only the public face users reach as `Fleet.x` (the service, its layers,
 * one accessor per operation, the retry and fleetctl-config exports), and most of its lines are their JSDoc; the
 * logic behind each is a one-line call into `internal/client/`.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import { Fleet, Unit } from "effect-fleet"
 *
 * const program = Effect.gen(function*() {
 *   const unit = yield* Unit.fromString("[Service]\nExecStart=/usr/bin/sleep 1d\n")
 *   yield* Fleet.createUnit("sleep.service", unit)
 *   const names = yield* Fleet.listUnits().pipe(Stream.map((u) => u.name), Stream.runCollect)
 * })
 *
 * program.pipe(Effect.provide(Fleet.layer("unix:///var/run/fleet.sock")))
 * ```
 *
 * @since 0.1.0
 */
import type * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import type * as HttpClient from "effect/http/HttpClient"
import * as Endpoint from "./Endpoint.ts"
import { type APIError, type FleetError, type TransportError, ValueError } from "./FleetError.ts"
import type { Machine, MetadataOp } from "./Machine.ts"
import type { DesiredState, FleetUnit, Unit } from "./Unit.ts"
import type { UnitState } from "./UnitState.ts"
import * as Connect from "./internal/client/connect.ts"
import * as Lazy from "./internal/client/lazy.ts"
import * as Operations from "./internal/client/operations.ts"
import { hasCredentials, redactUrl } from "./internal/client/redact.ts"
import * as Request from "./internal/client/request.ts"
import * as Send from "./internal/client/send.ts"
import * as internalConfig from "./internal/client/config.ts"
import * as internalRetry from "./internal/client/retry.ts"
import type * as Options from "./FleetOptions.ts"

/**
 * One page of a listing, for callers who page by hand: the items and the token of the next page, if any.
 *
 * @since 0.1.0
 * @category models
 */
export type Page<A> = Options.Page<A>

/**
 * Filters for {@link listUnitStates}: `machineId` and `unitName`, each sent only when given.
 *
 * @since 0.1.0
 * @category models
 */
export type UnitStateFilter = Options.UnitStateFilter

/**
 * The fleet client's operations.
 *
 * @since 0.1.0
 * @category models
 */
export type FleetService = Options.FleetService

/**
 * The fleet client as a service. Build it with {@link layer} (an endpoint string), {@link layerHttpClient} (any
 * `HttpClient`), or `FleetTest.layer` (an in-memory fleet for tests).
 *
 * @since 0.1.0
 * @category services
 */
export class Fleet extends Context.Service<Fleet, FleetService>()("effect-fleet/Fleet") {}

/**
 * Options of the client itself, whatever the transport: `timeout` (each request, default 60 seconds), `retry` (a
 * Schedule for transient failures, none by default; see {@link retrySchedule}), `probe` (check the endpoint when
 * the layer is built, default true) and `maxResponseBytes` (the largest response body accepted, default 32 MiB).
 *
 * @since 0.1.0
 * @category models
 */
export type ClientOptions = Options.ClientOptions

/**
 * Options of {@link layer}: the client's, the connection pool's, for `https://` TLS settings, and for SSH
 * `sshTunnel`, `ssh` or `sshClient`.
 *
 * @since 0.1.0
 * @category models
 */
export type LayerOptions = Options.LayerOptions

/**
 * The SSH options of {@link layer}: everything of `FleetSsh.Options` but the tunnel host and the endpoint.
 *
 * @since 0.1.0
 * @category models
 */
export type SshOptions = Options.SshOptions

const defaultTimeout = Duration.seconds(60)

interface Settings extends Request.PipelineOptions {
  readonly maxResponseBytes: number
}

const settingsOf = (options: ClientOptions & { readonly baseUrl: string }): Effect.Effect<Settings, ValueError> => {
  const maxResponseBytes = options.maxResponseBytes ?? Send.defaultMaxResponseBytes
  if (!Number.isSafeInteger(maxResponseBytes) || maxResponseBytes <= 0) {
    return Effect.fail(
      new ValueError({ message: `maxResponseBytes must be a positive whole number of bytes, not ${maxResponseBytes}` })
    )
  }
  return Effect.succeed({
    baseUrl: options.baseUrl.replace(/\/+$/, ""),
    timeout: options.timeout === undefined ? defaultTimeout : Duration.fromInputUnsafe(options.timeout),
    retry: options.retry,
    maxResponseBytes
  })
}

const checkEndpoint = (
  send: Send.Send,
  baseUrl: string,
  endpoint: string,
  timeout: Duration.Duration
): Effect.Effect<void, ValueError> => {
  const shown = redactUrl(endpoint)
  return Request.probe(send, baseUrl, timeout).pipe(
    Effect.mapError((detail) => new ValueError({ message: `Unable to connect to endpoint ${shown}: ${detail}` })),
    Effect.flatMap((isFleet) =>
      isFleet
        ? Effect.void
        : Effect.fail(
            new ValueError({ message: `Connected to endpoint ${shown} but it is not a fleet v1 API endpoint` })
          )
    )
  )
}

/**
 * `Send` over the `HttpClient` in context. Effect's HTTP client modules are loaded here, on first use, so that
 * importing `Fleet` (and `Fleet.layer`, which sends on undici directly) never loads them.
 */
const overHttpClient: Effect.Effect<(maxResponseBytes: number) => Send.Send, never, HttpClient.HttpClient> =
  Effect.flatMap(Lazy.overHttpClient, ({ HttpClient, sendWith }) =>
    Effect.map(Effect.service(HttpClient), (client) => (maxResponseBytes: number) => sendWith(client, maxResponseBytes))
  )

/**
 * Builds the client over the `HttpClient` in context, without probing the endpoint. An invalid `maxResponseBytes`
 * fails with `ValueError`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: ClientOptions & { readonly baseUrl: string }
): Effect.Effect<FleetService, ValueError, HttpClient.HttpClient> =>
  Effect.flatMap(settingsOf(options), (settings) =>
    Effect.map(overHttpClient, (sendFor) =>
      Fleet.of(
        Operations.make(
          Request.makePipeline(sendFor(settings.maxResponseBytes), { ...settings, transportTraces: true })
        )
      )
    )
  )

/**
 * Checks that `baseUrl` answers like fleet: GET /fleet/v1/discovery must return fleet's discovery document (or
 * fleet's own 503 while it cannot reach etcd, which is still fleet). Fails with python-fleet's `ValueError`s, which
 * name `endpoint` with anything between `//` and the last `@` shown as `***`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const probe = (
  baseUrl: string,
  endpoint: string = baseUrl,
  timeout: Duration.Input = defaultTimeout
): Effect.Effect<void, ValueError, HttpClient.HttpClient> =>
  Effect.flatMap(overHttpClient, (sendFor) =>
    checkEndpoint(
      sendFor(Send.defaultMaxResponseBytes),
      baseUrl.replace(/\/+$/, ""),
      endpoint,
      Duration.fromInputUnsafe(timeout)
    )
  )

/**
 * The client over the `HttpClient` you provide (with your own middleware, or a test client), probing the endpoint
 * first unless `probe: false`. A `baseUrl` with credentials (`http://user:password@host`) fails with a `ValueError`
 * that shows them as `***`: the HTTP client would not send them, and would repeat them in its errors.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerHttpClient = (
  options: ClientOptions & { readonly baseUrl: string; readonly endpoint?: string }
): Layer.Layer<Fleet, ValueError, HttpClient.HttpClient> =>
  Layer.effect(
    Fleet,
    Effect.gen(function* () {
      // undici never sends URL credentials, and a request's URL ends up in its errors: refuse them outright.
      if (hasCredentials(options.baseUrl)) {
        return yield* new ValueError({
          message: `Invalid fleet base URL ${redactUrl(options.baseUrl)}: credentials in the URL are not supported`
        })
      }
      return yield* connected(options, yield* overHttpClient, true)
    })
  )

/** The client over a transport's `Send`, after the probe unless `probe: false`. */
const connected = (
  options: ClientOptions & { readonly baseUrl: string; readonly endpoint?: string },
  sendFor: (maxResponseBytes: number) => Send.Send,
  transportTraces: boolean
): Effect.Effect<FleetService, ValueError> =>
  Effect.gen(function* () {
    const settings = yield* settingsOf(options)
    const send = sendFor(settings.maxResponseBytes)
    if (options.probe !== false) {
      yield* checkEndpoint(send, settings.baseUrl, options.endpoint ?? options.baseUrl, settings.timeout)
    }
    return Fleet.of(Operations.make(Request.makePipeline(send, { ...settings, transportTraces })))
  })

/**
 * Connects to fleet at an endpoint, the analogue of python-fleet's `Client(endpoint)`: `http://host:port[/prefix]`,
 * `https://...`, `http+unix://%2Fvar%2Frun%2Ffleet.sock` or `unix:///var/run/fleet.sock`, directly or through an SSH
 * tunnel (`sshTunnel`, `ssh`) or an SSH connection you own (`sshClient`). Building the layer connects the tunnel and
 * probes the endpoint; an unreachable endpoint or one that is not fleet fails with `ValueError`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Fleet } from "effect-fleet"
 *
 * const unit = Fleet.getUnit("web@1.service").pipe(
 *   Effect.provide(Fleet.layer("http://127.0.0.1:49153", { timeout: "10 seconds" }))
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (endpoint: string, options: LayerOptions = {}): Layer.Layer<Fleet, ValueError> =>
  Layer.unwrap(
    Effect.map(Endpoint.parse(endpoint), (parsed) =>
      Layer.effect(
        Fleet,
        Effect.flatMap(Effect.service(Connect.Transport), (transport) =>
          connected({ ...options, baseUrl: parsed.baseUrl, endpoint }, transport.send, false)
        )
      ).pipe(Layer.provide(Connect.transport(parsed, options)))
    )
  )

/**
 * Creates a unit and returns it as fleet reports it. See {@link FleetService.createUnit}.
 *
 * @since 0.1.0
 * @category accessors
 */
export const createUnit = (name: string, unit: Unit): Effect.Effect<FleetUnit, FleetError, Fleet> =>
  Fleet.use((fleet) => fleet.createUnit(name, unit))

/**
 * Sets a unit's desired state (`inactive`, `loaded` or `launched`). See {@link FleetService.setUnitDesiredState}.
 *
 * @since 0.1.0
 * @category accessors
 */
export const setUnitDesiredState = (
  unit: Unit | string,
  state: DesiredState | (string & {})
): Effect.Effect<FleetUnit, FleetError, Fleet> => Fleet.use((fleet) => fleet.setUnitDesiredState(unit, state))

/**
 * Edits machine metadata with typed ops (fleet's `PATCH /fleet/v1/machines`, which neither fleetctl nor
 * python-fleet exposes). See {@link FleetService.patchMachineMetadata}.
 *
 * @example
 * ```ts
 * import { Fleet } from "effect-fleet"
 *
 * const tag = Fleet.patchMachineMetadata([
 *   { op: "add", machineId: "4f4d7a1b2c3d4e5f60718293a4b5c6d7", key: "role", value: "db" },
 *   { op: "remove", machineId: "4f4d7a1b2c3d4e5f60718293a4b5c6d7", key: "disk" }
 * ])
 * ```
 *
 * @since 0.2.0
 * @category accessors
 */
export const patchMachineMetadata = (ops: ReadonlyArray<MetadataOp>): Effect.Effect<void, FleetError, Fleet> =>
  Fleet.use((fleet) => fleet.patchMachineMetadata(ops))

/**
 * Destroys a unit.
 *
 * @since 0.1.0
 * @category accessors
 */
export const destroyUnit = (unit: Unit | string): Effect.Effect<void, FleetError, Fleet> =>
  Fleet.use((fleet) => fleet.destroyUnit(unit))

/**
 * Fetches one unit by name.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Fleet } from "effect-fleet"
 *
 * const program = Fleet.getUnit("web@1.service").pipe(
 *   Effect.catchTag("APIError", (error) => error.code === 404 ? Effect.succeed(undefined) : Effect.fail(error))
 * )
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const getUnit = (name: string): Effect.Effect<FleetUnit, FleetError, Fleet> =>
  Fleet.use((fleet) => fleet.getUnit(name))

/**
 * Every unit of the cluster, one page fetched at a time as the stream is pulled.
 *
 * @example
 * ```ts
 * import { Stream } from "effect"
 * import { Fleet } from "effect-fleet"
 *
 * const firstFive = Fleet.listUnits().pipe(Stream.take(5), Stream.runCollect)
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const listUnits = (): Stream.Stream<FleetUnit, APIError | TransportError, Fleet> =>
  Stream.unwrap(Fleet.useSync((fleet) => fleet.listUnits()))

/**
 * One page of units.
 *
 * @since 0.1.0
 * @category accessors
 */
export const listUnitsPage = (pageToken?: string): Effect.Effect<Page<FleetUnit>, APIError | TransportError, Fleet> =>
  Fleet.use((fleet) => fleet.listUnitsPage(pageToken))

/**
 * Every unit state, optionally of one machine and/or one unit.
 *
 * @since 0.1.0
 * @category accessors
 */
export const listUnitStates = (filter?: UnitStateFilter): Stream.Stream<UnitState, APIError | TransportError, Fleet> =>
  Stream.unwrap(Fleet.useSync((fleet) => fleet.listUnitStates(filter)))

/**
 * One page of unit states.
 *
 * @since 0.1.0
 * @category accessors
 */
export const listUnitStatesPage = (
  filter?: UnitStateFilter & { readonly pageToken?: string | undefined }
): Effect.Effect<Page<UnitState>, APIError | TransportError, Fleet> =>
  Fleet.use((fleet) => fleet.listUnitStatesPage(filter))

/**
 * Every machine of the cluster.
 *
 * @since 0.1.0
 * @category accessors
 */
export const listMachines = (): Stream.Stream<Machine, APIError | TransportError, Fleet> =>
  Stream.unwrap(Fleet.useSync((fleet) => fleet.listMachines()))

/**
 * One page of machines.
 *
 * @since 0.1.0
 * @category accessors
 */
export const listMachinesPage = (pageToken?: string): Effect.Effect<Page<Machine>, APIError | TransportError, Fleet> =>
  Fleet.use((fleet) => fleet.listMachinesPage(pageToken))

// -----------------------------------------------------------------------------
// Retries and configuration
// -----------------------------------------------------------------------------

/**
 * Numbers of a retry schedule built by {@link makeRetrySchedule}.
 *
 * @since 0.1.0
 * @category models
 */
export type RetryScheduleOptions = Options.RetryScheduleOptions

/**
 * A retry schedule with your own numbers: exponential backoff from `base` (default 100 ms) by `factor` (default 2),
 * capped at `maxDelay` (default 5 seconds) then jittered by ±20%, for at most `times` retries (default 8;
 * `Infinity` for no limit), and only while the failure is transient.
 *
 * @example
 * ```ts
 * import { Fleet } from "effect-fleet"
 *
 * const patient = Fleet.makeRetrySchedule({ base: "500 millis", maxDelay: "30 seconds", times: 20 })
 * const layer = Fleet.layer("http://127.0.0.1:49153", { retry: patient })
 * ```
 *
 * @since 0.1.0
 * @category retries
 */
export const makeRetrySchedule: (options?: RetryScheduleOptions) => Schedule.Schedule<Duration.Duration, FleetError> =
  internalRetry.makeRetrySchedule

/**
 * The ready retry schedule: exponential backoff from 100 ms, capped at 5 seconds, jittered, at most 8 retries, and
 * only for transient failures. The client does not retry unless you pass it (or another) as the `retry` option;
 * fleetctl never retries.
 *
 * @example
 * ```ts
 * import { Fleet } from "effect-fleet"
 *
 * const layer = Fleet.layer("unix:///var/run/fleet.sock", { retry: Fleet.retrySchedule })
 * ```
 *
 * @since 0.1.0
 * @category retries
 */
export const retrySchedule: Schedule.Schedule<Duration.Duration, FleetError> = internalRetry.retrySchedule

/**
 * fleetctl's environment variables as read by {@link layerConfig}; durations are fleetctl's seconds converted.
 *
 * @since 0.1.0
 * @category models
 */
export type FleetctlConfig = Options.FleetctlConfig

/**
 * The `Config` of fleetctl's variables: `FLEETCTL_ENDPOINT` (default `unix:///var/run/fleet.sock`),
 * `FLEETCTL_TUNNEL`, `FLEETCTL_SSH_USERNAME`, `FLEETCTL_SSH_TIMEOUT` and `FLEETCTL_REQUEST_TIMEOUT` (seconds, e.g.
 * `10` or `1.5`), `FLEETCTL_KNOWN_HOSTS_FILE`, `FLEETCTL_STRICT_HOST_KEY_CHECKING` (`true`, `false` or
 * `accept-new`), `FLEETCTL_CA_FILE`, `FLEETCTL_CERT_FILE`, `FLEETCTL_KEY_FILE`, and `SSH_AUTH_SOCK` (the
 * ssh-agent the tunnel authenticates with). A bad value is a `ConfigError` that names the variable.
 *
 * @since 0.1.0
 * @category configuration
 */
export const fleetctlConfig: Config.Config<FleetctlConfig> = internalConfig.fleetctlConfig

/**
 * Connects the way fleetctl does, from its environment variables (see {@link fleetctlConfig}) read through the
 * current `ConfigProvider`. The CA, certificate and key files are read when the layer is built (an unreadable one
 * is a `ValueError` naming it; the key is kept `Redacted`). With `FLEETCTL_TUNNEL` set, requests go through SSH to
 * the endpoint as seen from the tunnel host. `options` gives what no variable sets (`retry`, `probe`, the pool) and
 * defaults that a variable overrides (`timeout`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Fleet } from "effect-fleet"
 *
 * // FLEETCTL_ENDPOINT=http://10.0.0.5:49153 FLEETCTL_REQUEST_TIMEOUT=5 node daemon.ts
 * const FleetLive = Fleet.layerConfig({ retry: Fleet.retrySchedule })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (options: LayerOptions = {}): Layer.Layer<Fleet, ValueError | Config.ConfigError> =>
  Layer.unwrap(Effect.map(Connect.fromFleetctlConfig(options), (config) => layer(config.endpoint, config.options)))
