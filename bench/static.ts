/**
 * A static replay of a local fleet: every answer the benchmarks ask for is recorded once from the fleet server
 * (status, headers and body bytes), then served from precomputed buffers by a bare `node:http` server, so that the
 * server's share of each round trip is as small as node can make it and the client's overhead shows.
 */
import * as http from "node:http"
import type * as net from "node:net"
import { Agent, request } from "undici"

interface Recorded {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: Buffer
}

export interface Recording {
  /** Keyed by method, path and the page token (empty for none): see {@link key}. */
  readonly answers: Map<string, Recorded>
  readonly units: number
}

const key = (method: string, path: string, pageToken: string): string => `${method} ${path} ${pageToken}`

const capture = async (
  agent: Agent,
  origin: string,
  method: "GET" | "PUT" | "DELETE",
  path: string,
  body?: string
): Promise<Recorded> => {
  const response = await request(origin + path, {
    dispatcher: agent,
    method,
    ...(body !== undefined ? { body, headers: { "content-type": "application/json" } } : {})
  })
  const bytes = Buffer.from(await response.body.arrayBuffer())
  const headers: Record<string, string> = {}
  for (const name of ["content-type", "server"]) {
    const value = response.headers[name]
    if (typeof value === "string") headers[name] = value
  }
  return { status: response.statusCode, headers, body: bytes }
}

/** The names `bench/create.ts` creates, so that their GETs can be recorded too. */
export const createdName = (i: number): string => `created-${String(i).padStart(6, "0")}.service`
export const createdCount = 200

/**
 * Records discovery, every page of the unit listing, the GET of the first `unitGets` units, and the PUT and GET of
 * {@link createdCount} new units (created on the fleet server, then deleted again).
 */
export const record = async (origin: string, unitGets: number): Promise<Recording> => {
  const agent = new Agent({ connections: 1 })
  const answers = new Map<string, Recorded>()
  try {
    answers.set(key("GET", "/fleet/v1/discovery", ""), await capture(agent, origin, "GET", "/fleet/v1/discovery"))
    const names: Array<string> = []
    let token: string | undefined = ""
    while (token !== undefined) {
      const path: string =
        token === "" ? "/fleet/v1/units" : `/fleet/v1/units?${new URLSearchParams({ nextPageToken: token })}`
      const page = await capture(agent, origin, "GET", path)
      answers.set(key("GET", "/fleet/v1/units", token), page)
      const json = JSON.parse(page.body.toString("utf8")) as {
        units?: Array<{ name: string }>
        nextPageToken?: string
      }
      for (const unit of json.units ?? []) names.push(unit.name)
      token = json.nextPageToken
    }
    for (const name of names.slice(0, unitGets)) {
      const path = `/fleet/v1/units/${encodeURIComponent(name)}`
      answers.set(key("GET", path, ""), await capture(agent, origin, "GET", path))
    }
    const body = JSON.stringify({
      desiredState: "inactive",
      options: [{ section: "Service", name: "ExecStart", value: "/usr/bin/sleep 1d" }]
    })
    for (let i = 0; i < createdCount; i++) {
      const path = `/fleet/v1/units/${encodeURIComponent(createdName(i))}`
      answers.set(key("PUT", path, ""), await capture(agent, origin, "PUT", path, body))
      answers.set(key("GET", path, ""), await capture(agent, origin, "GET", path))
      // Leaves the fleet as it was, so that its listing and the replayed one stay the same.
      await capture(agent, origin, "DELETE", path)
    }
    return { answers, units: names.length }
  } finally {
    await agent.close()
  }
}

const notFound: Recorded = {
  status: 404,
  headers: { "content-type": "application/json" },
  body: Buffer.from('{"error":{"code":404,"message":"not recorded"}}')
}

/** Serves a recording on a loopback port; resolves with the server once it listens. */
export const serveRecording = (recording: Recording): Promise<http.Server> => {
  const answer = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const target = req.url ?? "/"
    const mark = target.indexOf("?")
    const path = mark === -1 ? target : target.slice(0, mark)
    const token = mark === -1 ? "" : (new URLSearchParams(target.slice(mark + 1)).get("nextPageToken") ?? "")
    const found = recording.answers.get(key(req.method ?? "GET", path, token)) ?? notFound
    res.writeHead(found.status, { ...found.headers, "content-length": found.body.length })
    res.end(found.body)
  }
  const server = http.createServer((req, res) => {
    if (req.method === "GET") return answer(req, res)
    req.resume()
    req.on("end", () => answer(req, res))
  })
  server.keepAliveTimeout = 30_000
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve(server as http.Server & { address(): net.AddressInfo }))
  )
}
