/**
 * Faults and observation for the local fleet: one queue of faults the next requests act out, one log of the
 * requests received, and {@link plan}, which turns a fault into what a door does. Each door (the socket server, the
 * in-memory client) maps the four plans to its own medium, so a fault means the same thing behind either.
 *
 * @since 0.2.0
 * @internal
 */
import type { Fault, RequestRecord } from "../../FleetControl.ts"
import { invalidJson, jsonType, raw, serverHeader, unavailable, type WireRequest, type WireResponse } from "./wire.ts"

/**
 * A request let in: the fault it must act out, and how to log its answer.
 *
 * @since 0.2.0
 * @internal
 */
export interface Admission {
  readonly fault: Fault | undefined
  readonly answered: (status: number) => void
}

/**
 * A request logged as it arrived, not yet let in: a door that answers it itself (a body over the cap) logs that
 * answer with `answered` and the request takes no fault; otherwise `admit` takes its fault, once.
 *
 * @since 0.2.0
 * @internal
 */
export interface Arrival {
  readonly admit: () => Admission
  readonly answered: (status: number) => void
}

/**
 * The fault queue and the request log.
 *
 * @since 0.2.0
 * @internal
 */
export class Faults {
  private readonly queue: Array<Fault> = []
  private readonly log: Array<RequestRecord> = []

  /** Queues `fault` for each of the next `count` requests. */
  failNext(count: number, fault: Fault): void {
    for (let i = 0; i < count; i++) this.queue.push(fault)
  }

  /** Logs a request as it arrives; see {@link Arrival}. */
  arrive(method: string, url: string): Arrival {
    const started = performance.now()
    let entry: RequestRecord = { method, url, receivedAt: Date.now() }
    const index = this.log.length
    this.log.push(entry)
    const log = this.log
    // A reset between arrival and answer emptied the log: the entry is gone with it.
    const update = (fields: Partial<RequestRecord>) => {
      if (log[index] !== entry) return
      entry = { ...entry, ...fields }
      log[index] = entry
    }
    const answered = (status: number) => update({ status, durationMillis: performance.now() - started })
    return {
      answered,
      admit: () => {
        const fault = this.queue.shift()
        if (fault !== undefined) update({ fault: fault._tag })
        return { fault, answered }
      }
    }
  }

  /** Every request seen, oldest first. */
  get requests(): ReadonlyArray<RequestRecord> {
    return this.log.slice()
  }

  /** How many requests were seen. */
  get requestCount(): number {
    return this.log.length
  }

  /** Empties the queue and the log. */
  clear(): void {
    this.queue.length = 0
    this.log.length = 0
  }
}

/**
 * An answer cut short: the status and headers (with the full `Content-Length`), and the bytes to send before the
 * connection drops.
 *
 * @since 0.2.0
 * @internal
 */
export interface Cut {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly sent: Uint8Array
}

/**
 * What a door does with one request:
 *
 * - `Respond`: send `answer(request)` whole.
 * - `Truncate`: send the cut's headers and bytes, then drop the connection.
 * - `Reset`: drop the connection before any answer (a door may do so before reading the body).
 * - `Stall`: never answer (until the door closes).
 *
 * @since 0.2.0
 * @internal
 */
export type Plan =
  | { readonly _tag: "Respond"; readonly answer: (request: WireRequest) => WireResponse }
  | { readonly _tag: "Truncate"; readonly answer: (request: WireRequest) => Cut }
  | { readonly _tag: "Reset" }
  | { readonly _tag: "Stall" }

// A body-less answer has nothing to cut: a small JSON body stands in, so the client sees a body cut short.
const substituteBody = '{"units":[]}'

const cut = (response: WireResponse): Cut => {
  const substitute = response.body.length < 2
  const body = Buffer.from(substitute ? substituteBody : response.body, "utf8")
  const headers = substitute ? { Server: serverHeader, "Content-Type": jsonType } : response.headers
  return {
    status: substitute ? 200 : response.status,
    headers: { ...headers, "Content-Length": String(body.length) },
    sent: body.subarray(0, Math.floor(body.length / 2))
  }
}

/**
 * The plan for a request that drew `fault` (or none): `handle` is fleet's own answer, used when there is no fault and
 * by `Truncate`.
 *
 * @since 0.2.0
 * @internal
 */
export const plan = (
  fault: Fault | undefined,
  handle: (request: WireRequest) => WireResponse,
  answered: (status: number) => void = () => {}
): Plan => {
  const respond = (answer: (request: WireRequest) => WireResponse): Plan => ({
    _tag: "Respond",
    answer: (request) => {
      const response = answer(request)
      answered(response.status)
      return response
    }
  })
  if (fault === undefined) return respond(handle)
  switch (fault._tag) {
    case "Unavailable":
      return respond(unavailable)
    case "Status":
      return respond((request) => raw(request, fault.status, fault.body, fault.contentType))
    case "InvalidJson":
      return respond(invalidJson)
    case "Truncate":
      return {
        _tag: "Truncate",
        answer: (request) => {
          const sent = cut(handle(request))
          answered(sent.status)
          return sent
        }
      }
    case "Reset":
    case "Stall":
      return fault
  }
}
