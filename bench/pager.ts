/**
 * A listing of any length in fleet's page format (`{"units": [...], "nextPageToken": "..."}`, pages of 100, a next
 * token whenever a page is full, so an exact multiple ends with an empty page, as in fleet), for the memory figure.
 * fleet's handler computes a page's bounds in 16 bits, so fleet (and the local fleet, which answers as fleet does)
 * cannot list past item 65,535 (65,500 units in pages of 100); a client's memory while streaming 100,000 does not
 * depend on who sends them. Both counts of the figure come from here, so that they differ only in the count. Each page is serialised when asked for, so that the server
 * holds the units, not 100,000 units' worth of JSON.
 */
import * as http from "node:http"
import { discoveryJson } from "../src/internal/server/discovery.ts"
import type { Unit } from "../src/Unit.ts"

const pageSize = 100

/** A server (not yet listening) for `units`: discovery, and `GET /fleet/v1/units[?nextPageToken=N]`. */
export const servePager = (units: ReadonlyArray<Unit>): http.Server => {
  const json = units.map((unit) =>
    JSON.stringify({
      desiredState: unit.desiredState,
      name: unit.name,
      options: unit.options.map(({ name, section, value }) => ({ name, section, value }))
    })
  )
  return http.createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://pager")
    const send = (status: number, body: string) => {
      response.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
      response.end(body)
    }
    if (url.pathname === "/fleet/v1/discovery") return send(200, discoveryJson)
    if (url.pathname !== "/fleet/v1/units") return send(404, `{"error":{"code":404,"message":"not found"}}`)
    const page = Number(url.searchParams.get("nextPageToken") ?? "0")
    if (!Number.isInteger(page) || page < 0) return send(400, `{"error":{"code":400,"message":"bad token"}}`)
    const items = json.slice(page * pageSize, (page + 1) * pageSize)
    const full = items.length === pageSize
    const body =
      items.length === 0 ? "{}" : `{${full ? `"nextPageToken":"${page + 1}",` : ""}"units":[${items.join(",")}]}`
    send(200, body)
  })
}
