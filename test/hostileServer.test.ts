/**
 * The client against servers that lie: page tokens that go round in circles, bodies that never end or declare
 * more than anyone should buffer, and redirects. Each test counts what the server saw or wrote.
 */
import type * as net from "node:net"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import * as Fleet from "../src/Fleet.ts"
import * as FleetTransport from "../src/FleetTransport.ts"
import { eventually } from "./support/localFleet.ts"
import { httpResponse, rawServer } from "./support/rawServer.ts"

const MiB = 1024 * 1024

/** Writes 64 KiB chunks of a body that never ends, as fast as the client takes them, until the connection closes. */
const endless = (socket: net.Socket, head: string, written: { bytes: number; closed: boolean }) => {
  const chunk = Buffer.alloc(64 * 1024, "x".charCodeAt(0))
  socket.on("close", () => {
    written.closed = true
  })
  socket.write(head)
  const pump = () => {
    while (!socket.destroyed) {
      written.bytes += chunk.length
      if (!socket.write(`${chunk.length.toString(16)}\r\n${chunk.toString("latin1")}\r\n`, "latin1")) {
        socket.once("drain", pump)
        return
      }
    }
  }
  pump()
}

// Both ways of sending: on the transport's dispatcher (Fleet.layer) and over an HttpClient (Fleet.layerHttpClient).
const paths = {
  "Fleet.layer": (url: string, options: Fleet.LayerOptions) => Fleet.layer(url, { probe: false, ...options }),
  "Fleet.layerHttpClient": (url: string, options: Fleet.LayerOptions) =>
    Fleet.layerHttpClient({ baseUrl: url, probe: false, ...options }).pipe(Layer.provide(FleetTransport.layerTcp()))
}

for (const [path, layerOf] of Object.entries(paths)) {
  const withFleet = <A, E>(url: string, options: Fleet.LayerOptions, use: Effect.Effect<A, E, Fleet.Fleet>) =>
    use.pipe(Effect.provide(layerOf(url, options)))

  describe(`${path}: a page token that repeats`, () => {
    it.live("fails the listing with MalformedResponse after two requests instead of looping", () =>
      Effect.gen(function* () {
        const requests: Array<string> = []
        const server = yield* rawServer((line, socket) => {
          requests.push(line)
          socket.write(httpResponse(200, JSON.stringify({ units: [{ name: "a.service" }], nextPageToken: "SAME" })))
        })
        const emitted: Array<string | undefined> = []
        const error = yield* withFleet(
          server.url,
          {},
          Fleet.listUnits().pipe(
            Stream.runForEach((unit) => Effect.sync(() => emitted.push(unit.name))),
            Effect.flip
          )
        )
        expect(error).toMatchObject({ _tag: "TransportError", reason: "MalformedResponse" })
        expect(error.message).toContain(`GET /fleet/v1/units: fleet sent the next-page token "SAME" a second time`)
        expect(requests).toEqual(["GET /fleet/v1/units HTTP/1.1", "GET /fleet/v1/units?nextPageToken=SAME HTTP/1.1"])
        expect(emitted).toEqual(["a.service"])
      })
    )

    it.live("a longer cycle (A, B, A) is caught too, in every listing", () =>
      Effect.gen(function* () {
        const requests: Array<string> = []
        const next: Record<string, string> = { "": "A", A: "B", B: "A" }
        const server = yield* rawServer((line, socket) => {
          requests.push(line)
          const token = /nextPageToken=(\w+)/.exec(line)?.[1] ?? ""
          const key = line.includes("/machines") ? "machines" : line.includes("/state") ? "states" : "units"
          socket.write(httpResponse(200, JSON.stringify({ [key]: [], nextPageToken: next[token] })))
        })
        const listings = [
          Fleet.listUnits().pipe(Stream.runDrain),
          Fleet.listUnitStates({ machineId: "m1" }).pipe(Stream.runDrain),
          Fleet.listMachines().pipe(Stream.runDrain)
        ]
        for (const listing of listings) {
          requests.length = 0
          const error = yield* withFleet(server.url, {}, Effect.flip(listing))
          expect(error).toMatchObject({ _tag: "TransportError", reason: "MalformedResponse" })
          expect(error.message).toContain(`token "A" a second time in one listing (after 2 pages)`)
          expect(requests).toHaveLength(3)
        }
      })
    )

    it.live("a token used again by a new listing is fine: the check is per listing", () =>
      Effect.gen(function* () {
        const server = yield* rawServer((line, socket) => {
          const body = line.includes("nextPageToken=T")
            ? { units: [{ name: "b.service" }] }
            : { units: [{ name: "a.service" }], nextPageToken: "T" }
          socket.write(httpResponse(200, JSON.stringify(body)))
        })
        const names = yield* withFleet(
          server.url,
          {},
          Effect.gen(function* () {
            const first = yield* Stream.runCollect(Fleet.listUnits())
            const second = yield* Stream.runCollect(Fleet.listUnits())
            return [...first, ...second].map((unit) => unit.name)
          })
        )
        expect(names).toEqual(["a.service", "b.service", "a.service", "b.service"])
      })
    )
  })

  describe(`${path}: maxResponseBytes`, () => {
    it.live("an endless body is cut at the bound: MalformedResponse, connection aborted while the layer lives", () =>
      Effect.gen(function* () {
        const written = { bytes: 0, closed: false }
        const server = yield* rawServer((_, socket) =>
          endless(
            socket,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
            written
          )
        )
        const error = yield* withFleet(
          server.url,
          { maxResponseBytes: MiB },
          Effect.gen(function* () {
            const error = yield* Effect.flip(Fleet.getUnit("big.service"))
            // the server's socket closes now, not when the layer's pool is closed
            yield* eventually(
              Effect.sync(() => written.closed),
              "the endless response's connection to close"
            )
            return error
          })
        )
        expect(error).toMatchObject({ _tag: "TransportError", reason: "MalformedResponse" })
        expect(error.message).toBe(
          "GET /fleet/v1/units/big.service: the response body exceeds maxResponseBytes (1048576 bytes); the request was aborted"
        )
        // what the server got out before the abort: the bound plus what loopback socket buffers hold, never the flood
        expect(written.bytes).toBeGreaterThan(MiB)
        expect(written.bytes).toBeLessThan(MiB + 16 * MiB)
      })
    )

    // A client that waited for the body (or for a first chunk of it) would wait for its timeout: an hour.
    const declaredTooLarge = [
      { label: "over the default 32 MiB, 64 KiB of it sent", declared: 64 * MiB, bound: undefined, sent: 64 * 1024 },
      { label: "over a bound of 1 MiB, the headers alone sent", declared: 2 * MiB, bound: MiB, sent: 0 }
    ]
    for (const { bound, declared, label, sent } of declaredTooLarge) {
      it.live(`a declared length ${label}: fails at once, before the body is read`, () =>
        Effect.gen(function* () {
          const written = { closed: false }
          const server = yield* rawServer((_, socket) => {
            socket.on("close", () => {
              written.closed = true
            })
            socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\n\r\n`)
            if (sent > 0) socket.write(Buffer.alloc(sent, 32))
          })
          const error = yield* withFleet(
            server.url,
            { timeout: "1 hour", ...(bound !== undefined ? { maxResponseBytes: bound } : {}) },
            Effect.gen(function* () {
              const error = yield* Effect.flip(Fleet.getUnit("big.service"))
              yield* eventually(
                Effect.sync(() => written.closed),
                "the connection to close"
              )
              return error
            })
          )
          expect(error).toMatchObject({ _tag: "TransportError", reason: "MalformedResponse" })
          expect(error.message).toBe(
            `GET /fleet/v1/units/big.service: the response declares ${declared} bytes, over maxResponseBytes` +
              ` (${bound ?? 32 * MiB} bytes); the request was aborted`
          )
        })
      )
    }

    it.live("bodies within the bound are read whole, with or without a declared length", () =>
      Effect.gen(function* () {
        const value = "v".repeat(900 * 1024)
        const body = JSON.stringify({ name: "big.service", options: [{ section: "Service", name: "X", value }] })
        const server = yield* rawServer((line, socket) => {
          if (line.includes("chunked")) {
            const half = Math.floor(body.length / 2)
            socket.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
            for (const part of [body.slice(0, half), body.slice(half)]) {
              socket.write(`${Buffer.byteLength(part).toString(16)}\r\n${part}\r\n`)
            }
            socket.write("0\r\n\r\n")
          } else socket.write(httpResponse(200, body))
        })
        const units = yield* withFleet(
          server.url,
          { maxResponseBytes: MiB },
          Effect.all([Fleet.getUnit("chunked.service"), Fleet.getUnit("declared.service")])
        )
        for (const unit of units) expect(unit.options[0]?.value.length).toBe(900 * 1024)
      })
    )

    it.live("a bound that is not a positive whole number fails the layer with ValueError", () =>
      Effect.gen(function* () {
        for (const maxResponseBytes of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
          const error = yield* Layer.build(layerOf("http://127.0.0.1:1", { maxResponseBytes })).pipe(
            Effect.scoped,
            Effect.flip
          )
          expect(error).toMatchObject({
            _tag: "ValueError",
            message: `maxResponseBytes must be a positive whole number of bytes, not ${maxResponseBytes}`
          })
        }
      })
    )
  })

  describe(`${path}: redirects`, () => {
    it.live("a 3xx is an APIError with its status, never followed, never retried", () =>
      Effect.gen(function* () {
        const elsewhere: Array<string> = []
        const target = yield* rawServer((line, socket) => {
          elsewhere.push(line)
          socket.write(httpResponse(204, ""))
        })
        for (const status of [301, 302, 303, 307, 308]) {
          const requests: Array<string> = []
          const server = yield* rawServer((line, socket) => {
            requests.push(line)
            socket.write(
              httpResponse(status, "", "text/plain", `Location: ${target.url}/fleet/v1/units/web.service\r\n`)
            )
          })
          const errors = yield* withFleet(
            server.url,
            { retry: Fleet.retrySchedule },
            Effect.all([
              Effect.flip(Fleet.destroyUnit("web.service")),
              Effect.flip(Fleet.setUnitDesiredState("web.service", "loaded")),
              Effect.flip(Fleet.getUnit("web.service"))
            ])
          )
          for (const error of errors) {
            expect(error).toMatchObject({ _tag: "APIError", code: status })
            expect(error.message).toBe(
              `fleet answered HTTP ${status}, a redirect to ${target.url}/fleet/v1/units/web.service, which fleet` +
                " never sends for an API call; it was not followed"
            )
          }
          // one request each: no retry, and setUnitDesiredState's follow-up GET never happens
          expect(requests).toEqual([
            "DELETE /fleet/v1/units/web.service HTTP/1.1",
            "PUT /fleet/v1/units/web.service HTTP/1.1",
            "GET /fleet/v1/units/web.service HTTP/1.1"
          ])
        }
        expect(elsewhere).toEqual([])
      })
    )

    it.live("a redirect from the discovery probe means the endpoint is not fleet", () =>
      Effect.gen(function* () {
        const server = yield* rawServer(
          (_, socket) => socket.write(httpResponse(301, "", "text/plain", "Location: /elsewhere\r\n")),
          { discovery: false }
        )
        const error = yield* Layer.build(layerOf(server.url, { probe: true })).pipe(Effect.scoped, Effect.flip)
        expect(error).toMatchObject({
          _tag: "ValueError",
          message: `Connected to endpoint ${server.url} but it is not a fleet v1 API endpoint`
        })
      })
    )
  })
}
