import * as http from "node:http"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Duration, Effect, Fiber, Layer, Queue, Schedule, Stream, Tracer } from "effect"
import { TestClock } from "effect/testing"
import * as Fleet from "../src/Fleet.ts"
import * as FleetWatch from "../src/FleetWatch.ts"
import * as FleetControl from "../src/FleetControl.ts"
import * as FleetError from "../src/FleetError.ts"
import { APIError, TransportError, ValueError, WaitTimeoutError } from "../src/FleetError.ts"
import * as FleetServer from "../src/FleetServer.ts"
import * as FleetTransport from "../src/FleetTransport.ts"
import { Machine } from "../src/Machine.ts"
import * as Unit from "../src/Unit.ts"
import { UnitState } from "../src/UnitState.ts"
import { requestsSeen } from "./support/localFleet.ts"
import { httpResponse, rawServer } from "./support/rawServer.ts"
import { captureSpans } from "./support/tracing.ts"

const unitJson = JSON.stringify({ name: "a.service", desiredState: "launched", currentState: "launched" })
const unavailable = JSON.stringify({ error: { code: 503, message: "fleet server unable to communicate with etcd" } })
const notFound = JSON.stringify({ error: { code: 404, message: "unit does not exist" } })

describe("FleetError.isTransient", () => {
  const cases: ReadonlyArray<readonly [string, unknown, boolean]> = [
    ["TransportError Connect", new TransportError({ reason: "Connect", message: "refused" }), true],
    ["TransportError Reset", new TransportError({ reason: "Reset", message: "reset" }), true],
    ["TransportError Timeout", new TransportError({ reason: "Timeout", message: "timeout" }), true],
    ["TransportError Tunnel", new TransportError({ reason: "Tunnel", message: "tunnel" }), true],
    ["TransportError MalformedResponse", new TransportError({ reason: "MalformedResponse", message: "x" }), true],
    [
      "TransportError Connect, socket missing (fleetd restarting)",
      new TransportError({ reason: "Connect", message: "x", cause: Object.assign(new Error("x"), { code: "ENOENT" }) }),
      true
    ],
    [
      "TransportError Connect, permission denied on the socket",
      new TransportError({ reason: "Connect", message: "x", cause: Object.assign(new Error("x"), { code: "EACCES" }) }),
      false
    ],
    [
      "TransportError Connect, TLS verification failed (deep in the cause chain)",
      new TransportError({
        reason: "Connect",
        message: "x",
        cause: new Error("fetch failed", {
          cause: Object.assign(new Error("self-signed certificate in certificate chain"), {
            code: "SELF_SIGNED_CERT_IN_CHAIN"
          })
        })
      }),
      false
    ],
    ["APIError 503", new APIError({ code: 503, message: "fleet server unable to communicate with etcd" }), true],
    ["APIError 500", new APIError({ code: 500, message: "internal" }), true],
    ["APIError 502", new APIError({ code: 502, message: "bad gateway" }), true],
    ["APIError 400", new APIError({ code: 400, message: "bad request" }), false],
    ["APIError 404", new APIError({ code: 404, message: "unit does not exist" }), false],
    ["APIError 409", new APIError({ code: 409, message: "conflict" }), false],
    ["APIError 499", new APIError({ code: 499, message: "x" }), false],
    ["ValueError", new ValueError({ message: "bad state" }), false],
    ["a plain Error", new Error("boom"), false],
    ["undefined", undefined, false]
  ]
  for (const [label, error, expected] of cases) {
    it(`${label} -> ${expected}`, () => {
      expect(FleetError.isTransient(error)).toBe(expected)
    })
  }
})

describe("Fleet.retrySchedule", () => {
  const retried = (error: FleetError.FleetError, schedule = Fleet.retrySchedule) =>
    Effect.gen(function* () {
      let attempts = 0
      const delays: Array<number> = []
      const fiber = yield* Effect.suspend(() => {
        attempts++
        return Effect.fail(error)
      }).pipe(
        Effect.retry(
          schedule.pipe(Schedule.tap((meta) => Effect.sync(() => delays.push(Duration.toMillis(meta.duration)))))
        ),
        Effect.flip,
        Effect.forkChild
      )
      yield* TestClock.adjust("10 minutes")
      const final = yield* Fiber.join(fiber)
      return { attempts, delays, final }
    })

  it.effect("retries a transient failure 8 times, with growing jittered delays capped near 5 seconds", () =>
    Effect.gen(function* () {
      const error = new APIError({ code: 503, message: "fleet server unable to communicate with etcd" })
      const { attempts, delays, final } = yield* retried(error)
      expect(attempts).toBe(9)
      expect(final).toBe(error)
      expect(delays).toHaveLength(8)
      expect(delays[0]).toBeGreaterThanOrEqual(80)
      expect(delays[0]).toBeLessThanOrEqual(120)
      for (const delay of delays) expect(delay).toBeLessThanOrEqual(6000)
      expect(delays.at(-1)).toBeGreaterThanOrEqual(4000)
    })
  )

  it.effect("does not retry a 4xx or a ValueError", () =>
    Effect.gen(function* () {
      expect((yield* retried(new APIError({ code: 404, message: "unit does not exist" }))).attempts).toBe(1)
      expect((yield* retried(new ValueError({ message: "no" }))).attempts).toBe(1)
    })
  )

  it.effect("makeRetrySchedule takes other numbers", () =>
    Effect.gen(function* () {
      const schedule = Fleet.makeRetrySchedule({ base: "1 second", maxDelay: "2 seconds", times: 3 })
      const { attempts, delays } = yield* retried(new TransportError({ reason: "Reset", message: "x" }), schedule)
      expect(attempts).toBe(4)
      expect(delays[0]).toBeGreaterThanOrEqual(800)
      expect(Math.max(...delays)).toBeLessThanOrEqual(2400)
    })
  )
})

describe("retries over the wire", () => {
  it.live("the client with retrySchedule retries 503s and then succeeds", () =>
    Effect.gen(function* () {
      let gets = 0
      const server = yield* rawServer((_, socket) => {
        gets++
        socket.write(gets <= 2 ? httpResponse(503, unavailable) : httpResponse(200, unitJson))
      })
      const unit = yield* Fleet.getUnit("a.service").pipe(
        Effect.provide(Fleet.layer(server.url, { retry: Fleet.retrySchedule }))
      )
      expect(unit.name).toBe("a.service")
      expect(gets).toBe(3)
    })
  )

  it.live("without retry, the same 503 fails at once (fleetctl's behaviour)", () =>
    Effect.gen(function* () {
      let gets = 0
      const server = yield* rawServer((_, socket) => {
        gets++
        socket.write(httpResponse(503, unavailable))
      })
      const error = yield* Fleet.getUnit("a.service").pipe(Effect.provide(Fleet.layer(server.url)), Effect.flip)
      expect(error).toMatchObject({ _tag: "APIError", code: 503 })
      expect(gets).toBe(1)
    })
  )

  it.live("destroyUnit whose DELETE answer was lost succeeds on the retry's 404", () =>
    Effect.gen(function* () {
      let exists = true
      const lines: Array<string> = []
      const server = yield* rawServer((line, socket) => {
        lines.push(line)
        if (exists) {
          // The unit is deleted, then the connection drops before any answer.
          exists = false
          socket.destroy()
        } else {
          socket.write(httpResponse(404, notFound))
        }
      })
      yield* Fleet.destroyUnit("a.service").pipe(
        Effect.provide(Fleet.layer(server.url, { retry: Fleet.makeRetrySchedule({ base: "10 millis" }) }))
      )
      expect(lines).toEqual(["DELETE /fleet/v1/units/a.service HTTP/1.1", "DELETE /fleet/v1/units/a.service HTTP/1.1"])
      expect(exists).toBe(false)
    })
  )

  it.live("destroyUnit's 404 on the first try is still an APIError, retry or not", () =>
    Effect.gen(function* () {
      let deletes = 0
      const server = yield* rawServer((_, socket) => {
        deletes++
        socket.write(httpResponse(404, notFound))
      })
      const error = yield* Fleet.destroyUnit("a.service").pipe(
        Effect.provide(Fleet.layer(server.url, { retry: Fleet.retrySchedule })),
        Effect.flip
      )
      expect(error).toBeInstanceOf(APIError)
      expect(error).toMatchObject({ code: 404, message: "unit does not exist" })
      expect(deletes).toBe(1)
    })
  )

  it.live("destroyUnit's 404 after fleet's 503 is still an APIError: the 503 did nothing", () =>
    Effect.gen(function* () {
      let deletes = 0
      const server = yield* rawServer((_, socket) => {
        deletes++
        socket.write(deletes === 1 ? httpResponse(503, unavailable) : httpResponse(404, notFound))
      })
      const error = yield* Fleet.destroyUnit("never-existed.service").pipe(
        Effect.provide(Fleet.layer(server.url, { retry: Fleet.retrySchedule })),
        Effect.flip
      )
      expect(error).toMatchObject({ _tag: "APIError", code: 404, message: "unit does not exist" })
      expect(deletes).toBe(2)
    })
  )

  it.live("without retry, a lost DELETE answer is a Reset TransportError", () =>
    Effect.gen(function* () {
      const server = yield* rawServer((_, socket) => socket.destroy())
      const error = yield* Fleet.destroyUnit("a.service").pipe(Effect.provide(Fleet.layer(server.url)), Effect.flip)
      expect(error).toMatchObject({ _tag: "TransportError", reason: "Reset" })
    })
  )
})

describe("spans", () => {
  const capture = captureSpans

  it.live("each operation's span carries method, path, status and retry count", () =>
    Effect.gen(function* () {
      let gets = 0
      const server = yield* rawServer((line, socket) => {
        if (line.startsWith("GET /fleet/v1/units/a.service")) {
          gets++
          socket.write(gets <= 2 ? httpResponse(503, unavailable) : httpResponse(200, unitJson))
        } else socket.write(httpResponse(404, notFound))
      })
      const { spans, tracer } = capture()
      yield* Effect.gen(function* () {
        yield* Fleet.getUnit("a.service")
        yield* Effect.flip(Fleet.getUnit("b.service"))
      }).pipe(
        Effect.provide(Fleet.layer(server.url, { retry: Fleet.makeRetrySchedule({ base: "10 millis" }) })),
        Effect.withTracer(tracer)
      )
      const operations = spans.filter((span) => span.name === "Fleet.getUnit")
      expect(operations).toHaveLength(2)
      const [ok, missing] = operations
      expect(Object.fromEntries(ok!.attributes)).toMatchObject({
        "http.request.method": "GET",
        "url.path": "/fleet/v1/units/a.service",
        "http.response.status_code": 200,
        "fleet.retries": 2,
        "fleet.unit": "a.service"
      })
      expect(Object.fromEntries(missing!.attributes)).toMatchObject({
        "http.request.method": "GET",
        "url.path": "/fleet/v1/units/b.service",
        "http.response.status_code": 404,
        "fleet.retries": 0
      })
      expect(ok!.status._tag).toBe("Ended")
    })
  )

  it.live("createUnit's and setUnitDesiredState's spans describe their PUT, not the GET that follows it", () =>
    Effect.gen(function* () {
      const server = yield* FleetServer.make({ port: 0, seed: { machines } })
      const { spans, tracer } = capture()
      yield* Effect.gen(function* () {
        yield* Fleet.createUnit("a.service", sleeper("loaded"))
        yield* Fleet.setUnitDesiredState("a.service", "inactive")
      }).pipe(Effect.provide(Fleet.layer(server.url, { probe: false })), Effect.withTracer(tracer))
      // fleet answers a PUT that creates with 201, one that changes with 204; the GET would have been 200
      for (const [name, status] of [
        ["Fleet.createUnit", 201],
        ["Fleet.setUnitDesiredState", 204]
      ] as const) {
        const named = spans.filter((span) => span.name === name)
        expect(named, name).toHaveLength(1)
        expect(Object.fromEntries(named[0]!.attributes), name).toMatchObject({
          "http.request.method": "PUT",
          "url.path": "/fleet/v1/units/a.service",
          "http.response.status_code": status,
          "fleet.retries": 0,
          "fleet.unit": "a.service"
        })
      }
      // the follow-up GETs made no span of their own
      expect(spans.map((span) => span.name)).toEqual(["Fleet.createUnit", "Fleet.setUnitDesiredState"])
    })
  )

  it.live("the discovery probe goes through the pipeline without annotating the span the layer is built in", () =>
    Effect.gen(function* () {
      const server = yield* FleetServer.make({ port: 0 })
      const { spans, tracer } = capture()
      yield* Effect.scoped(Layer.build(Fleet.layer(server.url))).pipe(
        Effect.withSpan("build"),
        Effect.withTracer(tracer)
      )
      expect(yield* server.control.requests).toMatchObject([{ method: "GET", url: "/fleet/v1/discovery", status: 200 }])
      expect(spans.map((span) => span.name)).toEqual(["build"])
      expect(Object.fromEntries(spans[0]!.attributes)).toEqual({})
    })
  )

  it.live(
    "over an HttpClient, the client's own span is a child of the operation's, and the user's span its parent",
    () =>
      Effect.gen(function* () {
        const server = yield* FleetServer.make({ port: 0, seed: { machines } })
        const { spans, tracer } = capture()
        yield* Fleet.getUnit("a.service").pipe(
          Effect.flip,
          Effect.withSpan("caller"),
          Effect.provide(
            Fleet.layerHttpClient({ baseUrl: server.url, probe: false }).pipe(Layer.provide(FleetTransport.layerTcp()))
          ),
          Effect.withTracer(tracer)
        )
        const caller = spans.find((span) => span.name === "caller")
        const operation = spans.find((span) => span.name === "Fleet.getUnit")
        const http = spans.filter((span) => span.name !== "caller" && span.name !== "Fleet.getUnit")
        expect(operation?.parent).toMatchObject({ _tag: "Some", value: caller })
        expect(http.length).toBe(1)
        expect(http[0]!.parent).toMatchObject({ _tag: "Some", value: operation })
        expect(Object.fromEntries(operation!.attributes)).toMatchObject({ "http.response.status_code": 404 })
      })
  )

  it.live("over an HttpClient, createUnit's PUT and the GET that reads the unit back both nest under its span", () =>
    Effect.gen(function* () {
      const server = yield* FleetServer.make({ port: 0, seed: { machines } })
      const { spans, tracer } = capture()
      yield* Fleet.createUnit("a.service", sleeper("loaded")).pipe(
        Effect.provide(
          Fleet.layerHttpClient({ baseUrl: server.url, probe: false }).pipe(Layer.provide(FleetTransport.layerTcp()))
        ),
        Effect.withTracer(tracer)
      )
      const operation = spans.find((span) => span.name === "Fleet.createUnit")
      const http = spans.filter((span) => span !== operation)
      expect(http.length).toBe(2)
      for (const span of http) expect(span.parent).toMatchObject({ _tag: "Some", value: operation })
      // the span describes the PUT, not the GET after it
      expect(Object.fromEntries(operation!.attributes)).toMatchObject({
        "http.request.method": "PUT",
        "http.response.status_code": 201
      })
    })
  )

  it.live("without a tracer installed, createUnit's two requests over an HttpClient still carry one trace", () =>
    Effect.gen(function* () {
      const traceparents: Array<string> = []
      const server = yield* Effect.acquireRelease(
        Effect.callback<http.Server>((resume) => {
          const server = http.createServer((request, response) => {
            traceparents.push(String(request.headers.traceparent))
            request.resume()
            request.on("end", () => {
              response.writeHead(request.method === "PUT" ? 201 : 200, { "content-type": "application/json" })
              response.end(request.method === "PUT" ? "" : unitJson)
            })
          })
          server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
          return undefined
        }),
        (server) =>
          Effect.callback<void>((resume) => {
            server.close(() => resume(Effect.void))
          })
      )
      const { port } = server.address() as import("node:net").AddressInfo
      yield* Fleet.createUnit("a.service", sleeper("loaded")).pipe(
        Effect.provide(
          Fleet.layerHttpClient({ baseUrl: `http://127.0.0.1:${port}`, probe: false }).pipe(
            Layer.provide(FleetTransport.layerTcp())
          )
        )
      )
      expect(traceparents).toHaveLength(2)
      const traceId = (header: string) => header.split("-")[1]
      expect(traceId(traceparents[0]!)).toMatch(/^[0-9a-f]{32}$/)
      expect(traceId(traceparents[1]!)).toBe(traceId(traceparents[0]!))
    })
  )

  it.live("a retry schedule runs under the operation's span", () =>
    Effect.gen(function* () {
      let gets = 0
      const server = yield* rawServer((_, socket) => {
        gets++
        socket.write(gets === 1 ? httpResponse(503, unavailable) : httpResponse(200, unitJson))
      })
      const seen: Array<string> = []
      const retry = Fleet.makeRetrySchedule({ base: "10 millis" }).pipe(
        Schedule.tap(() =>
          Effect.match(Effect.currentParentSpan, {
            onFailure: () => seen.push("none"),
            onSuccess: (span) => seen.push(span._tag === "Span" ? span.name : "external")
          })
        )
      )
      yield* Fleet.getUnit("a.service").pipe(
        Effect.withSpan("caller"),
        // no tracer installed: the schedule is the caller's code, so the operation's span is built all the same
        Effect.provide(Fleet.layer(server.url, { probe: false, retry }))
      )
      expect(seen).toEqual(["Fleet.getUnit"])
    })
  )

  it.live("a tracer whose span throws when the response is described is a defect of the call, not of undici", () =>
    Effect.gen(function* () {
      const server = yield* FleetServer.make({ port: 0, seed: { machines } })
      const failing = Tracer.make({
        span(options) {
          const span = new Tracer.NativeSpan(options)
          span.attribute = (key) => {
            if (key === "http.response.status_code") throw new Error("tracer broke")
          }
          return span
        }
      })
      const [exit, missing] = yield* Effect.gen(function* () {
        const exit = yield* Effect.exit(Effect.withTracer(Fleet.getUnit("a.service"), failing))
        // the same client still answers afterwards
        return [exit, yield* Effect.flip(Fleet.getUnit("a.service"))] as const
      }).pipe(Effect.provide(Fleet.layer(server.url, { probe: false, connections: 1 })))
      expect(String(exit)).toContain("tracer broke")
      expect(exit._tag === "Failure" && Cause.hasDies(exit.cause)).toBe(true)
      expect(missing).toMatchObject({ _tag: "APIError", code: 404 })
    })
  )

  it.live("a request that never gets an answer still names its method and path", () =>
    Effect.gen(function* () {
      const server = yield* rawServer((_, socket) => socket.destroy())
      const { spans, tracer } = capture()
      yield* Fleet.destroyUnit("a.service").pipe(
        Effect.flip,
        Effect.provide(Fleet.layer(server.url)),
        Effect.withTracer(tracer)
      )
      const span = spans.find((span) => span.name === "Fleet.destroyUnit")
      expect(span).toBeDefined()
      const attributes = Object.fromEntries(span!.attributes)
      expect(attributes).toMatchObject({ "http.request.method": "DELETE", "url.path": "/fleet/v1/units/a.service" })
      expect(attributes["http.response.status_code"]).toBeUndefined()
    })
  )
})

const machines = [new Machine({ id: "m1", primaryIP: "10.0.0.1" }), new Machine({ id: "m2", primaryIP: "10.0.0.2" })]
const sleeper = (desiredState: Unit.DesiredState = "launched") =>
  Unit.make({
    desiredState,
    options: [new Unit.UnitOption({ section: "Service", name: "ExecStart", value: "/bin/sleep 1d" })]
  })
const fastRetry = Fleet.makeRetrySchedule({ base: "10 millis", maxDelay: "50 millis" })

describe("FleetWatch.watchUnitStates", () => {
  it.live("emits Added, Changed and Removed as the registry changes, nothing when nothing changes", () =>
    Effect.gen(function* () {
      const server = yield* FleetServer.make({ port: 0, seed: { machines } })
      const control = server.control
      yield* Effect.gen(function* () {
        yield* Fleet.createUnit("a.service", sleeper())
        const changes = yield* Queue.unbounded<FleetWatch.UnitStateChange>()
        yield* FleetWatch.watchUnitStates({ interval: "20 millis" }).pipe(
          Stream.runForEach((change) => Queue.offer(changes, change)),
          Effect.forkScoped
        )
        const first = yield* Queue.take(changes)
        expect(first._tag).toBe("Added")
        expect(first.state).toMatchObject({ name: "a.service", systemdActiveState: "active" })

        // Several polls of an unchanged fleet: no element.
        yield* requestsSeen(control, yield* control.requestCount, 5)
        expect(yield* Queue.size(changes)).toBe(0)

        yield* Fleet.createUnit("b.service", sleeper())
        const added = yield* Queue.take(changes)
        expect(added).toMatchObject({ _tag: "Added", state: { name: "b.service" } })

        yield* Fleet.setUnitDesiredState("a.service", "loaded")
        const changed = yield* Queue.take(changes)
        expect(changed._tag).toBe("Changed")
        if (changed._tag !== "Changed") return
        expect(changed.previous).toMatchObject({ name: "a.service", systemdActiveState: "active" })
        expect(changed.state).toMatchObject({
          name: "a.service",
          systemdActiveState: "inactive",
          systemdSubState: "dead"
        })

        yield* Fleet.destroyUnit("b.service")
        const removed = yield* Queue.take(changes)
        expect(removed).toMatchObject({ _tag: "Removed", state: { name: "b.service", systemdActiveState: "active" } })

        yield* requestsSeen(control, yield* control.requestCount, 3)
        expect(yield* Queue.size(changes)).toBe(0)
      }).pipe(Effect.provide(Fleet.layer(server.url)))
    })
  )

  it.live("keeps going through injected 503s and resets, with no gap and no spurious change", () =>
    Effect.gen(function* () {
      const server = yield* FleetServer.make({ port: 0, seed: { machines } })
      const control = server.control
      yield* Effect.gen(function* () {
        yield* Fleet.createUnit("a.service", sleeper())
        const changes = yield* Queue.unbounded<FleetWatch.UnitStateChange>()
        yield* FleetWatch.watchUnitStates({ interval: "10 millis", retry: fastRetry }).pipe(
          Stream.runForEach((change) => Queue.offer(changes, change)),
          Effect.forkScoped
        )
        expect((yield* Queue.take(changes))._tag).toBe("Added")
        const before = yield* control.requestCount
        yield* control.failNext(4, FleetControl.Fault.Unavailable)
        yield* control.failNext(1, FleetControl.Fault.Reset)
        yield* control.failNext(1, FleetControl.Fault.Truncate)
        // The six faults and at least two good polls after them.
        yield* requestsSeen(control, before, 8)
        expect(yield* Queue.size(changes)).toBe(0)
        // Fails the watch's polls while the change below happens: the change is still reported, once.
        yield* control.failNext(3, FleetControl.Fault.Unavailable)
        yield* Fleet.createUnit("b.service", sleeper())
        expect(yield* Queue.take(changes)).toMatchObject({ _tag: "Added", state: { name: "b.service" } })
        yield* requestsSeen(control, yield* control.requestCount, 3)
        expect(yield* Queue.size(changes)).toBe(0)
      }).pipe(Effect.provide(Fleet.layer(server.url, { retry: fastRetry })))
    })
  )

  it.live("filters by unit name and machine", () =>
    Effect.gen(function* () {
      const server = yield* FleetServer.make({
        port: 0,
        agents: "off",
        seed: {
          machines,
          states: [
            new UnitState({ name: "a.service", machineID: "m1", systemdActiveState: "active" }),
            new UnitState({ name: "a.service", machineID: "m2", systemdActiveState: "active" }),
            new UnitState({ name: "b.service", machineID: "m1", systemdActiveState: "active" })
          ]
        }
      })
      const firstPoll = (options: Omit<FleetWatch.WatchOptions, "interval">) =>
        FleetWatch.watchUnitStates({ interval: "1 hour", ...options }).pipe(
          Stream.take(options.unitName === "a.service" && options.machineId === undefined ? 2 : 1),
          Stream.map((change) => `${change._tag} ${change.state.name}@${change.state.machineID}`),
          Stream.runCollect
        )
      yield* Effect.gen(function* () {
        expect(yield* firstPoll({ unitName: "a.service" })).toEqual(["Added a.service@m1", "Added a.service@m2"])
        expect(yield* firstPoll({ machineId: "m2" })).toEqual(["Added a.service@m2"])
        expect(yield* firstPoll({ unitName: "b.service", machineId: "m1" })).toEqual(["Added b.service@m1"])
      }).pipe(Effect.provide(Fleet.layer(server.url)))
    })
  )

  it.live("a non-transient error ends the stream with that error", () =>
    Effect.gen(function* () {
      const server = yield* FleetServer.make({ port: 0 })
      yield* server.control.failNext(
        1,
        FleetControl.Fault.Status(400, JSON.stringify({ error: { code: 400, message: "bad" } }), "application/json")
      )
      const error = yield* FleetWatch.watchUnitStates({ interval: "10 millis" }).pipe(
        Stream.runDrain,
        Effect.provide(Fleet.layer(server.url, { probe: false })),
        Effect.flip
      )
      expect(error).toMatchObject({ _tag: "APIError", code: 400 })
    })
  )
})

describe("FleetWatch.waitForUnit", () => {
  it.live("waits until the unit is launched and systemd reports it active", () =>
    Effect.gen(function* () {
      const server = yield* FleetServer.make({ port: 0, agents: "off", seed: { machines } })
      const control = server.control
      yield* Effect.gen(function* () {
        yield* Fleet.createUnit("a.service", sleeper())
        const before = yield* control.requestCount
        const fiber = yield* Effect.forkChild(
          FleetWatch.waitForUnit("a.service", "launched", { timeout: "20 seconds", interval: "10 millis" })
        )
        // A few polls see it not launched yet; then the agents pick it up.
        yield* requestsSeen(control, before, 4)
        expect(fiber.pollUnsafe()).toBeUndefined()
        yield* control.setAgents("simulated")
        const status = yield* Fiber.join(fiber)
        expect(status.unit?.currentState).toBe("launched")
        expect(status.states.map((s) => s.systemdActiveState)).toEqual(["active"])
      }).pipe(Effect.provide(Fleet.layer(server.url)))
    })
  )

  it.live("fails with WaitTimeoutError naming the last state seen", () =>
    Effect.gen(function* () {
      const server = yield* FleetServer.make({ port: 0, agents: "off", seed: { machines } })
      yield* Effect.gen(function* () {
        yield* Fleet.createUnit("a.service", sleeper())
        const error = yield* FleetWatch.waitForUnit("a.service", "launched", {
          timeout: "300 millis",
          interval: "20 millis"
        }).pipe(Effect.flip)
        expect(error).toBeInstanceOf(WaitTimeoutError)
        const timeout = error as WaitTimeoutError
        expect(timeout.unit).toBe("a.service")
        expect(timeout.message).toContain("a.service did not reach launched within 300ms")
        expect(timeout.message).toContain("last seen: currentState inactive, desiredState launched")
        expect(timeout.message).toContain("no unit state reported")
        expect(timeout.lastSeen).toContain("currentState inactive")
      }).pipe(Effect.provide(Fleet.layer(server.url)))
    })
  )

  it.live("a missing unit has not reached inactive; a predicate can wait for its removal", () =>
    Effect.gen(function* () {
      const server = yield* FleetServer.make({ port: 0 })
      yield* Effect.gen(function* () {
        const error = yield* FleetWatch.waitForUnit("ghost.service", "inactive", {
          timeout: "200 millis",
          interval: "20 millis"
        }).pipe(Effect.flip)
        expect(error._tag).toBe("WaitTimeoutError")
        expect(error.message).toContain("last seen: the unit does not exist")
        const gone = yield* FleetWatch.waitForUnit("ghost.service", (status) => status.unit === undefined, {
          timeout: "5 seconds"
        })
        expect(gone).toEqual({ unit: undefined, states: [] })
      }).pipe(Effect.provide(Fleet.layer(server.url)))
    })
  )

  it.live("waits out transient failures; the timeout message says the last one", () =>
    Effect.gen(function* () {
      const server = yield* FleetServer.make({ port: 0, seed: { machines } })
      const control = server.control
      yield* Effect.gen(function* () {
        yield* Fleet.createUnit("a.service", sleeper())
        yield* control.failNext(3, FleetControl.Fault.Unavailable)
        const status = yield* FleetWatch.waitForUnit("a.service", "launched", {
          timeout: "20 seconds",
          interval: "10 millis"
        })
        expect(status.unit?.currentState).toBe("launched")
        yield* control.setEtcdUnavailable(true)
        const error = yield* FleetWatch.waitForUnit("a.service", "inactive", {
          timeout: "200 millis",
          interval: "10 millis"
        }).pipe(Effect.flip)
        expect(error._tag).toBe("WaitTimeoutError")
        expect(error.message).toContain("the last poll failed: fleet server unable to communicate with etcd (503)")
        expect(error.message).toContain("(no state seen;")
      }).pipe(Effect.provide(Fleet.layer(server.url)))
    })
  )

  it.live("a non-transient answer fails the wait at once with that APIError", () =>
    Effect.gen(function* () {
      const server = yield* FleetServer.make({ port: 0 })
      yield* server.control.failNext(
        1,
        FleetControl.Fault.Status(
          403,
          JSON.stringify({ error: { code: 403, message: "forbidden" } }),
          "application/json"
        )
      )
      const error = yield* FleetWatch.waitForUnit("a.service", "launched", { timeout: "20 seconds" }).pipe(
        Effect.provide(Fleet.layer(server.url, { probe: false })),
        Effect.flip
      )
      expect(error).toMatchObject({ _tag: "APIError", code: 403 })
    })
  )

  it.live("an empty name is a ValueError before anything is sent", () =>
    Effect.gen(function* () {
      const server = yield* FleetServer.make({ port: 0 })
      const error = yield* FleetWatch.waitForUnit("", "launched", { timeout: "1 second" }).pipe(
        Effect.provide(Fleet.layer(server.url, { probe: false })),
        Effect.flip
      )
      expect(error._tag).toBe("ValueError")
      expect(yield* server.control.requestCount).toBe(0)
    })
  )

  describe("hasReached", () => {
    const unit = (fields: Partial<ConstructorParameters<typeof Unit.Unit>[0]> & { readonly global?: boolean }) =>
      new Unit.Unit({
        name: "a.service",
        options:
          fields.global === true ? [new Unit.UnitOption({ section: "X-Fleet", name: "Global", value: "true" })] : [],
        ...(fields.desiredState !== undefined ? { desiredState: fields.desiredState } : {}),
        ...(fields.currentState !== undefined ? { currentState: fields.currentState } : {}),
        ...(fields.machineID !== undefined ? { machineID: fields.machineID } : {})
      })
    const state = (machineID: string, systemdActiveState: string) =>
      new UnitState({ name: "a.service", machineID, systemdActiveState })

    it("launched needs systemd active on the unit's machine", () => {
      const launched = unit({ desiredState: "launched", currentState: "launched", machineID: "m1" })
      expect(FleetWatch.hasReached("launched")({ unit: launched, states: [state("m1", "activating")] })).toBe(false)
      expect(FleetWatch.hasReached("launched")({ unit: launched, states: [] })).toBe(false)
      expect(FleetWatch.hasReached("launched")({ unit: launched, states: [state("m1", "active")] })).toBe(true)
      expect(FleetWatch.hasReached("launched")({ unit: launched, states: [state("m2", "active")] })).toBe(false)
    })

    it("loaded and inactive compare currentState only; a missing unit reaches nothing", () => {
      const loaded = unit({ desiredState: "loaded", currentState: "loaded", machineID: "m1" })
      expect(FleetWatch.hasReached("loaded")({ unit: loaded, states: [] })).toBe(true)
      expect(FleetWatch.hasReached("launched")({ unit: loaded, states: [state("m1", "active")] })).toBe(false)
      expect(FleetWatch.hasReached("inactive")({ unit: unit({ currentState: "inactive" }), states: [] })).toBe(true)
      expect(FleetWatch.hasReached("inactive")({ unit: undefined, states: [] })).toBe(false)
    })

    it("a global unit is judged by its desired state and every machine's state", () => {
      const global = unit({ desiredState: "launched", global: true })
      expect(
        FleetWatch.hasReached("launched")({ unit: global, states: [state("m1", "active"), state("m2", "active")] })
      ).toBe(true)
      expect(
        FleetWatch.hasReached("launched")({ unit: global, states: [state("m1", "active"), state("m2", "failed")] })
      ).toBe(false)
    })
  })
})
