/**
 * fleet's bytes on the wire: the request and response shapes the doors exchange with the app, fleet's headers and
 * error bodies, and the JSON of its units, states and machines as Go's `encoding/json` writes them.
 *
 * @since 0.2.0
 * @internal
 */
import type { DesiredState } from "../../Unit.ts"
import * as GoJson from "../goJson.ts"
import type { MachineRecord, StateRecord, StoredUnit } from "./storage.ts"

/**
 * A request as it arrived: the raw request target, every header value (lower-case names), the body text.
 *
 * @since 0.1.0
 * @internal
 */
export interface WireRequest {
  readonly method: string
  readonly url: string
  readonly headers: Readonly<Record<string, ReadonlyArray<string>>>
  readonly body: string
}

/**
 * A response to send as is. `Content-Length` is set whenever fleet would send one (for `HEAD`, the length of the body
 * a `GET` would have had, while `body` is empty).
 *
 * @since 0.1.0
 * @internal
 */
export interface WireResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
  /**
   * Set when Go's server answers below HTTP's response writer (a request it cannot parse): these exact bytes go to
   * the socket, which then closes. `status`, `headers` and `body` still describe them for the in-memory door.
   */
  readonly raw?: string | undefined
}

/**
 * The `Server` header of every answer but the 503: fleetd stamps `git describe` of its build, `v1.0.0` for the
 * release (the reference build, 15 commits later, says `v1.0.0-15-g45224983`).
 *
 * @since 0.1.0
 * @internal
 */
export const serverHeader = "fleetd/v1.0.0"

/**
 * fleet's message while it cannot reach etcd.
 *
 * @since 0.1.0
 * @internal
 */
export const unavailableMessage = "fleet server unable to communicate with etcd"

/**
 * The body of an `InvalidJson` fault.
 *
 * @since 0.1.0
 * @internal
 */
export const invalidJsonBody = "this is not JSON {"

/**
 * The media type of every fleet body.
 *
 * @since 0.2.0
 * @internal
 */
export const jsonType = "application/json"

/**
 * A response with `Content-Length` set as Go sets it and the body dropped for `HEAD`; `server: false` leaves out
 * fleet's `Server` header (answers that never reach fleet's middleware).
 *
 * @since 0.2.0
 * @internal
 */
export const respond = (
  request: Pick<WireRequest, "method">,
  status: number,
  body: string,
  headers: Record<string, string>,
  server = true
): WireResponse => {
  const all: Record<string, string> = server ? { Server: serverHeader, ...headers } : { ...headers }
  const bodyAllowed = status !== 204 && status !== 304 && !(status >= 100 && status < 200)
  const length = Buffer.byteLength(body)
  // Go's server computes a Content-Length only for a body that fits its 2,048-byte buffer before chunking (larger
  // ones go out chunked), and for HEAD only when the handler wrote something.
  if (bodyAllowed && length <= 2048 && !(request.method === "HEAD" && length === 0)) {
    all["Content-Length"] = String(length)
  }
  return { status, headers: all, body: bodyAllowed && request.method !== "HEAD" ? body : "" }
}

/**
 * A JSON answer with fleet's headers.
 *
 * @since 0.2.0
 * @internal
 */
export const json = (request: Pick<WireRequest, "method">, status: number, body: string): WireResponse =>
  respond(request, status, body, { "Content-Type": jsonType })

/**
 * fleet's error body: `{"error":{"code":CODE,"message":MESSAGE}}`.
 *
 * @since 0.2.0
 * @internal
 */
export const errorBody = (code: number, message: string): string =>
  `{"error":{"code":${code},"message":${GoJson.encodeString(message)}}}`

/**
 * An error answer in fleet's shape.
 *
 * @since 0.2.0
 * @internal
 */
export const error = (request: Pick<WireRequest, "method">, code: number, message = ""): WireResponse =>
  json(request, code, errorBody(code, message))

/**
 * fleet's answer while etcd is unreachable (no `Server` header: fleet's middleware never runs).
 *
 * @since 0.1.0
 * @internal
 */
export const unavailable = (request: Pick<WireRequest, "method">): WireResponse =>
  respond(request, 503, errorBody(503, unavailableMessage), { "Content-Type": jsonType }, false)

/**
 * A 200 whose body is not JSON, for the `InvalidJson` fault.
 *
 * @since 0.1.0
 * @internal
 */
export const invalidJson = (request: Pick<WireRequest, "method">): WireResponse => json(request, 200, invalidJsonBody)

/**
 * An arbitrary answer, for the `Status` fault (a proxy's HTML 502, say): no fleet headers.
 *
 * @since 0.1.0
 * @internal
 */
export const raw = (
  request: Pick<WireRequest, "method">,
  status: number,
  body: string,
  contentType: string
): WireResponse => respond(request, status, body, { "Content-Type": contentType }, false)

// ---- fleet's JSON output ------------------------------------------------------------------------------------------

const optionJson = (option: { readonly section: string; readonly name: string; readonly value: string }) =>
  GoJson.encodeObject([
    ["name", GoJson.optionalString(option.name)],
    ["section", GoJson.optionalString(option.section)],
    ["value", GoJson.optionalString(option.value)]
  ])

/**
 * fleet's `schema.Unit` JSON, with the `currentState` the local fleet derived for it.
 *
 * @since 0.2.0
 * @internal
 */
export const unitJson = (unit: StoredUnit, currentState: DesiredState | undefined): string =>
  GoJson.encodeObject([
    ["currentState", GoJson.optionalString(currentState)],
    ["desiredState", GoJson.optionalString(unit.desiredState)],
    ["machineID", GoJson.optionalString(unit.machineID)],
    ["name", GoJson.optionalString(unit.name)],
    ["options", GoJson.optionalArray(unit.options.map(optionJson))]
  ])

/**
 * fleet's `schema.UnitState` JSON.
 *
 * @since 0.2.0
 * @internal
 */
export const stateJson = (state: StateRecord): string =>
  GoJson.encodeObject([
    ["hash", GoJson.optionalString(state.hash)],
    ["machineID", GoJson.optionalString(state.machineID)],
    ["name", GoJson.optionalString(state.name)],
    ["systemdActiveState", GoJson.optionalString(state.systemdActiveState)],
    ["systemdLoadState", GoJson.optionalString(state.systemdLoadState)],
    ["systemdSubState", GoJson.optionalString(state.systemdSubState)]
  ])

/**
 * fleet's `schema.Machine` JSON.
 *
 * @since 0.2.0
 * @internal
 */
export const machineJson = (machine: MachineRecord): string =>
  GoJson.encodeObject([
    ["id", GoJson.optionalString(machine.id)],
    ["metadata", GoJson.optionalMap(machine.metadata)],
    ["primaryIP", GoJson.optionalString(machine.primaryIP)]
  ])
