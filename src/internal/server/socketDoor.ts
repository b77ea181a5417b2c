/**
 * The socket door of the local fleet: a node `http` server that reads each request (never more than the body limit),
 * asks the app for its plan, and acts it out on the socket (an answer, an answer cut short, a dropped connection,
 * or silence). A request can cost the server at most its body limit, and nothing a request does stops the server:
 * an unexpected failure answers 500 in fleet's shape and is reported to `onDefect`.
 *
 * @since 0.2.0
 * @internal
 */
import * as http from "node:http"
import type * as net from "node:net"
import { declaredLength } from "../contentLength.ts"
import * as GoString from "../goString.ts"
import * as App from "./app.ts"
import type { Cut } from "./faults.ts"
import type { LocalFleet } from "./localFleet.ts"
import { error, type WireRequest, type WireResponse } from "./wire.ts"

/**
 * The default cap on a request body: far above any unit file fleet would accept, far below what hurts.
 *
 * @since 0.2.0
 * @internal
 */
export const defaultMaxBodyBytes = 16 * 1024 * 1024

/**
 * How the socket door reads requests and reports its own failures.
 *
 * @since 0.2.0
 * @internal
 */
export interface DoorOptions {
  /** Bodies over this many bytes are answered 413 without being read further. */
  readonly maxBodyBytes: number
  /** Called with anything thrown while a request was handled (the client got a 500). */
  readonly onDefect: (cause: unknown, request: { readonly method: string; readonly url: string }) => void
}

/**
 * Go's `http.MaxBytesReader` error, which a handler reading a capped body reports.
 *
 * @since 0.2.0
 * @internal
 */
export const tooLargeMessage = "http: request body too large"

// After a 413 the connection closes; reading (and dropping) this much more first gives the client time to see the
// answer before it meets a reset, as Go's server does before closing on an unread body.
const lingerBytes = 256 * 1024

const collectHeaders = (rawHeaders: ReadonlyArray<string>): Record<string, Array<string>> => {
  const headers: Record<string, Array<string>> = {}
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase()
    const values = headers[name]
    if (values === undefined) headers[name] = [rawHeaders[i + 1]!]
    else values.push(rawHeaders[i + 1]!)
  }
  return headers
}

const send = (res: http.ServerResponse, response: WireResponse): void => {
  if (response.raw !== undefined) {
    res.socket?.end(response.raw)
    return
  }
  res.writeHead(response.status, response.headers)
  res.end(response.body)
}

const sendCut = (res: http.ServerResponse, cut: Cut): void => {
  res.writeHead(cut.status, cut.headers)
  res.write(cut.sent, () => res.socket?.destroy())
}

/** 413 in fleet's shape, then the connection closes: the rest of the body is never buffered. */
const tooLarge = (req: http.IncomingMessage, res: http.ServerResponse): void => {
  req.removeAllListeners("data")
  req.removeAllListeners("end")
  const socket = req.socket
  let dropped = 0
  req.on("data", (chunk: Buffer) => {
    dropped += chunk.length
    if (dropped > lingerBytes) socket.destroy()
  })
  if (res.headersSent) return
  const answer = error({ method: req.method ?? "GET" }, 413, tooLargeMessage)
  res.writeHead(answer.status, { ...answer.headers, Connection: "close" })
  res.end(answer.body)
}

const failed = (res: http.ServerResponse, method: string): void => {
  if (res.headersSent) {
    res.socket?.destroy()
    return
  }
  // fleet's own 500s carry an empty message
  send(res, error({ method }, 500))
}

/**
 * The request listener serving `fleet`.
 *
 * @since 0.2.0
 * @internal
 */
export const listener =
  (fleet: LocalFleet, options: DoorOptions): http.RequestListener =>
  (req, res) => {
    const method = req.method ?? "GET"
    const url = req.url ?? "/"
    // A client that goes away mid-request is its own business, never an uncaught error here.
    req.on("error", () => {})
    res.on("error", () => {})
    const guard = (body: () => void) => {
      try {
        body()
      } catch (cause) {
        options.onDefect(cause, { method, url })
        try {
          failed(res, method)
        } catch {
          req.socket.destroy()
        }
      }
    }
    guard(() => {
      const arrival = fleet.faults.arrive(method, url)
      // A body over the cap is the door's own answer: logged, but the request is never let in, so it takes no fault.
      const refuse = () => {
        arrival.answered(413)
        tooLarge(req, res)
      }
      const declared = declaredLength(req.headers["content-length"])
      if (declared !== undefined && declared > options.maxBodyBytes) return refuse()
      const chunks: Array<Buffer> = []
      let size = 0
      req.on("data", (chunk: Buffer) => {
        size += chunk.length
        if (size > options.maxBodyBytes) {
          chunks.length = 0
          refuse()
        } else chunks.push(chunk)
      })
      // Only a body read whole, within the cap, lets the request in: a chunked one shows its size only at its end.
      req.on("end", () =>
        guard(() => {
          const plan = App.letIn(fleet, arrival)
          if (plan._tag === "Reset") return req.socket.destroy()
          const request: WireRequest = {
            method,
            url,
            headers: collectHeaders(req.rawHeaders),
            body: GoString.decodeBytes(Buffer.concat(chunks))
          }
          switch (plan._tag) {
            case "Respond":
              return send(res, plan.answer(request))
            case "Truncate":
              return sendCut(res, plan.answer(request))
            case "Stall":
              return
          }
        })
      )
    })
  }

/**
 * A node HTTP server serving `fleet` (not listening yet). A client that announces an oversized body with
 * `Expect: 100-continue` is answered 413 before it sends a byte of it.
 *
 * @since 0.2.0
 * @internal
 */
export const createServer = (fleet: LocalFleet, options: DoorOptions): http.Server => {
  const handle = listener(fleet, options)
  const server = http.createServer(handle)
  server.on("checkContinue", (req, res) => {
    const declared = declaredLength(req.headers["content-length"])
    if (declared === undefined || declared <= options.maxBodyBytes) res.writeContinue()
    handle(req, res)
  })
  server.on("clientError", (cause: Error & { code?: string; rawPacket?: Buffer }, socket: net.Socket) =>
    answerUnknownMethod(fleet, options, cause, socket)
  )
  // Parallel clients open many connections; never let a quiet keep-alive socket outlive a test by much.
  server.keepAliveTimeout = 5_000
  return server
}

const requestLine = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (\S+) HTTP\/1\.[01]\r?\n/

/**
 * Go's server routes any method token (`FOO`, `get`); node's parser refuses the ones it does not know. Such a
 * request gets fleet's answer (a 405 or 404: no handler reads a body for it) on the raw socket, which then closes
 * because node's parser cannot go on; anything else node could not parse gets node's own 400.
 */
const answerUnknownMethod = (
  fleet: LocalFleet,
  options: DoorOptions,
  cause: Error & { code?: string; rawPacket?: Buffer },
  socket: net.Socket
): void => {
  const line = cause.code === "HPE_INVALID_METHOD" ? requestLine.exec(cause.rawPacket?.toString("latin1") ?? "") : null
  if (line === null || !socket.writable) {
    // What node answers when nobody listens for client errors.
    if (!socket.writable || cause.code === "ECONNRESET") socket.destroy()
    else if (cause.code === "HPE_HEADER_OVERFLOW") {
      socket.end("HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n")
    } else socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
    return
  }
  const method = line[1]!
  const url = line[2]!
  const request: WireRequest = { method, url, headers: {}, body: "" }
  const plan = App.admit(fleet, method, url)
  if (plan._tag !== "Respond") {
    socket.destroy()
    return
  }
  let response: WireResponse
  try {
    response = plan.answer(request)
  } catch (defect) {
    options.onDefect(defect, { method, url })
    response = error(request, 500, "")
  }
  if (response.raw !== undefined) {
    socket.end(response.raw)
    return
  }
  const head = [`HTTP/1.1 ${response.status} ${http.STATUS_CODES[response.status] ?? ""}`]
  for (const [name, value] of Object.entries(response.headers)) head.push(`${name}: ${value}`)
  head.push(`Date: ${new Date().toUTCString()}`, "Connection: close")
  socket.end(`${head.join("\r\n")}\r\n\r\n${response.body}`)
}
