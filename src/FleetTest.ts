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
 *   Effect.provide(FleetTest.layer(
 *     { machines: [new Machine.Machine({ id: "m1", primaryIP: "10.0.0.1" })] },
 *     { retry: Fleet.retrySchedule }
 *   ))
 * )
 * ```
 *
 * @since 0.1.0
 */
import { Effect, Layer } from "effect"
import { HttpClient, type HttpClientRequest, HttpClientResponse } from "effect/http"
import { HttpClientError, TransportError } from "effect/http/HttpClientError"
import * as Fleet from "./Fleet.ts"
import * as FleetControl from "./FleetControl.ts"
import type { ValueError } from "./FleetError.ts"
import * as App from "./internal/server/app.ts"
import { type Fault, Registry } from "./internal/server/registry.ts"

/**
 * Options of the in-memory fleet (page size, simulated agents) and of the client over it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends Fleet.ClientOptions {
  /** fleet's page size (default 100). */
  readonly tokenLimit?: number | undefined
  /** Simulated agents (default: on) schedule launched and loaded units onto the seeded machines. */
  readonly agents?: FleetControl.Agents | undefined
}

/** The base URL the in-memory client pretends to talk to; nothing listens there. */
const baseUrl = "http://fleet.test"

const decoder = new TextDecoder()

const connectionError = (code: string, message: string) => Object.assign(new Error(message), { code })

const transportFailure = (request: HttpClientRequest.HttpClientRequest, cause: unknown) =>
  new HttpClientError({ reason: new TransportError({ request, cause }) })

const headersOf = (request: HttpClientRequest.HttpClientRequest): Record<string, ReadonlyArray<string>> => {
  const headers: Record<string, ReadonlyArray<string>> = {}
  for (const [name, value] of Object.entries(request.headers)) headers[name] = [value]
  const contentType = request.body._tag === "Empty" ? undefined : request.body.contentType
  if (contentType !== undefined && headers["content-type"] === undefined) headers["content-type"] = [contentType]
  return headers
}

const bodyOf = (request: HttpClientRequest.HttpClientRequest): string => {
  switch (request.body._tag) {
    case "Uint8Array":
      return decoder.decode(request.body.body)
    case "Raw":
      return typeof request.body.body === "string" ? request.body.body : ""
    default:
      return ""
  }
}

const toResponse = (
  request: HttpClientRequest.HttpClientRequest,
  wire: App.WireResponse,
  truncate = false
): HttpClientResponse.HttpClientResponse => {
  const status = wire.status
  const headers = new Headers(wire.headers)
  if (!truncate) {
    const body = wire.body === "" || status === 204 || status === 304 ? null : wire.body
    return HttpClientResponse.fromWeb(request, new Response(body, { status, headers }))
  }
  // The first half of the body, then the connection drops, as a server that dies mid-response.
  const bytes = new TextEncoder().encode(wire.body === "" ? `{"units":[]}` : wire.body)
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes.subarray(0, Math.floor(bytes.length / 2)))
      controller.error(connectionError("ECONNRESET", "other side closed"))
    }
  })
  return HttpClientResponse.fromWeb(request, new Response(stream, { status: status === 204 ? 200 : status, headers }))
}

const actOut = (
  registry: Registry,
  fault: Fault | undefined,
  request: HttpClientRequest.HttpClientRequest,
  wire: App.WireRequest
): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError> => {
  if (fault === undefined) return Effect.succeed(toResponse(request, App.handle(registry, wire)))
  switch (fault._tag) {
    case "Unavailable":
      return Effect.succeed(toResponse(request, App.unavailable(wire)))
    case "Status":
      return Effect.succeed(toResponse(request, App.raw(wire, fault.status, fault.body, fault.contentType)))
    case "InvalidJson":
      return Effect.succeed(toResponse(request, App.invalidJson(wire)))
    case "Truncate":
      return Effect.succeed(toResponse(request, App.handle(registry, wire), true))
    case "Reset":
      return Effect.fail(transportFailure(request, connectionError("ECONNRESET", "socket hang up")))
    case "Stall":
      return Effect.never
  }
}

/**
 * An `HttpClient` that serves every request from the in-memory fleet `registry`, through fleet's wire protocol,
 * without a socket. Faults queued with `FleetControl.failNext` are acted out: `Reset` fails the request as a
 * dropped connection, `Truncate` cuts the body short, `Stall` never answers.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeHttpClient = (registry: Registry): HttpClient.HttpClient =>
  HttpClient.make((request, url) =>
    Effect.suspend(() => {
      const path = url.pathname + url.search
      const fault = registry.admit(request.method, path)
      return actOut(registry, fault, request, {
        method: request.method,
        url: path,
        headers: headersOf(request),
        body: bodyOf(request)
      })
    })
  )

/**
 * The `Fleet` service over a fresh in-memory fleet, plus its `FleetControl`. The layer's fleet starts with `seed`
 * (machines, unit states, units in fleet's JSON field names) and is discarded with the layer. Options: fleet's page
 * size and simulated agents, and the client's `retry` and `timeout`.
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
export const layer = (
  seed?: FleetControl.Seed,
  options: Options = {}
): Layer.Layer<Fleet.Fleet | FleetControl.FleetControl, ValueError> =>
  Layer.unwrap(
    Effect.gen(function* () {
      const registry = new Registry({ tokenLimit: options.tokenLimit, agents: options.agents })
      const control = FleetControl.make(registry)
      if (seed !== undefined) yield* control.seed(seed)
      const client = Layer.succeed(HttpClient.HttpClient, makeHttpClient(registry))
      return Fleet.layerHttpClient({ ...options, baseUrl, probe: false }).pipe(
        Layer.provide(client),
        Layer.merge(Layer.succeed(FleetControl.FleetControl, control))
      )
    })
  )
