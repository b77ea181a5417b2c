import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as FleetControl from "../src/FleetControl.ts"
import * as FleetServer from "../src/FleetServer.ts"
import { Machine } from "../src/Machine.ts"
import { Unit, UnitOption } from "../src/Unit.ts"
import * as UnitFile from "../src/UnitFile.ts"
import { UnitState } from "../src/UnitState.ts"
import { fetchRaw, json, type RawRequest, type RawResponse, send, type Target } from "./support/rawHttp.ts"

const tempSocket = (name: string) => path.join(fs.mkdtempSync(path.join(os.tmpdir(), "effect-fleet-server-")), name)

const target = (transport: "tcp" | "unix") =>
  Effect.map(
    Effect.service(FleetServer.FleetServer),
    (server): Target =>
      transport === "tcp" ? { _tag: "Tcp", port: server.port! } : { _tag: "Unix", path: server.socketPath! }
  )

const call = (request: RawRequest, transport: "tcp" | "unix" = "tcp") =>
  Effect.flatMap(target(transport), (where) => Effect.promise(() => fetchRaw(where, request)))

const get = (p: string, transport: "tcp" | "unix" = "tcp") => call({ path: p }, transport)

const put = (name: string, body: unknown, transport: "tcp" | "unix" = "tcp") =>
  call({ method: "PUT", path: `/fleet/v1/units/${name}`, headers: json, body: JSON.stringify(body) }, transport)

const putRaw = (name: string, body: string, headers: ReadonlyArray<string> = json) =>
  call({ method: "PUT", path: `/fleet/v1/units/${name}`, headers, body })

const control = Effect.service(FleetControl.FleetControl)
const reset = Effect.flatMap(control, (c) => c.reset)
const seed = (data: FleetControl.Seed) => Effect.flatMap(control, (c) => c.seed(data))
const setAgents = (agents: FleetControl.Agents) => Effect.flatMap(control, (c) => c.setAgents(agents))

const errorBody = (code: number, message: string) => JSON.stringify({ error: { code, message } })

const expectError = (response: RawResponse, code: number, message: string) => {
  expect({ status: response.status, body: response.body }).toEqual({ status: code, body: errorBody(code, message) })
  expect(response.headers["content-type"]).toBe("application/json")
}

const option = (section: string, name: string, value: string) => ({ section, name, value })
const service = [option("Service", "ExecStart", "/usr/bin/sleep 1d")]

const units = (response: RawResponse): Array<{ name: string }> => JSON.parse(response.body).units ?? []

const socketPath = tempSocket("fleet.sock")

for (const transport of ["tcp", "unix"] as const) {
  layer(FleetServer.layer({ port: 0, socketPath, agents: "off" }))(`FleetServer over ${transport}`, (it) => {
    it.effect("answers discovery with a fleet:v1 document and refuses other methods", () =>
      Effect.gen(function* () {
        const response = yield* get("/fleet/v1/discovery", transport)
        expect(response.status).toBe(200)
        expect(response.headers.server).toBe("fleetd/v1.0.0")
        expect(response.headers["content-type"]).toBe("application/json")
        const document = JSON.parse(response.body)
        expect(document).toMatchObject({ id: "fleet:v1", rootUrl: "$ENDPOINT/", basePath: "/fleet/v1/" })
        expect(Object.keys(document.resources).sort()).toEqual(["Machines", "UnitState", "Units"])
        const post = yield* call({ method: "POST", path: "/fleet/v1/discovery", body: "" }, transport)
        expectError(post, 400, "only HTTP GET supported against this resource")
      })
    )

    it.effect("creates, reads, lists, updates and deletes a unit", () =>
      Effect.gen(function* () {
        yield* reset
        const empty = yield* get("/fleet/v1/units", transport)
        expect({ status: empty.status, body: empty.body }).toEqual({ status: 200, body: "{}" })
        const created = yield* put("web%401.service", { desiredState: "launched", options: service }, transport)
        expect({ status: created.status, body: created.body }).toEqual({ status: 201, body: "" })
        expect(created.headers.server).toBe("fleetd/v1.0.0")
        const fetched = yield* get("/fleet/v1/units/web@1.service", transport)
        expect(fetched.status).toBe(200)
        expect(fetched.body).toBe(
          '{"currentState":"inactive","desiredState":"launched","name":"web@1.service",' +
            '"options":[{"name":"ExecStart","section":"Service","value":"/usr/bin/sleep 1d"}]}'
        )
        const listed = yield* get("/fleet/v1/units", transport)
        expect(listed.body).toBe(`{"units":[${fetched.body}]}`)
        const updated = yield* put("web@1.service", { desiredState: "loaded" }, transport)
        expect({ status: updated.status, body: updated.body }).toEqual({ status: 204, body: "" })
        expect(JSON.parse((yield* get("/fleet/v1/units/web@1.service", transport)).body).desiredState).toBe("loaded")
        const deleted = yield* call({ method: "DELETE", path: "/fleet/v1/units/web@1.service" }, transport)
        expect({ status: deleted.status, body: deleted.body }).toEqual({ status: 204, body: "" })
        expectError(yield* get("/fleet/v1/units/web@1.service", transport), 404, "unit does not exist")
        expectError(
          yield* call({ method: "DELETE", path: "/fleet/v1/units/web@1.service" }, transport),
          404,
          "unit does not exist"
        )
      })
    )

    it.effect("routes like fleet's ServeMux: 405, 404, the v1-alpha alias", () =>
      Effect.gen(function* () {
        yield* reset
        for (const p of ["/", "/fleet/v1", "/v1-alpha"]) expectError(yield* get(p, transport), 405, "")
        for (const p of ["/fleet/v1/units/", "/fleet/v1/units/a/b", "/fleet/v1/machines/m1", "/nope", "/fleet/v1/"]) {
          expectError(yield* get(p, transport), 404, "")
        }
        yield* put("a.service", { options: service }, transport)
        const alias = yield* get("/v1-alpha/units", transport)
        expect(units(alias).map((unit) => unit.name)).toEqual(["a.service"])
        expect((yield* get("/v1-alpha/discovery", transport)).status).toBe(200)
      })
    )
  })
}

describe("FleetServer lifecycle", () => {
  it.effect("removes its unix socket when the scope closes", () =>
    Effect.gen(function* () {
      const socket = tempSocket("lifecycle.sock")
      const url = yield* Effect.scoped(
        Effect.gen(function* () {
          const server = yield* FleetServer.make({ socketPath: socket })
          expect(fs.existsSync(socket)).toBe(true)
          const response = yield* Effect.promise(() =>
            fetchRaw({ _tag: "Unix", path: socket }, { path: "/fleet/v1/machines" })
          )
          expect(response.body).toBe("{}")
          return server.url
        })
      )
      expect(url).toBe(`unix://${socket}`)
      expect(fs.existsSync(socket)).toBe(false)
    })
  )

  it.effect("fails with FleetServerError when the address is taken", () =>
    Effect.gen(function* () {
      const socket = tempSocket("taken.sock")
      fs.writeFileSync(socket, "")
      const error = yield* Effect.flip(Effect.scoped(FleetServer.make({ socketPath: socket })))
      expect(error._tag).toBe("FleetServerError")
    })
  )

  it.effect("seeds from a file in fleet's JSON field names", () =>
    Effect.gen(function* () {
      const file = path.join(path.dirname(tempSocket("x")), "seed.json")
      fs.writeFileSync(
        file,
        JSON.stringify({
          machines: [{ id: "m2", primaryIP: "10.0.0.2", metadata: { role: "web" } }, { id: "m1" }],
          states: [{ name: "old.service", hash: "abc", machineID: "m1", systemdLoadState: "loaded" }],
          units: [{ name: "a.service", desiredState: "launched", options: service, unknownField: 1 }]
        })
      )
      const snapshot = yield* Effect.scoped(
        Effect.gen(function* () {
          const server = yield* FleetServer.make({ port: 0, seedFile: file, agents: "off" })
          const machines = yield* Effect.promise(() =>
            fetchRaw({ _tag: "Tcp", port: server.port! }, { path: "/fleet/v1/machines" })
          )
          expect(machines.body).toBe(
            '{"machines":[{"id":"m1"},{"id":"m2","metadata":{"role":"web"},"primaryIP":"10.0.0.2"}]}'
          )
          return yield* server.control.snapshot
        })
      )
      expect(snapshot.units.map((unit) => [unit.name, unit.desiredState, unit.currentState])).toEqual([
        ["a.service", "launched", "inactive"]
      ])
      expect(snapshot.states).toEqual([
        new UnitState({ name: "old.service", hash: "abc", machineID: "m1", systemdLoadState: "loaded" })
      ])
    })
  )

  it.effect("refuses a malformed seed file with ValueError", () =>
    Effect.gen(function* () {
      const file = path.join(path.dirname(tempSocket("x")), "seed.json")
      fs.writeFileSync(file, '{"machines":[{"primaryIP":1}]}')
      const error = yield* Effect.flip(Effect.scoped(FleetServer.make({ port: 0, seedFile: file })))
      expect(error._tag).toBe("ValueError")
    })
  )
})

layer(FleetServer.layer({ port: 0, agents: "off" }))("FleetServer protocol details", (it) => {
  it.effect("HEAD gets the method error's status and no body", () =>
    Effect.gen(function* () {
      const head = yield* call({ method: "HEAD", path: "/fleet/v1/units" })
      expect(head.status).toBe(405)
      expect(head.body).toBe("")
      expect(head.headers["content-length"]).toBe(
        String(errorBody(405, "only GET supported against this resource").length)
      )
      expect((yield* call({ method: "HEAD", path: "/fleet/v1/discovery" })).status).toBe(400)
    })
  )

  it.effect("answers the other methods with fleet's 405 messages", () =>
    Effect.gen(function* () {
      expectError(
        yield* call({ method: "POST", path: "/fleet/v1/units", body: "{}" }),
        405,
        "only GET supported against this resource"
      )
      expectError(
        yield* call({ method: "POST", path: "/fleet/v1/units/a.service", body: "{}" }),
        405,
        "only GET, PUT and DELETE supported against this resource"
      )
      expectError(
        yield* call({ method: "DELETE", path: "/fleet/v1/state" }),
        405,
        "only GET supported against this resource"
      )
      expectError(
        yield* call({ method: "PUT", path: "/fleet/v1/machines", body: "[]" }),
        405,
        "only GET and PATCH supported against this resource"
      )
    })
  )

  it.effect("redirects unclean paths with 301, keeping the query", () =>
    Effect.gen(function* () {
      const response = yield* get("/fleet//v1/./units/../units?nextPageToken=x")
      expect(response.status).toBe(301)
      expect(response.headers.location).toBe("/fleet/v1/units?nextPageToken=x")
      expect(response.headers.server).toBe("fleetd/v1.0.0")
      expect(response.body).toBe('<a href="/fleet/v1/units?nextPageToken=x">Moved Permanently</a>.\n\n')
      const putRedirect = yield* call({ method: "PUT", path: "/fleet/v1//units/a.service", headers: json, body: "{}" })
      expect({ status: putRedirect.status, location: putRedirect.headers.location, body: putRedirect.body }).toEqual({
        status: 301,
        location: "/fleet/v1/units/a.service",
        body: ""
      })
    })
  )

  it.effect("answers a malformed request path like Go's HTTP server", () =>
    Effect.gen(function* () {
      const response = yield* get("/fleet/v1/units/%zz.service")
      expect({ status: response.status, body: response.body }).toEqual({ status: 400, body: "400 Bad Request" })
      expect(response.headers.server).toBeUndefined()
    })
  )

  it.effect("checks Content-Type before anything else on PUT", () =>
    Effect.gen(function* () {
      yield* reset
      expectError(yield* putRaw("a.service", "{}", []), 415, "expected 1 Content-Type, got 0")
      expectError(yield* putRaw("a.service", "{}", [...json, ...json]), 415, "expected 1 Content-Type, got 2")
      expectError(
        yield* putRaw("a.service", "{}", ["Content-Type", "text/plain"]),
        415,
        "only acceptable Content-Type is application/json"
      )
      expectError(
        yield* putRaw("bad", "not json", ["Content-Type", "Application/JSON"]),
        415,
        "only acceptable Content-Type is application/json"
      )
      const withCharset = yield* putRaw("a.service", JSON.stringify({ options: service }), [
        "Content-Type",
        " application/json ; charset=utf-8"
      ])
      expect(withCharset.status).toBe(201)
    })
  )

  it.effect("reports body decoding errors with Go encoding/json's texts", () =>
    Effect.gen(function* () {
      yield* reset
      const cases: ReadonlyArray<readonly [string, string]> = [
        ["", "EOF"],
        ["   \n", "EOF"],
        ["{", "unexpected EOF"],
        ['{"options": [', "unexpected EOF"],
        ["x", "invalid character 'x' looking for beginning of value"],
        ['{"a" 1}', "invalid character '1' after object key"],
        ['{"a":1 "b":2}', "invalid character '\"' after object key:value pair"],
        ["{1:2}", "invalid character '1' looking for beginning of object key string"],
        ['{"a":[1 2]}', "invalid character '2' after array element"],
        ['{"a":tru}', "invalid character '}' in literal true (expecting 'e')"],
        ['{"a":nul}', "invalid character '}' in literal null (expecting 'l')"],
        ['{"a":-x}', "invalid character 'x' in numeric literal"],
        ['{"a":1.}', "invalid character '}' after decimal point in numeric literal"],
        ['{"a":1e}', "invalid character '}' in exponent of numeric literal"],
        ['{"a":"\\q"}', "invalid character 'q' in string escape code"],
        ['{"a":"\\u12x4"}', "invalid character 'x' in \\u hexadecimal character escape"],
        ['{"a":"\u0001"}', "invalid character '\\x01' in string literal"],
        ["{'a':1}", "invalid character '\\'' looking for beginning of object key string"],
        [
          '{"options":"x"}',
          "json: cannot unmarshal string into Go struct field Unit.options of type []*schema.UnitOption"
        ],
        [
          '{"options":{}}',
          "json: cannot unmarshal object into Go struct field Unit.options of type []*schema.UnitOption"
        ],
        [
          '{"options":[1]}',
          "json: cannot unmarshal number into Go struct field Unit.options of type schema.UnitOption"
        ],
        [
          '{"options":[{"name":true}]}',
          "json: cannot unmarshal bool into Go struct field UnitOption.options.name of type string"
        ],
        ['{"name":1,"desiredState":[]}', "json: cannot unmarshal number into Go struct field Unit.name of type string"],
        ['{"desiredState":{}}', "json: cannot unmarshal object into Go struct field Unit.desiredState of type string"],
        ["[]", "json: cannot unmarshal array into Go value of type schema.Unit"],
        ['"a"', "json: cannot unmarshal string into Go value of type schema.Unit"],
        ["12", "json: cannot unmarshal number into Go value of type schema.Unit"]
      ]
      for (const [body, message] of cases) {
        expectError(yield* putRaw("a.service", body), 400, `unable to decode body: ${message}`)
      }
    })
  )

  it.effect("decodes bodies as Go does: keys case-insensitive, last duplicate wins, trailing data ignored", () =>
    Effect.gen(function* () {
      yield* reset
      const created = yield* putRaw(
        "a.service",
        '{"DESIREDSTATE":"loaded","desiredState":"launched","Options":[{"SECTION":"Service","Name":"A","vAlUe":"1"}],' +
          '"unknown":{"deep":[1,2,{"x":null}]}} trailing garbage {'
      )
      expect(created.status).toBe(201)
      expect((yield* get("/fleet/v1/units/a.service")).body).toBe(
        '{"currentState":"inactive","desiredState":"launched","name":"a.service",' +
          '"options":[{"name":"A","section":"Service","value":"1"}]}'
      )
      const nulls = yield* putRaw(
        "b.service",
        '{"name":null,"desiredState":null,"options":[{"section":"S","name":"n","value":"v"}]}'
      )
      expect(nulls.status).toBe(201)
      expect(JSON.parse((yield* get("/fleet/v1/units/b.service")).body).desiredState).toBe("inactive")
      const escaped = yield* putRaw(
        "c.service",
        '{"options":[{"section":"Service","name":"Environment","value":"A=\\u003cb\\u003e \\"q\\" \\u00e9"}]}'
      )
      expect(escaped.status).toBe(201)
      expect((yield* get("/fleet/v1/units/c.service")).body).toContain('"value":"A=\\u003cb\\u003e \\"q\\" \u00e9"')
    })
  )

  it.effect("applies fleet's unit name rules in order", () =>
    Effect.gen(function* () {
      yield* reset
      const cases: ReadonlyArray<readonly [string, string]> = [
        [`${"a".repeat(250)}.service`, "unit name exceeds maximum length (256)"],
        ["foo", 'unit name must contain "."'],
        ["foo.", 'unit name cannot end in "."'],
        ["foo.bar", 'invalid unit type: "bar"'],
        ["foo@1.mount", 'invalid unit type for template: "mount"'],
        ["fo!o.service", "invalid character '!' in unit name"],
        ["fo%20o.service", "invalid character ' ' in unit name"],
        ["%40foo.service", 'unit name cannot start in "@"']
      ]
      for (const [name, message] of cases) {
        expectError(yield* put(name, { desiredState: "launched", options: service }), 400, message)
      }
      expectError(
        yield* putRaw("a.service", JSON.stringify({ name: "b.service", options: service })),
        400,
        'name in URL "a.service" differs from unit name in request body "b.service"'
      )
      expect((yield* put("a.service", { name: "a.service", options: service })).status).toBe(201)
      expect((yield* put("x-y_z:1\\2.timer", { options: service })).status).toBe(201)
    })
  )

  it.effect("refuses new units without options or with contradictory options", () =>
    Effect.gen(function* () {
      yield* reset
      expectError(
        yield* put("a.service", { desiredState: "launched" }),
        409,
        "unit does not exist and options field empty"
      )
      expectError(yield* put("a.service", { options: [] }), 409, "unit does not exist and options field empty")
      const fleet = (name: string, value: string) => option("X-Fleet", name, value)
      const cases: ReadonlyArray<readonly [ReadonlyArray<ReturnType<typeof option>>, string]> = [
        [[fleet("MachineID", "m1"), fleet("MachineOf", "b.service")], "MachineID cannot be used with Peers"],
        [[fleet("MachineID", "m1"), fleet("Conflicts", "b.service")], "MachineID cannot be used with Conflicts"],
        [[fleet("MachineID", "m1"), fleet("Global", "true")], "MachineID cannot be used with Global"],
        [[fleet("MachineID", "m1"), fleet("Replaces", "b.service")], "MachineID cannot be used with Replaces"],
        [[fleet("Global", "yes"), fleet("MachineOf", "b.service")], "Global cannot be used with Peers"],
        [[fleet("Global", "1"), fleet("Replaces", "b.service")], "Global cannot be used with Replaces"],
        [[fleet("Conflicts", "b*"), fleet("Replaces", "c.service")], "Conflicts cannot be used with Replaces"],
        [
          [fleet("MachineOf", "b.service"), fleet("Conflicts", "b*")],
          'unresolvable requirements: peer "b.service" matches conflict "b*"'
        ],
        [[option("Service", "ExecStart", "x".repeat(2100))], "line too long (max 2048 bytes)"]
      ]
      for (const [options, message] of cases) {
        expectError(yield* put("a.service", { desiredState: "launched", options }), 400, message)
      }
      expect((yield* get("/fleet/v1/units")).body).toBe("{}")
      // Global=false is not global; Global with Conflicts is allowed.
      expect((yield* put("g.service", { options: [fleet("Global", "false"), fleet("MachineID", "m")] })).status).toBe(
        201
      )
      expect((yield* put("h.service", { options: [fleet("Global", "true"), fleet("Conflicts", "x")] })).status).toBe(
        201
      )
    })
  )

  it.effect("creates inactive by default, refuses an invalid state with 500 and stores nothing", () =>
    Effect.gen(function* () {
      yield* reset
      expect((yield* put("a.service", { options: service })).status).toBe(201)
      expect(JSON.parse((yield* get("/fleet/v1/units/a.service")).body).desiredState).toBe("inactive")
      expectError(yield* put("b.service", { desiredState: "running", options: service }), 500, "")
      expectError(yield* get("/fleet/v1/units/b.service"), 404, "unit does not exist")
      expectError(yield* put("a.service", { desiredState: "bogus" }), 500, "")
      expect(JSON.parse((yield* get("/fleet/v1/units/a.service")).body).desiredState).toBe("inactive")
      expectError(yield* put("a.service", { desiredState: "bogus", options: [option("S", "n", "v")] }), 500, "")
      expect(JSON.parse((yield* get("/fleet/v1/units/a.service")).body).options).toEqual(service)
    })
  )

  it.effect("replaces a unit whose unit file differs, updates one whose file is the same", () =>
    Effect.gen(function* () {
      yield* reset
      yield* put("a.service", { desiredState: "launched", options: service })
      expectError(
        yield* put("a.service", { options: service }),
        409,
        "must provide DesiredState to update existing unit"
      )
      expect((yield* put("a.service", { desiredState: "loaded", options: service })).status).toBe(204)
      // Padding changes the unit file: a replacement, stored trimmed, with the desired state reset to inactive.
      const padded = [option("Service", "ExecStart", "  /usr/bin/sleep 1d ")]
      expect((yield* put("a.service", { options: padded })).status).toBe(201)
      const replaced = JSON.parse((yield* get("/fleet/v1/units/a.service")).body)
      expect(replaced).toEqual({
        currentState: "inactive",
        desiredState: "inactive",
        name: "a.service",
        options: service
      })
      // "Same unit?" compares with the file as it reads back: the padded options again are a replacement every time,
      // and exactly what GET returned is the same unit (an update).
      expect((yield* put("a.service", { desiredState: "loaded", options: padded })).status).toBe(201)
      expect((yield* put("a.service", { desiredState: "loaded", options: padded })).status).toBe(201)
      expect((yield* put("a.service", { desiredState: "launched", options: replaced.options })).status).toBe(204)
      expect(JSON.parse((yield* get("/fleet/v1/units/a.service")).body).desiredState).toBe("launched")
      // Options are stored as a unit file: grouped by section, first-seen order.
      const mixed = [option("Unit", "Description", "d"), option("Service", "A", "1"), option("Unit", "After", "x")]
      expect((yield* put("b.service", { options: mixed })).status).toBe(201)
      expect(JSON.parse((yield* get("/fleet/v1/units/b.service")).body).options).toEqual([
        option("Unit", "Description", "d"),
        option("Unit", "After", "x"),
        option("Service", "A", "1")
      ])
      // Options are validated only at creation: a replacement may contradict itself.
      const contradictory = [option("X-Fleet", "MachineID", "m"), option("X-Fleet", "Global", "true")]
      expect((yield* put("b.service", { desiredState: "loaded", options: contradictory })).status).toBe(201)
    })
  )

  it.effect("refuses to activate a template but lets it be inactive", () =>
    Effect.gen(function* () {
      yield* reset
      expect((yield* put("web%40.service", { options: service })).status).toBe(201)
      expectError(
        yield* put("web%40.service", { desiredState: "launched" }),
        400,
        'cannot activate template "web@.service"'
      )
      expectError(
        yield* put("web%40.service", { desiredState: "loaded" }),
        400,
        'cannot activate template "web@.service"'
      )
      expect((yield* put("web%40.service", { desiredState: "inactive" })).status).toBe(204)
    })
  )

  it.effect("serves 503 for every path while etcd is unavailable, without a Server header", () =>
    Effect.gen(function* () {
      yield* reset
      const c = yield* control
      yield* c.setEtcdUnavailable(true)
      for (const p of ["/fleet/v1/units", "/fleet/v1/discovery", "/nope", "/fleet//v1"]) {
        const response = yield* get(p)
        expectError(response, 503, "fleet server unable to communicate with etcd")
        expect(response.headers.server).toBeUndefined()
      }
      yield* c.setEtcdUnavailable(false)
      expect((yield* get("/fleet/v1/units")).status).toBe(200)
    })
  )
})

const pageNames = (count: number) => Array.from({ length: count }, (_, i) => `u${String(i).padStart(3, "0")}.service`)

const seedUnits = (names: ReadonlyArray<string>) =>
  seed({
    units: names.map(
      (name) => new Unit({ name, desiredState: "inactive", options: service.map((o) => new UnitOption(o)) })
    )
  })

const walk = (collection: "units" | "machines" | "state", query = "") =>
  Effect.gen(function* () {
    const pages: Array<{ readonly count: number; readonly token: string | undefined }> = []
    const names: Array<string> = []
    let token: string | undefined
    do {
      const separator = query === "" ? "" : "&"
      const response = yield* get(
        `/fleet/v1/${collection}?${query}${token === undefined ? "" : `${separator}nextPageToken=${token}`}`
      )
      expect(response.status).toBe(200)
      const body = JSON.parse(response.body)
      const items: Array<{ name?: string; id?: string }> = body[collection === "state" ? "states" : collection] ?? []
      if (items.length === 0) expect(response.body).toBe("{}")
      names.push(...items.map((item) => item.name ?? item.id ?? ""))
      token = body.nextPageToken
      pages.push({ count: items.length, token })
    } while (token !== undefined)
    return { pages, names }
  })

layer(FleetServer.layer({ port: 0, tokenLimit: 3, agents: "off" }))("FleetServer paging (token limit 3)", (it) => {
  it.effect("pages units at 0, 1, limit-1, limit, limit+1 and 2*limit items", () =>
    Effect.gen(function* () {
      const expected: Record<number, ReadonlyArray<number>> = {
        0: [0],
        1: [1],
        2: [2],
        3: [3, 0],
        4: [3, 1],
        6: [3, 3, 0]
      }
      for (const [count, sizes] of Object.entries(expected)) {
        yield* reset
        const names = pageNames(Number(count))
        yield* seedUnits([...names].reverse())
        const result = yield* walk("units")
        expect(result.names).toEqual(names)
        expect(result.pages.map((page) => page.count)).toEqual(sizes)
      }
      yield* reset
      yield* seedUnits(pageNames(4))
      expect(JSON.parse((yield* get("/fleet/v1/units")).body).nextPageToken).toBe("AwACAA==")
      expect(JSON.parse((yield* get("/fleet/v1/units?nextPageToken=AwACAA==")).body).units).toHaveLength(1)
      expect((yield* get("/fleet/v1/units?nextPageToken=AwAJAA==")).body).toBe("{}")
    })
  )

  it.effect("refuses bad tokens with the decoder's message", () =>
    Effect.gen(function* () {
      const cases: ReadonlyArray<readonly [string, string]> = [
        ["AwACAA", "illegal base64 data at input byte 4"],
        ["!!!!", "illegal base64 data at input byte 0"],
        ["AwAC%2BA==", "illegal base64 data at input byte 4"],
        ["AwA=", "unexpected EOF"],
        ["", "EOF"],
        ["ZAACAA==", "token limit must be 3"],
        ["AwAAAA==", "token page must be greater than zero"],
        ["AwACAA==&nextPageToken=AwACAA==", "too many values for page token"]
      ]
      for (const collection of ["units", "machines", "state"]) {
        for (const [token, message] of cases) {
          expectError(yield* get(`/fleet/v1/${collection}?nextPageToken=${token}`), 400, message)
        }
      }
    })
  )

  it.effect("filters, orders and pages unit states", () =>
    Effect.gen(function* () {
      yield* reset
      const state = (name: string, machineID: string) =>
        new UnitState({ name, machineID, hash: "h", systemdLoadState: "loaded" })
      yield* seed({
        states: [state("b.service", "m2"), state("a.service", "m2"), state("b.service", "m1"), state("a.service", "m1")]
      })
      const all = yield* walk("state")
      expect(all.pages.map((page) => page.count)).toEqual([3, 1])
      const listed = JSON.parse((yield* get("/fleet/v1/state")).body).states
      expect(listed.map((s: { name: string; machineID: string }) => `${s.name}@${s.machineID}`)).toEqual([
        "a.service@m1",
        "a.service@m2",
        "b.service@m1"
      ])
      const byMachine = JSON.parse((yield* get("/fleet/v1/state?machineID=m2&machineID=m1")).body).states
      expect(byMachine.map((s: { name: string }) => s.name)).toEqual(["a.service", "b.service"])
      const both = JSON.parse((yield* get("/fleet/v1/state?machineID=m1&unitName=b.service")).body).states
      expect(both).toEqual([{ hash: "h", machineID: "m1", name: "b.service", systemdLoadState: "loaded" }])
      expect((yield* walk("state", "unitName=&machineID=")).names).toHaveLength(4)
      expect((yield* get("/fleet/v1/state?unitName=zzz.service")).body).toBe("{}")
    })
  )

  it.effect("orders and pages machines byte-wise", () =>
    Effect.gen(function* () {
      yield* reset
      yield* seed({ machines: ["b", "a", "B", "c", "aa"].map((id) => new Machine({ id })) })
      const result = yield* walk("machines")
      expect(result.names).toEqual(["B", "a", "aa", "b", "c"])
      expect(result.pages.map((page) => page.count)).toEqual([3, 2])
    })
  )
})

layer(FleetServer.layer({ port: 0, agents: "off" }))("FleetServer paging (default token limit 100)", (it) => {
  it.effect("pages at 0, 1, 99, 100, 101 and 200 items", () =>
    Effect.gen(function* () {
      const expected: Record<number, ReadonlyArray<number>> = {
        0: [0],
        1: [1],
        99: [99],
        100: [100, 0],
        101: [100, 1],
        200: [100, 100, 0]
      }
      for (const [count, sizes] of Object.entries(expected)) {
        yield* reset
        const names = pageNames(Number(count))
        yield* seedUnits(names)
        const result = yield* walk("units")
        expect(result.names).toEqual(names)
        expect(result.pages.map((page) => page.count)).toEqual(sizes)
      }
      expect(JSON.parse((yield* get("/fleet/v1/units")).body).nextPageToken).toBe("ZAACAA==")
      expectError(yield* get("/fleet/v1/units?nextPageToken=AwACAA=="), 400, "token limit must be 100")
    })
  )

  it.effect("keeps the registry consistent under 200 parallel PUTs", () =>
    Effect.gen(function* () {
      yield* reset
      const names = pageNames(200)
      const responses = yield* Effect.forEach(
        names,
        (name, i) => put(name, { desiredState: i % 2 === 0 ? "launched" : "loaded", options: service }),
        { concurrency: "unbounded" }
      )
      expect(responses.every((response) => response.status === 201)).toBe(true)
      // Racing writers on one unit: exactly one creates it, the rest update it.
      const racing = yield* Effect.forEach(
        Array.from({ length: 20 }, () => "race.service"),
        () => put("race.service", { desiredState: "loaded", options: service }),
        { concurrency: "unbounded" }
      )
      expect(racing.filter((response) => response.status === 201)).toHaveLength(1)
      expect(racing.filter((response) => response.status === 204)).toHaveLength(19)
      const listed = yield* walk("units")
      expect(listed.names).toEqual([...names, "race.service"].sort())
      const snapshot = yield* Effect.flatMap(control, (c) => c.snapshot)
      expect(snapshot.units).toHaveLength(201)
      expect(yield* Effect.flatMap(control, (c) => c.requestCount)).toBeGreaterThanOrEqual(220)
    })
  )
})

layer(FleetServer.layer({ port: 0 }))("FleetServer machines and simulated agents", (it) => {
  const machines = [
    new Machine({ id: "m1", primaryIP: "10.0.0.1", metadata: { role: "web", az: "a" } }),
    new Machine({ id: "m2", primaryIP: "10.0.0.2" })
  ]

  const patch = (body: string) => call({ method: "PATCH", path: "/fleet/v1/machines", headers: json, body })

  it.effect("edits machine metadata with PATCH", () =>
    Effect.gen(function* () {
      yield* reset
      yield* seed({ machines })
      expect((yield* get("/fleet/v1/machines")).body).toBe(
        '{"machines":[{"id":"m1","metadata":{"az":"a","role":"web"},"primaryIP":"10.0.0.1"},' +
          '{"id":"m2","primaryIP":"10.0.0.2"}]}'
      )
      const ok = yield* patch(
        JSON.stringify([
          { op: "add", path: "/m2/metadata/disk", value: { value: "ssd" } },
          { op: "replace", path: "/m1/metadata/role", value: { value: "db" } },
          { op: "remove", path: "/m1/metadata/az" },
          { op: "add", path: "/unknown/metadata/x", value: { value: "y" } }
        ])
      )
      expect({ status: ok.status, body: ok.body }).toEqual({ status: 204, body: "" })
      expect((yield* get("/fleet/v1/machines")).body).toBe(
        '{"machines":[{"id":"m1","metadata":{"role":"db"},"primaryIP":"10.0.0.1"},' +
          '{"id":"m2","metadata":{"disk":"ssd"},"primaryIP":"10.0.0.2"}]}'
      )
      yield* patch(JSON.stringify([{ op: "remove", path: "/m1/metadata/role" }]))
      expect(JSON.parse((yield* get("/fleet/v1/machines")).body).machines[0]).toEqual({
        id: "m1",
        primaryIP: "10.0.0.1"
      })
    })
  )

  it.effect("validates every PATCH operation before applying any", () =>
    Effect.gen(function* () {
      yield* reset
      yield* seed({ machines })
      const before = (yield* get("/fleet/v1/machines")).body
      const good = { op: "add", path: "/m2/metadata/disk", value: { value: "ssd" } }
      const cases: ReadonlyArray<readonly [unknown, string]> = [
        [
          [good, { op: "move", path: "/m1/metadata/a", value: { value: "b" } }],
          "invalid op: expect add, remove, or replace"
        ],
        [[good, { op: "add", path: "/m1/meta/a", value: { value: "b" } }], "machine metadata path invalid"],
        [[good, { op: "add", path: "/m1/metadata/a b", value: { value: "b" } }], "machine metadata path invalid"],
        [[good, { op: "replace", path: "/m1/metadata/a" }], "invalid value: add and replace require a value"],
        [{ op: "add" }, "json: cannot unmarshal object into Go value of type []api.machineMetadataOp"],
        [[{ op: 1 }], "json: cannot unmarshal number into Go struct field machineMetadataOp.op of type string"]
      ]
      for (const [body, message] of cases) expectError(yield* patch(JSON.stringify(body)), 400, message)
      expectError(yield* patch(""), 400, "EOF")
      expect((yield* get("/fleet/v1/machines")).body).toBe(before)
    })
  )

  it.effect("schedules launched and loaded units and publishes their states", () =>
    Effect.gen(function* () {
      yield* reset
      yield* seed({ machines })
      yield* put("a.service", { desiredState: "launched", options: service })
      yield* put("b.service", { desiredState: "loaded", options: service })
      const pinned = [...service, option("X-Fleet", "MachineID", "m1")]
      yield* put("c.service", { desiredState: "launched", options: pinned })
      const a = JSON.parse((yield* get("/fleet/v1/units/a.service")).body)
      const b = JSON.parse((yield* get("/fleet/v1/units/b.service")).body)
      const c = JSON.parse((yield* get("/fleet/v1/units/c.service")).body)
      expect([a.currentState, b.currentState, c.currentState]).toEqual(["launched", "loaded", "launched"])
      expect(a.machineID).not.toBe(b.machineID)
      expect(c.machineID).toBe("m1")
      const states = JSON.parse((yield* get("/fleet/v1/state")).body).states
      expect(states).toEqual([
        {
          hash: UnitFile.hash(service),
          machineID: a.machineID,
          name: "a.service",
          systemdActiveState: "active",
          systemdLoadState: "loaded",
          systemdSubState: "running"
        },
        {
          hash: UnitFile.hash(service),
          machineID: b.machineID,
          name: "b.service",
          systemdActiveState: "inactive",
          systemdLoadState: "loaded",
          systemdSubState: "dead"
        },
        {
          hash: UnitFile.hash(pinned),
          machineID: "m1",
          name: "c.service",
          systemdActiveState: "active",
          systemdLoadState: "loaded",
          systemdSubState: "running"
        }
      ])
      // Inactive: unscheduled and its state gone; destroyed: its state gone.
      yield* put("a.service", { desiredState: "inactive" })
      const inactive = JSON.parse((yield* get("/fleet/v1/units/a.service")).body)
      expect(inactive.currentState).toBe("inactive")
      expect(inactive.machineID).toBeUndefined()
      yield* call({ method: "DELETE", path: "/fleet/v1/units/b.service" })
      const left = JSON.parse((yield* get("/fleet/v1/state")).body).states
      expect(left.map((s: { name: string }) => s.name)).toEqual(["c.service"])
    })
  )

  it.effect("keeps a unit pending until a machine exists, and handles global units", () =>
    Effect.gen(function* () {
      yield* reset
      yield* put("a.service", { desiredState: "launched", options: service })
      expect(JSON.parse((yield* get("/fleet/v1/units/a.service")).body).currentState).toBe("inactive")
      yield* seed({ machines })
      expect(JSON.parse((yield* get("/fleet/v1/units/a.service")).body).currentState).toBe("launched")
      const global = [...service, option("X-Fleet", "Global", "true")]
      yield* put("g.service", { desiredState: "launched", options: global })
      const fetched = JSON.parse((yield* get("/fleet/v1/units/g.service")).body)
      expect(fetched.currentState).toBeUndefined()
      expect(fetched.machineID).toBeUndefined()
      const listed = units(yield* get("/fleet/v1/units")) as Array<{ name: string; currentState?: string }>
      expect(listed.find((unit) => unit.name === "g.service")?.currentState).toBe("inactive")
      const states = JSON.parse((yield* get("/fleet/v1/state?unitName=g.service")).body).states
      expect(states.map((s: { machineID: string }) => s.machineID)).toEqual(["m1", "m2"])
    })
  )

  it.effect("with agents off, units stay unscheduled and DELETE leaves states alone", () =>
    Effect.gen(function* () {
      yield* reset
      yield* setAgents("off")
      yield* seed({ machines, states: [new UnitState({ name: "a.service", machineID: "m1", hash: "h" })] })
      yield* put("a.service", { desiredState: "launched", options: service })
      expect((yield* get("/fleet/v1/units/a.service")).body).toBe(
        '{"currentState":"inactive","desiredState":"launched","name":"a.service",' +
          '"options":[{"name":"ExecStart","section":"Service","value":"/usr/bin/sleep 1d"}]}'
      )
      yield* call({ method: "DELETE", path: "/fleet/v1/units/a.service" })
      expect(JSON.parse((yield* get("/fleet/v1/state")).body).states).toEqual([
        { hash: "h", machineID: "m1", name: "a.service" }
      ])
      yield* setAgents("simulated")
    })
  )
})

layer(FleetServer.layer({ port: 0, agents: "off" }))("FleetServer faults and observation", (it) => {
  const sendTcp = (request: Parameters<typeof send>[1]) =>
    Effect.flatMap(target("tcp"), (where) => Effect.promise(() => send(where, request)))

  it.effect("acts out each fault once per queued request, then answers normally", () =>
    Effect.gen(function* () {
      yield* reset
      const c = yield* control
      yield* c.failNext(2, FleetControl.Fault.Unavailable)
      for (let i = 0; i < 2; i++) {
        const response = yield* get("/fleet/v1/units")
        expectError(response, 503, "fleet server unable to communicate with etcd")
      }
      expect((yield* get("/fleet/v1/units")).status).toBe(200)

      yield* c.failNext(1, FleetControl.Fault.Status(502, "<html>Bad Gateway</html>"))
      const badGateway = yield* get("/fleet/v1/units")
      expect({ status: badGateway.status, body: badGateway.body, type: badGateway.headers["content-type"] }).toEqual({
        status: 502,
        body: "<html>Bad Gateway</html>",
        type: "text/html"
      })

      yield* c.failNext(1, FleetControl.Fault.InvalidJson)
      const invalid = yield* get("/fleet/v1/units")
      expect(invalid.status).toBe(200)
      expect(() => JSON.parse(invalid.body)).toThrow()

      yield* c.failNext(1, FleetControl.Fault.Reset)
      const reset_ = yield* sendTcp({ path: "/fleet/v1/units" })
      expect(reset_).toMatchObject({ _tag: "Failure", reason: "error" })

      yield* seedUnits(pageNames(5))
      yield* c.failNext(1, FleetControl.Fault.Truncate)
      const truncated = yield* sendTcp({ path: "/fleet/v1/units" })
      expect(truncated).toMatchObject({ _tag: "Failure", reason: "aborted", status: 200 })

      yield* c.failNext(1, FleetControl.Fault.Truncate)
      const truncatedEmpty = yield* sendTcp({ method: "DELETE", path: "/fleet/v1/units/nope.service" })
      expect(truncatedEmpty).toMatchObject({ _tag: "Failure", reason: "aborted" })

      yield* c.failNext(1, FleetControl.Fault.Stall)
      const stalled = yield* sendTcp({ path: "/fleet/v1/units", timeoutMs: 300 })
      expect(stalled).toMatchObject({ _tag: "Failure", reason: "timeout" })

      expect(units(yield* get("/fleet/v1/units"))).toHaveLength(5)
    })
  )

  it.effect("logs every request, faulted or not", () =>
    Effect.gen(function* () {
      yield* reset
      const c = yield* control
      yield* get("/fleet/v1/units?nextPageToken=x")
      yield* c.failNext(1, FleetControl.Fault.Reset)
      yield* sendTcp({ method: "DELETE", path: "/fleet/v1/units/a.service" })
      yield* put("a.service", { options: service })
      const log = yield* c.requests
      expect(log.map(({ fault, method, status, url }) => ({ method, url, status, fault }))).toEqual([
        { method: "GET", url: "/fleet/v1/units?nextPageToken=x", status: 400, fault: undefined },
        { method: "DELETE", url: "/fleet/v1/units/a.service", status: undefined, fault: "Reset" },
        { method: "PUT", url: "/fleet/v1/units/a.service", status: 201, fault: undefined }
      ])
      for (const entry of log) expect(entry.receivedAt).toBeGreaterThan(0)
      expect(log[0]!.durationMillis).toBeGreaterThanOrEqual(0)
      expect(log[1]!.durationMillis).toBeUndefined()
      expect(yield* c.requestCount).toBe(3)
      yield* c.reset
      expect(yield* c.requestCount).toBe(0)
    })
  )

  it.effect("refuses a seed unit without a name", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(seed({ units: [new Unit({ options: [] })] }))
      expect(error.message).toBe("every seeded unit needs a name")
    })
  )
})
