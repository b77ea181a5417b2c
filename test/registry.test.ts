import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import * as App from "../src/internal/server/app.ts"
import * as GoJson from "../src/internal/goJson.ts"
import * as GoString from "../src/internal/goString.ts"
import { LocalFleet } from "../src/internal/server/localFleet.ts"
import { isTemplate, validateName } from "../src/internal/unitRules.ts"
import { Machine } from "../src/Machine.ts"

const request = (method: string, url: string, body = "", headers: Record<string, ReadonlyArray<string>> = {}) => ({
  method,
  url,
  body,
  headers: { "content-type": ["application/json"], ...headers }
})

describe("registry", () => {
  it("quotes names in messages as Go's %q does", () => {
    expect(validateName("a\u0001b.service")).toBe("invalid character '\\x01' in unit name")
    expect(validateName("caf\u00e9.service")).toBe("invalid character '\u00e9' in unit name")
    expect(validateName("a'b.service")).toBe("invalid character '\\'' in unit name")
    expect(validateName("a.ser\tvice")).toBe('invalid unit type: "ser\\tvice"')
    expect(validateName("\u00e9".repeat(129) + ".service")).toBe("unit name exceeds maximum length (256)")
    expect(validateName("a@b.service")).toBeUndefined()
  })

  it("knows templates", () => {
    expect(isTemplate("web@.service")).toBe(true)
    expect(isTemplate("web@1.service")).toBe(false)
    expect(isTemplate("web.service")).toBe(false)
  })

  it("serves the wire protocol as a pure function over the registry", () => {
    const registry = new LocalFleet({ agents: "off" })
    const created = App.handle(
      registry,
      request("PUT", "/fleet/v1/units/a.service", '{"options":[{"section":"S","name":"n","value":"<&>"}]}')
    )
    expect(created).toEqual({ status: 201, headers: { Server: "fleetd/v1.0.0", "Content-Length": "0" }, body: "" })
    const fetched = App.handle(registry, request("GET", "/fleet/v1/units/a.service"))
    expect(fetched.body).toBe(
      '{"currentState":"inactive","desiredState":"inactive","name":"a.service",' +
        '"options":[{"name":"n","section":"S","value":"\\u003c\\u0026\\u003e"}]}'
    )
    const methodError = '{"error":{"code":405,"message":"only GET supported against this resource"}}'
    expect(App.handle(registry, request("HEAD", "/fleet/v1/units"))).toEqual({
      status: 405,
      headers: {
        Server: "fleetd/v1.0.0",
        "Content-Type": "application/json",
        "Content-Length": String(methodError.length)
      },
      body: ""
    })
    expect(App.handle(registry, request("GET", "http://localhost/fleet/v1/units/a.service")).body).toBe(fetched.body)
    registry.etcdUnavailable = true
    expect(App.handle(registry, request("GET", "/fleet/v1/units"))).toEqual({
      status: 503,
      headers: { "Content-Type": "application/json", "Content-Length": "79" },
      body: '{"error":{"code":503,"message":"fleet server unable to communicate with etcd"}}'
    })
  })

  it("keeps fault order and the request log", () => {
    const registry = new LocalFleet()
    registry.faults.failNext(2, { _tag: "Reset" })
    registry.faults.failNext(1, { _tag: "Stall" })
    expect([1, 2, 3, 4].map(() => App.admit(registry, "GET", "/x")._tag)).toEqual([
      "Reset",
      "Reset",
      "Stall",
      "Respond"
    ])
    expect(registry.faults.requests).toHaveLength(4)
  })

  it("plans each fault once for both doors: a truncated answer keeps its length header, an empty one a stand-in body", () => {
    const fleet = new LocalFleet({ agents: "off" })
    fleet.seed({ machines: [new Machine({ id: "m1" })] })
    fleet.faults.failNext(2, { _tag: "Truncate" })
    fleet.faults.failNext(1, { _tag: "Status", status: 502, body: "<html>", contentType: "text/html" })
    const listing = App.admit(fleet, "GET", "/fleet/v1/machines")
    if (listing._tag !== "Truncate") throw new Error(`planned ${listing._tag}`)
    const full = '{"machines":[{"id":"m1"}]}'.length
    expect(listing.answer(request("GET", "/fleet/v1/machines"))).toEqual({
      status: 200,
      headers: { Server: "fleetd/v1.0.0", "Content-Type": "application/json", "Content-Length": String(full) },
      sent: Buffer.from('{"machines":[{"id":"m1"}]}').subarray(0, Math.floor(full / 2))
    })
    const deleted = App.admit(fleet, "DELETE", "/fleet/v1/units/a.service")
    if (deleted._tag !== "Truncate") throw new Error(`planned ${deleted._tag}`)
    // a 404 has a body to cut; the stand-in only replaces bodies shorter than two bytes (204s, HEADs)
    expect(deleted.answer(request("DELETE", "/fleet/v1/units/a.service")).status).toBe(404)
    const proxy = App.admit(fleet, "GET", "/fleet/v1/units")
    if (proxy._tag !== "Respond") throw new Error(`planned ${proxy._tag}`)
    expect(proxy.answer(request("GET", "/fleet/v1/units"))).toEqual({
      status: 502,
      headers: { "Content-Type": "text/html", "Content-Length": "6" },
      body: "<html>"
    })
    fleet.faults.failNext(1, { _tag: "Truncate" })
    const head = App.admit(fleet, "HEAD", "/fleet/v1/units")
    if (head._tag !== "Truncate") throw new Error(`planned ${head._tag}`)
    expect(head.answer(request("HEAD", "/fleet/v1/units"))).toMatchObject({
      status: 200,
      headers: { "Content-Length": "12" },
      sent: Buffer.from('{"units":[]}').subarray(0, 6)
    })
    expect(fleet.faults.requestCount).toBe(4)
  })

  it("snapshots in fleet's order with derived states", () => {
    const registry = new LocalFleet()
    const seeded = registry.seed({ machines: [new Machine({ id: "b" }), new Machine({ id: "a" })] })
    expect(Result.isSuccess(seeded)).toBe(true)
    expect(registry.snapshot().machines.map((machine) => machine.id)).toEqual(["a", "b"])
  })
})

describe("goJson", () => {
  it("encodes strings as Go's json.Marshal does", () => {
    expect(GoJson.encodeString('a"\\\n\r\t\b\f\u0001<>&\u2028\u2029\u00e9\ud83d\ude00')).toBe(
      '"a\\"\\\\\\n\\r\\t\\u0008\\u000c\\u0001\\u003c\\u003e\\u0026\\u2028\\u2029\u00e9\ud83d\ude00"'
    )
    expect(GoJson.encodeString("\ud800")).toBe('"\ufffd"')
  })

  it("reads only the first value and reports non-ASCII characters as Go's scanner does", () => {
    expect(GoJson.parse('{"a":1}{')).toEqual(
      Result.succeed({ kind: "object", entries: [["a", { kind: "number", text: "1" }]] })
    )
    expect(GoJson.parse("\u00e9")).toEqual(Result.fail("invalid character '\u00c3' looking for beginning of value"))
  })

  it("orders strings byte-wise", () => {
    const sorted = ["\uffff", "\ud83d\ude00", "b", "B", "a"].sort(GoString.compareBytes)
    expect(sorted).toEqual(["B", "a", "b", "\uffff", "\ud83d\ude00"])
  })
})
