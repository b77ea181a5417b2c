/**
 * What the request pipeline asks of a transport (`Send`: one request, its whole response, or why there is none),
 * and the failures both implementations word alike: `dispatch.ts` directly on undici, `overHttpClient.ts` over any
 * `HttpClient` (loaded only when `Fleet.layerHttpClient` or `Fleet.make` is used).
 */
import * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Tracer from "effect/Tracer"
import type { TransportErrorReason } from "../../FleetError.ts"

/**
 * The HTTP methods the fleet v1 API uses.
 *
 * @since 0.2.0
 * @internal
 */
export type Method = "GET" | "PUT" | "DELETE" | "PATCH"

/**
 * A request as the pipeline hands it to a transport: origin, path with query, and the JSON body of a PUT.
 *
 * @since 0.2.0
 * @internal
 */
export interface Outgoing {
  readonly method: Method
  readonly origin: string
  readonly path: string
  readonly body: string | undefined
  /**
   * The operation's span: a transport that makes spans of its own (an `HttpClient`) makes them its children. The
   * operation does not make it the current span, which would cost as much as the request's own bookkeeping.
   */
  readonly span?: Tracer.Span | undefined
}

/**
 * A whole response.
 *
 * @since 0.2.0
 * @internal
 */
export interface Incoming {
  readonly status: number
  readonly contentType: string | undefined
  /** Where a 3xx points; reported, never followed. */
  readonly location: string | undefined
  readonly body: Uint8Array
}

/**
 * Why one exchange failed before any fleet answer could be judged; operations and the probe word it differently.
 *
 * @since 0.2.0
 * @internal
 */
export interface ExchangeFailure {
  readonly reason: TransportErrorReason
  readonly detail: string
  readonly cause?: unknown
}

/**
 * What becomes of an exchange: its whole response, or why there is none.
 *
 * @since 0.2.0
 * @internal
 */
export interface Outcome<A, E> {
  readonly onSuccess: (response: Incoming) => Effect.Effect<A, E>
  readonly onFailure: (failure: ExchangeFailure) => Effect.Effect<A, E>
}

/**
 * How the bytes travel: one request within `timeout`, its outcome handed to `outcome` (the dispatcher calls it
 * where the response ends, so that judging and decoding it costs no step of the fiber of its own).
 *
 * @since 0.2.0
 * @internal
 */
export type Send = <A, E>(request: Outgoing, timeout: Duration.Duration, outcome: Outcome<A, E>) => Effect.Effect<A, E>

/**
 * The failure of a request that did not complete within its deadline.
 *
 * @since 0.2.0
 * @internal
 */
export const timedOut = (timeout: Duration.Duration): ExchangeFailure => ({
  reason: "Timeout",
  detail: `no complete response within ${Duration.format(timeout)}`
})

/**
 * fleet's largest page is a few hundred KiB: the default bound leaves room for huge unit files, not for a flood.
 *
 * @since 0.2.0
 * @internal
 */
export const defaultMaxResponseBytes = 32 * 1024 * 1024

/**
 * The failure of a response over `maxResponseBytes`: the request is aborted, nothing more is read.
 *
 * @since 0.2.0
 * @internal
 */
export const tooLarge = (maxResponseBytes: number, declared?: number): ExchangeFailure => ({
  reason: "MalformedResponse",
  detail:
    declared === undefined
      ? `the response body exceeds maxResponseBytes (${maxResponseBytes} bytes); the request was aborted`
      : `the response declares ${declared} bytes, over maxResponseBytes (${maxResponseBytes} bytes); the request was aborted`
})

export { declaredLength } from "../contentLength.ts"
