/**
 * The one request pipeline of the client: build the request, hand it to the transport's `Send` (which bounds it by
 * the deadline and `maxResponseBytes`), turn what failed into `TransportError` or `APIError`, retry what may
 * succeed, and decode the body (a fast path, else the Schema). Every operation and the discovery probe go through it.
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Tracer from "effect/Tracer"
import { APIError, type FleetError, isTransient, TransportError } from "../../FleetError.ts"
import * as Decode from "./decode.ts"
import type { Incoming, Method, Outgoing, Send } from "./send.ts"
import type { Page } from "./service.ts"

const utf8 = new TextDecoder()

/**
 * The response's body as text.
 *
 * @since 0.2.0
 * @internal
 */
export const textOf = (response: Incoming): string => utf8.decode(response.body)

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
 *
 * @since 0.2.0
 * @internal
 */
export const PageSchema = <S extends Schema.Top>(key: "units" | "states" | "machines", item: S) =>
  Schema.Struct({
    items: Schema.optionalKey(Schema.Array(item)),
    nextPageToken: Schema.optionalKey(Schema.String)
  }).pipe(Schema.encodeKeys({ items: key }))

/**
 * Parsed JSON to a value: `fast` builds it when it recognises the input (and returns `undefined` otherwise), `slow`
 * is the Schema's decoding, whose value or error stands for anything `fast` leaves.
 *
 * @since 0.2.0
 * @internal
 */
export interface Decoder<A> {
  readonly fast: (json: unknown) => A | undefined
  readonly slow: (json: unknown) => Effect.Effect<A, unknown>
}

/**
 * A {@link Decoder} that tries the fast path first and falls back to the Schema.
 *
 * @since 0.2.0
 * @internal
 */
export const decoder = <S extends Schema.Top & { readonly DecodingServices: never }>(
  schema: S,
  fast: (json: unknown) => S["Type"] | undefined
): Decoder<S["Type"]> => ({ fast, slow: Schema.decodeUnknownEffect(schema) })

/**
 * The {@link Decoder} of a listing's pages, to `Page` (no items and no token when fleet leaves them out).
 *
 * @since 0.2.0
 * @internal
 */
export const pageDecoder = <S extends Schema.Top & { readonly DecodingServices: never }>(
  key: "units" | "states" | "machines",
  item: S,
  fastItem: (json: unknown) => S["Type"] | undefined
): Decoder<Page<S["Type"]>> => {
  const fast = Decode.page(key, fastItem)
  const slow = Schema.decodeUnknownEffect(PageSchema(key, item))
  const toPage = (page: { readonly items?: ReadonlyArray<S["Type"]>; readonly nextPageToken?: string }) => ({
    items: page.items ?? [],
    nextPageToken: page.nextPageToken
  })
  return {
    fast: (json) => {
      const page = fast(json)
      return page === undefined ? undefined : toPage(page)
    },
    slow: (json) => Effect.map(slow(json), toPage)
  }
}

const malformed = (label: string, cause: unknown) =>
  new TransportError({
    reason: "MalformedResponse",
    message: `${label}: the response is not what fleet sends: ${String(cause)}`,
    cause
  })

/**
 * Parsed JSON to a value, synchronously up to the Schema: the fast path's value, else the Schema's, whose error is a
 * `MalformedResponse` naming `label`.
 *
 * @since 0.2.0
 * @internal
 */
export const decodeJson = <A>(decode: Decoder<A>, label: string, json: unknown): Effect.Effect<A, TransportError> => {
  const value = decode.fast(json)
  if (value !== undefined) return Effect.succeed(value)
  return Effect.mapError(decode.slow(json), (cause) => malformed(label, cause))
}

// A well-formed body costs `JSON.parse`, the fast path and one `Effect.succeed`.
const decodeBody = <A>(decode: Decoder<A>, label: string, response: Incoming): Effect.Effect<A, TransportError> => {
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
  return decodeJson(decode, label, json)
}

/**
 * Whether a failed attempt may still have been carried out by fleet: its answer was lost (reset, timed out, tunnel
 * dropped, garbled) or a proxy failed after forwarding it (502, 504). A refused connection or fleet's own 503 did
 * nothing.
 */
const mayHaveReachedFleet = (error: APIError | TransportError): boolean =>
  error._tag === "TransportError" ? error.reason !== "Connect" : error.code === 502 || error.code === 504

/**
 * What a request carries besides its method and path: query, body, and how its outcome is judged and traced.
 *
 * @since 0.2.0
 * @internal
 */
export interface RequestOptions {
  readonly urlParams?: Record<string, string> | undefined
  readonly body?: unknown
  /** DELETE under retry: a 404 after an attempt that may have reached fleet means that attempt did the work. */
  readonly notFoundOnRetryIsSuccess?: boolean
  /**
   * The span of the operation the request is part of (absent when no tracing backend would see it, and for the
   * discovery probe): the parent of the spans a transport makes, and of the retry schedule.
   */
  readonly span?: Tracer.Span | undefined
  /**
   * `false` for a request that is part of the operation but not what its span describes (`createUnit`'s GET of the
   * unit it PUT); otherwise its method, path, retries and status are set on `span`.
   */
  readonly describes?: boolean | undefined
}

/**
 * The settings of a pipeline: where requests go, how long each may take, and the retry schedule.
 *
 * @since 0.2.0
 * @internal
 */
export interface PipelineOptions {
  readonly baseUrl: string
  readonly timeout: Duration.Duration
  readonly retry: Schedule.Schedule<unknown, FleetError> | undefined
  /** The transport makes spans of its own (an `HttpClient`, which also sends their trace headers). */
  readonly transportTraces?: boolean | undefined
}

/**
 * The request pipeline: one request, a decoded request, and a page of a listing.
 *
 * @since 0.2.0
 * @internal
 */
export interface Pipeline {
  readonly baseUrl: string
  /**
   * Whether an operation's span can be seen even without a tracing backend: the transport's own spans (and the trace
   * headers it sends) or a retry schedule's code run under it.
   */
  readonly spanReachesCode: boolean
  /** One request, its status judged, retried on the schedule while transient. */
  readonly request: (
    method: Method,
    path: string,
    options?: RequestOptions
  ) => Effect.Effect<Incoming, APIError | TransportError>
  /**
   * A request whose 2xx response `read` turns into a value, inside each attempt (so that the retry schedule covers
   * what `read` finds wrong too).
   */
  readonly read: <A>(
    method: Method,
    path: string,
    read: (response: Incoming) => Effect.Effect<A, TransportError>,
    options?: RequestOptions
  ) => Effect.Effect<A, APIError | TransportError>
  /**
   * A request whose 2xx body is JSON decoded by `decode`; a body that is not JSON or not of the expected shape is a
   * `MalformedResponse`, inside the attempt so that the retry schedule covers it too.
   */
  readonly json: <A>(
    decode: Decoder<A>,
    method: Method,
    path: string,
    options?: RequestOptions
  ) => Effect.Effect<A, APIError | TransportError>
  /** One page of a listing, described on `span`. */
  readonly page: <A>(
    decode: Decoder<Page<A>>,
    path: string,
    urlParams: Record<string, string>,
    pageToken: string | undefined,
    span?: Tracer.Span
  ) => Effect.Effect<Page<A>, APIError | TransportError>
}

/** Where `path` (with its query) is under `baseUrl`: the origin to connect to and the path to ask for. */
const target = (baseUrl: string, path: string, urlParams?: Record<string, string>) => {
  let origin = baseUrl
  let prefix = ""
  try {
    const url = new URL(baseUrl)
    origin = url.origin
    prefix = url.pathname === "/" ? "" : url.pathname
  } catch {
    // not a URL: the transport says what it makes of it
  }
  const query = urlParams === undefined ? "" : new URLSearchParams(urlParams).toString()
  return { origin, path: query === "" ? prefix + path : `${prefix}${path}?${query}` }
}

const noContent: Incoming = { status: 204, contentType: undefined, location: undefined, body: new Uint8Array(0) }

/** What one request was, how many retries it took, and its status if answered: set once, when it ends. */
const describe = (
  span: Tracer.Span | undefined,
  method: Method,
  path: string,
  retries: number,
  status: number | undefined
) => {
  if (span === undefined) return
  span.attribute("http.request.method", method)
  span.attribute("url.path", path)
  span.attribute("fleet.retries", retries)
  if (status !== undefined) span.attribute("http.response.status_code", status)
}

/**
 * The request pipeline over a transport's `Send`. Each attempt is one `Send` whose outcome handlers describe the
 * span, judge the status and read the body synchronously (on the dispatcher, where undici reports the end): an
 * operation costs few fiber steps, which matters as much in a fresh process (less for the JIT to compile) as in a
 * warm one.
 *
 * @since 0.2.0
 * @internal
 */
export const makePipeline = (send: Send, options: PipelineOptions): Pipeline => {
  const { baseUrl, retry, timeout } = options
  const { origin, path: prefix } = target(baseUrl, "")

  const attempt = <A>(
    method: Method,
    path: string,
    request: RequestOptions,
    read: (response: Incoming) => Effect.Effect<A, TransportError>,
    retries: number,
    mayHaveLanded: boolean
  ): Effect.Effect<A, APIError | TransportError> => {
    const query = request.urlParams === undefined ? "" : new URLSearchParams(request.urlParams).toString()
    const outgoing: Outgoing = {
      method,
      origin,
      path: query === "" ? prefix + path : `${prefix}${path}?${query}`,
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
      span: request.span
    }
    const span = request.describes === false ? undefined : request.span
    return send(outgoing, timeout, {
      onFailure: ({ cause, detail, reason }) => {
        describe(span, method, path, retries, undefined)
        return Effect.fail(new TransportError({ reason, message: `${method} ${path}: ${detail}`, cause }))
      },
      onSuccess: (response): Effect.Effect<A, APIError | TransportError> => {
        describe(span, method, path, retries, response.status)
        if (response.status < 300) return read(response)
        if (response.status === 404 && mayHaveLanded && request.notFoundOnRetryIsSuccess === true) {
          return read(noContent)
        }
        return Effect.fail(apiError(response))
      }
    })
  }

  // `read` runs inside each attempt, so that a malformed body (a transient TransportError) is retried too.
  const run = <A>(
    method: Method,
    path: string,
    request: RequestOptions,
    read: (response: Incoming) => Effect.Effect<A, TransportError>
  ): Effect.Effect<A, APIError | TransportError> => {
    if (retry === undefined) return attempt(method, path, request, read, 0, false)
    const retrying = Effect.suspend(() => {
      let retries = -1
      let mayHaveLanded = false
      return Effect.suspend(() => attempt(method, path, request, read, ++retries, mayHaveLanded)).pipe(
        Effect.tapError((error) =>
          Effect.sync(() => {
            mayHaveLanded ||= mayHaveReachedFleet(error)
          })
        ),
        Effect.retry({ schedule: retry, while: isTransient })
      )
    })
    // the schedule is the caller's code: what it logs or traces belongs under the operation
    return request.span === undefined
      ? retrying
      : Effect.withParentSpan(retrying, request.span, { captureStackTrace: false })
  }

  const json = <A>(decode: Decoder<A>, method: Method, path: string, request: RequestOptions = {}) =>
    run(method, path, request, (response) => decodeBody(decode, `${method} ${path}`, response))

  return {
    baseUrl,
    spanReachesCode: options.transportTraces === true || retry !== undefined,
    request: (method, path, request = {}) => run(method, path, request, Effect.succeed),
    read: (method, path, read, request = {}) => run(method, path, request, read),
    json,
    page: (decode, path, urlParams, pageToken, span) =>
      json(decode, "GET", path, {
        urlParams: pageToken === undefined ? urlParams : { ...urlParams, nextPageToken: pageToken },
        span
      })
  }
}

// fleet's discovery document names itself; a plain check, as a Schema guard is compiled on first use, inside the
// first layer build of a process
const isDiscovery = (body: unknown): boolean =>
  typeof body === "object" && body !== null && (body as { readonly id?: unknown }).id === "fleet:v1"
const etcdUnavailable = "fleet server unable to communicate with etcd"
const discoveryPath = "/fleet/v1/discovery"
const discoveryPrefix = `GET ${discoveryPath}: `

/**
 * Whether the endpoint answers like fleet: GET /fleet/v1/discovery must return fleet's discovery document (or
 * fleet's own 503 while it cannot reach etcd, which is still fleet). One more call through the pipeline, without
 * retries and without touching the current span; any answer that is not fleet's (another status, a body that is not
 * JSON or not the document) is `false`, and only a failed exchange fails, with what failed (python-fleet's
 * `ValueError`s word the two differently).
 *
 * @since 0.2.0
 * @internal
 */
export const probe = (send: Send, baseUrl: string, timeout: Duration.Duration): Effect.Effect<boolean, string> =>
  makePipeline(send, { baseUrl, timeout, retry: undefined })
    .read("GET", discoveryPath, (response) =>
      Effect.succeed(response.status === 200 && Option.exists(parseJson(textOf(response)), (body) => isDiscovery(body)))
    )
    .pipe(
      Effect.catchTag("APIError", (error) => Effect.succeed(error.code === 503 && error.message === etcdUnavailable)),
      // the exchange's own wording, without the request line every operation's failure starts with
      Effect.mapError((error) =>
        error.message.startsWith(discoveryPrefix) ? error.message.slice(discoveryPrefix.length) : error.message
      )
    )
