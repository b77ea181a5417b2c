/**
 * python-fleet's client test scenarios, ported: for each behaviour its suite checks, the same check here. Where a
 * scenario lives elsewhere in this suite, it is named. Argument conflicts of python-fleet's constructors
 * (`Unit(from_string=..., from_file=...)`, `Client(ssh_tunnel=..., ssh_raw_transport=...)`) cannot be written with
 * this library's separate constructors and typed options, so they have no runtime counterpart.
 */
import * as http from "node:http"
import type * as net from "node:net"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import * as Endpoint from "../src/Endpoint.ts"
import * as Fleet from "../src/Fleet.ts"
import { APIError, ValueError } from "../src/FleetError.ts"
import * as Unit from "../src/Unit.ts"

interface Seen {
  readonly method: string
  readonly url: string
  readonly contentType: string | undefined
  readonly body: string
}

/** An HTTP server that records each request and answers from `answer(method, url)`. */
const recordingServer = (answer: (method: string, url: string) => { status: number; body?: unknown }) =>
  Effect.acquireRelease(
    Effect.callback<{ server: http.Server; url: string; seen: Array<Seen> }>((resume) => {
      const seen: Array<Seen> = []
      const server = http.createServer((req, res) => {
        let body = ""
        req.on("data", (chunk) => (body += chunk))
        req.on("end", () => {
          const method = req.method ?? ""
          const url = req.url ?? ""
          if (url === "/fleet/v1/discovery") {
            res.writeHead(200, { "content-type": "application/json" }).end(`{"id":"fleet:v1"}`)
            return
          }
          seen.push({ method, url, contentType: req.headers["content-type"], body })
          const { body: out, status } = answer(method, url)
          if (out === undefined) res.writeHead(status).end()
          else res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(out))
        })
      })
      server.listen(0, "127.0.0.1", () =>
        resume(
          Effect.succeed({
            server,
            url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
            seen
          })
        )
      )
    }),
    ({ server }) =>
      Effect.callback<void>((resume) => {
        server.close(() => resume(Effect.void))
        server.closeAllConnections()
      })
  )

const unitJson = {
  name: "foo.service",
  desiredState: "launched",
  currentState: "launched",
  machineID: "2901a44df0834bef935e24a0ddddcc23",
  options: [{ section: "Service", name: "ExecStart", value: "/usr/bin/sleep 1d" }]
}

const withRecording = <A, E>(
  answer: Parameters<typeof recordingServer>[0],
  use: (seen: Array<Seen>) => Effect.Effect<A, E, Fleet.Fleet>
) =>
  Effect.gen(function* () {
    const { seen, url } = yield* recordingServer(answer)
    return yield* use(seen).pipe(Effect.provide(Fleet.layer(url)))
  })

describe("python-fleet's client scenarios", () => {
  it.live("create_unit: PUT {desiredState, options} as JSON, then GET; returns the fetched unit", () =>
    withRecording(
      (method) => (method === "PUT" ? { status: 201 } : { status: 200, body: unitJson }),
      (seen) =>
        Effect.gen(function* () {
          const unit = yield* Unit.fromString("[Service]\nExecStart=/usr/bin/sleep 1d\n")
          const created = yield* Fleet.createUnit("foo.service", unit)
          expect(created).toMatchObject({ name: "foo.service", currentState: "launched" })
          expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
            "PUT /fleet/v1/units/foo.service",
            "GET /fleet/v1/units/foo.service"
          ])
          expect(seen[0]!.contentType).toBe("application/json")
          expect(JSON.parse(seen[0]!.body)).toEqual({ desiredState: "launched", options: unitJson.options })
        })
    )
  )

  it.live("set_unit_desired_state: sends {desiredState} only, by unit or by name, and returns the fetched unit", () =>
    withRecording(
      (method) =>
        method === "PUT" ? { status: 204 } : { status: 200, body: { ...unitJson, desiredState: "inactive" } },
      (seen) =>
        Effect.gen(function* () {
          const byName = yield* Fleet.setUnitDesiredState("foo.service", "inactive")
          expect(byName.desiredState).toBe("inactive")
          yield* Fleet.setUnitDesiredState(byName, "loaded")
          expect(seen.filter((s) => s.method === "PUT").map((s) => JSON.parse(s.body))).toEqual([
            { desiredState: "inactive" },
            { desiredState: "loaded" }
          ])
          const invalid = yield* Effect.flip(Fleet.setUnitDesiredState("foo.service", "invalid-state"))
          expect(invalid).toEqual(
            new ValueError({ message: "state must be one of: ['inactive', 'loaded', 'launched']" })
          )
          expect(seen).toHaveLength(4)
        })
    )
  )

  it.live("destroy_unit: DELETE by unit or by name", () =>
    withRecording(
      () => ({ status: 204 }),
      (seen) =>
        Effect.gen(function* () {
          yield* Fleet.destroyUnit("foo.service")
          yield* Fleet.destroyUnit(new Unit.Unit({ name: "web@1.service", options: [] }))
          expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
            "DELETE /fleet/v1/units/foo.service",
            "DELETE /fleet/v1/units/web%401.service"
          ])
        })
    )
  )

  it.live("get_unit and the APIError it raises", () =>
    withRecording(
      (_, url) =>
        url.endsWith("foo.service")
          ? { status: 200, body: unitJson }
          : { status: 404, body: { error: { code: 404, message: "unit does not exist" } } },
      () =>
        Effect.gen(function* () {
          expect((yield* Fleet.getUnit("foo.service")).options[0]?.value).toBe("/usr/bin/sleep 1d")
          const error = yield* Effect.flip(Fleet.getUnit("invalid-service"))
          expect(error).toEqual(new APIError({ code: 404, message: "unit does not exist" }))
          expect(`${error}`).toBe("unit does not exist (404)")
        })
    )
  )

  it.live("list_units / list_unit_states / list_machines: lazy, paged through nextPageToken", () =>
    withRecording(
      (_, url) => {
        if (url.startsWith("/fleet/v1/units")) {
          return url.includes("nextPageToken=2")
            ? { status: 200, body: { units: [{ ...unitJson, name: "b.service" }] } }
            : { status: 200, body: { units: [unitJson], nextPageToken: "2" } }
        }
        if (url.startsWith("/fleet/v1/state")) return { status: 200, body: { states: [{ name: "foo.service" }] } }
        return { status: 200, body: { machines: [{ id: "m1", primaryIP: "198.51.100.23", metadata: {} }] } }
      },
      (seen) =>
        Effect.gen(function* () {
          const units = Fleet.listUnits()
          expect(seen).toHaveLength(0) // nothing until iteration
          expect(
            yield* units.pipe(
              Stream.map((u) => u.name),
              Stream.runCollect
            )
          ).toEqual(["foo.service", "b.service"])
          expect(seen.map((s) => s.url)).toEqual(["/fleet/v1/units", "/fleet/v1/units?nextPageToken=2"])
          yield* Fleet.listUnitStates({ machineId: "m1", unitName: "foo.service" }).pipe(Stream.runCollect)
          yield* Fleet.listUnitStates({ unitName: "foo.service" }).pipe(Stream.runCollect)
          expect(seen.slice(2).map((s) => s.url)).toEqual([
            "/fleet/v1/state?machineID=m1&unitName=foo.service",
            "/fleet/v1/state?unitName=foo.service"
          ])
          const machines = yield* Fleet.listMachines().pipe(Stream.runCollect)
          expect(machines[0]).toMatchObject({ id: "m1", primaryIP: "198.51.100.23", metadata: {} })
        })
    )
  )

  it.live("an error body that is not JSON is still an APIError (python-fleet leaks a JSON error here)", () =>
    Effect.gen(function* () {
      const server = yield* Effect.acquireRelease(
        Effect.callback<http.Server>((resume) => {
          const s = http.createServer((req, res) => {
            if (req.url === "/fleet/v1/discovery") res.writeHead(200).end(`{"id":"fleet:v1"}`)
            else res.writeHead(500, { "content-type": "text/plain" }).end("Internal Server Error")
          })
          s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
        }),
        (s) => Effect.sync(() => s.close())
      )
      const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`
      const error = yield* Effect.flip(Fleet.getUnit("foo.service").pipe(Effect.provide(Fleet.layer(url))))
      expect(error).toBeInstanceOf(APIError)
      expect((error as APIError).code).toBe(500)
      expect(error.message).toContain("Internal Server Error")
    })
  )

  it("endpoint parsing: tcp and unix (python-fleet's and fleetctl's spellings)", () => {
    const parse = (s: string) => Effect.runSync(Endpoint.parse(s))
    expect(parse("http://127.0.0.1:49153")).toMatchObject({ _tag: "Tcp", hostname: "127.0.0.1", port: 49153 })
    expect(parse("http+unix://%2Fvar%2Frun%2Ffleet.sock")).toMatchObject({ socketPath: "/var/run/fleet.sock" })
    expect(parse("unix:///var/run/fleet.sock")).toMatchObject({ socketPath: "/var/run/fleet.sock" })
    // host:port splitting, port validation and tunnel error mapping: test/FleetSsh.test.ts
  })

  it.effect("units: parse good, bad and continued files; render; add and remove options", () =>
    Effect.gen(function* () {
      const unit = yield* Unit.fromString(
        "[Unit]\nDescription=Test\n\n[Service]\nExecStart=/bin/sh -c \\\n  'sleep 1d'\nExecStop=/bin/true\n"
      )
      expect(unit.desiredState).toBe("launched")
      expect(unit.options.map((o) => [o.section, o.name, o.value])).toEqual([
        ["Unit", "Description", "Test"],
        ["Service", "ExecStart", "/bin/sh -c \\\n  'sleep 1d'"],
        ["Service", "ExecStop", "/bin/true"]
      ])
      expect(Unit.toUnitFile(unit)).toBe(
        "[Unit]\nDescription=Test\n\n[Service]\nExecStart=/bin/sh -c \\\n  'sleep 1d'\nExecStop=/bin/true\n"
      )
      const bad = yield* Effect.flip(Unit.fromString("[Service\nExecStart=/bin/true\n"))
      expect(bad).toBeInstanceOf(ValueError)
      const added = Unit.addOption(unit, "Service", "ExecStop", "/bin/false")
      const removed = Unit.removeOption(added, "Service", "ExecStop")
      expect(removed.options).toHaveLength(2)
      expect(Unit.removeOption(removed, "Service", "ExecStop")).toBe(removed) // nothing removed: same unit
      expect(Unit.removeOption(added, "Service", "ExecStop", "/bin/false").options).toHaveLength(3)
    })
  )
})
