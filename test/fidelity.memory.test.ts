/**
 * The test layer's in-memory fleet (`FleetTest`, no socket) against the local server, over the hand-written
 * scenarios of the differential suite: what the local server answers there is what fleet answers, so the test layer
 * answering the same carries the claim over. Runs everywhere (no reference binaries needed).
 *
 * Requests an `HttpClient` cannot make as they are written (repeated headers, a body without a content type, methods
 * outside its set, absolute-form targets, paths a URL would normalize or re-escape) are left to the socket
 * comparison.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as HttpClient from "effect/http/HttpClient"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as FleetControl from "../src/FleetControl.ts"
import * as FleetTest from "../src/FleetTest.ts"
import { type Answer, exchange, type Local, type Request, startLocal } from "./support/fleetRef.ts"
import { scenarios } from "./support/fidelityScenarios.ts"

const limit = 3
const methods = new Set(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])

const expressible = (request: Request): boolean => {
  const names = (request.headers ?? []).filter((_, i) => i % 2 === 0).map((name) => name.toLowerCase())
  return (
    methods.has(request.method) &&
    new Set(names).size === names.length &&
    // An HttpClient body always carries a content type.
    (request.body === undefined || names.includes("content-type")) &&
    request.path.startsWith("/") &&
    !request.path.startsWith("//") &&
    /^[A-Za-z0-9\-._~%/?=&:@+]*$/.test(request.path) &&
    !/\/\.\.?(\/|$|\?)/.test(request.path) &&
    !/%(2e|2E)/.test(request.path) &&
    !request.path.includes("%2F")
  )
}

describe("fidelity: the test layer's in-memory fleet answers as the local server does", () => {
  let local: Local
  let client: HttpClient.HttpClient
  let control: FleetControl.FleetControlService
  let total = 0
  beforeAll(async () => {
    local = await startLocal(limit)
    const made = await Effect.runPromise(FleetTest.makeHttpClient({ tokenLimit: limit, agents: "off" }))
    client = made.httpClient
    control = made.control
  })
  afterAll(async () => {
    await local?.close()
  })

  const inMemory = (request: Request): Promise<Answer> => {
    let outgoing = HttpClientRequest.make(request.method as "GET")(`http://fleet.test${request.path}`)
    const headers = request.headers ?? []
    for (let i = 0; i + 1 < headers.length; i += 2)
      outgoing = HttpClientRequest.setHeader(outgoing, headers[i]!, headers[i + 1]!)
    if (request.body !== undefined) {
      const bytes = typeof request.body === "string" ? new TextEncoder().encode(request.body) : request.body
      const contentType = headers.find((_, i) => i % 2 === 1 && headers[i - 1]!.toLowerCase() === "content-type")
      outgoing = HttpClientRequest.bodyUint8Array(outgoing, bytes, contentType ?? "")
    }
    return Effect.runPromise(
      Effect.gen(function* () {
        const response = yield* client.execute(outgoing)
        const body = yield* response.text
        return {
          status: response.status,
          framing: "",
          server: undefined,
          contentType: response.headers["content-type"],
          location: response.headers.location,
          body
        }
      })
    )
  }

  for (const scenario of scenarios(limit)) {
    it(scenario.name, async () => {
      await local.reset()
      await Effect.runPromise(control.reset)
      if (scenario.seed !== undefined) {
        await local.seed(scenario.seed)
        await Effect.runPromise(Effect.flatMap(FleetControl.decodeSeed(scenario.seed), control.seed))
      }
      const differences: Array<string> = []
      let compared = 0
      for (const request of scenario.requests.filter(expressible)) {
        const [overSocket, overMemory] = await Promise.all([exchange(local.url, request), inMemory(request)])
        compared++
        const a = {
          status: overSocket.status,
          type: overSocket.contentType,
          at: overSocket.location,
          body: overSocket.body
        }
        const b = {
          status: overMemory.status,
          type: overMemory.contentType,
          at: overMemory.location,
          body: overMemory.body
        }
        if (JSON.stringify(a) !== JSON.stringify(b)) {
          differences.push(
            `${request.method} ${request.path}\n  socket: ${JSON.stringify(a).slice(0, 300)}\n  memory: ${JSON.stringify(b).slice(0, 300)}`
          )
        }
      }
      total += compared
      expect(differences).toEqual([])
      expect(compared).toBeGreaterThan(0)
    })
  }

  it("compared most of the hand-written requests", () => {
    // The README quotes this number.
    expect(total).toBe(462)
  })
})
