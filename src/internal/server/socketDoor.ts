/**
 * The socket door of the local fleet: a node `http` request listener that reads each request, asks the app for its
 * plan, and acts it out on the socket (an answer, an answer cut short, a dropped connection, or silence).
 *
 * @since 0.2.0
 * @internal
 */
import type * as http from "node:http"
import * as App from "./app.ts"
import type { Cut } from "./faults.ts"
import type { LocalFleet } from "./localFleet.ts"
import type { WireRequest, WireResponse } from "./wire.ts"

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

/**
 * The request listener serving `fleet`.
 *
 * @since 0.2.0
 * @internal
 */
export const listener =
  (fleet: LocalFleet): http.RequestListener =>
  (req, res) => {
    const method = req.method ?? "GET"
    const url = req.url ?? "/"
    const plan = App.admit(fleet, method, url)
    if (plan._tag === "Reset") {
      req.socket.destroy()
      return
    }
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => {
      const request: WireRequest = {
        method,
        url,
        headers: collectHeaders(req.rawHeaders),
        body: Buffer.concat(chunks).toString("utf8")
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
  }
