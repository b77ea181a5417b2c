/**
 * fleet's v1 API as one pure, synchronous function over the local fleet: Go `net/http` ServeMux routing
 * (clean-path redirects, 404/405), fleet's handlers (Content-Type checks, body decoding, validation, paging) and
 * fleet's answers. The doors (the socket server, the in-memory client) are thin adapters around {@link admit}.
 *
 * @since 0.1.0
 * @internal
 */
import * as Result from "effect/Result"
import { decodeMetadataOps, decodeUnit } from "./bodies.ts"
import { discoveryJson } from "./discovery.ts"
import { type Arrival, plan, type Plan } from "./faults.ts"
import * as GoJson from "../goJson.ts"
import * as GoUrl from "./goUrl.ts"
import type { LocalFleet, Outcome } from "./localFleet.ts"
import * as PageToken from "./pageToken.ts"
import { listed } from "./storage.ts"
import * as Wire from "./wire.ts"
import type { WireRequest, WireResponse } from "./wire.ts"

const outcome = (request: WireRequest, result: Outcome): WireResponse =>
  result.message === undefined
    ? Wire.respond(request, result.status, "", {})
    : Wire.error(request, result.status, result.message)

const pageToken = (fleet: LocalFleet, query: GoUrl.Query): Result.Result<PageToken.PageToken, string> => {
  const values = query.get("nextPageToken") ?? []
  if (values.length > 1) return Result.fail("too many values for page token")
  const [value] = values
  return value === undefined
    ? Result.succeed(PageToken.first(fleet.tokenLimit))
    : PageToken.decode(value, fleet.tokenLimit)
}

const listUnits = (fleet: LocalFleet, request: WireRequest, query: GoUrl.Query): WireResponse => {
  const token = pageToken(fleet, query)
  if (Result.isFailure(token)) return Wire.error(request, 400, token.failure)
  const page = PageToken.slice(fleet.storage.listUnitsAsFleet(), token.success)
  if (page === "overflow") return Wire.error(request, 500, PageToken.overflowMessage(token.success))
  return Wire.json(
    request,
    200,
    GoJson.encodeObject([
      ["nextPageToken", GoJson.optionalString(page.next)],
      ["units", GoJson.optionalArray(page.items.map((unit) => Wire.unitJson(unit, fleet.currentState(unit, "list"))))]
    ])
  )
}

const listStates = (fleet: LocalFleet, request: WireRequest, query: GoUrl.Query): WireResponse => {
  const token = pageToken(fleet, query)
  if (Result.isFailure(token)) return Wire.error(request, 400, token.failure)
  const states = fleet.storage
    .listStates({ machineID: query.get("machineID")?.[0], unitName: query.get("unitName")?.[0] })
    .filter((state) => listed(state.name) && listed(state.machineID))
  const page = PageToken.slice(states, token.success)
  if (page === "overflow") return Wire.error(request, 500, PageToken.overflowMessage(token.success))
  return Wire.json(
    request,
    200,
    GoJson.encodeObject([
      ["nextPageToken", GoJson.optionalString(page.next)],
      ["states", GoJson.optionalArray(page.items.map(Wire.stateJson))]
    ])
  )
}

const listMachines = (fleet: LocalFleet, request: WireRequest, query: GoUrl.Query): WireResponse => {
  const token = pageToken(fleet, query)
  if (Result.isFailure(token)) return Wire.error(request, 400, token.failure)
  const page = PageToken.slice(
    fleet.storage.listMachines().filter((machine) => listed(machine.id)),
    token.success
  )
  if (page === "overflow") return Wire.error(request, 500, PageToken.overflowMessage(token.success))
  return Wire.json(
    request,
    200,
    GoJson.encodeObject([
      ["machines", GoJson.optionalArray(page.items.map(Wire.machineJson))],
      ["nextPageToken", GoJson.optionalString(page.next)]
    ])
  )
}

const putUnit = (fleet: LocalFleet, request: WireRequest, item: string): WireResponse => {
  const contentTypes = request.headers["content-type"] ?? []
  if (contentTypes.length !== 1) return Wire.error(request, 415, `expected 1 Content-Type, got ${contentTypes.length}`)
  if (contentTypes[0]!.split(";")[0]!.trim() !== Wire.jsonType) {
    return Wire.error(request, 415, "only acceptable Content-Type is application/json")
  }
  const decoded = decodeUnit(request.body)
  if (Result.isFailure(decoded)) return Wire.error(request, 400, `unable to decode body: ${decoded.failure}`)
  return outcome(request, fleet.put(item, decoded.success))
}

const units = (
  fleet: LocalFleet,
  request: WireRequest,
  base: string,
  path: string,
  query: GoUrl.Query
): WireResponse => {
  if (path === base) {
    return request.method === "GET"
      ? listUnits(fleet, request, query)
      : Wire.error(request, 405, "only GET supported against this resource")
  }
  const item = path.slice(base.length + 1)
  if (path.startsWith(base + "/") && item !== "" && !item.includes("/")) {
    switch (request.method) {
      case "GET": {
        const unit = fleet.storage.getUnit(item)
        return unit === undefined
          ? Wire.error(request, 404, "unit does not exist")
          : Wire.json(
              request,
              200,
              Wire.unitJson({ ...unit, machineID: fleet.reportedMachine(unit, "get") }, fleet.currentState(unit, "get"))
            )
      }
      case "DELETE":
        return outcome(request, fleet.destroy(item))
      case "PUT":
        return putUnit(fleet, request, item)
      default:
        return Wire.error(request, 405, "only GET, PUT and DELETE supported against this resource")
    }
  }
  return Wire.error(request, 404)
}

const stateItem = (fleet: LocalFleet, request: WireRequest, item: string): WireResponse => {
  if (item === "" || item.includes("/")) return Wire.error(request, 404)
  if (request.method !== "GET") return Wire.error(request, 405, "only GET supported against this resource")
  const state = fleet.stateOf(item)
  // fleet dereferences nil here and drops the connection; it meant to answer this 404 (a deviation the README lists).
  return state === undefined
    ? Wire.error(request, 404, "unit state does not exist")
    : Wire.json(request, 200, Wire.stateJson(state))
}

const machines = (fleet: LocalFleet, request: WireRequest, query: GoUrl.Query): WireResponse => {
  switch (request.method) {
    case "GET":
      return listMachines(fleet, request, query)
    case "PATCH": {
      const ops = decodeMetadataOps(request.body)
      if (Result.isFailure(ops)) return Wire.error(request, 400, ops.failure)
      const result = fleet.patchMachines(ops.success)
      // fleet answers its PATCH through its JSON writer, so even the 204 says it is JSON.
      return result.message === undefined
        ? Wire.respond(request, 204, "", { "Content-Type": Wire.jsonType })
        : Wire.error(request, result.status, result.message)
    }
    default:
      return Wire.error(request, 405, "only GET and PATCH supported against this resource")
  }
}

const route = (fleet: LocalFleet, request: WireRequest, path: string, query: GoUrl.Query): WireResponse => {
  for (const prefix of ["/fleet/v1", "/v1-alpha"]) {
    if (path === prefix) return Wire.error(request, 405)
    if (path === prefix + "/discovery") {
      return request.method === "GET"
        ? Wire.json(request, 200, discoveryJson)
        : Wire.error(request, 400, "only HTTP GET supported against this resource")
    }
    if (path === prefix + "/machines") return machines(fleet, request, query)
    if (path === prefix + "/state") {
      return request.method === "GET"
        ? listStates(fleet, request, query)
        : Wire.error(request, 405, "only GET supported against this resource")
    }
    if (path.startsWith(prefix + "/state/")) return stateItem(fleet, request, path.slice(prefix.length + 7))
    const base = prefix + "/units"
    if (path === base || path.startsWith(base + "/")) return units(fleet, request, base, path, query)
  }
  return Wire.error(request, path === "/" ? 405 : 404)
}

/**
 * Answers one request exactly as fleetd would, reading and changing `fleet`.
 *
 * @since 0.1.0
 * @internal
 */
export const handle = (fleet: LocalFleet, request: WireRequest): WireResponse => {
  if (fleet.etcdUnavailable) return Wire.unavailable(request)
  const { path, rawQuery } = GoUrl.splitTarget(request.url)
  if (path === undefined) return GoUrl.badRequest(request)
  const cleaned = GoUrl.muxCleanPath(path)
  if (cleaned !== path)
    return GoUrl.redirect(request, GoUrl.escapePath(cleaned) + (rawQuery === "" ? "" : "?" + rawQuery))
  return route(fleet, request, path, GoUrl.parseQuery(rawQuery))
}

/**
 * What a door does with a request it lets in (logged by `fleet.faults.arrive`): take its fault, and get the plan to act
 * out (fleet's own answer when no fault is queued).
 *
 * @since 0.2.0
 * @internal
 */
export const letIn = (fleet: LocalFleet, arrival: Arrival): Plan => {
  fleet.advance()
  const admission = arrival.admit()
  return plan(admission.fault, (request) => handle(fleet, request), admission.answered)
}

/**
 * What a door that never refuses a request does first with every one: log it and {@link letIn}.
 *
 * @since 0.2.0
 * @internal
 */
export const admit = (fleet: LocalFleet, method: string, url: string): Plan =>
  letIn(fleet, fleet.faults.arrive(method, url))
