import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import * as Fleet from "../src/Fleet.ts"
import { APIError, TransportError, ValueError } from "../src/FleetError.ts"
import { httpResponse, rawServer } from "./support/rawServer.ts"

const unitJson = JSON.stringify({ name: "a.service", desiredState: "launched", currentState: "inactive" })

const withServer = <A, E>(
  onRequest: Parameters<typeof rawServer>[0],
  use: (url: string) => Effect.Effect<A, E, Fleet.Fleet>,
  options: Fleet.LayerOptions = {}
) =>
  Effect.gen(function* () {
    const server = yield* rawServer(onRequest)
    return yield* use(server.url).pipe(Effect.provide(Fleet.layer(server.url, options)))
  })

describe("Fleet error paths", () => {
  it.live("fleet's error JSON becomes an APIError with its code and message", () =>
    Effect.gen(function* () {
      const error = yield* withServer(
        (_, socket) => socket.write(httpResponse(404, `{"error":{"code":404,"message":"unit does not exist"}}`)),
        () => Effect.flip(Fleet.getUnit("a.service"))
      )
      expect(error).toBeInstanceOf(APIError)
      expect(error).toMatchObject({ code: 404, message: "unit does not exist" })
      expect(String(error)).toBe("unit does not exist (404)")
    })
  )

  it.live("an HTML 502 from a proxy is an APIError that says what came back", () =>
    Effect.gen(function* () {
      const error = yield* withServer(
        (_, socket) =>
          socket.write(httpResponse(502, "<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")),
        () => Effect.flip(Fleet.getUnit("a.service"))
      )
      expect(error._tag).toBe("APIError")
      const apiError = error as APIError
      expect(apiError.code).toBe(502)
      expect(apiError.message).toContain("not fleet's error JSON")
      expect(apiError.message).toContain("text/html")
      expect(apiError.message).toContain("502 Bad Gateway")
    })
  )

  it.live("invalid JSON in a 200 is a MalformedResponse TransportError", () =>
    Effect.gen(function* () {
      const error = yield* withServer(
        (_, socket) => socket.write(httpResponse(200, '{"units": [')),
        () => Effect.flip(Fleet.listUnits().pipe(Stream.runCollect))
      )
      expect(error).toBeInstanceOf(TransportError)
      expect((error as TransportError).reason).toBe("MalformedResponse")
      expect(error.message).toContain("GET /fleet/v1/units")
    })
  )

  it.live("JSON of the wrong shape is a MalformedResponse TransportError", () =>
    Effect.gen(function* () {
      const error = yield* withServer(
        (_, socket) => socket.write(httpResponse(200, `{"name": 42}`)),
        () => Effect.flip(Fleet.getUnit("a.service"))
      )
      expect(error).toMatchObject({ _tag: "TransportError", reason: "MalformedResponse" })
    })
  )

  it.live("a connection closed mid-body is a Reset TransportError", () =>
    Effect.gen(function* () {
      const error = yield* withServer(
        (_, socket) => {
          const head = `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${unitJson.length}\r\n\r\n`
          socket.end(head + unitJson.slice(0, 10))
        },
        () => Effect.flip(Fleet.getUnit("a.service"))
      )
      expect(error).toMatchObject({ _tag: "TransportError", reason: "Reset" })
    })
  )

  it.live("a connection destroyed before any response is a Reset TransportError", () =>
    Effect.gen(function* () {
      const error = yield* withServer(
        (_, socket) => socket.destroy(),
        () => Effect.flip(Fleet.getUnit("a.service"))
      )
      expect(error).toMatchObject({ _tag: "TransportError", reason: "Reset" })
    })
  )

  it.live("a server that hangs past the timeout is a Timeout TransportError, and the connection is released", () =>
    Effect.gen(function* () {
      const server = yield* rawServer(() => {})
      const error = yield* Effect.flip(Fleet.getUnit("a.service")).pipe(
        Effect.provide(Fleet.layer(server.url, { timeout: "200 millis" }))
      )
      expect(error).toMatchObject({ _tag: "TransportError", reason: "Timeout" })
      expect(error.message).toContain("200")
      // the layer's scope has closed: its connections are gone
      yield* Effect.sleep("50 millis")
      expect(server.open()).toBe(0)
    })
  )

  it.live("a refused connection at layer build is python-fleet's ValueError", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Fleet.getUnit("a.service").pipe(Effect.provide(Fleet.layer("http://127.0.0.1:1")))
      )
      expect(error).toBeInstanceOf(ValueError)
      expect(error.message).toMatch(/^Unable to connect to endpoint http:\/\/127\.0\.0\.1:1: connection refused/)
    })
  )

  it.live("a refused connection after build is a Connect TransportError", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Fleet.getUnit("a.service").pipe(Effect.provide(Fleet.layer("http://127.0.0.1:1", { probe: false })))
      )
      expect(error).toMatchObject({ _tag: "TransportError", reason: "Connect" })
      expect(error.message).toContain("ECONNREFUSED")
    })
  )

  it.live("a reachable endpoint that is not fleet is a ValueError at build", () =>
    Effect.gen(function* () {
      const other = yield* rawServer((_, socket) => socket.write(httpResponse(404, "<html>nope</html>", "text/html")), {
        discovery: false
      })
      const notFleet = `http://127.0.0.1:${other.port}/not-fleet`
      const error = yield* Effect.flip(Layer.build(Fleet.layer(notFleet)))
      expect(error).toBeInstanceOf(ValueError)
      expect(error.message).toBe(`Connected to endpoint ${notFleet} but it is not a fleet v1 API endpoint`)
      expect(other.connections()).toBe(1)
    })
  )

  it.live("a malformed endpoint or unsupported scheme is a ValueError naming it", () =>
    Effect.gen(function* () {
      const bad = yield* Effect.flip(Layer.build(Fleet.layer("ftp://example.com")))
      expect(bad.message).toContain("ftp://example.com")
      const malformed = yield* Effect.flip(Layer.build(Fleet.layer("127.0.0.1:49153")))
      expect(malformed).toBeInstanceOf(ValueError)
      expect(malformed.message).toContain("127.0.0.1:49153")
    })
  )

  it.live("an invalid desired state is refused before anything is sent", () =>
    Effect.gen(function* () {
      let requests = 0
      const error = yield* withServer(
        () => {
          requests++
        },
        () => Effect.flip(Fleet.setUnitDesiredState("a.service", "running"))
      )
      expect(error).toBeInstanceOf(ValueError)
      expect(error.message).toBe("state must be one of: ['inactive', 'loaded', 'launched']")
      expect(requests).toBe(0)
    })
  )
})
