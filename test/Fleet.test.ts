import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it, layer, type Vitest } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, type Scope, Stream } from "effect"
import * as Fleet from "../src/Fleet.ts"
import * as FleetControl from "../src/FleetControl.ts"
import { APIError, isTransient, ValueError } from "../src/FleetError.ts"
import * as FleetServer from "../src/FleetServer.ts"
import * as FleetTest from "../src/FleetTest.ts"
import * as FleetWatch from "../src/FleetWatch.ts"
import { Machine } from "../src/Machine.ts"
import * as Unit from "../src/Unit.ts"
import { UnitState } from "../src/UnitState.ts"
import { openSocketsOn } from "./support/localFleet.ts"
import { makePki, type Pki, tlsProxy } from "./support/tls.ts"

const tokenLimit = 3

// layer() suites run on the test clock; waiting for real sockets needs real time.
const realSleep = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

const sleepUnit = Unit.make({
  options: [new Unit.UnitOption({ section: "Service", name: "ExecStart", value: "/usr/bin/sleep 1d" })]
})

const machines = [
  new Machine({ id: "2901a44df0834bef935e24a0ddddcc23", primaryIP: "198.51.100.23", metadata: { role: "web" } }),
  new Machine({ id: "8d3b1c4a6c1f4e6f9f0b0a7e7b8a9c0d", primaryIP: "198.51.100.24" })
]

const seededUnits = (count: number) =>
  Array.from(
    { length: count },
    (_, i) =>
      new Unit.Unit({
        name: `seed-${String(i).padStart(4, "0")}.service`,
        desiredState: "inactive",
        options: sleepUnit.options
      })
  )

const control = Effect.service(FleetControl.FleetControl)

const requestsSince = (before: number) =>
  Effect.map(control.pipe(Effect.flatMap((c) => c.requests)), (log) => log.slice(before))

const requestCount = Effect.flatMap(control, (c) => c.requestCount)

const fresh = (seed: FleetControl.Seed = {}) =>
  Effect.gen(function* () {
    const c = yield* control
    yield* c.reset
    yield* c.seed(seed)
  })

/** A local fleet server, and the client connected to it through `endpoint(server)`. */
const overServer = (
  endpoint: (
    server: FleetServer.FleetServerService
  ) => Effect.Effect<Layer.Layer<Fleet.Fleet, ValueError>, unknown, Scope.Scope>,
  serverOptions: FleetServer.Options = { port: 0 }
) =>
  Layer.unwrap(
    Effect.gen(function* () {
      const server = yield* FleetServer.FleetServer
      return yield* endpoint(server)
    }).pipe(Effect.orDie)
  ).pipe(Layer.provideMerge(FleetServer.layer({ tokenLimit, ...serverOptions })))

const tempSocket = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), "effect-fleet-")), "fleet.sock")

/** Every operation, the same way, whatever the transport underneath. */
const operations = (it: { readonly effect: Vitest.Tester<Fleet.Fleet | FleetControl.FleetControl | Scope.Scope> }) => {
  it.effect("createUnit PUTs desiredState and options, then returns the unit fleet reports", () =>
    Effect.gen(function* () {
      yield* fresh({ machines })
      const before = yield* requestCount
      const created = yield* Fleet.createUnit("web@1.service", sleepUnit)
      expect(created.name).toBe("web@1.service")
      expect(created.desiredState).toBe("launched")
      expect(created.options).toEqual(sleepUnit.options)
      expect(created.currentState).toBe("launched")
      expect(machines.map((m) => m.id)).toContain(created.machineID)
      const log = yield* requestsSince(before)
      expect(log.map(({ method, status, url }) => ({ method, url, status }))).toEqual([
        { method: "PUT", url: "/fleet/v1/units/web%401.service", status: 201 },
        { method: "GET", url: "/fleet/v1/units/web%401.service", status: 200 }
      ])
    })
  )

  it.effect("getUnit fetches one unit; a missing one is fleet's 404", () =>
    Effect.gen(function* () {
      yield* fresh({ units: seededUnits(1) })
      const unit = yield* Fleet.getUnit("seed-0000.service")
      expect(unit).toMatchObject({ name: "seed-0000.service", desiredState: "inactive", currentState: "inactive" })
      const error = yield* Effect.flip(Fleet.getUnit("invalid-service"))
      expect(error).toBeInstanceOf(APIError)
      expect(String(error)).toBe("unit does not exist (404)")
    })
  )

  it.effect("setUnitDesiredState by name and by unit, returning the fetched unit", () =>
    Effect.gen(function* () {
      yield* fresh({ machines })
      const unit = yield* Fleet.createUnit("foo.service", Unit.withDesiredState(sleepUnit, "inactive"))
      expect(unit.currentState).toBe("inactive")
      const loaded = yield* Fleet.setUnitDesiredState("foo.service", "loaded")
      expect(loaded).toMatchObject({ desiredState: "loaded", currentState: "loaded" })
      const launched = yield* Fleet.setUnitDesiredState(loaded, "launched")
      expect(launched).toMatchObject({ desiredState: "launched", currentState: "launched" })
      const states = yield* Fleet.listUnitStates({ unitName: "foo.service" }).pipe(Stream.runCollect)
      expect(states).toHaveLength(1)
      expect(states[0]).toMatchObject({ hash: Unit.hash(sleepUnit), systemdSubState: "running" })
    })
  )

  it.effect("setUnitDesiredState refuses an invalid state before sending anything", () =>
    Effect.gen(function* () {
      yield* fresh()
      const before = yield* requestCount
      const error = yield* Effect.flip(Fleet.setUnitDesiredState("foo.service", "invalid-state"))
      expect(error).toBeInstanceOf(ValueError)
      expect(error.message).toBe("state must be one of: ['inactive', 'loaded', 'launched']")
      expect(yield* requestCount).toBe(before)
    })
  )

  it.effect("setUnitDesiredState on a unit that does not exist is fleet's 409", () =>
    Effect.gen(function* () {
      yield* fresh()
      const error = yield* Effect.flip(Fleet.setUnitDesiredState("nope.service", "inactive"))
      expect(error).toMatchObject({ _tag: "APIError", code: 409 })
      expect(error.message).toBe("unit does not exist and options field empty")
    })
  )

  it.effect("destroyUnit by name and by unit; a missing unit is fleet's 404", () =>
    Effect.gen(function* () {
      yield* fresh({ units: seededUnits(2) })
      yield* Fleet.destroyUnit("seed-0000.service")
      const second = yield* Fleet.getUnit("seed-0001.service")
      yield* Fleet.destroyUnit(second)
      expect(yield* Fleet.listUnits().pipe(Stream.runCollect)).toEqual([])
      const error = yield* Effect.flip(Fleet.destroyUnit("seed-0000.service"))
      expect(String(error)).toBe("unit does not exist (404)")
    })
  )

  it.effect("listUnits follows nextPageToken to the end, in name order", () =>
    Effect.gen(function* () {
      yield* fresh({ units: seededUnits(7) })
      const before = yield* requestCount
      const names = yield* Fleet.listUnits().pipe(
        Stream.map((u) => u.name),
        Stream.runCollect
      )
      expect(names).toEqual(seededUnits(7).map((u) => u.name))
      // 3 + 3 + 1: three pages, the last without a token
      expect(yield* requestCount).toBe(before + 3)
    })
  )

  it.effect("an exact multiple of the page size ends on fleet's empty page", () =>
    Effect.gen(function* () {
      yield* fresh({ units: seededUnits(6) })
      const before = yield* requestCount
      expect(yield* Fleet.listUnits().pipe(Stream.runCount)).toBe(6)
      expect(yield* requestCount).toBe(before + 3)
    })
  )

  it.effect("an empty cluster lists nothing", () =>
    Effect.gen(function* () {
      yield* fresh()
      expect(yield* Fleet.listUnits().pipe(Stream.runCollect)).toEqual([])
      expect(yield* Fleet.listMachines().pipe(Stream.runCollect)).toEqual([])
      expect(yield* Fleet.listUnitStates().pipe(Stream.runCollect)).toEqual([])
    })
  )

  it.effect("listUnitsPage pages by hand", () =>
    Effect.gen(function* () {
      yield* fresh({ units: seededUnits(4) })
      const first = yield* Fleet.listUnitsPage()
      expect(first.items).toHaveLength(3)
      expect(first.nextPageToken).toBeTypeOf("string")
      const second = yield* Fleet.listUnitsPage(first.nextPageToken)
      expect(second.items.map((u) => u.name)).toEqual(["seed-0003.service"])
      expect(second.nextPageToken).toBeUndefined()
      const bad = yield* Effect.flip(Fleet.listUnitsPage("garbage"))
      expect(bad).toMatchObject({ _tag: "APIError", code: 400 })
    })
  )

  it.effect("listUnitStates sends machineID and unitName only when given", () =>
    Effect.gen(function* () {
      const states = ["a.service", "b.service"].flatMap((name) =>
        machines.map(
          (m) =>
            new UnitState({
              name,
              hash: "0".repeat(40),
              machineID: m.id,
              systemdLoadState: "loaded",
              systemdActiveState: "active",
              systemdSubState: "running"
            })
        )
      )
      yield* fresh({ machines, states })
      const before = yield* requestCount
      expect(yield* Fleet.listUnitStates().pipe(Stream.runCount)).toBe(4)
      const onFirst = yield* Fleet.listUnitStates({ machineId: machines[0]!.id }).pipe(Stream.runCollect)
      expect(onFirst.map((s) => s.name)).toEqual(["a.service", "b.service"])
      const ofB = yield* Fleet.listUnitStates({ unitName: "b.service" }).pipe(Stream.runCollect)
      expect(ofB.map((s) => s.machineID)).toEqual(machines.map((m) => m.id).sort())
      const both = yield* Fleet.listUnitStatesPage({ machineId: machines[1]!.id, unitName: "a.service" })
      expect(both.items).toHaveLength(1)
      const urls = (yield* requestsSince(before)).map((r) => r.url)
      expect(urls[0]).toBe("/fleet/v1/state")
      expect(urls).toContain(`/fleet/v1/state?machineID=${machines[0]!.id}`)
      expect(urls).toContain("/fleet/v1/state?unitName=b.service")
      expect(urls).toContain(`/fleet/v1/state?machineID=${machines[1]!.id}&unitName=a.service`)
    })
  )

  it.effect("listMachines", () =>
    Effect.gen(function* () {
      yield* fresh({ machines })
      const listed = yield* Fleet.listMachines().pipe(Stream.runCollect)
      expect(listed).toEqual([...machines].sort((a, b) => (a.id < b.id ? -1 : 1)))
    })
  )

  it.effect("unit names are percent-encoded in paths", () =>
    Effect.gen(function* () {
      yield* fresh()
      const before = yield* requestCount
      const error = yield* Effect.flip(Fleet.createUnit("a b/c", sleepUnit))
      // fleet routes on the decoded path, where "a b/c" is two segments: its routing 404
      expect(error).toMatchObject({ _tag: "APIError", code: 404 })
      expect((yield* requestsSince(before))[0]?.url).toBe("/fleet/v1/units/a%20b%2Fc")
      // python-fleet's `quote(name, safe='')` escapes !'()* too, which encodeURIComponent leaves alone
      const quoted = yield* requestCount
      yield* Effect.flip(Fleet.getUnit("a!'(b)*.service"))
      expect((yield* requestsSince(quoted))[0]?.url).toBe("/fleet/v1/units/a%21%27%28b%29%2A.service")
    })
  )

  it.effect("invalid unit names and malformed options are fleet's typed 400s", () =>
    Effect.gen(function* () {
      yield* fresh()
      const noDot = yield* Effect.flip(Fleet.createUnit("foo", sleepUnit))
      expect(noDot).toMatchObject({ _tag: "APIError", code: 400, message: `unit name must contain "."` })
      const type = yield* Effect.flip(Fleet.createUnit("foo.bar", sleepUnit))
      expect(type.message).toBe(`invalid unit type: "bar"`)
      const empty = yield* Effect.flip(Fleet.createUnit("foo.service", Unit.make()))
      expect(empty).toMatchObject({ code: 409, message: "unit does not exist and options field empty" })
      const conflict = yield* Effect.flip(
        Fleet.createUnit(
          "foo.service",
          sleepUnit.pipe(Unit.addOption("X-Fleet", "MachineID", "abc"), Unit.addOption("X-Fleet", "Global", "true"))
        )
      )
      expect(conflict).toMatchObject({ code: 400 })
      expect(yield* Effect.flip(Fleet.getUnit(""))).toBeInstanceOf(ValueError)
    })
  )
}

const pki: Pki = makePki()
const socketPath = tempSocket()
const pythonSocket = tempSocket()

describe("over TCP", () => {
  layer(
    overServer((server) => Effect.succeed(Fleet.layer(server.url))),
    { timeout: 30_000 }
  )((it) => {
    operations(it)
  })
})

describe("over TCP with fleet's default page size", () => {
  layer(overServer((server) => Effect.succeed(Fleet.layer(server.url)), { port: 0, tokenLimit: 100 }))((it) => {
    it.effect("5 of 1,000 units is one request; all of them is 10", () =>
      Effect.gen(function* () {
        yield* fresh({ units: seededUnits(1000) })
        const before = yield* requestCount
        expect(yield* Fleet.listUnits().pipe(Stream.take(5), Stream.runCount)).toBe(5)
        expect(yield* requestCount).toBe(before + 1)
        expect(yield* Fleet.listUnits().pipe(Stream.runCount)).toBe(1000)
        // 10 full pages, then fleet's empty page after the last full one
        expect(yield* requestCount).toBe(before + 1 + 11)
      })
    )

    it.effect("interrupting a stream mid-page releases the connection", () =>
      Effect.gen(function* () {
        yield* fresh({ units: seededUnits(300) })
        const c = yield* control
        // the second page stalls: the stream is interrupted while waiting for it
        const fiber = yield* Fleet.listUnits().pipe(
          Stream.tap((unit) =>
            unit.name === "seed-0099.service" ? c.failNext(1, FleetControl.Fault.Stall) : Effect.void
          ),
          Stream.runCollect,
          Effect.forkChild
        )
        yield* realSleep(200)
        const server = yield* FleetServer.FleetServer
        const open = openSocketsOn(server.port!)
        yield* Fiber.interrupt(fiber)
        expect(Exit.hasInterrupts(yield* Fiber.await(fiber))).toBe(true)
        // the stalled request's connection was closed, so the server holds no socket for it
        yield* realSleep(100)
        // aborting the stalled request closed its connection (both of its ends are on this machine); idle pooled
        // connections stay for the next request
        expect(openSocketsOn(server.port!)).toBe(open - 2)
      })
    )
  })
})

describe("over a unix socket, fleetctl's unix:// spelling", () => {
  layer(overServer((server) => Effect.succeed(Fleet.layer(`unix://${server.socketPath}`)), { socketPath }))((it) => {
    operations(it)
  })
})

describe("over a unix socket, python-fleet's http+unix:// spelling", () => {
  layer(
    overServer((server) => Effect.succeed(Fleet.layer(`http+unix://${encodeURIComponent(server.socketPath!)}`)), {
      socketPath: pythonSocket
    })
  )((it) => {
    operations(it)
  })
})

describe("over HTTPS through a TLS proxy, verifying the server", () => {
  layer(
    overServer((server) =>
      Effect.map(tlsProxy(pki, server.port!), ({ port }) => Fleet.layer(`https://127.0.0.1:${port}`, { ca: pki.ca }))
    )
  )((it) => {
    operations(it)
  })

  it.live("a server certificate from another CA fails the layer with a clear error", () =>
    Effect.gen(function* () {
      const server = yield* FleetServer.make({ port: 0 })
      const proxy = yield* tlsProxy(pki, server.port!)
      const error = yield* Effect.flip(Layer.build(Fleet.layer(`https://127.0.0.1:${proxy.port}`, { ca: pki.otherCa })))
      expect(error).toBeInstanceOf(ValueError)
      expect(error.message).toMatch(/^Unable to connect to endpoint https:\/\/127\.0\.0\.1:\d+: /)
      expect(error.message).toMatch(/certificate/i)
      // after the build, the same failure is a TransportError that no retry will cure
      const later = yield* Effect.flip(
        Fleet.getUnit("a.service").pipe(
          Effect.provide(Fleet.layer(`https://127.0.0.1:${proxy.port}`, { ca: pki.otherCa, probe: false }))
        )
      )
      expect(later).toMatchObject({ _tag: "TransportError", reason: "Connect" })
      expect(isTransient(later)).toBe(false)
    })
  )

  it.live("a wait fails at once on a certificate it cannot verify instead of waiting it out", () =>
    Effect.gen(function* () {
      const server = yield* FleetServer.make({ port: 0 })
      const proxy = yield* tlsProxy(pki, server.port!)
      // the timeout is longer than the test's: waiting the failure out would fail the test
      const error = yield* Effect.flip(
        FleetWatch.waitForUnit("a.service", "launched", { timeout: "10 minutes", interval: "10 millis" }).pipe(
          Effect.provide(Fleet.layer(`https://127.0.0.1:${proxy.port}`, { ca: pki.otherCa, probe: false }))
        )
      )
      expect(error).toMatchObject({ _tag: "TransportError", reason: "Connect" })
      expect(error.message).toMatch(/certificate/i)
      expect(yield* server.control.requestCount).toBe(0)
    })
  )

  it.live("without the CA, the system trust store refuses the test certificate", () =>
    Effect.gen(function* () {
      const server = yield* FleetServer.make({ port: 0 })
      const proxy = yield* tlsProxy(pki, server.port!)
      const error = yield* Effect.flip(Layer.build(Fleet.layer(`https://127.0.0.1:${proxy.port}`)))
      expect(error.message).toMatch(/certificate/i)
    })
  )

  it.live("a client certificate is presented when the proxy requires one", () =>
    Effect.gen(function* () {
      const server = yield* FleetServer.make({ port: 0 })
      const proxy = yield* tlsProxy(pki, server.port!, { requireClientCert: true })
      const endpoint = `https://127.0.0.1:${proxy.port}`
      const refused = yield* Effect.flip(Layer.build(Fleet.layer(endpoint, { ca: pki.ca })))
      expect(refused).toBeInstanceOf(ValueError)
      const { Redacted } = yield* Effect.promise(() => import("effect"))
      const units = yield* Fleet.listUnits().pipe(
        Stream.runCollect,
        Effect.provide(Fleet.layer(endpoint, { ca: pki.ca, cert: pki.clientCert, key: Redacted.make(pki.clientKey) }))
      )
      expect(units).toEqual([])
    })
  )
})

describe("over the in-memory test layer", () => {
  layer(FleetTest.layer({ tokenLimit }))((it) => {
    operations(it)
  })

  it.live("FleetTest.layer takes a seed and serves it", () =>
    Effect.gen(function* () {
      const names = yield* Fleet.listUnits().pipe(
        Stream.map((u) => u.name),
        Stream.runCollect
      )
      expect(names).toEqual(["seed-0000.service", "seed-0001.service"])
    }).pipe(Effect.provide(FleetTest.layer({ seed: { units: seededUnits(2) } })))
  )

  it.effect("FleetTest.makeHttpClient serves the in-memory fleet to any HttpClient user", () =>
    Effect.gen(function* () {
      const { control, httpClient } = yield* FleetTest.makeHttpClient({
        seed: { units: seededUnits(3) },
        tokenLimit: 2
      })
      const response = yield* httpClient.get("http://anywhere.test/fleet/v1/units")
      const body = (yield* response.json) as { readonly nextPageToken?: string; readonly units: ReadonlyArray<unknown> }
      expect([response.status, body.units.length, body.nextPageToken]).toEqual([200, 2, "AgACAA=="])
      expect(yield* control.requests).toMatchObject([{ method: "GET", url: "/fleet/v1/units", status: 200 }])
      expect(
        yield* Effect.flip(FleetTest.makeHttpClient({ seed: { units: [new Unit.Unit({ options: [] })] } }))
      ).toMatchObject({
        _tag: "ValueError",
        message: "every seeded unit needs a name"
      })
    })
  )

  it.live("injected faults reach the client as typed errors", () =>
    Effect.gen(function* () {
      const c = yield* control
      yield* c.failNext(1, FleetControl.Fault.Unavailable)
      const unavailable = yield* Effect.flip(Fleet.listUnits().pipe(Stream.runCollect))
      expect(unavailable).toMatchObject({
        _tag: "APIError",
        code: 503,
        message: "fleet server unable to communicate with etcd"
      })
      yield* c.failNext(1, FleetControl.Fault.Reset)
      expect(yield* Effect.flip(Fleet.getUnit("a.service"))).toMatchObject({ _tag: "TransportError", reason: "Reset" })
      yield* c.failNext(1, FleetControl.Fault.Truncate)
      expect(yield* Effect.flip(Fleet.listUnits().pipe(Stream.runCollect))).toMatchObject({
        _tag: "TransportError",
        reason: "Reset"
      })
      yield* c.failNext(1, FleetControl.Fault.InvalidJson)
      expect(yield* Effect.flip(Fleet.listMachines().pipe(Stream.runCollect))).toMatchObject({
        _tag: "TransportError",
        reason: "MalformedResponse"
      })
      yield* c.failNext(1, FleetControl.Fault.Status(502, "<html>Bad Gateway</html>"))
      const proxy = yield* Effect.flip(Fleet.getUnit("a.service"))
      expect(proxy).toMatchObject({ _tag: "APIError", code: 502 })
      expect(proxy.message).toContain("Bad Gateway")
      yield* c.failNext(1, FleetControl.Fault.Stall)
      expect(yield* Effect.flip(Fleet.getUnit("a.service"))).toMatchObject({
        _tag: "TransportError",
        reason: "Timeout"
      })
      // and the next request works again
      expect(String(yield* Effect.flip(Fleet.getUnit("a.service")))).toBe("unit does not exist (404)")
    }).pipe(Effect.provide(FleetTest.layer({ timeout: "200 millis" })))
  )
})
