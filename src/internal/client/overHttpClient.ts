/**
 * `Send` over any `HttpClient`, so that its middleware sees every request (`Fleet.layerHttpClient`). Kept apart from
 * `send.ts` so that `Fleet.layer`, which sends on undici directly, never loads Effect's HTTP client modules.
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as HttpBody from "effect/http/HttpBody"
import type * as HttpClient from "effect/http/HttpClient"
import type * as HttpClientError from "effect/http/HttpClientError"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import { withDeadline } from "./deadline.ts"
import {
  declaredLength,
  type ExchangeFailure,
  type Incoming,
  type Outgoing,
  type Send,
  timedOut,
  tooLarge
} from "./send.ts"
import { classify } from "./transport.ts"

const exchangeFailure = (error: HttpClientError.HttpClientError, beforeResponse: boolean): ExchangeFailure => ({
  ...classify(error.reason.cause ?? error, beforeResponse),
  cause: error
})

/** Concatenates the chunks read so far, `total` bytes in all. */
const concat = (chunks: ReadonlyArray<Uint8Array>, total: number): Uint8Array => {
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
 *
 * @since 0.2.0
 * @internal
 */
export const sendWith =
  (client: HttpClient.HttpClient, maxResponseBytes: number): Send =>
  (request, timeout, outcome) => {
    const exchange = withDeadline(exchangeWith(client, maxResponseBytes, request), timeout, () => timedOut(timeout))
    // the HTTP client's own span (and its trace headers) under the operation's
    return Effect.matchEffect(
      request.span === undefined
        ? exchange
        : Effect.withParentSpan(exchange, request.span, { captureStackTrace: false }),
      outcome
    )
  }

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
          // Opening the body stream and closing it unread destroys the body and so aborts the request at once,
          // without waiting for a first chunk the server may never send (as the dispatcher path does).
          return Effect.andThen(
            Effect.scoped(Stream.toPull(response.stream)),
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
