/**
 * What the request pipeline asks of a transport (`Send`: one request, its whole response, or why there is none),
 * and its implementation over any `HttpClient` (`Fleet.layerHttpClient`); `dispatch.ts` has the one directly on
 * undici. Both hold `maxResponseBytes` while reading and word their failures alike.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as HttpBody from "effect/http/HttpBody"
import type * as HttpClient from "effect/http/HttpClient"
import type * as HttpClientError from "effect/http/HttpClientError"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import type { TransportErrorReason } from "../../FleetError.ts"
import { withDeadline } from "./deadline.ts"
import { classify } from "./transport.ts"

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

const exchangeFailure = (error: HttpClientError.HttpClientError, beforeResponse: boolean): ExchangeFailure => ({
  ...classify(error.reason.cause ?? error, beforeResponse),
  cause: error
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

/** Concatenates the chunks read so far, `total` bytes in all. */
export const concat = (chunks: ReadonlyArray<Uint8Array>, total: number): Uint8Array => {
  if (chunks.length === 1) return chunks[0]!
  const body = new Uint8Array(total)
  let offset = 0
  for (const chunk of chunks) {
    body.set(chunk, offset)
    offset += chunk.length
  }
  return body
}

/**
 * `Send` over any `HttpClient`, so that its middleware sees every request (`Fleet.layerHttpClient`). A body is read
 * in one piece when its declared length is within `maxResponseBytes`, else chunk by chunk, counting: over the bound,
 * reading stops, which ends the response stream and so aborts the request. The deadline is `withDeadline`'s, on the
 * current `Clock`.
 */
export const sendWith =
  (client: HttpClient.HttpClient, maxResponseBytes: number): Send =>
  (request, timeout) =>
    withDeadline(exchangeWith(client, maxResponseBytes, request), timeout, () => timedOut(timeout))

const exchangeWith = (
  client: HttpClient.HttpClient,
  maxResponseBytes: number,
  request: Outgoing
): Effect.Effect<Incoming, ExchangeFailure> =>
  client
    .execute(
      HttpClientRequest.make(request.method)(
        request.origin + request.path,
        request.body === undefined ? {} : { body: HttpBody.text(request.body, "application/json") }
      )
    )
    .pipe(
      Effect.mapError((error) => exchangeFailure(error, true)),
      Effect.flatMap((response) => {
        const declared = declaredLength(response.headers["content-length"])
        const whole = (body: Uint8Array): Incoming => ({
          status: response.status,
          contentType: response.headers["content-type"],
          location: response.headers.location,
          body
        })
        if (declared !== undefined && declared > maxResponseBytes) {
          // Pulling at most one chunk, then closing the stream, destroys the body and so aborts the request.
          return Effect.andThen(
            Effect.ignore(Stream.runHead(response.stream)),
            Effect.fail(tooLarge(maxResponseBytes, declared))
          )
        }
        if (declared !== undefined) {
          return Effect.mapBoth(response.arrayBuffer, {
            onFailure: (error) => exchangeFailure(error, false),
            onSuccess: (body) => whole(new Uint8Array(body))
          })
        }
        const chunks: Array<Uint8Array> = []
        let total = 0
        return Stream.runForEach(response.stream, (chunk): Effect.Effect<void, ExchangeFailure> => {
          total += chunk.length
          if (total > maxResponseBytes) return Effect.fail(tooLarge(maxResponseBytes))
          chunks.push(chunk)
          return Effect.void
        }).pipe(
          Effect.catch((error) =>
            "detail" in error
              ? Effect.fail(error)
              : // a client over web Responses has no stream at all for a body-less answer (a 204)
                error.reason._tag === "EmptyBodyError"
                ? Effect.void
                : Effect.fail(exchangeFailure(error, false))
          ),
          Effect.map(() => whole(concat(chunks, total)))
        )
      })
    )
