/**
 * What the request pipeline asks of a transport (`Send`: one request, its whole response, or why there is none),
 * and the failures both implementations word alike: `dispatch.ts` directly on undici, `overHttpClient.ts` over any
 * `HttpClient` (loaded only when `Fleet.layerHttpClient` or `Fleet.make` is used).
 */
import * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type { TransportErrorReason } from "../../FleetError.ts"

export type Method = "GET" | "PUT" | "DELETE" | "PATCH"

/** A request as the pipeline hands it to a transport: origin, path with query, and the JSON body of a PUT. */
export interface Outgoing {
  readonly method: Method
  readonly origin: string
  readonly path: string
  readonly body: string | undefined
}

/** A whole response. */
export interface Incoming {
  readonly status: number
  readonly contentType: string | undefined
  /** Where a 3xx points; reported, never followed. */
  readonly location: string | undefined
  readonly body: Uint8Array
}

/** Why one exchange failed before any fleet answer could be judged; operations and the probe word it differently. */
export interface ExchangeFailure {
  readonly reason: TransportErrorReason
  readonly detail: string
  readonly cause?: unknown
}

/** How the bytes travel: one request, its whole response within `timeout`, or why there is none. */
export type Send = (request: Outgoing, timeout: Duration.Duration) => Effect.Effect<Incoming, ExchangeFailure>

/** The failure of a request that did not complete within its deadline. */
export const timedOut = (timeout: Duration.Duration): ExchangeFailure => ({
  reason: "Timeout",
  detail: `no complete response within ${Duration.format(timeout)}`
})

/** fleet's largest page is a few hundred KiB: the default bound leaves room for huge unit files, not for a flood. */
export const defaultMaxResponseBytes = 32 * 1024 * 1024

/** The failure of a response over `maxResponseBytes`: the request is aborted, nothing more is read. */
export const tooLarge = (maxResponseBytes: number, declared?: number): ExchangeFailure => ({
  reason: "MalformedResponse",
  detail:
    declared === undefined
      ? `the response body exceeds maxResponseBytes (${maxResponseBytes} bytes); the request was aborted`
      : `the response declares ${declared} bytes, over maxResponseBytes (${maxResponseBytes} bytes); the request was aborted`
})

/** A body's declared length: a number when the header is one, else `undefined` (chunked, or garbage). */
export const declaredLength = (header: string | undefined): number | undefined => {
  if (header === undefined || !/^\d+$/.test(header)) return undefined
  return Number(header)
}
