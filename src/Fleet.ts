/**
 * The fleet client: every python-fleet operation as an Effect with typed failures, listings as lazy Streams, and
 * Layers that connect it to an endpoint (TCP, HTTPS, unix socket, SSH) or to any `HttpClient` you provide.
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
import { type Config, Context, Duration, Effect, Layer, Option, type Schedule, Schema, Stream } from "effect"
import { HttpBody, HttpClient, HttpClientRequest, type HttpClientResponse } from "effect/http"
import type { HttpClientError } from "effect/http/HttpClientError"
import * as Endpoint from "./Endpoint.ts"
import {
  APIError,
  type FleetError,
  invalidStateMessage,
  isTransient as isTransientError,
  TransportError,
  type TransportErrorReason,
  ValueError,
  type WaitTimeoutError
} from "./FleetError.ts"
import * as FleetTransport from "./FleetTransport.ts"
import { Machine, type MetadataOp, metadataPatchBody, validateMetadataOp } from "./Machine.ts"
import { type DesiredState, type FleetUnit, isDesiredState, Unit } from "./Unit.ts"
import { UnitState } from "./UnitState.ts"
import { withDeadline } from "./internal/client/deadline.ts"
import { classify } from "./internal/client/transport.ts"
import * as internalConfig from "./internal/client/config.ts"
import * as internalRetry from "./internal/client/retry.ts"
import * as internalWatch from "./internal/client/watch.ts"
import * as FleetSsh from "./FleetSsh.ts"
import type * as Ssh2 from "ssh2"

/**
 * One page of a listing, for callers who page by hand: the items and the token of the next page, if any.
 *
 * @since 0.1.0
 * @category models
 */
export interface Page<A> {
  readonly items: ReadonlyArray<A>
  readonly nextPageToken: string | undefined
}

/**
 * Filters for {@link listUnitStates}; each is sent only when given.
 *
 * @since 0.1.0
 * @category models
 */
export interface UnitStateFilter {
  readonly machineId?: string | undefined
  readonly unitName?: string | undefined
}

/**
 * The fleet client's operations.
 *
 * @since 0.1.0
 * @category models
 */
export interface FleetService {
  /** The base URL every API path is appended to. */
  readonly baseUrl: string
  /** PUT the unit's `desiredState` and `options` under `name`, then GET and return the created unit. */
  readonly createUnit: (name: string, unit: Unit) => Effect.Effect<FleetUnit, FleetError>
  /**
   * Ask fleet to move a unit to `inactive`, `loaded` or `launched`. Typed as a `DesiredState`; a plain string is
   * still accepted and any other state is refused with `ValueError` before anything is sent. Returns the unit as
   * fleet reports it afterwards.
   */
  readonly setUnitDesiredState: (
    unit: Unit | string,
    state: DesiredState | (string & {})
  ) => Effect.Effect<FleetUnit, FleetError>
  /** DELETE a unit. */
  readonly destroyUnit: (unit: Unit | string) => Effect.Effect<void, FleetError>
  /** GET one unit by name. */
  readonly getUnit: (name: string) => Effect.Effect<FleetUnit, FleetError>
  /** Every unit, sorted by name, fetched one page at a time as the stream is consumed. */
  readonly listUnits: () => Stream.Stream<FleetUnit, APIError | TransportError>
  /** One page of units. */
  readonly listUnitsPage: (pageToken?: string) => Effect.Effect<Page<FleetUnit>, APIError | TransportError>
  /** Every unit state (optionally of one machine and/or one unit), fetched one page at a time. */
  readonly listUnitStates: (filter?: UnitStateFilter) => Stream.Stream<UnitState, APIError | TransportError>
  /** One page of unit states. */
  readonly listUnitStatesPage: (
    filter?: UnitStateFilter & { readonly pageToken?: string | undefined }
  ) => Effect.Effect<Page<UnitState>, APIError | TransportError>
  /** Every machine of the cluster, fetched one page at a time. */
  readonly listMachines: () => Stream.Stream<Machine, APIError | TransportError>
  /** One page of machines. */
  readonly listMachinesPage: (pageToken?: string) => Effect.Effect<Page<Machine>, APIError | TransportError>
  /**
   * Edit machine metadata (`PATCH /fleet/v1/machines`): every op is checked against fleet's rules first (a bad one is
   * a `ValueError` and nothing is sent), then all are sent in one request, which fleet applies in order.
   */
  readonly patchMachineMetadata: (ops: ReadonlyArray<MetadataOp>) => Effect.Effect<void, FleetError>
}

/**
 * The fleet client as a service. Build it with {@link layer} (an endpoint string), {@link layerHttpClient} (any
 * `HttpClient`), or `FleetTest.layer` (an in-memory fleet for tests).
 *
 * @since 0.1.0
 * @category services
 */
export class Fleet extends Context.Service<Fleet, FleetService>()("effect-fleet/Fleet") {}

/**
 * Options of the client itself, whatever the transport.
 *
 * @since 0.1.0
 * @category models
 */
export interface ClientOptions {
  /** Bound on each request, from sending to the last byte of the response (default 60 seconds). */
  readonly timeout?: Duration.Input | undefined
  /**
   * A Schedule applied to transient failures (see `FleetError.isTransient`) of every request: refused, reset or timed
   * out connections, tunnel failures and 5xx answers (fleet's 503 while it cannot reach etcd above all). Default:
   * none, no automatic retries, like fleetctl, which never retries. {@link retrySchedule} is a ready one
   * (exponential backoff with jitter, at most 8 retries). Every fleet request is idempotent, except that a DELETE
   * whose answer was lost answers 404 on its retry: `destroyUnit` takes a 404 as success only after an attempt that
   * may have reached fleet (reset, timed out, 502/504), never on the first try or after a refused connection or a 503.
   */
  readonly retry?: Schedule.Schedule<unknown, FleetError> | undefined
  /** Check at layer build that the endpoint is a fleet v1 API (GET /fleet/v1/discovery). Default true. */
  readonly probe?: boolean | undefined
}

const defaultTimeout = Duration.seconds(60)

// python-fleet quotes with `safe=''`; encodeURIComponent leaves !'()* alone, so escape those too.
const encodeName = (name: string): string =>
  encodeURIComponent(name).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)

const FleetErrorBody = Schema.Struct({
  error: Schema.Struct({ code: Schema.Number, message: Schema.String })
})
const decodeErrorBody = Schema.decodeUnknownOption(FleetErrorBody)

const UnitsPage = Schema.Struct({
  units: Schema.optionalKey(Schema.Array(Unit)),
  nextPageToken: Schema.optionalKey(Schema.String)
})
const StatesPage = Schema.Struct({
  states: Schema.optionalKey(Schema.Array(UnitState)),
  nextPageToken: Schema.optionalKey(Schema.String)
})
const MachinesPage = Schema.Struct({
  machines: Schema.optionalKey(Schema.Array(Machine)),
  nextPageToken: Schema.optionalKey(Schema.String)
})
const decodeUnit = Schema.decodeUnknownEffect(Unit)
const decodeUnitsPage = Schema.decodeUnknownEffect(UnitsPage)
const decodeStatesPage = Schema.decodeUnknownEffect(StatesPage)
const decodeMachinesPage = Schema.decodeUnknownEffect(MachinesPage)

const describeBody = (text: string): string => {
  const flat = text.replace(/\s+/g, " ").trim()
  if (flat === "") return "an empty body"
  return flat.length > 120 ? `"${flat.slice(0, 120)}..."` : `"${flat}"`
}

/** fleet's own error JSON when the body is one, else a message that says what came back (an HTML 502, say). */
const apiError = (status: number, contentType: string | undefined, text: string): APIError => {
  try {
    const body = decodeErrorBody(JSON.parse(text))
    if (Option.isSome(body)) return new APIError({ code: status, message: body.value.error.message })
  } catch {
    // not JSON: described below
  }
  return new APIError({
    code: status,
    message:
      `fleet answered HTTP ${status} with a body that is not fleet's error JSON` +
      ` (${contentType ?? "no Content-Type"}): ${describeBody(text)}`
  })
}

/** Why one exchange failed before any fleet answer could be judged; `send` and `probe` word it differently. */
interface ExchangeFailure {
  readonly reason: TransportErrorReason
  readonly detail: string
  readonly cause?: unknown
}

const exchangeFailure = (error: HttpClientError, beforeResponse: boolean): ExchangeFailure => ({
  ...classify(error.reason.cause ?? error, beforeResponse),
  cause: error
})

/** One request and its whole body, within `timeout`: the one path every request of the client takes. */
const exchange = (
  client: HttpClient.HttpClient,
  request: HttpClientRequest.HttpClientRequest,
  timeout: Duration.Duration
): Effect.Effect<
  { readonly response: HttpClientResponse.HttpClientResponse; readonly text: string },
  ExchangeFailure
> =>
  withDeadline(
    client.execute(request).pipe(
      Effect.mapError((error) => exchangeFailure(error, true)),
      Effect.flatMap((response) =>
        Effect.map(
          Effect.mapError(response.text, (error) => exchangeFailure(error, false)),
          (text) => ({ response, text })
        )
      )
    ),
    timeout,
    (): ExchangeFailure => ({ reason: "Timeout", detail: `no complete response within ${Duration.format(timeout)}` })
  )

/**
 * Whether a failed attempt may still have been carried out by fleet: its answer was lost (reset, timed out, tunnel
 * dropped, garbled) or a proxy failed after forwarding it (502, 504). A refused connection or fleet's own 503 did
 * nothing.
 */
const mayHaveReachedFleet = (error: APIError | TransportError): boolean =>
  error._tag === "TransportError" ? error.reason !== "Connect" : error.code === 502 || error.code === 504

interface RawResponse {
  readonly status: number
  readonly text: string
}

interface RequestOptions {
  readonly urlParams?: Record<string, string> | undefined
  readonly body?: unknown
  /** DELETE under retry: a 404 after an attempt that may have reached fleet means that attempt did the work. */
  readonly notFoundOnRetryIsSuccess?: boolean
}

/**
 * Builds the client over the `HttpClient` in context, without probing the endpoint.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = Effect.fnUntraced(function* (options: ClientOptions & { readonly baseUrl: string }) {
  const client = yield* HttpClient.HttpClient
  const baseUrl = options.baseUrl.replace(/\/+$/, "")
  const timeout = options.timeout === undefined ? defaultTimeout : Duration.fromInputUnsafe(options.timeout)
  const retry = options.retry

  const send = (
    method: "GET" | "PUT" | "DELETE" | "PATCH",
    path: string,
    request: RequestOptions,
    attempt: number,
    mayHaveLanded: boolean
  ): Effect.Effect<RawResponse, APIError | TransportError> => {
    const label = `${method} ${path}`
    const httpRequest = HttpClientRequest.make(method)(baseUrl + path, {
      ...(request.urlParams !== undefined ? { urlParams: request.urlParams } : {}),
      ...(request.body !== undefined ? { body: HttpBody.text(JSON.stringify(request.body), "application/json") } : {})
    })
    // Annotated before sending so that a request that never gets an answer still says what it was.
    return Effect.annotateCurrentSpan({
      "http.request.method": method,
      "url.path": path,
      "fleet.retries": attempt - 1
    }).pipe(
      Effect.andThen(exchange(client, httpRequest, timeout)),
      Effect.mapError(
        ({ cause, detail, reason }) => new TransportError({ reason, message: `${label}: ${detail}`, cause })
      ),
      Effect.tap(({ response }) => Effect.annotateCurrentSpan("http.response.status_code", response.status)),
      Effect.flatMap(({ response, text }): Effect.Effect<RawResponse, APIError> => {
        const status = response.status
        if (status < 400) return Effect.succeed({ status, text })
        if (status === 404 && mayHaveLanded && request.notFoundOnRetryIsSuccess === true) {
          return Effect.succeed({ status: 204, text: "" })
        }
        return Effect.fail(apiError(status, response.headers["content-type"], text))
      })
    )
  }

  // `read` runs inside each attempt, so that a malformed body (a transient TransportError) is retried too.
  const request = <A = RawResponse>(
    method: "GET" | "PUT" | "DELETE" | "PATCH",
    path: string,
    options: RequestOptions = {},
    read?: (response: RawResponse) => Effect.Effect<A, TransportError>
  ): Effect.Effect<A, APIError | TransportError> => {
    const attemptOnce = (attempt: number, mayHaveLanded: boolean): Effect.Effect<A, APIError | TransportError> =>
      read === undefined
        ? (send(method, path, options, attempt, mayHaveLanded) as Effect.Effect<A, APIError | TransportError>)
        : Effect.flatMap(send(method, path, options, attempt, mayHaveLanded), read)
    if (retry === undefined) return attemptOnce(1, false)
    return Effect.suspend(() => {
      let attempt = 0
      let mayHaveLanded = false
      return Effect.suspend(() => attemptOnce(++attempt, mayHaveLanded)).pipe(
        Effect.tapError((error) =>
          Effect.sync(() => {
            mayHaveLanded ||= mayHaveReachedFleet(error)
          })
        ),
        Effect.retry({ schedule: retry, while: isTransientError })
      ) as Effect.Effect<A, APIError | TransportError>
    })
  }

  const decodeJson = <A, E>(
    label: string,
    text: string,
    decode: (u: unknown) => Effect.Effect<A, E>
  ): Effect.Effect<A, TransportError> =>
    Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: (cause) =>
        new TransportError({
          reason: "MalformedResponse",
          message: `${label}: the response is not valid JSON (${(cause as Error).message}): ${describeBody(text)}`,
          cause
        })
    }).pipe(
      Effect.flatMap(decode),
      Effect.mapError((cause) =>
        cause instanceof TransportError
          ? cause
          : new TransportError({
              reason: "MalformedResponse",
              message: `${label}: the response is not what fleet sends: ${String(cause)}`,
              cause
            })
      )
    )

  const requireName = (unit: Unit | string): Effect.Effect<string, ValueError> => {
    const name = typeof unit === "string" ? unit : unit.name
    return name === undefined || name === ""
      ? Effect.fail(new ValueError({ message: "unit name cannot be empty" }))
      : Effect.succeed(name)
  }

  // fleet always names the units it sends.
  const fetchUnit = (name: string): Effect.Effect<FleetUnit, APIError | TransportError> => {
    const path = `/fleet/v1/units/${encodeName(name)}`
    return request("GET", path, {}, ({ text }) => decodeJson(`GET ${path}`, text, decodeUnit)) as Effect.Effect<
      FleetUnit,
      APIError | TransportError
    >
  }

  const getUnit = Effect.fn("Fleet.getUnit")(function* (name: string) {
    yield* Effect.annotateCurrentSpan("fleet.unit", name)
    return yield* fetchUnit(yield* requireName(name))
  })

  const createUnit = Effect.fn("Fleet.createUnit")(function* (name: string, unit: Unit) {
    yield* Effect.annotateCurrentSpan("fleet.unit", name)
    yield* requireName(name)
    const desiredState = unit.desiredState ?? "launched"
    yield* request("PUT", `/fleet/v1/units/${encodeName(name)}`, {
      body: { desiredState, options: unit.options.map(({ name, section, value }) => ({ section, name, value })) }
    })
    return yield* fetchUnit(name)
  })

  const setUnitDesiredState = Effect.fn("Fleet.setUnitDesiredState")(function* (
    unit: Unit | string,
    state: DesiredState | (string & {})
  ) {
    const name = yield* requireName(unit)
    yield* Effect.annotateCurrentSpan({ "fleet.unit": name, "fleet.desiredState": state })
    if (!isDesiredState(state)) return yield* new ValueError({ message: invalidStateMessage })
    yield* request("PUT", `/fleet/v1/units/${encodeName(name)}`, { body: { desiredState: state } })
    return yield* fetchUnit(name)
  })

  const destroyUnit = Effect.fn("Fleet.destroyUnit")(function* (unit: Unit | string) {
    const name = yield* requireName(unit)
    yield* Effect.annotateCurrentSpan("fleet.unit", name)
    yield* request("DELETE", `/fleet/v1/units/${encodeName(name)}`, { notFoundOnRetryIsSuccess: true })
  })

  const page = <S, A>(
    path: string,
    decode: (u: unknown) => Effect.Effect<S, unknown>,
    items: (s: S) => ReadonlyArray<A> | undefined,
    urlParams: Record<string, string>,
    pageToken: string | undefined
  ): Effect.Effect<Page<A>, APIError | TransportError> => {
    const params = pageToken === undefined ? urlParams : { ...urlParams, nextPageToken: pageToken }
    return request("GET", path, { urlParams: params }, ({ text }) =>
      Effect.map(decodeJson(`GET ${path}`, text, decode), (s) => ({
        items: items(s) ?? [],
        nextPageToken: (s as { readonly nextPageToken?: string }).nextPageToken
      }))
    )
  }

  const paginate = <A>(
    fetch: (pageToken: string | undefined) => Effect.Effect<Page<A>, APIError | TransportError>
  ): Stream.Stream<A, APIError | TransportError> =>
    Stream.paginate(undefined as string | undefined, (token) =>
      Effect.map(fetch(token), (p) => [p.items, Option.fromUndefinedOr(p.nextPageToken)] as const)
    )

  const listUnitsPage = Effect.fn("Fleet.listUnitsPage")(
    (pageToken?: string) =>
      page("/fleet/v1/units", decodeUnitsPage, (s) => s.units, {}, pageToken) as Effect.Effect<
        Page<FleetUnit>,
        APIError | TransportError
      >
  )

  const stateParams = (filter: UnitStateFilter | undefined): Record<string, string> => ({
    ...(filter?.machineId !== undefined ? { machineID: filter.machineId } : {}),
    ...(filter?.unitName !== undefined ? { unitName: filter.unitName } : {})
  })

  const listUnitStatesPage = Effect.fn("Fleet.listUnitStatesPage")(
    (filter?: UnitStateFilter & { readonly pageToken?: string | undefined }) =>
      page("/fleet/v1/state", decodeStatesPage, (s) => s.states, stateParams(filter), filter?.pageToken)
  )

  const listMachinesPage = Effect.fn("Fleet.listMachinesPage")((pageToken?: string) =>
    page("/fleet/v1/machines", decodeMachinesPage, (s) => s.machines, {}, pageToken)
  )

  const patchMachineMetadata = Effect.fn("Fleet.patchMachineMetadata")(function* (ops: ReadonlyArray<MetadataOp>) {
    for (const op of ops) {
      const invalid = validateMetadataOp(op)
      if (invalid !== undefined) return yield* new ValueError({ message: invalid })
    }
    if (ops.length === 0) return
    yield* request("PATCH", "/fleet/v1/machines", { body: metadataPatchBody(ops) })
  })

  return Fleet.of({
    baseUrl,
    createUnit,
    setUnitDesiredState,
    destroyUnit,
    getUnit,
    listUnits: () => paginate(listUnitsPage),
    listUnitsPage,
    listUnitStates: (filter) => paginate((pageToken) => listUnitStatesPage({ ...filter, pageToken })),
    listUnitStatesPage,
    listMachines: () => paginate(listMachinesPage),
    listMachinesPage,
    patchMachineMetadata
  })
})

/**
 * Checks that `baseUrl` answers like fleet: GET /fleet/v1/discovery must return fleet's discovery document (or
 * fleet's own 503 while it cannot reach etcd, which is still fleet). Fails with python-fleet's `ValueError`s.
 *
 * @since 0.1.0
 * @category constructors
 */
export const probe = (
  baseUrl: string,
  endpoint: string = baseUrl,
  timeout: Duration.Input = defaultTimeout
): Effect.Effect<void, ValueError, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const client = yield* HttpClient.HttpClient
    const notFleet = new ValueError({
      message: `Connected to endpoint ${endpoint} but it is not a fleet v1 API endpoint`
    })
    const url = `${baseUrl.replace(/\/+$/, "")}/fleet/v1/discovery`
    const { response, text } = yield* exchange(
      client,
      HttpClientRequest.get(url),
      Duration.fromInputUnsafe(timeout)
    ).pipe(
      Effect.mapError(
        ({ detail }) => new ValueError({ message: `Unable to connect to endpoint ${endpoint}: ${detail}` })
      )
    )
    const status = response.status
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      return yield* notFleet
    }
    if (status === 200 && (body as { id?: unknown } | null)?.id === "fleet:v1") return
    if (status === 503) {
      const error = decodeErrorBody(body)
      if (Option.isSome(error) && error.value.error.message === "fleet server unable to communicate with etcd") {
        return
      }
    }
    return yield* notFleet
  })

/**
 * The client over the `HttpClient` you provide (with your own middleware, or a test client), probing the endpoint
 * first unless `probe: false`.
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
      if (options.probe !== false) yield* probe(options.baseUrl, options.endpoint, options.timeout)
      return yield* make(options)
    })
  )

/**
 * Options of {@link layer}: the client's, the connection pool's and, for `https://`, TLS settings.
 *
 * @since 0.1.0
 * @category models
 */
export interface LayerOptions extends ClientOptions, FleetTransport.TlsOptions, FleetTransport.PoolOptions {
  /**
   * Reach the endpoint through an SSH tunnel to `host`, `host:port` or `[ipv6]:port` (python-fleet's `ssh_tunnel`,
   * fleetctl's `--tunnel`): the endpoint is then as seen from the tunnel host, e.g. `unix:///var/run/fleet.sock`.
   */
  readonly sshTunnel?: string | undefined
  /** Options of the tunnel: username, timeout, known_hosts policy, keys; see `FleetSsh.Options`. */
  readonly ssh?: SshOptions | undefined
  /**
   * An SSH connection you configured, connected and own (python-fleet's `ssh_raw_transport`): requests go through
   * channels opened on it, `sshTunnel` and `ssh` are ignored, and the connection is never closed by this library.
   */
  readonly sshClient?: Ssh2.Client | undefined
}

/**
 * The SSH options of {@link layer}: everything of `FleetSsh.Options` but the tunnel host and the endpoint.
 *
 * @since 0.1.0
 * @category models
 */
export type SshOptions = Omit<FleetSsh.Options, "tunnel" | "endpoint" | "tls" | "connections" | "keepAliveTimeout">

const tlsOf = (options: FleetTransport.TlsOptions): FleetTransport.TlsOptions => ({
  ...(options.ca !== undefined ? { ca: options.ca } : {}),
  ...(options.cert !== undefined ? { cert: options.cert } : {}),
  ...(options.key !== undefined ? { key: options.key } : {}),
  ...(options.insecureSkipVerify !== undefined ? { insecureSkipVerify: options.insecureSkipVerify } : {}),
  ...(options.servername !== undefined ? { servername: options.servername } : {})
})

const transportOf = (
  endpoint: Endpoint.Endpoint,
  options: LayerOptions
): Layer.Layer<HttpClient.HttpClient, ValueError> => {
  const pool = {
    ...(options.connections !== undefined ? { connections: options.connections } : {}),
    ...(options.keepAliveTimeout !== undefined ? { keepAliveTimeout: options.keepAliveTimeout } : {})
  }
  if (options.sshClient !== undefined) {
    return FleetSsh.layerClient(options.sshClient, {
      ...pool,
      endpoint,
      tls: tlsOf(options),
      ...(options.ssh?.unixSocketMethod !== undefined ? { unixSocketMethod: options.ssh.unixSocketMethod } : {})
    })
  }
  if (options.sshTunnel !== undefined) {
    return FleetSsh.layer({ ...options.ssh, ...pool, tunnel: options.sshTunnel, endpoint, tls: tlsOf(options) })
  }
  return FleetTransport.layer(endpoint, options)
}

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
      layerHttpClient({ ...options, baseUrl: parsed.baseUrl, endpoint }).pipe(
        Layer.provide(transportOf(parsed, options))
      )
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
// Daemons: retries, watching, waiting, configuration
// -----------------------------------------------------------------------------

/**
 * Whether retrying may succeed: true for transport errors (refused, reset, timeout, tunnel) except those that will
 * repeat (permission denied, TLS verification failed), and for a 5xx `APIError`; false for other 4xx answers and for
 * `ValueError`. The same predicate as `FleetError.isTransient`.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isTransient: (error: unknown) => boolean = isTransientError

/**
 * Numbers of a retry schedule built by {@link makeRetrySchedule}.
 *
 * @since 0.1.0
 * @category models
 */
export type RetryScheduleOptions = internalRetry.RetryScheduleOptions

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
 * A change seen by {@link watchUnitStates}: a unit state that appeared (`Added`), one whose hash or systemd states
 * changed (`Changed`, with the `previous` state), or one that disappeared (`Removed`, with the last state seen).
 * A unit state is identified by its unit name and machine ID.
 *
 * @since 0.1.0
 * @category models
 */
export type UnitStateChange = internalWatch.UnitStateChange

/**
 * Constructors, `$is` and `$match` for {@link UnitStateChange}.
 *
 * @example
 * ```ts
 * import { Fleet } from "effect-fleet"
 *
 * const describe = Fleet.UnitStateChange.$match({
 *   Added: ({ state }) => `${state.name} appeared on ${state.machineID}`,
 *   Changed: ({ state, previous }) => `${state.name}: ${previous.systemdActiveState} -> ${state.systemdActiveState}`,
 *   Removed: ({ state }) => `${state.name} left ${state.machineID}`
 * })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const UnitStateChange = internalWatch.UnitStateChange

/**
 * Options of {@link watchUnitStates}: the polling interval, the filters of {@link listUnitStates}, and the schedule
 * that retries a failed poll (default: {@link retrySchedule}'s backoff with no retry limit).
 *
 * @since 0.1.0
 * @category models
 */
export type WatchOptions = internalWatch.WatchOptions

/**
 * Watches unit states by polling the state listing every `interval`: the first poll emits every existing state as
 * `Added`, later polls emit only what changed (nothing changed, nothing emitted). A poll that fails transiently is
 * retried on the watch's schedule instead of surfacing as a gap; the stream fails only on a non-transient error or
 * when that schedule gives up.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import { Fleet } from "effect-fleet"
 *
 * const log = Fleet.watchUnitStates({ interval: "1 second" }).pipe(
 *   Stream.runForEach((change) => Effect.log(change._tag, change.state.name, change.state.systemdActiveState))
 * )
 * ```
 *
 * @since 0.1.0
 * @category watching
 */
export const watchUnitStates = (
  options: WatchOptions
): Stream.Stream<UnitStateChange, APIError | TransportError, Fleet> =>
  Stream.unwrap(Fleet.useSync((fleet) => internalWatch.watchUnitStates(fleet, options)))

/**
 * What {@link waitForUnit} observes at each poll: the unit (`undefined` when it does not exist) and its states.
 *
 * @since 0.1.0
 * @category models
 */
export type UnitStatus = internalWatch.UnitStatus

/**
 * Options of {@link waitForUnit}: how long to wait in all, and how often to look (default 250 ms, like fleetctl).
 *
 * @since 0.1.0
 * @category models
 */
export type WaitOptions = internalWatch.WaitOptions

/**
 * Whether a unit has reached a desired state, as fleetctl's blocking `start`/`load`/`unload` judge it: its
 * `currentState` (for a global unit, its `desiredState`) equals the target and, for `launched`, its unit state
 * reports systemd `active`. A unit that does not exist has reached nothing, not even `inactive`.
 *
 * @since 0.1.0
 * @category predicates
 */
export const hasReached: (target: DesiredState) => (status: UnitStatus) => boolean = internalWatch.hasReached

/**
 * Waits until a unit reaches a desired state (see {@link hasReached}) or satisfies a predicate, polling every
 * `interval`; the analogue of fleetctl's blocking start and stop. A unit that does not exist does not count as
 * `inactive`: wait for `(status) => status.unit === undefined` to wait for its removal. Transient failures are
 * waited out. Fails with `WaitTimeoutError` (whose message says the last state seen) when `timeout` passes, with
 * `APIError` on a non-transient answer, with `ValueError` for an empty name.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Fleet, Unit } from "effect-fleet"
 *
 * const start = Effect.gen(function*() {
 *   yield* Fleet.setUnitDesiredState("web@1.service", "launched")
 *   yield* Fleet.waitForUnit("web@1.service", "launched", { timeout: "1 minute" })
 * })
 * ```
 *
 * @since 0.1.0
 * @category watching
 */
export const waitForUnit = (
  name: string,
  target: DesiredState | ((status: UnitStatus) => boolean),
  options: WaitOptions
): Effect.Effect<UnitStatus, WaitTimeoutError | APIError | ValueError, Fleet> =>
  Fleet.use((fleet) => internalWatch.waitForUnit(fleet, name, target, options))

/**
 * fleetctl's environment variables as read by {@link layerConfig}; durations are fleetctl's seconds converted.
 *
 * @since 0.1.0
 * @category models
 */
export type FleetctlConfig = internalConfig.FleetctlConfig

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
  Layer.unwrap(
    Effect.gen(function* () {
      const config = yield* internalConfig.fleetctlConfig
      const tls = yield* internalConfig.readTls(config)
      const clientOptions: LayerOptions = {
        ...options,
        ...tls,
        ...(config.requestTimeout !== undefined ? { timeout: config.requestTimeout } : {})
      }
      if (config.tunnel === undefined) return layer(config.endpoint, clientOptions)
      return layer(config.endpoint, {
        ...clientOptions,
        sshTunnel: config.tunnel,
        ssh: {
          ...options.ssh,
          ...(config.sshUsername !== undefined ? { username: config.sshUsername } : {}),
          ...(config.sshTimeout !== undefined ? { timeout: config.sshTimeout } : {}),
          ...(config.knownHostsFile !== undefined ? { knownHostsFile: config.knownHostsFile } : {}),
          ...(config.strictHostKeyChecking !== undefined
            ? { strictHostKeyChecking: config.strictHostKeyChecking }
            : {}),
          // SSH_AUTH_SOCK is the environment's default, not a fleetctl flag: an explicit `ssh.agent` wins
          ...(config.sshAuthSock !== undefined && options.ssh?.agent === undefined ? { agent: config.sshAuthSock } : {})
        }
      })
    })
  )
