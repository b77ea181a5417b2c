/**
 * Fault injection against the local fleet server: every way the server can misbehave, with and without the retry
 * schedule, then a concurrent load with injected failures. Every test ends by checking that no socket to the server
 * is left open once the client's layer is gone, and the file ends by checking the process holds no more sockets than
 * it started with.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Cause, Deferred, Effect, Exit, Fiber, Scope, Stream } from "effect"
import * as Fleet from "../src/Fleet.ts"
import * as FleetControl from "../src/FleetControl.ts"
import * as FleetServer from "../src/FleetServer.ts"
import { Machine } from "../src/Machine.ts"
import * as Unit from "../src/Unit.ts"
import { activeSockets, eventually, openSocketsOn, requestsSeen } from "./support/localFleet.ts"

const machines = [
  new Machine({ id: "m1", primaryIP: "10.0.0.1" }),
  new Machine({ id: "m2", primaryIP: "10.0.0.2" }),
  new Machine({ id: "m3", primaryIP: "10.0.0.3" })
]
const sleeper = (desiredState: Unit.DesiredState = "launched") =>
  Unit.make({
    desiredState,
    options: [new Unit.UnitOption({ section: "Service", name: "ExecStart", value: "/bin/sleep 1d" })]
  })
const retry = Fleet.makeRetrySchedule({ base: "10 millis", maxDelay: "100 millis" })
const { Fault } = FleetControl

const noSocketLeftOpen = (port: number) =>
  eventually(
    Effect.sync(() => openSocketsOn(port) === 0),
    `every socket to port ${port} to close`
  )

/** Runs `body` with a client of a fresh local fleet, then checks that no socket to the server remains open. */
const withLocalFleet = <A, E>(
  body: (control: FleetControl.FleetControlService) => Effect.Effect<A, E, Fleet.Fleet>,
  clientOptions: Fleet.LayerOptions = {},
  serverOptions: FleetServer.Options = {}
) =>
  Effect.gen(function* () {
    const server = yield* FleetServer.make({ port: 0, seed: { machines }, ...serverOptions })
    yield* server.control.seed({ units: [new Unit.Unit({ ...sleeper(), name: "a.service" })] })
    const result = yield* body(server.control).pipe(Effect.provide(Fleet.layer(server.url, clientOptions)))
    yield* noSocketLeftOpen(server.port!)
    return result
  })

const gets = (control: FleetControl.FleetControlService, path: string) =>
  Effect.map(control.requests, (requests) => requests.filter((r) => r.method === "GET" && r.url === path).length)

let baseline = 0
beforeAll(() => {
  baseline = activeSockets()
})
afterAll(async () => {
  // Sockets close asynchronously after their last test: give them a moment, then insist.
  const deadline = Date.now() + 5_000
  while (activeSockets() > baseline && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  expect(activeSockets()).toBeLessThanOrEqual(baseline)
})

describe("503 for N requests, then recovery", () => {
  it.live("without retry each 503 is an APIError, then requests succeed again", () =>
    withLocalFleet((control) =>
      Effect.gen(function* () {
        yield* control.failNext(3, Fault.Unavailable)
        for (let i = 0; i < 3; i++) {
          const error = yield* Effect.flip(Fleet.getUnit("a.service"))
          expect(error).toMatchObject({
            _tag: "APIError",
            code: 503,
            message: "fleet server unable to communicate with etcd"
          })
        }
        expect((yield* Fleet.getUnit("a.service")).name).toBe("a.service")
      })
    )
  )

  it.live("with the retry schedule one call rides out the 503s", () =>
    withLocalFleet(
      (control) =>
        Effect.gen(function* () {
          yield* control.failNext(3, Fault.Unavailable)
          expect((yield* Fleet.getUnit("a.service")).name).toBe("a.service")
          expect(yield* gets(control, "/fleet/v1/units/a.service")).toBe(4)
        }),
      { retry }
    )
  )

  it.live("with the retry schedule a call waits out etcd coming back", () =>
    withLocalFleet(
      (control) =>
        Effect.gen(function* () {
          yield* control.setEtcdUnavailable(true)
          const before = yield* control.requestCount
          const fiber = yield* Effect.forkChild(Fleet.getUnit("a.service"))
          yield* requestsSeen(control, before, 3)
          yield* control.setEtcdUnavailable(false)
          expect((yield* Fiber.join(fiber)).name).toBe("a.service")
        }),
      { retry: Fleet.makeRetrySchedule({ base: "10 millis", maxDelay: "50 millis", times: Infinity }) }
    )
  )

  it.live("the retry schedule gives up after 8 retries with the last 503", () =>
    withLocalFleet(
      (control) =>
        Effect.gen(function* () {
          yield* control.setEtcdUnavailable(true)
          const error = yield* Effect.flip(Fleet.getUnit("a.service"))
          expect(error).toMatchObject({ _tag: "APIError", code: 503 })
          expect(yield* gets(control, "/fleet/v1/units/a.service")).toBe(9)
        }),
      { retry: Fleet.makeRetrySchedule({ base: "1 millis", maxDelay: "5 millis" }) }
    )
  )
})

describe("broken connections and bodies", () => {
  it.live("a connection reset before the answer is a Reset TransportError; retried, the call succeeds", () =>
    Effect.gen(function* () {
      yield* withLocalFleet((control) =>
        Effect.gen(function* () {
          yield* control.failNext(1, Fault.Reset)
          const error = yield* Effect.flip(Fleet.getUnit("a.service"))
          expect(error).toMatchObject({ _tag: "TransportError", reason: "Reset" })
        })
      )
      yield* withLocalFleet(
        (control) =>
          Effect.gen(function* () {
            yield* control.failNext(2, Fault.Reset)
            expect((yield* Fleet.getUnit("a.service")).name).toBe("a.service")
          }),
        { retry }
      )
    })
  )

  it.live("a connection reset mid-body is a Reset TransportError; retried, the call succeeds", () =>
    Effect.gen(function* () {
      yield* withLocalFleet((control) =>
        Effect.gen(function* () {
          yield* control.failNext(1, Fault.Truncate)
          const error = yield* Effect.flip(Fleet.getUnit("a.service"))
          expect(error).toMatchObject({ _tag: "TransportError", reason: "Reset" })
          const listing = yield* control
            .failNext(1, Fault.Truncate)
            .pipe(Effect.andThen(Fleet.listUnits().pipe(Stream.runCollect, Effect.flip)))
          expect(listing).toMatchObject({ _tag: "TransportError", reason: "Reset" })
        })
      )
      yield* withLocalFleet(
        (control) =>
          Effect.gen(function* () {
            yield* control.failNext(2, Fault.Truncate)
            expect((yield* Fleet.getUnit("a.service")).name).toBe("a.service")
          }),
        { retry }
      )
    })
  )

  it.live("truncated or invalid JSON is a MalformedResponse TransportError; retried, the call succeeds", () =>
    Effect.gen(function* () {
      const truncated = Fault.Status(200, '{"name":"a.service","desiredState":"laun', "application/json")
      yield* withLocalFleet((control) =>
        Effect.gen(function* () {
          yield* control.failNext(1, truncated)
          const error = yield* Effect.flip(Fleet.getUnit("a.service"))
          expect(error).toMatchObject({ _tag: "TransportError", reason: "MalformedResponse" })
          expect(error.message).toContain("not valid JSON")
          yield* control.failNext(1, Fault.InvalidJson)
          const invalid = yield* Effect.flip(Fleet.getUnit("a.service"))
          expect(invalid).toMatchObject({ _tag: "TransportError", reason: "MalformedResponse" })
        })
      )
      yield* withLocalFleet(
        (control) =>
          Effect.gen(function* () {
            yield* control.failNext(1, truncated)
            yield* control.failNext(1, Fault.InvalidJson)
            expect((yield* Fleet.getUnit("a.service")).name).toBe("a.service")
          }),
        { retry }
      )
    })
  )

  it.live("a proxy's HTML 502 is retried like fleet's 503", () =>
    withLocalFleet(
      (control) =>
        Effect.gen(function* () {
          yield* control.failNext(2, Fault.Status(502, "<html><h1>502 Bad Gateway</h1></html>"))
          expect((yield* Fleet.getUnit("a.service")).name).toBe("a.service")
        }),
      { retry }
    )
  )

  it.live("a stalling server meets the request timeout; retried, the call succeeds", () =>
    Effect.gen(function* () {
      yield* withLocalFleet(
        (control) =>
          Effect.gen(function* () {
            yield* control.failNext(1, Fault.Stall)
            const error = yield* Effect.flip(Fleet.getUnit("a.service"))
            expect(error).toMatchObject({ _tag: "TransportError", reason: "Timeout" })
            expect(error.message).toContain("no complete response within 300ms")
          }),
        { timeout: "300 millis" }
      )
      yield* withLocalFleet(
        (control) =>
          Effect.gen(function* () {
            yield* control.failNext(2, Fault.Stall)
            expect((yield* Fleet.getUnit("a.service")).name).toBe("a.service")
            expect(yield* gets(control, "/fleet/v1/units/a.service")).toBe(3)
          }),
        { timeout: "200 millis", retry }
      )
    })
  )
})

describe("the server restarting between pages of a Stream", () => {
  it.live("the stream resumes from its page token: no duplicate, no missing item", () =>
    Effect.gen(function* () {
      const names = Array.from({ length: 7 }, (_, i) => `u${i}.service`)
      const seed: FleetControl.Seed = {
        machines,
        units: names.map((name) => new Unit.Unit({ ...sleeper(), name }))
      }
      const firstScope = yield* Scope.make()
      const first = yield* FleetServer.make({ port: 0, tokenLimit: 2, seed }).pipe(Scope.provide(firstScope))
      const port = first.port!
      const second = yield* Deferred.make<FleetServer.FleetServerService>()
      const restart = Effect.gen(function* () {
        yield* Scope.close(firstScope, Exit.void)
        // Down for a while: the next page's first attempts are refused.
        yield* Effect.forkScoped(
          Effect.sleep("150 millis").pipe(
            Effect.andThen(FleetServer.make({ port, tokenLimit: 2, seed })),
            Effect.flatMap((server) => Deferred.succeed(second, server))
          )
        )
      })
      let seen = 0
      const listed = yield* Fleet.listUnits().pipe(
        Stream.tap(() => (++seen === 2 ? restart : Effect.void)),
        Stream.map((unit) => unit.name),
        Stream.runCollect,
        Effect.provide(
          Fleet.layer(first.url, {
            retry: Fleet.makeRetrySchedule({ base: "20 millis", maxDelay: "100 millis", times: 30 })
          })
        )
      )
      expect(listed).toEqual(names)
      const restarted = yield* Deferred.await(second)
      const requests = yield* restarted.control.requests
      // The restarted server was never asked for the first page: the stream carried on from its token.
      expect(requests.length).toBeGreaterThan(0)
      for (const request of requests) expect(request.url).toContain("nextPageToken=")
      expect(requests.filter((r) => r.url.startsWith("/fleet/v1/units")).length).toBe(3)
      yield* noSocketLeftOpen(port)
    })
  )
})

describe("100 concurrent operations with 10% injected failures", () => {
  it.live("every operation ends in success or a typed error, nothing hangs, the registry ends consistent", () =>
    withLocalFleet(
      (control) =>
        Effect.gen(function* () {
          const faults = [Fault.Unavailable, Fault.Reset, Fault.Truncate, Fault.Status(502, "<html>Bad Gateway</html>")]
          let injected = 0
          // One fault for every ten requests the fleet receives, whoever sends them.
          const injector = Effect.gen(function* () {
            let next = (yield* control.requestCount) + 10
            for (;;) {
              const count = yield* control.requestCount
              if (count >= next) {
                yield* control.failNext(1, faults[injected % faults.length]!)
                injected++
                next += 10
              }
              yield* Effect.sleep("2 millis")
            }
          })
          const injecting = yield* Effect.forkChild(injector)

          type Expected = "launched" | "loaded" | "absent" | "none"
          const operation = (
            i: number
          ): { readonly expected: Expected; readonly run: Effect.Effect<unknown, unknown, Fleet.Fleet> } => {
            const name = `load-${i}.service`
            switch (i % 4) {
              case 0:
                return { expected: "launched", run: Fleet.createUnit(name, sleeper()) }
              case 1:
                return {
                  expected: "absent",
                  run: Fleet.createUnit(name, sleeper()).pipe(Effect.andThen(Fleet.destroyUnit(name)))
                }
              case 2:
                return {
                  expected: "loaded",
                  run: Fleet.createUnit(name, sleeper()).pipe(Effect.andThen(Fleet.setUnitDesiredState(name, "loaded")))
                }
              default:
                return { expected: "none", run: Stream.runCollect(Fleet.listUnits()) }
            }
          }
          const operations = Array.from({ length: 100 }, (_, i) => operation(i))
          const exits = yield* Effect.forEach(operations, (op) => Effect.exit(op.run), {
            concurrency: "unbounded"
          }).pipe(
            Effect.timeoutOrElse({
              duration: "25 seconds",
              orElse: () => Effect.die(new Error("the operations hung"))
            })
          )
          yield* Fiber.interrupt(injecting)

          expect(injected).toBeGreaterThanOrEqual(10)
          for (const exit of exits) {
            if (Exit.isSuccess(exit)) continue
            expect(Cause.hasDies(exit.cause)).toBe(false)
            expect(Cause.hasInterrupts(exit.cause)).toBe(false)
            const error = Cause.squash(exit.cause) as { readonly _tag?: string }
            expect(["APIError", "TransportError", "ValueError"]).toContain(error._tag)
          }
          const succeeded = exits.filter(Exit.isSuccess).length
          // Eight retries against one fault in ten: every operation gets through.
          expect(succeeded).toBe(100)

          // Faults drained, the fleet's content matches what every successful operation asked for.
          yield* Effect.sleep("50 millis")
          const snapshot = yield* control.snapshot
          const units = new Map(snapshot.units.map((unit) => [unit.name!, unit]))
          operations.forEach((op, i) => {
            if (!Exit.isSuccess(exits[i]!)) return
            const unit = units.get(`load-${i}.service`)
            if (op.expected === "absent") expect(unit).toBeUndefined()
            else if (op.expected !== "none") {
              expect(unit?.desiredState).toBe(op.expected)
              expect(unit?.currentState).toBe(op.expected)
            }
          })
          // Every state belongs to a unit scheduled on that machine, and says what its desired state asks for.
          for (const state of snapshot.states) {
            const unit = units.get(state.name)
            expect(unit).toBeDefined()
            expect(unit?.machineID).toBe(state.machineID)
            expect(state.systemdActiveState).toBe(unit?.desiredState === "launched" ? "active" : "inactive")
          }
          for (const unit of snapshot.units) {
            if (unit.desiredState === "inactive") continue
            expect(snapshot.states.filter((state) => state.name === unit.name)).toHaveLength(1)
          }
          // The client sees the same fleet.
          const listed = yield* Stream.runCollect(Fleet.listUnits())
          expect(listed.map((unit) => unit.name)).toEqual(snapshot.units.map((unit) => unit.name))
        }),
      // A request the timeout abandons may still reach fleet later and undo a newer write (see docs/daemon.md): the
      // timeout is long here so that every attempt ends in an answer or a broken connection, never in abandonment.
      { retry, timeout: "30 seconds" }
    )
  )
})
