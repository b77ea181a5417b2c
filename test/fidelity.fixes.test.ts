/**
 * The differences the differential suite found between the local server and fleet's own handler (issue 10), each
 * pinned by a test that needs no reference binaries, and the deliberate deviations where fleet crashes or corrupts
 * its registry.
 */
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fc from "fast-check"
import * as Result from "effect/Result"
import * as FleetControl from "../src/FleetControl.ts"
import * as FleetServer from "../src/FleetServer.ts"
import * as GoString from "../src/internal/goString.ts"
import * as PageToken from "../src/internal/server/pageToken.ts"
import { Machine } from "../src/Machine.ts"
import { Unit, UnitOption } from "../src/Unit.ts"
import * as UnitFile from "../src/UnitFile.ts"
import { UnitState } from "../src/UnitState.ts"
import { exchange } from "./support/fleetRef.ts"
import { globCases } from "./support/fidelityScenarios.ts"
import { fetchRaw, json, type RawRequest, type RawResponse } from "./support/rawHttp.ts"

const m1 = "2c7f2ad9a1d54b1c9d1e3f4a5b6c7d01"
const option = (section: string, name: string, value: string) => new UnitOption({ section, name, value })
const service = [option("Service", "ExecStart", "/usr/bin/sleep 1d")]

const call = (request: RawRequest) =>
  Effect.flatMap(Effect.service(FleetServer.FleetServer), (server) =>
    Effect.promise(() => fetchRaw({ _tag: "Tcp", port: server.port! }, request))
  )
const get = (p: string) => call({ path: p })
const put = (name: string, body: unknown) =>
  call({ method: "PUT", path: `/fleet/v1/units/${name}`, headers: json, body: JSON.stringify(body) })
const patch = (body: unknown) =>
  call({ method: "PATCH", path: "/fleet/v1/machines", headers: json, body: JSON.stringify(body) })
const control = Effect.service(FleetControl.FleetControl)
const reseed = (seed: FleetControl.Seed) => Effect.flatMap(control, (c) => Effect.andThen(c.reset, c.seed(seed)))

const answer = (response: RawResponse) => ({ status: response.status, body: response.body })
const error = (status: number, message: string) => ({
  status,
  body: JSON.stringify({ error: { code: status, message } })
})

layer(FleetServer.layer({ port: 0, tokenLimit: 3, agents: "off" }))("fleet's answers (issue 10)", (it) => {
  it.effect("1. takes a seed as given: a unit seeded launched reads launched where it has a unit state", () =>
    Effect.gen(function* () {
      yield* reseed({
        machines: [new Machine({ id: m1 })],
        states: [new UnitState({ name: "a.service", hash: "1".repeat(40), machineID: m1 })],
        units: [
          new Unit({
            name: "a.service",
            options: service,
            desiredState: "launched",
            currentState: "launched",
            machineID: m1
          }),
          new Unit({
            name: "b.service",
            options: service,
            desiredState: "launched",
            currentState: "launched",
            machineID: m1
          })
        ]
      })
      const a = JSON.parse((yield* get("/fleet/v1/units/a.service")).body)
      expect({ currentState: a.currentState, machineID: a.machineID }).toEqual({
        currentState: "launched",
        machineID: m1
      })
      // fleet derives launched from the heartbeat AND a unit state on that machine: b has none.
      expect(JSON.parse((yield* get("/fleet/v1/units/b.service")).body).currentState).toBe("inactive")
      // A replacement rewrites the unit file only: schedule and heartbeat stay.
      expect((yield* put("a.service", { options: [option("Service", "ExecStart", "/bin/other")] })).status).toBe(201)
      expect(JSON.parse((yield* get("/fleet/v1/units/a.service")).body)).toMatchObject({
        currentState: "launched",
        desiredState: "inactive",
        machineID: m1
      })
    })
  )

  it.effect("2. serves fleet's own discovery document, byte for byte", () =>
    Effect.gen(function* () {
      const response = yield* get("/fleet/v1/discovery")
      expect(response.status).toBe(200)
      expect(response.headers["content-type"]).toBe("application/json")
      // fleetd stamps its build's `git describe`: the v1.0.0 release says v1.0.0.
      expect(response.headers.server).toBe("fleetd/v1.0.0")
      // Go's server chunks a body larger than its 2,048-byte buffer.
      expect(response.headers["transfer-encoding"]).toBe("chunked")
      expect(createHash("sha1").update(response.body).digest("hex")).toBe("1c11f4f9696be193b36027650ef3e86d7bf49f49")
      expect(response.body).toContain('"rootUrl": "$ENDPOINT/"')
      const reference = path.resolve(import.meta.dirname, "../../shared/reference/fleet-discovery.json")
      if (fs.existsSync(reference)) expect(response.body).toBe(fs.readFileSync(reference, "utf8"))
    })
  )

  it.effect("3. GET /state/{name} answers the unit's one state; other methods 405", () =>
    Effect.gen(function* () {
      const state = new UnitState({ name: "a.service", hash: "1".repeat(40), machineID: m1, systemdSubState: "dead" })
      yield* reseed({ states: [state] })
      expect(answer(yield* get("/fleet/v1/state/a.service?machineID=nope&unitName=x"))).toEqual({
        status: 200,
        body: `{"hash":"${"1".repeat(40)}","machineID":"${m1}","name":"a.service","systemdSubState":"dead"}`
      })
      for (const method of ["PUT", "DELETE", "POST"]) {
        expect(answer(yield* call({ method, path: "/fleet/v1/state/a.service", body: "{}" }))).toEqual(
          error(405, "only GET supported against this resource")
        )
      }
      expect(answer(yield* get("/fleet/v1/state/a.service/"))).toEqual(error(404, ""))
      // Deviation: fleet dereferences nil for a unit without states and drops the connection.
      expect(answer(yield* get("/fleet/v1/state/none.service"))).toEqual(error(404, "unit state does not exist"))
    })
  )

  it.effect('4. "same options?" compares with the unit file as it reads back', () =>
    Effect.gen(function* () {
      yield* reseed({})
      const padded = [option("Service", "ExecStart", "  /usr/bin/sleep 1d  ")]
      expect((yield* put("a.service", { options: padded })).status).toBe(201)
      expect((yield* put("a.service", { options: padded, desiredState: "loaded" })).status).toBe(201)
      const stored = JSON.parse((yield* get("/fleet/v1/units/a.service")).body).options
      expect(stored).toEqual([{ section: "Service", name: "ExecStart", value: "/usr/bin/sleep 1d" }])
      expect((yield* put("a.service", { options: stored, desiredState: "loaded" })).status).toBe(204)
    })
  )

  it.effect("5. refuses a new unit whose MachineOf is also its Replaces or in its Conflicts list", () =>
    Effect.gen(function* () {
      yield* reseed({})
      const xfleet = (name: string, value: string) => option("X-Fleet", name, value)
      expect(
        answer(
          yield* put("a.service", { options: [xfleet("MachineOf", "y.service"), xfleet("Replaces", "y.service")] })
        )
      ).toEqual(error(400, 'unresolvable requirements: peer "y.service" matches replace "y.service"'))
      expect(
        answer(
          yield* put("a.service", {
            options: [xfleet("MachineOf", "y.service"), xfleet("Conflicts", "x.service y.service")]
          })
        )
      ).toEqual(error(400, 'unresolvable requirements: peer "y.service" matches conflict "y.service"'))
      expect((yield* get("/fleet/v1/units/a.service")).status).toBe(404)
    })
  )

  it.effect("5b. matches MachineOf against Conflicts globs with Go's path.Match, malformed classes included", () =>
    Effect.gen(function* () {
      yield* reseed({})
      const answers: Array<unknown> = []
      for (const [i, [pattern, peer]] of globCases.entries()) {
        const options = [...service, option("X-Fleet", "MachineOf", peer), option("X-Fleet", "Conflicts", pattern)]
        answers.push(answer(yield* put(`g${i + 1}.service`, { options, desiredState: "inactive" })))
      }
      const refused = (peer: string, pattern: string) =>
        error(
          400,
          `unresolvable requirements: peer ${JSON.stringify(peer)} matches conflict ${JSON.stringify(pattern)}`
        )
      // What fleet's own handler answered to each (fidelity.api runs the same requests against it).
      expect(answers).toEqual([
        { status: 201, body: "" },
        { status: 201, body: "" },
        { status: 201, body: "" },
        { status: 201, body: "" },
        refused("]", "[\\]]"),
        refused("-", "[a\\-z]"),
        refused("m", "[a-\\z]")
      ])
    })
  )

  it.effect("6. prints garbage after a section header as Go's %v of its bytes", () =>
    Effect.gen(function* () {
      const parsed = UnitFile.parseResult("[Unit] # c\n")
      expect(Result.isFailure(parsed) && parsed.failure.message).toBe("found garbage after section name : [35 32 99]")
      yield* reseed({})
      expect(answer(yield* put("a.service", { options: [option("Unit] # c", "A", "b")] }))).toEqual(
        error(400, "found garbage after section name : [35 32 99 93]")
      )
    })
  )

  it.effect("7. computes page bounds in 16 bits, so a huge page number wraps onto a real page", () =>
    Effect.gen(function* () {
      yield* reseed({
        units: ["a", "b", "c", "d", "e", "f"].map((name) => new Unit({ name: `${name}.service`, options: service }))
      })
      // page 21847 of 3: (21846 * 3) mod 65536 = 2, so units 3 to 5, and the next token names page 21848.
      const page = JSON.parse(
        (yield* get(`/fleet/v1/units?nextPageToken=${PageToken.encode({ limit: 3, page: 21847 })}`)).body
      )
      expect(page.units.map((unit: { name: string }) => unit.name)).toEqual(["c.service", "d.service", "e.service"])
      expect(page.nextPageToken).toBe(PageToken.encode({ limit: 3, page: 21848 }))
    })
  )

  it.effect(
    "deviation: a page past item 65,535, where fleet's slice panics, is a 500 rather than a page to go on from",
    () =>
      Effect.gen(function* () {
        yield* reseed({
          units: Array.from(
            { length: 65_540 },
            (_, i) => new Unit({ name: `u${String(i).padStart(5, "0")}.service`, options: service })
          )
        })
        // pages of 3: page 21845 holds items 65,532 to 65,534; page 21846 would end at (21846 * 3) mod 65536 = 2
        const token = (page: number) => PageToken.encode({ limit: 3, page })
        const last = JSON.parse((yield* get(`/fleet/v1/units?nextPageToken=${token(21845)}`)).body)
        expect(last.units.map((unit: { name: string }) => unit.name)).toEqual([
          "u65532.service",
          "u65533.service",
          "u65534.service"
        ])
        expect(last.nextPageToken).toBe(token(21846))
        expect(answer(yield* get(`/fleet/v1/units?nextPageToken=${last.nextPageToken}`))).toEqual(
          error(500, PageToken.overflowMessage({ limit: 3, page: 21846 }))
        )
        yield* reseed({})
      })
  )

  it.effect("8. names fields as Go's JSON decoder does: whole paths, anonymous structs with their tags", () =>
    Effect.gen(function* () {
      yield* reseed({})
      expect(answer(yield* patch([{ op: "add", path: `/${m1}/metadata/a`, value: "plain" }]))).toEqual(
        error(
          400,
          'json: cannot unmarshal string into Go struct field machineMetadataOp.Value of type struct { Value string "json:\\"value\\"" }'
        )
      )
      expect(answer(yield* patch([{ op: "add", path: `/${m1}/metadata/a`, value: { value: 1 } }]))).toEqual(
        error(400, "json: cannot unmarshal number into Go struct field .Value.value of type string")
      )
      expect(answer(yield* put("a.service", { options: [{ section: 1 }] }))).toEqual(
        error(
          400,
          "unable to decode body: json: cannot unmarshal number into Go struct field UnitOption.options.section of type string"
        )
      )
    })
  )

  it.effect("reads a body that is not UTF-8 as Go does: a bad byte is named as itself, and is U+FFFD in a string", () =>
    Effect.gen(function* () {
      yield* reseed({})
      const server = yield* FleetServer.FleetServer
      const send = (body: Uint8Array) =>
        Effect.promise(() =>
          exchange(server.url, { method: "PUT", path: "/fleet/v1/units/a.service", headers: json, body })
        )
      expect((yield* send(Buffer.from([0x7b, 0xff]))).body).toBe(
        JSON.stringify({
          error: {
            code: 400,
            message: "unable to decode body: invalid character 'ÿ' looking for beginning of object key string"
          }
        })
      )
      // Go replaces each bad byte (not each bad sequence) of a string with U+FFFD.
      expect((yield* send(Buffer.from('{"name":"\xe2\x98x.service"}', "latin1"))).body).toBe(
        JSON.stringify({
          error: {
            code: 400,
            message: 'name in URL "a.service" differs from unit name in request body "\ufffd\ufffdx.service"'
          }
        })
      )
    })
  )

  it.effect("keeps the bytes of a URL escape that is not UTF-8, as Go's strings do (length, %q, redirects)", () =>
    Effect.gen(function* () {
      yield* reseed({})
      expect(answer(yield* put("a%ff.service", { name: "a.service", options: service }))).toEqual(
        error(400, 'name in URL "a\\xff.service" differs from unit name in request body "a.service"')
      )
      // 200 bytes of name, not 600: the length is fine and the first bad byte is reported as U+FFFD.
      expect(answer(yield* put(`${"%ff".repeat(200)}.service`, { options: service }))).toEqual(
        error(400, "invalid character '\ufffd' in unit name")
      )
      const moved = yield* get("//fleet/v1/units/%ff.service")
      expect([moved.status, moved.headers.location]).toEqual([301, "/fleet/v1/units/%FF.service"])
    })
  )

  it.effect("stops at Go's 10,000 levels of JSON nesting with Go's message (and no stack overflow)", () =>
    Effect.gen(function* () {
      yield* reseed({})
      const body = (depth: number) => "[".repeat(depth) + "]".repeat(depth)
      const putBody = (text: string) =>
        call({ method: "PUT", path: "/fleet/v1/units/a.service", headers: json, body: text })
      expect(answer(yield* putBody(body(10_000)))).toEqual(
        error(400, "unable to decode body: json: cannot unmarshal array into Go value of type schema.Unit")
      )
      expect(answer(yield* putBody(body(10_001)))).toEqual(
        error(400, "unable to decode body: invalid character '[' exceeded max depth")
      )
    })
  )

  it.effect("routes any method token as Go's server does (node's parser knows only some)", () =>
    Effect.gen(function* () {
      const server = yield* FleetServer.FleetServer
      const send = (method: string, path: string) => Effect.promise(() => exchange(server.url, { method, path }))
      const foo = yield* send("FOO", "/fleet/v1/units")
      expect([foo.status, foo.body]).toEqual([405, error(405, "only GET supported against this resource").body])
      const moved = yield* send("X_Y", "//fleet/v1/units")
      expect([moved.status, moved.location]).toEqual([301, "/fleet/v1/units"])
      // The server serves on.
      expect((yield* get("/fleet/v1/units")).status).toBe(200)
    })
  )

  it.effect("keeps '#' in the path and drops query pairs holding ';', as Go 1.19 does", () =>
    Effect.gen(function* () {
      yield* reseed({ states: [new UnitState({ name: "a.service", hash: "1".repeat(40), machineID: m1 })] })
      expect(answer(yield* get("/fleet/v1/units#x"))).toEqual(error(404, ""))
      expect(JSON.parse((yield* get("/fleet/v1/state?unitName=b.service;x=y")).body).states).toHaveLength(1)
    })
  )

  it.effect("lists no unit, state or machine whose key etcd hides (a leading '_'), but finds such a unit by name", () =>
    Effect.gen(function* () {
      yield* reseed({
        machines: [new Machine({ id: "_m" }), new Machine({ id: m1 })],
        states: [new UnitState({ name: "_a.service", hash: "1".repeat(40), machineID: m1 })],
        units: [new Unit({ name: "_a.service", options: service }), new Unit({ name: "b.service", options: service })]
      })
      expect(JSON.parse((yield* get("/fleet/v1/units")).body).units.map((unit: { name: string }) => unit.name)).toEqual(
        ["b.service"]
      )
      expect((yield* get("/fleet/v1/units/_a.service")).status).toBe(200)
      expect((yield* get("/fleet/v1/state")).body).toBe("{}")
      expect(JSON.parse((yield* get("/fleet/v1/machines")).body).machines).toEqual([{ id: m1 }])
    })
  )
})

layer(FleetServer.layer({ port: 0, agents: "off" }))(
  "deviations: where fleet crashes or corrupts its registry",
  (it) => {
    it.effect("a null option answers as no options (fleet dereferences nil and drops the connection)", () =>
      Effect.gen(function* () {
        yield* reseed({})
        const response = yield* call({
          method: "PUT",
          path: "/fleet/v1/units/a.service",
          headers: json,
          body: '{"options":[null]}'
        })
        expect(answer(response)).toEqual(error(409, "unit does not exist and options field empty"))
      })
    )

    it.effect(
      "an invalid desiredState on update is refused with 500 and nothing stored (fleet stores it, breaking the unit)",
      () =>
        Effect.gen(function* () {
          yield* reseed({ units: [new Unit({ name: "a.service", options: service, desiredState: "loaded" })] })
          expect(answer(yield* put("a.service", { desiredState: "bogus" }))).toEqual(error(500, ""))
          expect(JSON.parse((yield* get("/fleet/v1/units/a.service")).body).desiredState).toBe("loaded")
        })
    )

    it.effect(
      "a replacement whose unit file cannot be read back is refused with 500 (fleet stores it and loses the unit)",
      () =>
        Effect.gen(function* () {
          yield* reseed({ units: [new Unit({ name: "a.service", options: service })] })
          expect(
            answer(yield* put("a.service", { options: [option("Service", "ExecStart", "x".repeat(2050))] }))
          ).toEqual(error(500, ""))
          expect(JSON.parse((yield* get("/fleet/v1/units/a.service")).body).options).toEqual([
            { section: "Service", name: "ExecStart", value: "/usr/bin/sleep 1d" }
          ])
        })
    )
  }
)

describe("page tokens", () => {
  it("wrap page bounds and the next page number in 16 bits", () => {
    const items = Array.from({ length: 10 }, (_, i) => i)
    expect(PageToken.slice(items, { limit: 3, page: 21846 })).toEqual({ items: [], next: undefined })
    expect(PageToken.slice(items, { limit: 3, page: 21847 })).toMatchObject({ items: [2, 3, 4] })
  })

  it("a page whose end wraps below its start (past item 65,535) is an overflow, not an empty page to go on from", () => {
    const items = Array.from({ length: 65_600 }, (_, i) => i)
    expect(PageToken.slice(items, { limit: 100, page: 655 })).toMatchObject({
      items: [65_400, ...Array(99).fill(expect.any(Number))]
    })
    // (655 * 100) mod 65536 = 64 < 65500: fleet's slice expression panics here
    expect(PageToken.slice(items, { limit: 100, page: 656 })).toBe("overflow")
  })
})

describe("Go strings from bytes", () => {
  it("keep every byte: encodeBytes(decodeBytes(b)) is b, and byteLength is b's length", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const text = GoString.decodeBytes(bytes)
        expect(Buffer.from(GoString.encodeBytes(text)).equals(Buffer.from(bytes))).toBe(true)
        expect(GoString.byteLength(text)).toBe(bytes.length)
      })
    )
  })

  it("decode valid UTF-8 as UTF-8, and each byte of an invalid sequence on its own, as Go's utf8.DecodeRune does", () => {
    expect(GoString.decodeBytes(Buffer.from("é☃\u{1F600}"))).toBe("é☃\u{1F600}")
    // A truncated three-byte sequence is two bad bytes for Go (one U+FFFD for WHATWG decoders).
    expect(GoString.quote(GoString.decodeBytes(Uint8Array.of(0x61, 0xe2, 0x98, 0x62)))).toBe('"a\\xe2\\x98b"')
    // Encoded surrogates and overlong forms are invalid too.
    expect(GoString.quote(GoString.decodeBytes(Uint8Array.of(0xed, 0xa0, 0x80, 0xc0, 0xaf)))).toBe(
      '"\\xed\\xa0\\x80\\xc0\\xaf"'
    )
  })
})
