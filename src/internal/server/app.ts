/**
 * fleet's v1 wire protocol as one pure, synchronous function over the in-memory registry: Go `net/http` ServeMux
 * routing (clean-path redirects, 404/405), fleet's handlers (Content-Type checks, Go `encoding/json` decoding and
 * its error texts, validation, paging) and fleet's response bytes. The socket server and the in-memory client are
 * thin adapters around {@link handle}.
 *
 * @since 0.1.0
 * @internal
 */
import { Result } from "effect"
import { discoveryJson } from "./discovery.ts"
import * as GoJson from "../goJson.ts"
import * as PageToken from "./pageToken.ts"
import type { MachineRecord, MetadataOp, Outcome, Registry, StateRecord, StoredUnit, UnitInput } from "./registry.ts"

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
}

/**
 * The `Server` header of every answer but the 503.
 *
 * @since 0.1.0
 * @internal
 */
export const serverHeader = "fleetd/1.0.0"

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

const jsonType = "application/json"

const respond = (
  request: WireRequest,
  status: number,
  body: string,
  headers: Record<string, string>,
  server = true
): WireResponse => {
  const all: Record<string, string> = server ? { Server: serverHeader, ...headers } : { ...headers }
  const bodyAllowed = status !== 204 && status !== 304 && !(status >= 100 && status < 200)
  if (bodyAllowed) all["Content-Length"] = String(Buffer.byteLength(body))
  return { status, headers: all, body: bodyAllowed && request.method !== "HEAD" ? body : "" }
}

const json = (request: WireRequest, status: number, body: string): WireResponse =>
  respond(request, status, body, { "Content-Type": jsonType })

const errorBody = (code: number, message: string): string =>
  `{"error":{"code":${code},"message":${GoJson.encodeString(message)}}}`

const error = (request: WireRequest, code: number, message = ""): WireResponse =>
  json(request, code, errorBody(code, message))

const outcome = (request: WireRequest, result: Outcome): WireResponse =>
  result.message === undefined ? respond(request, result.status, "", {}) : error(request, result.status, result.message)

/**
 * fleet's answer while etcd is unreachable (no `Server` header: fleet's middleware never runs).
 *
 * @since 0.1.0
 * @internal
 */
export const unavailable = (request: WireRequest): WireResponse =>
  respond(request, 503, errorBody(503, unavailableMessage), { "Content-Type": jsonType }, false)

/**
 * A 200 whose body is not JSON, for the `InvalidJson` fault.
 *
 * @since 0.1.0
 * @internal
 */
export const invalidJson = (request: WireRequest): WireResponse => json(request, 200, invalidJsonBody)

/**
 * An arbitrary answer, for the `Status` fault (a proxy's HTML 502, say): no fleet headers.
 *
 * @since 0.1.0
 * @internal
 */
export const raw = (request: WireRequest, status: number, body: string, contentType: string): WireResponse =>
  respond(request, status, body, { "Content-Type": contentType }, false)

// ---- URLs, as Go's net/url and net/http see them -------------------------------------------------------------------

const hexValue = (char: string | undefined): number =>
  char !== undefined && /^[0-9a-fA-F]$/.test(char) ? Number.parseInt(char, 16) : -1

/** Go's `url.PathUnescape` / `url.QueryUnescape`; `undefined` for a malformed escape. */
const goUnescape = (text: string, query: boolean): string | undefined => {
  if (!text.includes("%") && !(query && text.includes("+"))) return text
  const bytes: Array<number> = []
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!
    if (char === "%") {
      const high = hexValue(text[i + 1])
      const low = hexValue(text[i + 2])
      if (high < 0 || low < 0) return undefined
      bytes.push(high * 16 + low)
      i += 2
    } else if (query && char === "+") bytes.push(0x20)
    else bytes.push(...Buffer.from(char, "utf8"))
  }
  return Buffer.from(bytes).toString("utf8")
}

/** Go's `url.ParseQuery` of its time: `&` and `;` separate pairs; malformed pairs are dropped. */
const parseQuery = (rawQuery: string): ReadonlyMap<string, ReadonlyArray<string>> => {
  const query = new Map<string, Array<string>>()
  for (const pair of rawQuery.split(/[&;]/)) {
    if (pair === "") continue
    const equals = pair.indexOf("=")
    const key = goUnescape(equals === -1 ? pair : pair.slice(0, equals), true)
    const value = goUnescape(equals === -1 ? "" : pair.slice(equals + 1), true)
    if (key === undefined || value === undefined) continue
    const values = query.get(key)
    if (values === undefined) query.set(key, [value])
    else values.push(value)
  }
  return query
}

/** Go's `path.Clean`. */
const cleanPath = (path: string): string => {
  const parts: Array<string> = []
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue
    if (part === "..") parts.pop()
    else parts.push(part)
  }
  return "/" + parts.join("/")
}

/** ServeMux's `cleanPath`: rooted, cleaned, trailing slash kept. */
const muxCleanPath = (path: string): string => {
  if (path === "") return "/"
  const rooted = path.startsWith("/") ? path : "/" + path
  const cleaned = cleanPath(rooted)
  return rooted.endsWith("/") && cleaned !== "/" ? cleaned + "/" : cleaned
}

/** Go's `url.EscapedPath` of a path it had to re-escape. */
const escapePath = (path: string): string => {
  let out = ""
  for (const byte of Buffer.from(path, "utf8")) {
    const char = String.fromCharCode(byte)
    out += /^[A-Za-z0-9\-_.~$&+,/:;=@]$/.test(char) ? char : "%" + byte.toString(16).toUpperCase().padStart(2, "0")
  }
  return out
}

const htmlEscape = (text: string): string =>
  text.replace(/[&<>"']/g, (char) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;" })[char]!)

const redirect = (request: WireRequest, location: string): WireResponse => {
  if (request.method === "GET" || request.method === "HEAD") {
    const body = request.method === "GET" ? `<a href="${htmlEscape(location)}">Moved Permanently</a>.\n\n` : ""
    return respond(request, 301, body, { Location: location, "Content-Type": "text/html; charset=utf-8" })
  }
  return respond(request, 301, "", { Location: location })
}

/** What Go's HTTP server answers for a request target it cannot parse, before any handler runs. */
const badRequest = (request: WireRequest): WireResponse =>
  respond(request, 400, "400 Bad Request", { "Content-Type": "text/plain; charset=utf-8", Connection: "close" }, false)

// ---- JSON bodies, as Go's encoding/json decodes them into fleet's structs -----------------------------------------

const unitFields = new Map([
  ["currentstate", "currentState"],
  ["desiredstate", "desiredState"],
  ["machineid", "machineID"],
  ["name", "name"],
  ["options", "options"]
])

interface OptionDraft {
  section: string | undefined
  name: string | undefined
  value: string | undefined
}

const decodeString = (
  node: GoJson.Node,
  errors: GoJson.TypeErrors,
  struct: string,
  field: string,
  current: string | undefined
): string | undefined => {
  if (node.kind === "string") return node.value
  if (node.kind !== "null") errors.field(node, struct, field, "string")
  return current
}

const decodeOption = (node: GoJson.Node, errors: GoJson.TypeErrors, previous: OptionDraft | undefined) => {
  const option: OptionDraft = { ...(previous ?? { section: undefined, name: undefined, value: undefined }) }
  if (node.kind !== "object") {
    errors.field(node, "Unit", "options", "schema.UnitOption")
    return option
  }
  for (const [key, value] of node.entries) {
    const field = GoJson.foldKey(key)
    if (field === "section" || field === "name" || field === "value") {
      option[field] = decodeString(value, errors, "UnitOption", field, option[field])
    }
  }
  return option
}

/** A `PUT /units/{name}` body, decoded into fleet's `schema.Unit` by Go's rules; `Failure` is Go's error text. */
export const decodeUnit = (body: string): Result.Result<UnitInput, string> => {
  const parsed = GoJson.parse(body)
  if (Result.isFailure(parsed)) return Result.fail(parsed.failure)
  const node = parsed.success
  const errors = new GoJson.TypeErrors()
  const unit: { name?: string | undefined; desiredState?: string | undefined; options?: Array<OptionDraft> } = {}
  if (node.kind === "object") {
    for (const [key, value] of node.entries) {
      const field = unitFields.get(GoJson.foldKey(key))
      if (field === undefined) continue
      if (field === "options") {
        if (value.kind === "null") delete unit.options
        else if (value.kind !== "array") errors.field(value, "Unit", "options", "[]*schema.UnitOption")
        else {
          // Go reuses the elements of an earlier duplicate "options" array; the last key still wins.
          const previous = unit.options ?? []
          unit.options = value.items
            .map((item, index) => (item.kind === "null" ? undefined : decodeOption(item, errors, previous[index])))
            .filter((option): option is OptionDraft => option !== undefined)
        }
      } else if (field === "name" || field === "desiredState") {
        unit[field] = decodeString(value, errors, "Unit", field, unit[field])
      } else decodeString(value, errors, "Unit", field, undefined)
    }
  } else if (node.kind !== "null") errors.value(node, "schema.Unit")
  if (errors.first !== undefined) return Result.fail(errors.first)
  return Result.succeed({
    name: unit.name,
    desiredState: unit.desiredState,
    options: unit.options?.map((option) => ({
      section: option.section ?? "",
      name: option.name ?? "",
      value: option.value ?? ""
    }))
  })
}

const metadataValueType = "struct { Value string }"

/** A `PATCH /machines` body, decoded into fleet's `[]machineMetadataOp` by Go's rules. */
export const decodeMetadataOps = (body: string): Result.Result<ReadonlyArray<MetadataOp>, string> => {
  const parsed = GoJson.parse(body)
  if (Result.isFailure(parsed)) return Result.fail(parsed.failure)
  const node = parsed.success
  const errors = new GoJson.TypeErrors()
  const ops: Array<MetadataOp> = []
  if (node.kind === "array") {
    for (const item of node.items) {
      const op = { op: "", path: "", value: "" }
      if (item.kind === "object") {
        for (const [key, value] of item.entries) {
          const field = GoJson.foldKey(key)
          if (field === "op") op.op = decodeString(value, errors, "machineMetadataOp", "op", op.op) ?? ""
          else if (field === "path") op.path = decodeString(value, errors, "machineMetadataOp", "Path", op.path) ?? ""
          else if (field === "value") {
            if (value.kind === "object") {
              for (const [innerKey, inner] of value.entries) {
                if (GoJson.foldKey(innerKey) === "value") {
                  op.value = decodeString(inner, errors, "", "Value", op.value) ?? ""
                }
              }
            } else if (value.kind !== "null") errors.field(value, "machineMetadataOp", "Value", metadataValueType)
          }
        }
      } else if (item.kind !== "null") errors.value(item, "api.machineMetadataOp")
      ops.push(op)
    }
  } else if (node.kind !== "null") errors.value(node, "[]api.machineMetadataOp")
  if (errors.first !== undefined) return Result.fail(errors.first)
  return Result.succeed(ops)
}

// ---- fleet's JSON output ------------------------------------------------------------------------------------------

const optionJson = (option: { readonly section: string; readonly name: string; readonly value: string }) =>
  GoJson.encodeObject([
    ["name", GoJson.optionalString(option.name)],
    ["section", GoJson.optionalString(option.section)],
    ["value", GoJson.optionalString(option.value)]
  ])

const unitJson = (registry: Registry, unit: StoredUnit, context: "get" | "list"): string =>
  GoJson.encodeObject([
    ["currentState", GoJson.optionalString(registry.currentState(unit, context))],
    ["desiredState", GoJson.optionalString(unit.desiredState)],
    ["machineID", GoJson.optionalString(unit.machineID)],
    ["name", GoJson.optionalString(unit.name)],
    ["options", GoJson.optionalArray(unit.options.map(optionJson))]
  ])

const stateJson = (state: StateRecord): string =>
  GoJson.encodeObject([
    ["hash", GoJson.optionalString(state.hash)],
    ["machineID", GoJson.optionalString(state.machineID)],
    ["name", GoJson.optionalString(state.name)],
    ["systemdActiveState", GoJson.optionalString(state.systemdActiveState)],
    ["systemdLoadState", GoJson.optionalString(state.systemdLoadState)],
    ["systemdSubState", GoJson.optionalString(state.systemdSubState)]
  ])

const machineJson = (machine: MachineRecord): string =>
  GoJson.encodeObject([
    ["id", GoJson.optionalString(machine.id)],
    ["metadata", GoJson.optionalMap(machine.metadata)],
    ["primaryIP", GoJson.optionalString(machine.primaryIP)]
  ])

// ---- handlers -----------------------------------------------------------------------------------------------------

const pageToken = (
  registry: Registry,
  query: ReadonlyMap<string, ReadonlyArray<string>>
): Result.Result<PageToken.PageToken, string> => {
  const values = query.get("nextPageToken") ?? []
  if (values.length > 1) return Result.fail("too many values for page token")
  const [value] = values
  return value === undefined
    ? Result.succeed(PageToken.first(registry.tokenLimit))
    : PageToken.decode(value, registry.tokenLimit)
}

const listUnits = (registry: Registry, request: WireRequest, query: ReadonlyMap<string, ReadonlyArray<string>>) => {
  const token = pageToken(registry, query)
  if (Result.isFailure(token)) return error(request, 400, token.failure)
  const page = PageToken.slice(registry.listUnits(), token.success)
  return json(
    request,
    200,
    GoJson.encodeObject([
      ["nextPageToken", GoJson.optionalString(page.next)],
      ["units", GoJson.optionalArray(page.items.map((unit) => unitJson(registry, unit, "list")))]
    ])
  )
}

const listStates = (registry: Registry, request: WireRequest, query: ReadonlyMap<string, ReadonlyArray<string>>) => {
  const token = pageToken(registry, query)
  if (Result.isFailure(token)) return error(request, 400, token.failure)
  const states = registry.listStates({ machineID: query.get("machineID")?.[0], unitName: query.get("unitName")?.[0] })
  const page = PageToken.slice(states, token.success)
  return json(
    request,
    200,
    GoJson.encodeObject([
      ["nextPageToken", GoJson.optionalString(page.next)],
      ["states", GoJson.optionalArray(page.items.map(stateJson))]
    ])
  )
}

const listMachines = (registry: Registry, request: WireRequest, query: ReadonlyMap<string, ReadonlyArray<string>>) => {
  const token = pageToken(registry, query)
  if (Result.isFailure(token)) return error(request, 400, token.failure)
  const page = PageToken.slice(registry.listMachines(), token.success)
  return json(
    request,
    200,
    GoJson.encodeObject([
      ["machines", GoJson.optionalArray(page.items.map(machineJson))],
      ["nextPageToken", GoJson.optionalString(page.next)]
    ])
  )
}

const putUnit = (registry: Registry, request: WireRequest, item: string): WireResponse => {
  const contentTypes = request.headers["content-type"] ?? []
  if (contentTypes.length !== 1) return error(request, 415, `expected 1 Content-Type, got ${contentTypes.length}`)
  if (contentTypes[0]!.split(";")[0]!.trim() !== jsonType) {
    return error(request, 415, "only acceptable Content-Type is application/json")
  }
  const decoded = decodeUnit(request.body)
  if (Result.isFailure(decoded)) return error(request, 400, `unable to decode body: ${decoded.failure}`)
  return outcome(request, registry.put(item, decoded.success))
}

const units = (
  registry: Registry,
  request: WireRequest,
  base: string,
  path: string,
  query: ReadonlyMap<string, ReadonlyArray<string>>
): WireResponse => {
  if (path === base) {
    return request.method === "GET"
      ? listUnits(registry, request, query)
      : error(request, 405, "only GET supported against this resource")
  }
  const item = path.slice(base.length + 1)
  if (path.startsWith(base + "/") && item !== "" && !item.includes("/")) {
    switch (request.method) {
      case "GET": {
        const unit = registry.getUnit(item)
        return unit === undefined
          ? error(request, 404, "unit does not exist")
          : json(request, 200, unitJson(registry, unit, "get"))
      }
      case "DELETE":
        return outcome(request, registry.destroy(item))
      case "PUT":
        return putUnit(registry, request, item)
      default:
        return error(request, 405, "only GET, PUT and DELETE supported against this resource")
    }
  }
  return error(request, 404)
}

const machines = (registry: Registry, request: WireRequest, query: ReadonlyMap<string, ReadonlyArray<string>>) => {
  switch (request.method) {
    case "GET":
      return listMachines(registry, request, query)
    case "PATCH": {
      const ops = decodeMetadataOps(request.body)
      if (Result.isFailure(ops)) return error(request, 400, ops.failure)
      const result = registry.patchMachines(ops.success)
      // fleet answers its PATCH through its JSON writer, so even the 204 says it is JSON.
      return result.message === undefined
        ? respond(request, 204, "", { "Content-Type": jsonType })
        : error(request, result.status, result.message)
    }
    default:
      return error(request, 405, "only GET and PATCH supported against this resource")
  }
}

const route = (
  registry: Registry,
  request: WireRequest,
  path: string,
  query: ReadonlyMap<string, ReadonlyArray<string>>
): WireResponse => {
  for (const prefix of ["/fleet/v1", "/v1-alpha"]) {
    if (path === prefix) return error(request, 405)
    if (path === prefix + "/discovery") {
      return request.method === "GET"
        ? json(request, 200, discoveryJson)
        : error(request, 400, "only HTTP GET supported against this resource")
    }
    if (path === prefix + "/machines") return machines(registry, request, query)
    if (path === prefix + "/state") {
      return request.method === "GET"
        ? listStates(registry, request, query)
        : error(request, 405, "only GET supported against this resource")
    }
    const base = prefix + "/units"
    if (path === base || path.startsWith(base + "/")) return units(registry, request, base, path, query)
  }
  return error(request, path === "/" ? 405 : 404)
}

/**
 * Answers one request exactly as fleetd would, reading and changing `registry`.
 *
 * @since 0.1.0
 * @internal
 */
export const handle = (registry: Registry, request: WireRequest): WireResponse => {
  if (registry.etcdUnavailable) return unavailable(request)
  let target = request.url
  const absolute = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/]*/.exec(target)
  if (absolute !== null) target = target.slice(absolute[0].length) || "/"
  const hash = target.indexOf("#")
  if (hash !== -1) target = target.slice(0, hash)
  const mark = target.indexOf("?")
  const rawPath = mark === -1 ? target : target.slice(0, mark)
  const rawQuery = mark === -1 ? "" : target.slice(mark + 1)
  const path = goUnescape(rawPath, false)
  if (path === undefined) return badRequest(request)
  const cleaned = muxCleanPath(path)
  if (cleaned !== path) return redirect(request, escapePath(cleaned) + (rawQuery === "" ? "" : "?" + rawQuery))
  return route(registry, request, path, parseQuery(rawQuery))
}
