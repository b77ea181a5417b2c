/**
 * The one request pipeline of the client: build the request, send it, bound it by the deadline, turn what failed
 * into `TransportError` or `APIError`, retry what may succeed, and decode the body. Every operation and the
 * discovery probe go through `exchange`; only how the bytes travel (`Send`) differs between transports.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as HttpBody from "effect/http/HttpBody"
import type * as HttpClient from "effect/http/HttpClient"
import type * as HttpClientError from "effect/http/HttpClientError"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import { APIError, type FleetError, isTransient, TransportError, type TransportErrorReason } from "../../FleetError.ts"
import { withDeadline } from "./deadline.ts"
import type { Page } from "./service.ts"
import { classify } from "./transport.ts"

export type Method = "GET" | "PUT" | "DELETE"

/** A request as the pipeline hands it to a transport: absolute URL, and the JSON body of a PUT. */
export interface Outgoing {
  readonly method: Method
  readonly url: string
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

/** How the bytes travel: one request, its whole response, or why there is none. */
export type Send = (request: Outgoing) => Effect.Effect<Incoming, ExchangeFailure>

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
 * reading stops, which ends the response stream and so aborts the request.
 */
export const sendWith =
  (client: HttpClient.HttpClient, maxResponseBytes: number): Send =>
  (request) =>
    client
      .execute(
        HttpClientRequest.make(request.method)(
          request.url,
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

const decoder = new TextDecoder()

/** The response's body as text. */
export const textOf = (response: Incoming): string => decoder.decode(response.body)

const describeBody = (text: string): string => {
  const flat = text.replace(/\s+/g, " ").trim()
  if (flat === "") return "an empty body"
  return flat.length > 120 ? `"${flat.slice(0, 120)}..."` : `"${flat}"`
}

const parseJson = (text: string): Option.Option<unknown> => {
  try {
    return Option.some(JSON.parse(text))
  } catch {
    return Option.none()
  }
}

const FleetErrorBody = Schema.Struct({
  error: Schema.Struct({ code: Schema.Number, message: Schema.String })
})
const decodeErrorBody = Schema.decodeUnknownOption(FleetErrorBody)

/**
 * fleet's own error JSON when the body is one, else a message that says what came back (an HTML 502, say). A 3xx is
 * an error too: fleet never redirects an API call, so whatever redirects is not fleet, and following it could send a
 * write somewhere else.
 */
const apiError = (response: Incoming): APIError => {
  const text = textOf(response)
  if (response.status < 400) {
    return new APIError({
      code: response.status,
      message:
        `fleet answered HTTP ${response.status}, a redirect` +
        `${response.location === undefined ? "" : ` to ${response.location}`}, which fleet never sends for an API call;` +
        " it was not followed"
    })
  }
  const body = Option.flatMap(parseJson(text), decodeErrorBody)
  if (Option.isSome(body)) return new APIError({ code: response.status, message: body.value.error.message })
  return new APIError({
    code: response.status,
    message:
      `fleet answered HTTP ${response.status} with a body that is not fleet's error JSON` +
      ` (${response.contentType ?? "no Content-Type"}): ${describeBody(text)}`
  })
}

/**
 * A page of a listing as fleet sends it (`{"units": [...], "nextPageToken": "..."}`, either key absent when empty
 * or last), decoded to `items` and `nextPageToken` whatever the listing's key.
 */
export const PageSchema = <S extends Schema.Top>(key: "units" | "states" | "machines", item: S) =>
  Schema.Struct({
    items: Schema.optionalKey(Schema.Array(item)),
    nextPageToken: Schema.optionalKey(Schema.String)
  }).pipe(Schema.encodeKeys({ items: key }))

/**
 * Whether a failed attempt may still have been carried out by fleet: its answer was lost (reset, timed out, tunnel
 * dropped, garbled) or a proxy failed after forwarding it (502, 504). A refused connection or fleet's own 503 did
 * nothing.
 */
const mayHaveReachedFleet = (error: APIError | TransportError): boolean =>
  error._tag === "TransportError" ? error.reason !== "Connect" : error.code === 502 || error.code === 504

export interface RequestOptions {
  readonly urlParams?: Record<string, string> | undefined
  readonly body?: unknown
  /** DELETE under retry: a 404 after an attempt that may have reached fleet means that attempt did the work. */
  readonly notFoundOnRetryIsSuccess?: boolean
}

export interface PipelineOptions {
  readonly baseUrl: string
  readonly timeout: Duration.Duration
  readonly retry: Schedule.Schedule<unknown, FleetError> | undefined
}

export interface Pipeline {
  readonly baseUrl: string
  /** One request, its status judged, retried on the schedule while transient. */
  readonly request: (
    method: Method,
    path: string,
    options?: RequestOptions
  ) => Effect.Effect<Incoming, APIError | TransportError>
  /**
   * A request whose 2xx body is JSON decoded by `schema`; a body that is not JSON or not of the schema's shape is a
   * `MalformedResponse`, inside the attempt so that the retry schedule covers it too.
   */
  readonly json: <S extends Schema.Top & { readonly DecodingServices: never }>(
    schema: S,
    method: Method,
    path: string,
    options?: RequestOptions
  ) => Effect.Effect<S["Type"], APIError | TransportError>
  /** One page of a listing. */
  readonly page: <S extends Schema.Top & { readonly DecodingServices: never }>(
    key: "units" | "states" | "machines",
    item: S,
    path: string,
    urlParams: Record<string, string>,
    pageToken: string | undefined
  ) => Effect.Effect<Page<S["Type"]>, APIError | TransportError>
}

/** The URL of `path` under `baseUrl`, with its query. */
export const urlOf = (baseUrl: string, path: string, urlParams?: Record<string, string>): string => {
  const query = urlParams === undefined ? "" : new URLSearchParams(urlParams).toString()
  return query === "" ? baseUrl + path : `${baseUrl}${path}?${query}`
}

/** One exchange within `timeout`, its failure still unworded. */
export const exchange = (
  send: Send,
  request: Outgoing,
  timeout: Duration.Duration
): Effect.Effect<Incoming, ExchangeFailure> =>
  withDeadline(
    send(request),
    timeout,
    (): ExchangeFailure => ({ reason: "Timeout", detail: `no complete response within ${Duration.format(timeout)}` })
  )

const decodeWith = <S extends Schema.Top & { readonly DecodingServices: never }>(
  schema: S,
  label: string,
  response: Incoming
): Effect.Effect<S["Type"], TransportError> => {
  const text = textOf(response)
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (cause) {
    return Effect.fail(
      new TransportError({
        reason: "MalformedResponse",
        message: `${label}: the response is not valid JSON (${String(cause instanceof Error ? cause.message : cause)}): ${describeBody(text)}`,
        cause
      })
    )
  }
  return Effect.mapError(
    Schema.decodeUnknownEffect(schema)(json),
    (cause) =>
      new TransportError({
        reason: "MalformedResponse",
        message: `${label}: the response is not what fleet sends: ${String(cause)}`,
        cause
      })
  )
}

export const makePipeline = (send: Send, options: PipelineOptions): Pipeline => {
  const { baseUrl, retry, timeout } = options

  const attempt = (
    method: Method,
    path: string,
    request: RequestOptions,
    retries: number,
    mayHaveLanded: boolean
  ): Effect.Effect<Incoming, APIError | TransportError> => {
    const label = `${method} ${path}`
    const outgoing: Outgoing = {
      method,
      url: urlOf(baseUrl, path, request.urlParams),
      body: request.body === undefined ? undefined : JSON.stringify(request.body)
    }
    // Annotated before sending so that a request that never gets an answer still says what it was.
    return Effect.annotateCurrentSpan({
      "http.request.method": method,
      "url.path": path,
      "fleet.retries": retries
    }).pipe(
      Effect.andThen(exchange(send, outgoing, timeout)),
      Effect.mapError(
        ({ cause, detail, reason }) => new TransportError({ reason, message: `${label}: ${detail}`, cause })
      ),
      Effect.tap((response) => Effect.annotateCurrentSpan("http.response.status_code", response.status)),
      Effect.flatMap((response): Effect.Effect<Incoming, APIError> => {
        if (response.status < 300) return Effect.succeed(response)
        if (response.status === 404 && mayHaveLanded && request.notFoundOnRetryIsSuccess === true) {
          return Effect.succeed({ status: 204, contentType: undefined, location: undefined, body: new Uint8Array(0) })
        }
        return Effect.fail(apiError(response))
      })
    )
  }

  // `read` runs inside each attempt, so that a malformed body (a transient TransportError) is retried too.
  const run = <A>(
    method: Method,
    path: string,
    request: RequestOptions,
    read: (response: Incoming) => Effect.Effect<A, TransportError>
  ): Effect.Effect<A, APIError | TransportError> => {
    if (retry === undefined) return Effect.flatMap(attempt(method, path, request, 0, false), read)
    return Effect.suspend(() => {
      let retries = -1
      let mayHaveLanded = false
      return Effect.suspend(() => Effect.flatMap(attempt(method, path, request, ++retries, mayHaveLanded), read)).pipe(
        Effect.tapError((error) =>
          Effect.sync(() => {
            mayHaveLanded ||= mayHaveReachedFleet(error)
          })
        ),
        Effect.retry({ schedule: retry, while: isTransient })
      )
    })
  }

  const json = <S extends Schema.Top & { readonly DecodingServices: never }>(
    schema: S,
    method: Method,
    path: string,
    request: RequestOptions = {}
  ) => run(method, path, request, (response) => decodeWith(schema, `${method} ${path}`, response))

  return {
    baseUrl,
    request: (method, path, request = {}) => run(method, path, request, Effect.succeed),
    json,
    page: (key, item, path, urlParams, pageToken) =>
      Effect.map(
        json(PageSchema(key, item), "GET", path, {
          urlParams: pageToken === undefined ? urlParams : { ...urlParams, nextPageToken: pageToken }
        }),
        (page) => ({ items: page.items ?? [], nextPageToken: page.nextPageToken })
      )
  }
}

const Discovery = Schema.Struct({ id: Schema.Literal("fleet:v1") })
const isDiscovery = Schema.is(Discovery)
const etcdUnavailable = "fleet server unable to communicate with etcd"

/**
 * Whether the endpoint answers like fleet: GET /fleet/v1/discovery must return fleet's discovery document (or
 * fleet's own 503 while it cannot reach etcd, which is still fleet). The same exchange as every request; python-fleet's
 * `ValueError`s say what went wrong.
 */
export const probe = (
  send: Send,
  baseUrl: string,
  timeout: Duration.Duration
): Effect.Effect<boolean, ExchangeFailure> =>
  Effect.map(
    exchange(send, { method: "GET", url: urlOf(baseUrl, "/fleet/v1/discovery"), body: undefined }, timeout),
    (response) => {
      const body = parseJson(textOf(response))
      if (Option.isNone(body)) return false
      if (response.status === 200) return isDiscovery(body.value)
      if (response.status !== 503) return false
      const error = decodeErrorBody(body.value)
      return Option.isSome(error) && error.value.error.message === etcdUnavailable
    }
  )
