/**
 * Hand-written request sequences for the differential suite: every behaviour of `fleet-api-v1.md`, each sent to
 * fleet's real handler and to the local server.
 */
import type { Request, Scenario } from "./fleetRef.ts"

const jsonType = ["Content-Type", "application/json"] as const

export const get = (path: string): Request => ({ method: "GET", path })
export const call = (
  method: string,
  path: string,
  body?: string | Uint8Array,
  headers?: ReadonlyArray<string>
): Request => ({
  method,
  path,
  ...(headers === undefined ? {} : { headers }),
  ...(body === undefined ? {} : { body })
})
export const putRaw = (name: string, body: string, headers: ReadonlyArray<string> = jsonType): Request =>
  call("PUT", `/fleet/v1/units/${name}`, body, headers)
export const put = (name: string, body: unknown): Request => putRaw(name, JSON.stringify(body))
export const del = (name: string): Request => call("DELETE", `/fleet/v1/units/${name}`)
export const patch = (body: unknown): Request =>
  call("PATCH", "/fleet/v1/machines", typeof body === "string" ? body : JSON.stringify(body), jsonType)

export const option = (section: string, name: string, value: string) => ({ section, name, value })
const exec = (value = "/usr/bin/sleep 1d") => option("Service", "ExecStart", value)
const xfleet = (name: string, value: string) => option("X-Fleet", name, value)

/**
 * `[Conflicts glob, MachineOf peer]` pairs on which Go's `path.Match` and a regular expression disagree: fleet accepts
 * the first four (a malformed class matches nothing) and refuses the last three (an escape inside a class is literal).
 */
export const globCases: ReadonlyArray<readonly [string, string]> = [
  ["[]a]", "]"],
  ["[a-]", "a"],
  ["[-a]", "-"],
  ["[x-]", "x"],
  ["[\\]]", "]"],
  ["[a\\-z]", "-"],
  ["[a-\\z]", "m"]
]

export const m1 = "2c7f2ad9a1d54b1c9d1e3f4a5b6c7d01"
export const m2 = "2c7f2ad9a1d54b1c9d1e3f4a5b6c7d02"
export const m3 = "9f00000000000000000000000000beef"

/** A small cluster: three machines, units in every state, a template, a global unit, and an orphaned unit state. */
export const clusterSeed = {
  machines: [
    { id: m1, primaryIP: "10.0.0.11", metadata: { role: "web", region: "eu" } },
    { id: m2, primaryIP: "10.0.0.12", metadata: { role: "db" } },
    { id: m3 }
  ],
  states: [
    {
      name: "hello.service",
      hash: "0000000000000000000000000000000000000001",
      machineID: m1,
      systemdLoadState: "loaded",
      systemdActiveState: "active",
      systemdSubState: "running"
    },
    {
      name: "store.service",
      hash: "0000000000000000000000000000000000000002",
      machineID: m2,
      systemdLoadState: "loaded",
      systemdActiveState: "inactive",
      systemdSubState: "dead"
    },
    { name: "global.service", hash: "0000000000000000000000000000000000000003", machineID: m1 },
    { name: "global.service", hash: "0000000000000000000000000000000000000003", machineID: m2 },
    { name: "gone.service", hash: "0000000000000000000000000000000000000004", machineID: m3 }
  ],
  units: [
    {
      name: "hello.service",
      desiredState: "launched",
      currentState: "launched",
      machineID: m1,
      options: [option("Unit", "Description", "Hello World"), exec('/bin/sh -c "while true; do echo hi; done"')]
    },
    { name: "store.service", desiredState: "loaded", currentState: "loaded", machineID: m2, options: [exec()] },
    { name: "lost.service", desiredState: "launched", currentState: "launched", machineID: m3, options: [exec()] },
    { name: "pinned.service", desiredState: "loaded", machineID: m2, options: [exec()] },
    {
      name: "worker@.service",
      desiredState: "inactive",
      options: [exec("/usr/bin/worker %i"), xfleet("Conflicts", "worker@*.service")]
    },
    { name: "worker@1.service", desiredState: "launched", options: [exec("/usr/bin/worker %i")] },
    { name: "global.service", desiredState: "launched", options: [exec(), xfleet("Global", "true")] }
  ]
}

const units = (count: number) =>
  Array.from({ length: count }, (_, i) => ({
    name: `u${String(i).padStart(2, "0")}.service`,
    desiredState: "inactive",
    options: [exec(`/bin/u ${i}`)]
  }))

const machines = (count: number) =>
  Array.from({ length: count }, (_, i) => ({ id: `m${String(i).padStart(2, "0")}`, primaryIP: `10.0.1.${i}` }))

const pages = (base: string, limit: number, count: number): ReadonlyArray<Request> => {
  const token = (page: number) => {
    const bytes = Buffer.alloc(4)
    bytes.writeUInt16LE(limit, 0)
    bytes.writeUInt16LE(page & 0xffff, 2)
    return bytes.toString("base64").replace(/\+/g, "-").replace(/\//g, "_")
  }
  const joiner = base.includes("?") ? "&" : "?"
  return [get(base), ...Array.from({ length: count }, (_, i) => get(`${base}${joiner}nextPageToken=${token(i + 1)}`))]
}

const service = [exec()]

/** The hand-written scenarios, for a page size of 3. */
export const scenarios = (limit: number): ReadonlyArray<Scenario> => [
  {
    name: "routing: the root, the prefixes and unknown paths",
    seed: clusterSeed,
    requests: [
      ...["/", "/fleet/v1", "/v1-alpha", "/fleet", "/fleet/", "/nope", "/fleet/v1/nope", "/fleet/v2/units"].flatMap(
        (path) => ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS"].map((method) => call(method, path))
      ),
      get("/fleet/v1/"),
      get("/v1-alpha/"),
      get("/fleet/v1/units/"),
      get("/fleet/v1/units/a/b"),
      get("/fleet/v1/units/hello.service/"),
      get("/fleet/v1/machines/"),
      get(`/fleet/v1/machines/${m1}`),
      get("/fleet/v1/state/"),
      get("/fleet/v1/state/a/b"),
      get("/fleet/v1/discovery/"),
      get("/fleet/v1/discovery/x"),
      get("/FLEET/V1/UNITS"),
      get("/fleet/v1/units?"),
      get("/fleet/v1/units?a=b&c"),
      get("/fleet/v1/units#frag"),
      // Go routes any method token; only GET (upper case) is GET.
      ...["FOO", "get", "PROPFIND", "PURGE", "TRACE", "M-SEARCH", "X_Y"].flatMap((method) => [
        call(method, "/fleet/v1/units"),
        call(method, "/fleet/v1/units/hello.service"),
        call(method, "/")
      ])
    ]
  },
  {
    name: "routing: Go's ServeMux redirects unclean paths, keeping the query",
    seed: clusterSeed,
    requests: [
      get("//fleet/v1/units"),
      get("/fleet//v1/units"),
      get("/fleet/v1/./units"),
      get("/fleet/v1/../v1/units"),
      get("/fleet/v1/units/../machines?x=1"),
      get("/fleet/v1/units/./hello.service"),
      get("/fleet/v1/units/x/.."),
      get("/./"),
      get("/.."),
      call("HEAD", "//fleet/v1/units"),
      call("PUT", "//fleet/v1/units/a.service", "{}", jsonType),
      call("DELETE", "/fleet/v1/units/./hello.service"),
      get("/fleet/v1/units/%2e%2e/machines"),
      get("/fleet/v1/units/a%2Fb.service"),
      get("/fleet/v1/units/%zz"),
      get("/fleet/v1/units/%"),
      get("/%66leet/v1/units"),
      get("/fleet/v1/units/hello%2eservice"),
      get("/fleet/v1/units/web%401.service"),
      get("/fleet/v1/units/%C3%A9.service"),
      get("//fleet/v1/units/%ff%C3%A9%e2%98.service?q=%ff"),
      call("HEAD", "/fleet/./v1/units/%ff"),
      get("/fleet/v1/units/<script>.service"),
      get("http://example.com/fleet/v1/units"),
      get("http://example.com//fleet/v1/units")
    ]
  },
  {
    name: "the /v1-alpha alias answers as /fleet/v1",
    seed: clusterSeed,
    requests: [
      get("/v1-alpha/units"),
      get("/v1-alpha/units/hello.service"),
      get("/v1-alpha/state"),
      get("/v1-alpha/machines"),
      get("/v1-alpha/discovery"),
      call("PUT", "/v1-alpha/units/alpha.service", JSON.stringify({ options: service }), jsonType),
      get("/v1-alpha/units/alpha.service"),
      call("DELETE", "/v1-alpha/units/alpha.service"),
      call("POST", "/v1-alpha/units")
    ]
  },
  {
    name: "discovery: fleet's own document, and the method error",
    requests: [
      get("/fleet/v1/discovery"),
      get("/v1-alpha/discovery"),
      get("/fleet/v1/discovery?alt=json"),
      call("HEAD", "/fleet/v1/discovery"),
      ...["POST", "PUT", "DELETE", "PATCH", "OPTIONS"].map((method) => call(method, "/fleet/v1/discovery", "{}"))
    ]
  },
  {
    name: "units: listing, sorted byte-wise, and the collection's method error",
    seed: {
      units: [
        ...clusterSeed.units,
        { name: "A.service", options: service },
        { name: "_x.service", options: service },
        { name: "a-b.service", options: service },
        { name: "a.b.service", options: service },
        { name: "a@b.service", options: service }
      ],
      machines: clusterSeed.machines,
      states: clusterSeed.states
    },
    requests: [
      ...pages("/fleet/v1/units", limit, 5),
      ...["POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"].map((method) => call(method, "/fleet/v1/units", "{}"))
    ]
  },
  {
    name: "units: an empty fleet lists {}",
    requests: [get("/fleet/v1/units"), get("/fleet/v1/state"), get("/fleet/v1/machines")]
  },
  {
    name: "units: one unit, a seeded unit reads as seeded (currentState and machineID)",
    seed: clusterSeed,
    requests: [
      ...clusterSeed.units.map((unit) => get(`/fleet/v1/units/${unit.name}`)),
      get("/fleet/v1/units/missing.service"),
      get("/fleet/v1/units/worker%401.service"),
      get("/fleet/v1/units/nodot"),
      call("HEAD", "/fleet/v1/units/hello.service"),
      call("HEAD", "/fleet/v1/units/missing.service"),
      ...["POST", "PATCH", "OPTIONS"].map((method) => call(method, "/fleet/v1/units/hello.service", "{}"))
    ]
  },
  {
    name: "units: delete, and the unit states it leaves behind",
    seed: clusterSeed,
    requests: [
      del("hello.service"),
      get("/fleet/v1/units/hello.service"),
      del("hello.service"),
      del("missing.service"),
      del("no-dot"),
      get("/fleet/v1/state"),
      get("/fleet/v1/units")
    ]
  },
  {
    name: "PUT: Content-Type checks",
    requests: [
      putRaw("a.service", JSON.stringify({ options: service }), []),
      putRaw("a.service", JSON.stringify({ options: service }), ["Content-Type", "text/plain"]),
      putRaw("a.service", JSON.stringify({ options: service }), [
        "Content-Type",
        "application/json",
        "Content-Type",
        "application/json"
      ]),
      putRaw("a.service", JSON.stringify({ options: service }), ["Content-Type", "Application/JSON"]),
      putRaw("a.service", JSON.stringify({ options: service }), ["Content-Type", " application/json ; x=y"]),
      putRaw("a.service", JSON.stringify({ options: service }), ["Content-Type", "application/json;charset=utf-8"]),
      putRaw("b.service", JSON.stringify({ options: service }), ["Content-Type", ""]),
      putRaw("b.service", JSON.stringify({ options: service }), ["content-type", "application/json"]),
      putRaw("c.service", "not json", ["Content-Type", "text/html"]),
      get("/fleet/v1/units")
    ]
  },
  {
    name: "PUT: Go's JSON decoder, its syntax errors and type errors",
    requests: [
      "",
      " ",
      "{",
      "{}",
      "[]",
      "null",
      "true",
      "1",
      '"x"',
      "{]",
      '{"name"}',
      '{"name":}',
      '{"name":"a.service",}',
      '{"name":"a.service" "x":1}',
      "{'name':1}",
      '{"options":[{"section":"Service","name":"ExecStart","value":"/bin/true"}]}garbage',
      '{"options":[{"section":"Service","name":"ExecStart","value":"/bin/true"}]} {"desiredState":"x"}',
      '{"name":1}',
      '{"name":true}',
      '{"name":null,"options":[{"section":"S","name":"N","value":"V"}]}',
      '{"desiredState":5}',
      '{"desiredState":{}}',
      '{"options":"x"}',
      '{"options":{}}',
      '{"options":[1]}',
      '{"options":["x"]}',
      '{"options":[[]]}',
      '{"options":[{"section":1}]}',
      '{"options":[{"name":[]}]}',
      '{"options":[{"value":false}]}',
      '{"options":[{"value":1.5e3}]}',
      '{"currentState":1}',
      '{"machineID":[1]}',
      '{"machineID":"m","currentState":"launched","options":[]}',
      '{"options":[{"section":1}],"name":2}',
      '{"name":2,"options":[{"section":1}]}',
      '{"name":"\\u00e9.service"}',
      '{"name":"a\\ud800.service"}',
      '{"name":"\\x"}',
      '{"name":"\\u12"}',
      '{"name":"a\tb"}',
      '{"n\\u0061me":"b.service"}',
      '{"NAME":"b.service"}',
      '{"Options":[{"SECTION":"S","NAME":"N","VALUE":"V"}],"DESIREDSTATE":"loaded"}',
      '{"name":"a.service","name":"b.service"}',
      "[1,2",
      "-",
      "-x",
      "01",
      "1.",
      "1e",
      "tru",
      "nul",
      "\u00e9",
      '{"a":"\u00e9',
      '{"\u017fection":1}',
      '{"options":[{"\u212aey":"x"}]}',
      // Go's scanner stops at 10,000 levels of nesting
      "[".repeat(10_000) + "]".repeat(10_000),
      "[".repeat(10_001) + "]".repeat(10_001),
      '{"a":'.repeat(10_001) + "1" + "}".repeat(10_001),
      `{"options":${"[".repeat(9_999)}`,
      `{"options":[${"[".repeat(10_000)}`
    ].map((body) => putRaw("a.service", body))
  },
  {
    name: "PUT and PATCH: bodies that are not UTF-8",
    requests: [
      [0xff],
      [0x7b, 0xff],
      [0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d],
      [0xc3, 0x28],
      [0xe2, 0x98],
      [0xed, 0xa0, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0xc0, 0xaf],
      [0x80],
      [0x1f],
      [0x00]
    ]
      .flatMap((bytes) => [
        call("PUT", "/fleet/v1/units/a.service", Buffer.from(bytes), jsonType),
        call("PATCH", "/fleet/v1/machines", Buffer.from(bytes), jsonType)
      ])
      .concat([
        // Inside strings every invalid byte is U+FFFD: the name differs from the path, and the message shows it.
        call("PUT", "/fleet/v1/units/a.service", Buffer.from('{"name":"\xff\xe2\x98x.service"}', "latin1"), jsonType),
        call("PUT", "/fleet/v1/units/a.service", Buffer.from('{"name":"\xed\xa0\x80"}', "latin1"), jsonType),
        call(
          "PUT",
          "/fleet/v1/units/b.service",
          Buffer.from('{"options":[{"section":"S\xff","name":"N\xc3(","value":"\xf0\x9f\x98"}]}', "latin1"),
          jsonType
        ),
        get("/fleet/v1/units/b.service"),
        call("PATCH", "/fleet/v1/machines", Buffer.from('[{"op":"a\xffdd"}]', "latin1"), jsonType)
      ])
  },
  {
    name: "PUT: the name in the body and fleet's name rules",
    requests: [
      put("a.service", { name: "b.service", options: service }),
      put("a.service", { name: "", options: service }),
      put("noDot", { options: service }),
      put("ends.", { options: service }),
      put("x.foo", { options: service }),
      put("x@y.mount", { options: service }),
      put("x@.device", { options: service }),
      put("bad!name.service", { options: service }),
      put("bad%20name.service", { options: service }),
      put("%C3%A9.service", { options: service }),
      put("%E2%98%83.service", { options: service }),
      put("@x.service", { options: service }),
      put("@.service", { options: service }),
      put(".service", { options: service }),
      put("a..service", { options: service }),
      put("a%5Cb.service", { options: service }),
      put("a:b-c_d.e@f.service", { options: service }),
      put(`${"a".repeat(248)}.service`, { options: service }),
      put(`${"a".repeat(249)}.service`, { options: service }),
      put("a.service", { name: "a.service.", options: service }),
      put("a.SERVICE", { options: service }),
      put("x.automount", { options: service }),
      put("x.busname", { options: service }),
      put("x.snapshot", { options: service }),
      put("x.scope", { options: service }),
      put("x.slice", { options: service }),
      put("x.swap", { options: service }),
      put("x@.timer", { options: service }),
      put("x@.path", { options: service }),
      put("x@.target", { options: service }),
      put("x@.socket", { options: service }),
      // Escapes that are not UTF-8: Go keeps the bytes (and prints them as \xff in %q)
      put("%ff.service", { options: service }),
      put("a%ff.service", { name: "a.service", options: service }),
      put("a%e2%98.service", { options: service }),
      put(`${"%ff".repeat(200)}.service`, { options: service }),
      put(`${"%ff".repeat(250)}.service`, { options: service }),
      put("a.service%ff", { options: service }),
      put("a.serv%c3%28ice", { options: service }),
      get("/fleet/v1/units/%ff.service"),
      del("%ff.service"),
      get("/fleet/v1/state?unitName=%ff"),
      get("/fleet/v1/units")
    ]
  },
  {
    name: "PUT: creating units and fleet's option checks",
    seed: clusterSeed,
    requests: [
      put("new.service", {}),
      put("new.service", { options: [] }),
      put("new.service", { desiredState: "launched" }),
      put("new.service", { options: null, desiredState: "launched" }),
      put("c1.service", { options: [exec(), xfleet("MachineID", m1), xfleet("MachineOf", "b.service")] }),
      put("c2.service", { options: [exec(), xfleet("MachineID", m1), xfleet("X-ConditionMachineOf", "b.service")] }),
      put("c3.service", { options: [exec(), xfleet("MachineID", m1), xfleet("Conflicts", "b.service")] }),
      put("c4.service", { options: [exec(), xfleet("MachineID", m1), xfleet("X-Conflicts", "b.service")] }),
      put("c5.service", { options: [exec(), xfleet("MachineID", m1), xfleet("Global", "true")] }),
      put("c6.service", { options: [exec(), xfleet("MachineID", m1), xfleet("Replaces", "b.service")] }),
      put("c7.service", { options: [exec(), xfleet("X-ConditionMachineID", m1), xfleet("Replaces", "b.service")] }),
      put("c8.service", { options: [exec(), xfleet("X-ConditionMachineBootID", m1), xfleet("Global", "1")] }),
      put("c9.service", { options: [exec(), xfleet("Global", "true"), xfleet("MachineOf", "b.service")] }),
      put("c10.service", { options: [exec(), xfleet("Global", "yes"), xfleet("Replaces", "b.service")] }),
      put("c11.service", { options: [exec(), xfleet("Global", "true"), xfleet("Conflicts", "b.service")] }),
      put("c12.service", { options: [exec(), xfleet("Global", "false"), xfleet("Conflicts", "b.service")] }),
      put("c13.service", { options: [exec(), xfleet("Conflicts", "b.service"), xfleet("Replaces", "c.service")] }),
      put("c14.service", { options: [exec(), xfleet("MachineOf", "y.service"), xfleet("Conflicts", "y.service")] }),
      put("c15.service", {
        options: [exec(), xfleet("MachineOf", "y.service"), xfleet("Conflicts", "x.service y.service")]
      }),
      put("c16.service", { options: [exec(), xfleet("MachineOf", "y.service"), xfleet("Conflicts", "y*")] }),
      put("c17.service", { options: [exec(), xfleet("MachineOf", "y.service"), xfleet("Conflicts", "[")] }),
      put("c18.service", { options: [exec(), xfleet("MachineOf", "y.service"), xfleet("Replaces", "y.service")] }),
      put("c19.service", { options: [exec(), xfleet("MachineOf", "y.service"), xfleet("Replaces", "*.service")] }),
      put("c20.service", {
        options: [exec(), xfleet("MachineOf", "x.service y.service"), xfleet("Replaces", "y.service")]
      }),
      put("c21.service", { options: [exec(), xfleet("MachineOf", "x.service"), xfleet("Replaces", "y.service")] }),
      put("c22.service", {
        options: [exec(), option("X-Fleet", "MachineOf", "y.service"), xfleet("Replaces", "y.service")]
      }),
      // Go's path.Match where a regular expression would answer otherwise: a `]` or `-` at the edge of a class is a
      // malformed pattern (matching nothing), an escape inside a class is taken literally.
      ...globCases.map(([pattern, peer], i) =>
        put(`g${i + 1}.service`, { options: [exec(), xfleet("MachineOf", peer), xfleet("Conflicts", pattern)] })
      ),
      put("c23.service", { options: [exec("x".repeat(2030))] }),
      put("c24.service", { options: [exec("x".repeat(2040))] }),
      put("c25.service", { options: [option("Service", "Exec\nStart", "x")] }),
      put("c26.service", { options: [option("Ser]vice", "ExecStart", "x")] }),
      put("c27.service", { options: [option("Service", "ExecStart", "x\\"), option("Service", "B", "y")] }),
      put("c28.service", { options: [option("Service", "Exec=Start", "x")] }),
      put("c29.service", { options: [option("", "", "")] }),
      put("c30.service", { options: [option("Service] # c", "A", "b")] }),
      // [X-Fleet] values wrapped in quotes are several values; Conflicts also splits on spaces
      put("m1.service", {
        options: [exec(), xfleet("MachineOf", '"x.service" "y.service"'), xfleet("Replaces", "y.service")]
      }),
      put("m2.service", {
        options: [exec(), xfleet("MachineOf", "x.service y.service"), xfleet("Replaces", "y.service")]
      }),
      put("m3.service", {
        options: [exec(), xfleet("MachineOf", "y.service"), xfleet("Conflicts", '"a b" "y.service"')]
      }),
      put("m4.service", { options: [exec(), xfleet("Global", '"true"'), xfleet("MachineOf", "z.service")] }),
      put("m5.service", { options: [exec(), xfleet("Global", '"false" "yes"'), xfleet("Replaces", "z.service")] }),
      put("m6.service", { options: [exec(), xfleet("MachineID", '""'), xfleet("Conflicts", "z.service")] }),
      put("m7.service", {
        options: [exec(), xfleet("Conflicts", "\u00a0y.service\u2003z.service"), xfleet("MachineOf", "z.service")]
      }),
      put("m8.service", { options: [exec(), xfleet("Global", "TRUE"), xfleet("Replaces", "z.service")] }),
      get("/fleet/v1/units/m4.service"),
      put("b.service", { options: service, desiredState: "launched" }),
      put("c.service", { options: service, desiredState: "loaded" }),
      put("d.service", { options: service, desiredState: "inactive" }),
      put("e.service", { options: service, desiredState: "" }),
      put("g@.service", { options: service, desiredState: "launched" }),
      put("h.service", { options: [option("Service", "ExecStart", "  padded  "), option("Unit", "X", "")] }),
      get("/fleet/v1/units"),
      get("/fleet/v1/units/h.service"),
      get("/fleet/v1/units/g@.service")
    ]
  },
  {
    name: "PUT: replacing a unit compares with the options as they read back",
    seed: clusterSeed,
    requests: [
      put("store.service", { options: service }),
      put("store.service", { options: service, desiredState: "loaded" }),
      put("store.service", { options: [exec("/usr/bin/sleep 1d ")] }),
      put("store.service", { options: [exec("/usr/bin/sleep 1d ")], desiredState: "loaded" }),
      put("store.service", { options: [exec("  /usr/bin/sleep 1d")], desiredState: "loaded" }),
      put("store.service", { options: service, desiredState: "launched" }),
      get("/fleet/v1/units/store.service"),
      put("store.service", { options: [exec("/usr/bin/other")] }),
      get("/fleet/v1/units/store.service"),
      put("hello.service", {
        options: [option("Unit", "Description", "Hello World"), exec('/bin/sh -c "while true; do echo hi; done"')],
        desiredState: "loaded"
      }),
      put("hello.service", {
        options: [exec('/bin/sh -c "while true; do echo hi; done"'), option("Unit", "Description", "Hello World")],
        desiredState: "loaded"
      }),
      get("/fleet/v1/units/hello.service"),
      put("padded.service", { options: [option(" Service ", " A ", " b "), option("Service", "C", "")] }),
      get("/fleet/v1/units/padded.service"),
      put("padded.service", { options: [option(" Service ", " A ", " b "), option("Service", "C", "")] }),
      put("padded.service", { options: [option(" Service ", "A", "b")], desiredState: "loaded" }),
      put("padded.service", { options: [option(" Service ", "A", "b")], desiredState: "launched" }),
      get("/fleet/v1/units/padded.service"),
      put("cont.service", { options: [option("Service", "A", "x \\"), option("Service", "B", "y")] }),
      get("/fleet/v1/units/cont.service"),
      put("cont.service", { options: [option("Service", "A", "x \\\nB=y")], desiredState: "loaded" }),
      put("pinned.service", { options: [exec(), xfleet("MachineID", m1), xfleet("Global", "true")] }),
      get("/fleet/v1/units/pinned.service"),
      put("worker@.service", { options: service }),
      get("/fleet/v1/units/worker@.service")
    ]
  },
  {
    name: "PUT: updating the desired state",
    seed: clusterSeed,
    requests: [
      put("hello.service", {}),
      put("hello.service", { options: [] }),
      put("hello.service", { desiredState: "" }),
      put("hello.service", { desiredState: "loaded" }),
      get("/fleet/v1/units/hello.service"),
      put("hello.service", { desiredState: "inactive" }),
      get("/fleet/v1/units/hello.service"),
      put("store.service", { desiredState: "launched", name: "store.service" }),
      get("/fleet/v1/units/store.service"),
      put("worker@.service", { desiredState: "launched" }),
      put("worker@.service", { desiredState: "loaded" }),
      put("worker@.service", { desiredState: "inactive" }),
      put("worker@1.service", { desiredState: "inactive" }),
      put("global.service", { desiredState: "loaded" }),
      get("/fleet/v1/units"),
      get("/fleet/v1/state")
    ]
  },
  {
    name: "state: listing, filters, and one unit's state",
    seed: clusterSeed,
    requests: [
      ...pages("/fleet/v1/state", limit, 3),
      get(`/fleet/v1/state?machineID=${m1}`),
      get(`/fleet/v1/state?machineID=${m2}&unitName=global.service`),
      get(`/fleet/v1/state?unitName=global.service&unitName=hello.service`),
      get(`/fleet/v1/state?unitName=&machineID=${m3}`),
      get("/fleet/v1/state?unitName=missing.service"),
      get(`/fleet/v1/state?machineID=${m1.slice(0, 8)}`),
      get("/fleet/v1/state?unitname=hello.service"),
      get("/fleet/v1/state?unitName=hello%2Eservice"),
      get("/fleet/v1/state?unitName=hello.service;machineID=x"),
      ...pages(`/fleet/v1/state?machineID=${m1}`, limit, 2),
      get("/fleet/v1/state/hello.service"),
      get("/fleet/v1/state/store.service?machineID=nope&unitName=x"),
      get("/fleet/v1/state/gone.service"),
      get("/v1-alpha/state/hello.service"),
      call("HEAD", "/fleet/v1/state/hello.service"),
      ...["POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"].flatMap((method) => [
        call(method, "/fleet/v1/state", "{}"),
        call(method, "/fleet/v1/state/hello.service", "{}"),
        call(method, "/fleet/v1/state/missing.service", "{}")
      ])
    ]
  },
  {
    name: "machines: listing, paging and the method error",
    seed: { machines: [...machines(7), ...clusterSeed.machines] },
    requests: [
      ...pages("/fleet/v1/machines", limit, 4),
      ...["POST", "PUT", "DELETE", "HEAD", "OPTIONS"].map((method) => call(method, "/fleet/v1/machines", "{}"))
    ]
  },
  {
    name: "machines: PATCH of metadata",
    seed: clusterSeed,
    requests: [
      patch([{ op: "add", path: `/${m1}/metadata/zone`, value: { value: "a" } }]),
      patch([{ op: "replace", path: `/${m1}/metadata/role`, value: { value: "api" } }]),
      patch([{ op: "remove", path: `/${m2}/metadata/role` }]),
      get("/fleet/v1/machines"),
      patch([{ op: "remove", path: `/${m2}/metadata/nothing` }]),
      patch([{ op: "add", path: `/${m3}/metadata/a.b-c_d`, value: { value: "x y" } }]),
      patch([{ op: "move", path: `/${m1}/metadata/zone`, value: { value: "a" } }]),
      patch([{ op: "", path: `/${m1}/metadata/zone` }]),
      patch([{ op: "add", path: `/${m1}/metadata/zone` }]),
      patch([{ op: "add", path: `/${m1}/metadata/zone`, value: { value: "" } }]),
      patch([{ op: "replace", path: `/${m1}/metadata/zone`, value: {} }]),
      patch([{ op: "add", path: `${m1}/metadata/zone`, value: { value: "a" } }]),
      patch([{ op: "add", path: `/${m1}/metadata/`, value: { value: "a" } }]),
      patch([{ op: "add", path: `/${m1}/metadata/a/b`, value: { value: "a" } }]),
      patch([{ op: "add", path: `/${m1}/metadata/a b`, value: { value: "a" } }]),
      patch([{ op: "add", path: `/${m1}/labels/zone`, value: { value: "a" } }]),
      patch([
        { op: "add", path: `/${m1}/metadata/ok`, value: { value: "1" } },
        { op: "bad", path: `/${m1}/metadata/zone` }
      ]),
      patch([{ op: "add", path: `/${m1}/metadata/zone`, value: "plain" }]),
      patch([{ op: "add", path: `/${m1}/metadata/zone`, value: 1 }]),
      patch([{ op: "add", path: `/${m1}/metadata/zone`, value: { value: 1 } }]),
      patch([{ op: 1 }]),
      patch([{ path: 1 }]),
      patch([1]),
      patch({ op: "add" }),
      patch("[]"),
      patch("null"),
      patch(""),
      patch("[{"),
      patch("[".repeat(10_001)),
      patch(`[{"value":${'{"value":'.repeat(10_000)}`),
      patch([null]),
      patch('[{"OP":"add","PATH":"/x/metadata/y","VALUE":{"VALUE":"z"}}]'),
      call("PATCH", "/fleet/v1/machines", JSON.stringify([]), ["Content-Type", "text/plain"]),
      call("PATCH", "/fleet/v1/machines", JSON.stringify([])),
      get("/fleet/v1/machines"),
      patch([
        { op: "remove", path: `/${m1}/metadata/role` },
        { op: "remove", path: `/${m1}/metadata/region` },
        { op: "remove", path: `/${m1}/metadata/zone` },
        { op: "remove", path: `/${m1}/metadata/ok` }
      ]),
      get("/fleet/v1/machines")
    ]
  },
  {
    name: "paging: tokens, bad tokens, and exact multiples of the page size",
    seed: { units: units(limit * 2), machines: machines(limit) },
    requests: [
      ...pages("/fleet/v1/units", limit, 4),
      ...pages("/fleet/v1/machines", limit, 2),
      ...[
        "",
        "A",
        "AA",
        "AAA",
        "AAAA",
        "AAA=",
        "AA==",
        "A===",
        "====",
        "AwAB",
        "AwABAA",
        "AwABAA=",
        "AwABAA==",
        "AwABAA==x",
        "AwAAAA==",
        "ZAABAA==",
        "AwABAAAA",
        "AwABAAAAAA==",
        "AwAB%0AAA==",
        "AwAB%0DAA==",
        "Aw+BAA==",
        "Aw/BAA==",
        "Aw_BAA==",
        "Aw-BAA==",
        "AwD__w==",
        "AwD_fw==",
        "AwCrqg==",
        "AwBVVQ==",
        "AwBWVQ==",
        "AwBXVQ==",
        "AwAAgA==",
        "%41wABAA==",
        "AwABAA%3D%3D",
        "Aw%20ABAA==",
        "Aw+AB+AA=="
      ].map((token) => get(`/fleet/v1/units?nextPageToken=${token}`)),
      get("/fleet/v1/units?nextPageToken=AwABAA==&nextPageToken=AwABAA=="),
      get("/fleet/v1/units?nextPageToken"),
      get("/fleet/v1/units?nextPageToken="),
      get("/fleet/v1/units?nextpagetoken=xyz"),
      get("/fleet/v1/state?nextPageToken=AwACAA=="),
      get("/fleet/v1/state?nextPageToken=bad"),
      get("/fleet/v1/machines?nextPageToken=AwACAA=="),
      get("/fleet/v1/machines?nextPageToken=AwD__w=="),
      get("/fleet/v1/machines?nextPageToken=AwBWVQ==")
    ]
  },
  {
    name: "bodies on GET and DELETE are ignored",
    seed: clusterSeed,
    requests: [
      call("GET", "/fleet/v1/units", "not json", jsonType),
      call("GET", "/fleet/v1/units/hello.service", '{"name":"x"}', jsonType),
      call("DELETE", "/fleet/v1/units/store.service", "garbage"),
      get("/fleet/v1/units")
    ]
  }
]
