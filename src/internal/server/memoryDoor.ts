/**
 * The in-memory door of the local fleet: an `HttpClient` whose requests never touch a socket. Each request is turned
 * into the wire request a socket would have delivered, answered by the app, and its plan acted out as a web
 * `Response` (or a failure, or never).
 *
 * @since 0.2.0
 * @internal
 */
import * as Effect from "effect/Effect"
import * as HttpClient from "effect/http/HttpClient"
import { HttpClientError, TransportError } from "effect/http/HttpClientError"
import type * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as App from "./app.ts"
import * as GoString from "../goString.ts"
import type { Cut } from "./faults.ts"
import type { LocalFleet } from "./localFleet.ts"
import { error, type WireResponse } from "./wire.ts"

const connectionError = (code: string, message: string) => Object.assign(new Error(message), { code })

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
      // As the socket door reads it: bytes that are not UTF-8 stay bytes, as in Go.
      return GoString.decodeBytes(request.body.body)
    case "Raw":
      return typeof request.body.body === "string" ? request.body.body : ""
    default:
      return ""
  }
}

const toResponse = (request: HttpClientRequest.HttpClientRequest, wire: WireResponse) => {
  const body = wire.body === "" || wire.status === 204 || wire.status === 304 ? null : wire.body
  return HttpClientResponse.fromWeb(request, new Response(body, { status: wire.status, headers: wire.headers }))
}

// The cut's bytes, then the connection drops, as a server that dies mid-response.
const toCutResponse = (request: HttpClientRequest.HttpClientRequest, cut: Cut) => {
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(cut.sent)
      controller.error(connectionError("ECONNRESET", "other side closed"))
    }
  })
  return HttpClientResponse.fromWeb(request, new Response(stream, { status: cut.status, headers: cut.headers }))
}

/**
 * An `HttpClient` served by `fleet`. Faults are acted out: `Reset` fails the request as a dropped connection,
 * `Truncate` cuts the body short, `Stall` never answers.
 *
 * @since 0.2.0
 * @internal
 */
export const httpClient = (fleet: LocalFleet): HttpClient.HttpClient =>
  HttpClient.make((request, url) =>
    Effect.suspend(() => {
      const path = url.pathname + url.search
      const plan = App.admit(fleet, request.method, path)
      const wire = () => ({ method: request.method, url: path, headers: headersOf(request), body: bodyOf(request) })
      // As behind the socket door: a failure inside the fleet is fleet's 500, logged, never a defect of the caller.
      const guarded = (answer: () => HttpClientResponse.HttpClientResponse) => {
        try {
          return Effect.succeed(answer())
        } catch (cause) {
          return Effect.as(
            Effect.logError(`FleetTest: ${request.method} ${path} failed`, cause),
            toResponse(request, error(request, 500))
          )
        }
      }
      switch (plan._tag) {
        case "Respond":
          return guarded(() => toResponse(request, plan.answer(wire())))
        case "Truncate":
          return guarded(() => toCutResponse(request, plan.answer(wire())))
        case "Reset":
          return Effect.fail(
            new HttpClientError({
              reason: new TransportError({ request, cause: connectionError("ECONNRESET", "socket hang up") })
            })
          )
        case "Stall":
          return Effect.never
      }
    })
  )
