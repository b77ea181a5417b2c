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
import { Context, Duration, Effect, Layer, Option, type Schedule, Schema, Stream } from "effect"
import { HttpBody, HttpClient, HttpClientRequest } from "effect/http"
import type { HttpClientError } from "effect/http/HttpClientError"
import * as Endpoint from "./Endpoint.ts"
import {
  APIError,
  type FleetError,
  invalidStateMessage,
  isTransient,
  TransportError,
  ValueError
} from "./FleetError.ts"
import * as FleetTransport from "./FleetTransport.ts"
import { Machine } from "./Machine.ts"
import { isDesiredState, Unit } from "./Unit.ts"
import { UnitState } from "./UnitState.ts"
import { classify } from "./internal/transport.ts"

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
  readonly createUnit: (name: string, unit: Unit) => Effect.Effect<Unit, FleetError>
  /**
   * Ask fleet to move a unit to `inactive`, `loaded` or `launched`; any other state is refused with `ValueError`
   * before anything is sent. Returns the unit as fleet reports it afterwards.
   */
  readonly setUnitDesiredState: (unit: Unit | string, state: string) => Effect.Effect<Unit, FleetError>
  /** DELETE a unit. */
  readonly destroyUnit: (unit: Unit | string) => Effect.Effect<void, FleetError>
  /** GET one unit by name. */
  readonly getUnit: (name: string) => Effect.Effect<Unit, FleetError>
  /** Every unit, sorted by name, fetched one page at a time as the stream is consumed. */
  readonly listUnits: () => Stream.Stream<Unit, APIError | TransportError>
  /** One page of units. */
  readonly listUnitsPage: (pageToken?: string) => Effect.Effect<Page<Unit>, APIError | TransportError>
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
   * A Schedule applied to transient failures (see `FleetError.isTransient`) of every request. Default: none, like
   * fleetctl, which never retries.
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

interface RawResponse {
  readonly status: number
  readonly text: string
}

interface RequestOptions {
  readonly urlParams?: Record<string, string> | undefined
  readonly body?: unknown
  /** DELETE under retry: a 404 on a retry means an earlier attempt succeeded and its answer was lost. */
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
    method: "GET" | "PUT" | "DELETE",
    path: string,
    request: RequestOptions,
    attempt: number
  ): Effect.Effect<RawResponse, APIError | TransportError> => {
    const url = baseUrl + path
    const label = `${method} ${path}`
    const transportError = (error: HttpClientError, beforeResponse: boolean) => {
      const { detail, reason } = classify(error.reason.cause ?? error, beforeResponse)
      return new TransportError({ reason, message: `${label}: ${detail}`, cause: error })
    }
    const httpRequest = HttpClientRequest.make(method)(url, {
      ...(request.urlParams !== undefined ? { urlParams: request.urlParams } : {}),
      ...(request.body !== undefined ? { body: HttpBody.text(JSON.stringify(request.body), "application/json") } : {})
    })
    return client.execute(httpRequest).pipe(
      Effect.mapError((error) => transportError(error, true)),
      Effect.flatMap((response) =>
        Effect.map(
          Effect.mapError(response.text, (error) => transportError(error, false)),
          (text) => ({ response, text })
        )
      ),
      Effect.timeoutOrElse({
        duration: timeout,
        orElse: () =>
          Effect.fail(
            new TransportError({
              reason: "Timeout",
              message: `${label}: no complete response within ${Duration.format(timeout)}`
            })
          )
      }),
      Effect.flatMap(({ response, text }): Effect.Effect<RawResponse, APIError> => {
        const status = response.status
        if (status < 400) return Effect.succeed({ status, text })
        if (status === 404 && attempt > 1 && request.notFoundOnRetryIsSuccess === true) {
          return Effect.succeed({ status: 204, text: "" })
        }
        return Effect.fail(apiError(status, response.headers["content-type"], text))
      }),
      Effect.tap(({ status }) =>
        Effect.annotateCurrentSpan({
          "http.request.method": method,
          "url.path": path,
          "http.response.status_code": status,
          "fleet.retries": attempt - 1
        })
      )
    )
  }

  const request = (
    method: "GET" | "PUT" | "DELETE",
    path: string,
    options: RequestOptions = {}
  ): Effect.Effect<RawResponse, APIError | TransportError> => {
    if (retry === undefined) return send(method, path, options, 1)
    return Effect.suspend(() => {
      let attempt = 0
      return Effect.suspend(() => send(method, path, options, ++attempt)).pipe(
        Effect.retry({ schedule: retry, while: isTransient })
      ) as Effect.Effect<RawResponse, APIError | TransportError>
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

  const fetchUnit = (name: string) => {
    const path = `/fleet/v1/units/${encodeName(name)}`
    return Effect.flatMap(request("GET", path), ({ text }) => decodeJson(`GET ${path}`, text, decodeUnit))
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

  const setUnitDesiredState = Effect.fn("Fleet.setUnitDesiredState")(function* (unit: Unit | string, state: string) {
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
    return Effect.flatMap(request("GET", path, { urlParams: params }), ({ text }) =>
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

  const listUnitsPage = Effect.fn("Fleet.listUnitsPage")((pageToken?: string) =>
    page("/fleet/v1/units", decodeUnitsPage, (s) => s.units, {}, pageToken)
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
    listMachinesPage
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
    const { status, text } = yield* client.get(`${baseUrl.replace(/\/+$/, "")}/fleet/v1/discovery`).pipe(
      Effect.flatMap((response) => Effect.map(response.text, (text) => ({ status: response.status, text }))),
      Effect.mapError(
        (error) =>
          new ValueError({
            message: `Unable to connect to endpoint ${endpoint}: ${classify(error.reason.cause ?? error, true).detail}`
          })
      ),
      Effect.timeoutOrElse({
        duration: timeout,
        orElse: () =>
          Effect.fail(
            new ValueError({
              message: `Unable to connect to endpoint ${endpoint}: no answer within ${Duration.format(
                Duration.fromInputUnsafe(timeout)
              )}`
            })
          )
      })
    )
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
export interface LayerOptions extends ClientOptions, FleetTransport.TlsOptions, FleetTransport.PoolOptions {}

/**
 * Connects to fleet at an endpoint, the analogue of python-fleet's `Client(endpoint)`: `http://host:port[/prefix]`,
 * `https://...`, `http+unix://%2Fvar%2Frun%2Ffleet.sock` or `unix:///var/run/fleet.sock`. Building the layer probes
 * the endpoint; an unreachable endpoint or one that is not fleet fails with `ValueError`.
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
        Layer.provide(FleetTransport.layer(parsed, options))
      )
    )
  )

/**
 * Creates a unit and returns it as fleet reports it. See {@link FleetService.createUnit}.
 *
 * @since 0.1.0
 * @category accessors
 */
export const createUnit = (name: string, unit: Unit): Effect.Effect<Unit, FleetError, Fleet> =>
  Fleet.use((fleet) => fleet.createUnit(name, unit))

/**
 * Sets a unit's desired state (`inactive`, `loaded` or `launched`). See {@link FleetService.setUnitDesiredState}.
 *
 * @since 0.1.0
 * @category accessors
 */
export const setUnitDesiredState = (unit: Unit | string, state: string): Effect.Effect<Unit, FleetError, Fleet> =>
  Fleet.use((fleet) => fleet.setUnitDesiredState(unit, state))

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
export const getUnit = (name: string): Effect.Effect<Unit, FleetError, Fleet> =>
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
export const listUnits = (): Stream.Stream<Unit, APIError | TransportError, Fleet> =>
  Stream.unwrap(Fleet.useSync((fleet) => fleet.listUnits()))

/**
 * One page of units.
 *
 * @since 0.1.0
 * @category accessors
 */
export const listUnitsPage = (pageToken?: string): Effect.Effect<Page<Unit>, APIError | TransportError, Fleet> =>
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
