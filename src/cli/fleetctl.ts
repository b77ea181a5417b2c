/**
 * fleetctl's small rules, reproduced so that output matches it byte for byte: how a unit name is completed, how a
 * machine is shown, and how an error reads once Go's HTTP client and googleapi have formatted it.
 *
 * @internal
 */
import type { FleetError } from "../FleetError.ts"
import type { Machine } from "../Machine.ts"
import type { Unit } from "../Unit.ts"
import * as UnitFile from "../UnitFile.ts"
import { withDefaultType } from "../internal/client/units/resolve.ts"
import { isGlobal } from "../internal/unitRules.ts"

/**
 * fleetctl's `unitNameMangle`: the base name of a path (Go's `path.Base`), completed with `.service` by the
 * client's `maybeAppendDefaultUnitType`.
 */
export const unitNameMangle = (arg: string): string => withDefaultType(baseName(arg))

/** Go's `path.Base`. */
export const baseName = (p: string): string => {
  if (p === "") return "."
  const trimmed = p.replace(/\/+$/, "")
  if (trimmed === "") return "/"
  return trimmed.slice(trimmed.lastIndexOf("/") + 1)
}

/** Go's `path.Dir`. */
export const dirName = (p: string): string => {
  const slash = p.lastIndexOf("/")
  const dir = slash === -1 ? "" : p.slice(0, slash + 1)
  const cleaned = dir.replace(/\/+$/, "")
  return dir === "" ? "." : cleaned === "" ? "/" : cleaned
}

export interface MachineLike {
  readonly id: string
  readonly primaryIP?: string | undefined
}

export const shortId = (id: string): string => (id.length <= 8 ? id : id.slice(0, 8))

export const machineIdLegend = (machine: MachineLike, full: boolean): string =>
  full ? machine.id : `${shortId(machine.id)}...`

export const machineFullLegend = (machine: MachineLike, full: boolean): string => {
  const legend = machineIdLegend(machine, full)
  return machine.primaryIP !== undefined && machine.primaryIP !== "" ? `${legend}/${machine.primaryIP}` : legend
}

/** fleetctl's `formatMetadata`: `key=value` pairs sorted by key, comma-separated. */
export const formatMetadata = (metadata: Readonly<Record<string, string>>): string =>
  Object.keys(metadata)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((key) => `${key}=${metadata[key]}`)
    .join(",")

export const unitIsGlobal = (unit: Unit): boolean => isGlobal(unit.options)

export const unitHash = (unit: Unit): string => UnitFile.hash(unit.options)

export const unitDescription = (unit: Unit): string =>
  unit.options.find((o) => o.section === "Unit" && o.name === "Description")?.value ?? ""

export type MachineMap = ReadonlyMap<string, Machine>

// Go's syscall error strings for the errno codes a dial can fail with.
const errnoText: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ENOENT: "no such file or directory",
  EACCES: "permission denied",
  ECONNRESET: "connection reset by peer",
  ENOTSOCK: "socket operation on non-socket",
  EHOSTUNREACH: "no route to host",
  ENETUNREACH: "network is unreachable",
  ETIMEDOUT: "connection timed out"
}

const errnoOf = (error: unknown): string | undefined => {
  let current: unknown = error
  for (let i = 0; i < 16 && current !== undefined && current !== null; i++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === "string" && code in errnoText) return code
    if (current instanceof AggregateError && current.errors.length > 0) return errnoOf(current.errors[0])
    const next = current as { cause?: unknown; reason?: unknown }
    current = next.cause ?? (typeof next.reason === "object" ? next.reason : undefined)
  }
  return undefined
}

export interface ErrorContext {
  /** What fleetctl shows as the base of its URLs: `http://domain-sock` for a unix socket. */
  readonly base: string
  /** The dial target: `tcp host:port` or `unix /path`. */
  readonly dial: string
}

/**
 * An error as fleetctl prints it: googleapi's `googleapi: Error 404: unit does not exist` for fleet's answers,
 * Go's `Get "URL": dial tcp ...: connect: connection refused` for the common connection failures, the library's
 * own message otherwise.
 */
export const errorText = (error: FleetError, context: ErrorContext): string => {
  switch (error._tag) {
    case "APIError":
      return error.message === ""
        ? `googleapi: got HTTP response code ${error.code} with body: {"error":{"code":${error.code},"message":""}}\n`
        : `googleapi: Error ${error.code}: ${error.message}`
    case "ValueError":
      return error.message
    case "TransportError": {
      const request = /^(GET|PUT|DELETE|PATCH) (\/\S*?):/.exec(error.message)
      const code = errnoOf(error.cause)
      if (request !== null && code !== undefined && error.reason === "Connect") {
        const method = request[1]!.charAt(0) + request[1]!.slice(1).toLowerCase()
        const url = `${context.base}${request[2]}?alt=json`
        return `${method} "${url}": dial ${context.dial}: connect: ${errnoText[code]}`
      }
      return error.message
    }
  }
}
