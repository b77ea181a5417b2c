/**
 * Turns whatever the HTTP stack or the SSH tunnel failed with into a `TransportError` reason and a readable message.
 * The original error stays in `cause`.
 */
import type { TransportErrorReason } from "../../FleetError.ts"
import { isTunnelFailure } from "../ssh/tunnelFailure.ts"
import { chain, codeOf, permanentCodes } from "./cause.ts"

// A missing socket (ENOENT) and a refused connection stay transient: fleetd restarting looks exactly like that.
const connectCodes = new Set([
  ...permanentCodes,
  "ECONNREFUSED",
  "ENOENT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EADDRNOTAVAIL"
])
const resetCodes = new Set(["ECONNRESET", "EPIPE", "UND_ERR_SOCKET", "UND_ERR_CLOSED", "ECONNABORTED"])
const timeoutCodes = new Set(["UND_ERR_CONNECT_TIMEOUT", "ETIMEDOUT", "UND_ERR_HEADERS_TIMEOUT"])

const describe: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ENOENT: "no such socket",
  ENOTFOUND: "host could not be resolved",
  EAI_AGAIN: "host could not be resolved",
  ECONNRESET: "connection reset",
  EPIPE: "connection closed while sending",
  UND_ERR_SOCKET: "connection closed before the response was complete",
  ETIMEDOUT: "connection timed out",
  UND_ERR_CONNECT_TIMEOUT: "connection timed out"
}

const messageOf = (error: unknown): string | undefined => {
  const message = (error as { message?: unknown })?.message
  return typeof message === "string" && message !== "" ? message : undefined
}

/**
 * Classifies a failure. `beforeResponse` tells whether any response had arrived when it happened.
 *
 * @since 0.2.0
 * @internal
 */
export const classify = (
  error: unknown,
  beforeResponse: boolean
): { readonly reason: TransportErrorReason; readonly detail: string } => {
  const errors = chain(error)
  const tunnel = errors.find(isTunnelFailure)
  if (tunnel !== undefined) return { reason: "Tunnel", detail: `SSH tunnel failed: ${tunnel.message}` }
  for (const e of errors) {
    const code = codeOf(e)
    if (code === undefined) continue
    const text = `${describe[code] ?? messageOf(e) ?? code} (${code})`
    if (connectCodes.has(code)) return { reason: "Connect", detail: text }
    if (resetCodes.has(code)) return { reason: "Reset", detail: text }
    if (timeoutCodes.has(code)) return { reason: "Timeout", detail: text }
  }
  const innermost =
    errors
      .map(messageOf)
      .filter((m): m is string => m !== undefined)
      .pop() ?? String(error)
  if (/other side closed|terminated|socket hang up|premature close|aborted/i.test(innermost)) {
    return { reason: "Reset", detail: `connection closed: ${innermost}` }
  }
  return beforeResponse
    ? { reason: "Connect", detail: innermost }
    : { reason: "Reset", detail: `response body could not be read: ${innermost}` }
}
