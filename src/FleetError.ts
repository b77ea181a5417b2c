/**
 * The three ways a fleet operation can fail: fleet answered with an error ({@link APIError}), the input was refused
 * before anything was sent ({@link ValueError}), or something between the client and fleet broke
 * ({@link TransportError}).
 *
 * @since 0.1.0
 */
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import { isPermanent } from "./internal/client/cause.ts"

/**
 * Input refused before anything was sent (an invalid desired state, unit name or unit file), or an endpoint that
 * could not be reached or is not fleet when a layer is built. The message matches python-fleet's where it has one.
 *
 * @example
 * ```ts
 * import { FleetError } from "effect-fleet"
 *
 * const error = new FleetError.ValueError({ message: "state must be one of: ['inactive', 'loaded', 'launched']" })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class ValueError extends Schema.TaggedError<ValueError>()("ValueError", {
  message: Schema.String
}) {}

/**
 * fleet answered with a status of 400 or more. `code` is the HTTP status and `message` fleet's own message (or,
 * when the body was not fleet's error JSON, a description of what came back). Printed as `<message> (<code>)`,
 * like python-fleet's `APIError`.
 *
 * @example
 * ```ts
 * import { FleetError } from "effect-fleet"
 *
 * const error = new FleetError.APIError({ code: 404, message: "unit does not exist" })
 * String(error) // "unit does not exist (404)"
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class APIError extends Schema.TaggedError<APIError>()("APIError", {
  code: Schema.Int,
  message: Schema.String
}) {
  override toString(): string {
    return `${this.message} (${this.code})`
  }
}

/**
 * Why a request failed between the client and fleet.
 *
 * - `Connect`: the connection could not be made (refused, unresolvable host, TLS verification failed, missing socket).
 * - `Reset`: the connection dropped while the request or response was in flight.
 * - `Timeout`: no complete response within the request timeout.
 * - `MalformedResponse`: a response that is not what fleet sends (invalid or truncated JSON, an unexpected shape).
 * - `Tunnel`: the SSH tunnel failed (connection lost, channel refused, authentication or host key rejected).
 *
 * @since 0.1.0
 * @category models
 */
export const TransportErrorReason = Schema.Literals(["Connect", "Reset", "Timeout", "MalformedResponse", "Tunnel"])

/**
 * @since 0.1.0
 * @category models
 */
export type TransportErrorReason = typeof TransportErrorReason.Type

/**
 * Everything that breaks between the client and fleet: see {@link TransportErrorReason}. No error type of the
 * underlying HTTP client or SSH library appears in the public types; the original failure is kept in `cause`.
 *
 * @since 0.1.0
 * @category errors
 */
export class TransportError extends Schema.TaggedError<TransportError>()("TransportError", {
  reason: TransportErrorReason,
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/**
 * Any error an effect-fleet operation can fail with.
 *
 * @since 0.1.0
 * @category models
 */
export type FleetError = APIError | ValueError | TransportError

/**
 * Whether retrying may succeed: true for a {@link TransportError} (refused, reset, timed out, malformed, tunnel)
 * unless its cause will repeat on every try (permission denied on the socket, TLS verification failed), and for an
 * {@link APIError} with a 5xx code (above all fleet's `503 fleet server unable to communicate with etcd`); false for
 * other 4xx answers and for {@link ValueError}, which a retry would only repeat.
 *
 * @example
 * ```ts
 * import { FleetError } from "effect-fleet"
 *
 * FleetError.isTransient(new FleetError.APIError({ code: 503, message: "fleet server unable to communicate with etcd" })) // true
 * FleetError.isTransient(new FleetError.APIError({ code: 404, message: "unit does not exist" })) // false
 * ```
 *
 * @since 0.1.0
 * @category predicates
 */
export const isTransient = (error: unknown): boolean => {
  if (!Predicate.hasProperty(error, "_tag")) return false
  if (error._tag === "TransportError") return !isPermanent((error as { cause?: unknown }).cause)
  return (
    error._tag === "APIError" &&
    Predicate.hasProperty(error, "code") &&
    typeof error.code === "number" &&
    error.code >= 500
  )
}

/**
 * A wait for a unit's state (`FleetWatch.waitForUnit`) ran out of time. `lastSeen` describes the last state observed
 * (or the last failure, when no poll succeeded), and the message says both.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { FleetWatch } from "effect-fleet"
 *
 * const started = FleetWatch.waitForUnit("web@1.service", "launched", { timeout: "30 seconds" }).pipe(
 *   Effect.catchTag("WaitTimeoutError", (error) => Effect.logWarning(error.message))
 * )
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class WaitTimeoutError extends Schema.TaggedError<WaitTimeoutError>()("WaitTimeoutError", {
  unit: Schema.String,
  lastSeen: Schema.String,
  message: Schema.String
}) {}
