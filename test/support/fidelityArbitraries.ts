/**
 * Generated request sequences for the differential suite: random seeds (machines, unit states, units), and random
 * requests over the whole API (units, names, options, desired states, page tokens, methods, paths, headers, bodies).
 *
 * A few requests are guarded, because real fleet crashes or corrupts its registry on them (the README lists these
 * deviations): the runner first asks both servers a question (itself compared) and sends the request only when fleet
 * would answer it sanely.
 */
import * as Result from "effect/Result"
import * as fc from "fast-check"
import * as UnitFile from "../../src/UnitFile.ts"
import type { Request } from "./fleetRef.ts"

/** When a generated request may only be sent. */
export type Guard =
  /** Only when the unit does not exist (a replacement whose unit file does not read back, an invalid state). */
  | { readonly _tag: "UnitAbsent"; readonly name: string }
  /** Only when the unit has exactly one unit state (fleet dereferences nil for none, picks at random for more). */
  | { readonly _tag: "OneState"; readonly name: string }

export interface GeneratedRequest {
  readonly request: Request
  readonly guard?: Guard | undefined
}

export interface GeneratedScenario {
  readonly seed: unknown
  readonly requests: ReadonlyArray<GeneratedRequest>
}

export const machineIds = [
  "2c7f2ad9a1d54b1c9d1e3f4a5b6c7d01",
  "2c7f2ad9a1d54b1c9d1e3f4a5b6c7d02",
  "9f00000000000000000000000000beef",
  "m1",
  "M-2"
] as const

const unitNames = [
  "a.service",
  "b.service",
  "web@1.service",
  "web@.service",
  "x.socket",
  "t.timer",
  "A.service",
  "a-b.service",
  "a.b.service",
  "_h.service",
  "g.service"
] as const

const char = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(..."abcXYZ019-_.:@\\".split("")) },
  { weight: 1, arbitrary: fc.constantFrom(" ", "!", "/", "%", "é", "☃", "\u{1F600}", "\t", "=", "#", "[", "]") }
)

/** A unit name: mostly from a pool (so requests meet each other), sometimes random, sometimes broken. */
export const unitName: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...unitNames) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.string({ unit: char, minLength: 0, maxLength: 8 }),
        fc.constantFrom("service", "socket", "mount", "timer", "foo", "", "path", "device")
      )
      .map(([base, type]) => `${base}.${type}`)
  },
  { weight: 1, arbitrary: fc.string({ unit: char, maxLength: 10 }) }
)

/** A unit name escaped for a request path (as a client would), or sometimes left raw. */
export const pathName = (name: string): string =>
  encodeURIComponent(name).replace(/%40/g, (match) => (name.length % 2 === 0 ? "@" : match))

const valueText = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom("/usr/bin/sleep 1d", "true", "yes", "false", "1", "web@*.service") },
  { weight: 3, arbitrary: fc.string({ unit: char, maxLength: 24 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      " padded ",
      "x \\",
      "x\\",
      "a\\\nb",
      "line\nbreak",
      "a.service b.service",
      '"q=1" "r=2"',
      "",
      "  ",
      "é ☃",
      "\u0085x\u00a0",
      "\ufeffbom"
    )
  },
  { weight: 1, arbitrary: fc.integer({ min: 2025, max: 2045 }).map((n) => "v".repeat(n)) }
)

const sectionText = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("Unit", "Service", "X-Fleet", "Install") },
  { weight: 1, arbitrary: fc.constantFrom(" Service", "Service ", "", "Se]rvice", "Sec\ntion", "Ünit") }
)

const nameText = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      "ExecStart",
      "Description",
      "MachineID",
      "MachineOf",
      "Conflicts",
      "Replaces",
      "Global",
      "X-Conflicts",
      "X-ConditionMachineOf",
      "X-ConditionMachineID",
      "MachineMetadata"
    )
  },
  { weight: 1, arbitrary: fc.constantFrom(" ExecStart ", "", "Na=me", "Na\nme", "Näme", "#x") }
)

export interface OptionInput {
  readonly section: string
  readonly name: string
  readonly value: string
}

export const unitOption: fc.Arbitrary<OptionInput> = fc.record({
  section: sectionText,
  name: nameText,
  value: valueText
})

/** Options that go-systemd can serialize and read back unchanged in meaning: safe for seeds. */
const seedOption: fc.Arbitrary<OptionInput> = fc.record({
  section: fc.constantFrom("Unit", "Service", "X-Fleet"),
  name: fc.constantFrom("ExecStart", "Description", "Global", "Conflicts", "MachineID"),
  value: fc.oneof(fc.constantFrom("/usr/bin/sleep 1d", "true", "x.service"), fc.string({ unit: char, maxLength: 12 }))
})

const desiredState = fc.constantFrom("inactive", "loaded", "launched")

/** A seed in fleet's JSON field names. */
export const seed = fc
  .record({
    machines: fc.uniqueArray(
      fc.record(
        {
          id: fc.constantFrom(...machineIds),
          primaryIP: fc.constantFrom("10.0.0.1", "10.0.0.2", "", "fe80::1"),
          metadata: fc.dictionary(fc.constantFrom("role", "zone", "a.b"), fc.constantFrom("web", "db", "x y"), {
            maxKeys: 2
          })
        },
        { requiredKeys: ["id"] }
      ),
      { selector: (machine) => machine.id, maxLength: 4 }
    ),
    units: fc.uniqueArray(
      fc.record(
        {
          name: fc.constantFrom(...unitNames),
          desiredState,
          currentState: desiredState,
          machineID: fc.constantFrom(...machineIds),
          options: fc.array(seedOption, { minLength: 1, maxLength: 4 })
        },
        { requiredKeys: ["name", "options"] }
      ),
      { selector: (unit) => unit.name, maxLength: 6 }
    ),
    states: fc.uniqueArray(
      fc.record(
        {
          name: fc.constantFrom(...unitNames),
          machineID: fc.constantFrom(...machineIds),
          hash: fc.constantFrom("0000000000000000000000000000000000000001", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
          systemdLoadState: fc.constantFrom("loaded", "not-found"),
          systemdActiveState: fc.constantFrom("active", "inactive", "failed"),
          systemdSubState: fc.constantFrom("running", "dead")
        },
        // fleet refuses to save a unit state without a hash, so a seed never holds one
        { requiredKeys: ["name", "machineID", "hash"] }
      ),
      { selector: (state) => `${state.name} ${state.machineID}`, maxLength: 6 }
    )
  })
  // Global units never reach the engine's schedule; a seed that pins one anyway writes what fleet would not.
  .map((data) => ({
    ...data,
    units: data.units.map(({ machineID, ...unit }) =>
      unit.options.some((option) => option.section === "X-Fleet" && option.name === "Global") || machineID === undefined
        ? unit
        : { ...unit, machineID }
    )
  }))

const base64Chars = fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/".split(""))

/** A page token: mostly well formed (any page, including ones that wrap around 16 bits), sometimes garbage. */
export const pageToken = (limit: number): fc.Arbitrary<string> =>
  fc.oneof(
    {
      weight: 5,
      arbitrary: fc
        .tuple(
          fc.oneof(fc.constant(limit), fc.constant(limit), fc.integer({ min: 0, max: 65535 })),
          fc.oneof(
            fc.integer({ min: 0, max: 6 }),
            fc.integer({ min: 0, max: 65535 }),
            fc.constantFrom(21846, 21847, 21848, 32768, 43691, 65535)
          )
        )
        .map(([tokenLimit, page]) => {
          const bytes = Buffer.alloc(4)
          bytes.writeUInt16LE(tokenLimit, 0)
          bytes.writeUInt16LE(page, 2)
          return bytes.toString("base64").replace(/\+/g, "-").replace(/\//g, "_")
        })
    },
    { weight: 2, arbitrary: fc.string({ unit: base64Chars, maxLength: 12 }) }
  )

const jsonHeaders = ["Content-Type", "application/json"]
const headers = fc.oneof(
  { weight: 12, arbitrary: fc.constant(jsonHeaders) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      [],
      ["Content-Type", "text/plain"],
      ["Content-Type", "application/json; charset=utf-8"],
      ["Content-Type", "application/json", "Content-Type", "application/json"],
      ["Content-Type", "APPLICATION/JSON"]
    )
  }
)

// Bytes that are often not UTF-8, sometimes around a JSON string.
const bytes: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 12 }),
  fc
    .uint8Array({ minLength: 1, maxLength: 6 })
    .map((inner) => Buffer.concat([Buffer.from('{"name":"'), inner, Buffer.from('.service"}')]))
)

const jsonish: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  { weight: 1, arbitrary: bytes },
  fc.constantFrom("", "{", "[]", "null", "{}", '{"options":"x"}', '{"options":[1]}', "tru", '{"name":1}', "[{}]"),
  fc.string({ unit: fc.constantFrom(...'{}[]":,0123456789.eE-+ truefalsnu\\aé'.split("")), maxLength: 20 })
)

const desiredField = fc.oneof(
  { weight: 8, arbitrary: desiredState },
  { weight: 2, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constantFrom("", "bogus", "LAUNCHED") }
)

const isValidState = (state: unknown): boolean => state === "inactive" || state === "loaded" || state === "launched"

const putUnit = fc
  .record({
    name: unitName,
    bodyName: fc.oneof({ weight: 5, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: unitName }),
    desiredState: desiredField,
    options: fc.oneof(
      { weight: 1, arbitrary: fc.constant(undefined) },
      { weight: 8, arbitrary: fc.array(unitOption, { minLength: 0, maxLength: 5 }) }
    ),
    headers,
    raw: fc.oneof({ weight: 10, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: jsonish })
  })
  .map(({ bodyName, desiredState: state, headers: header, name, options, raw }): GeneratedRequest => {
    const body =
      raw ??
      JSON.stringify({
        ...(bodyName === undefined ? {} : { name: bodyName }),
        ...(state === undefined ? {} : { desiredState: state }),
        ...(options === undefined ? {} : { options })
      })
    // Updating an existing unit to an invalid state stores it (fleet then answers 500 on it for ever), and replacing
    // one with options whose file does not read back stores a unit fleet cannot read: send those to new names only.
    const unreadable = options !== undefined && options.length > 0 && Result.isFailure(UnitFile.roundTrip(options))
    const risky = raw === undefined && ((state !== undefined && state !== "" && !isValidState(state)) || unreadable)
    return {
      request: { method: "PUT", path: `/fleet/v1/units/${pathName(name)}`, headers: header, body },
      ...(risky
        ? { guard: { _tag: "UnitAbsent", name: bodyName === undefined || bodyName === "" ? name : bodyName } }
        : {})
    }
  })

const listing = (limit: number) =>
  fc
    .record({
      what: fc.constantFrom("units", "state", "machines"),
      prefix: fc.constantFrom("/fleet/v1", "/fleet/v1", "/v1-alpha"),
      token: fc.option(pageToken(limit), { nil: undefined }),
      machineID: fc.option(fc.constantFrom(...machineIds, ""), { nil: undefined }),
      unitName: fc.option(fc.constantFrom(...unitNames, ""), { nil: undefined })
    })
    .map(({ machineID, prefix, token, unitName: filter, what }): GeneratedRequest => {
      const query = [
        token === undefined ? undefined : `nextPageToken=${token}`,
        what === "state" && machineID !== undefined ? `machineID=${machineID}` : undefined,
        what === "state" && filter !== undefined ? `unitName=${encodeURIComponent(filter)}` : undefined
      ].filter((part) => part !== undefined)
      return { request: { method: "GET", path: `${prefix}/${what}${query.length === 0 ? "" : `?${query.join("&")}`}` } }
    })

const getUnit = unitName.map(
  (name): GeneratedRequest => ({ request: { method: "GET", path: `/fleet/v1/units/${pathName(name)}` } })
)

const deleteUnit = unitName.map(
  (name): GeneratedRequest => ({ request: { method: "DELETE", path: `/fleet/v1/units/${pathName(name)}` } })
)

const getState = fc.constantFrom(...unitNames).map(
  (name): GeneratedRequest => ({
    request: { method: "GET", path: `/fleet/v1/state/${pathName(name)}` },
    guard: { _tag: "OneState", name }
  })
)

const metadataOp = fc.record(
  {
    op: fc.constantFrom("add", "remove", "replace", "add", "move", ""),
    path: fc.oneof(
      fc
        .tuple(fc.constantFrom(...machineIds, "unknown"), fc.constantFrom("role", "zone", "a.b", "a b", ""))
        .map(([id, key]) => `/${id}/metadata/${key}`),
      fc.constantFrom("/x/labels/y", "m1/metadata/z", "")
    ),
    value: fc.oneof(
      { weight: 6, arbitrary: fc.record({ value: fc.constantFrom("web", "db", "", "x y") }) },
      { weight: 1, arbitrary: fc.constantFrom("plain", 1, null, {}) }
    )
  },
  { requiredKeys: ["op", "path"] }
)

const patchMachines = fc
  .oneof(
    { weight: 6, arbitrary: fc.array(metadataOp, { maxLength: 3 }).map((ops) => JSON.stringify(ops)) },
    { weight: 1, arbitrary: jsonish }
  )
  .map(
    (body): GeneratedRequest => ({
      request: { method: "PATCH", path: "/fleet/v1/machines", headers: jsonHeaders, body }
    })
  )

const anyPath = fc.constantFrom(
  "/",
  "/fleet/v1",
  "/v1-alpha",
  "/fleet/v1/",
  "/fleet/v1/units",
  "/fleet/v1/units/",
  "/fleet/v1/units/a.service",
  "/fleet/v1/units/a/b",
  "/fleet/v1/state",
  "/fleet/v1/machines",
  "/fleet/v1/machines/m1",
  "/fleet/v1/discovery",
  "/v1-alpha/discovery",
  "//fleet/v1/units",
  "/fleet/v1/./state",
  "/fleet/v1/units/../machines",
  "/nope",
  "/fleet/v1/units/%zz",
  "/fleet/v1/units/%ff.service",
  "/fleet/v1/units/a%c3%28.service",
  "//fleet/v1/units/%e2%98.service"
)

const anyMethod = fc
  .record({
    method: fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "FOO", "PROPFIND", "X_Y"),
    path: anyPath,
    body: fc.option(jsonish, { nil: undefined }),
    headers
  })
  .filter(({ method, path }) => !(method === "PATCH" && path === "/fleet/v1/machines"))
  .filter(({ method, path }) => !(method === "PUT" && path === "/fleet/v1/units/a.service"))
  .map(
    ({ body, headers: header, method, path }): GeneratedRequest => ({
      request: { method, path, headers: header, ...(body === undefined ? {} : { body }) }
    })
  )

export const request = (limit: number): fc.Arbitrary<GeneratedRequest> =>
  fc.oneof(
    { weight: 8, arbitrary: putUnit },
    { weight: 4, arbitrary: listing(limit) },
    { weight: 3, arbitrary: getUnit },
    { weight: 2, arbitrary: deleteUnit },
    { weight: 1, arbitrary: getState },
    { weight: 2, arbitrary: patchMachines },
    { weight: 2, arbitrary: anyMethod }
  )

export const scenario = (limit: number, length: { readonly min: number; readonly max: number }) =>
  fc.record({
    seed,
    requests: fc.array(request(limit), { minLength: length.min, maxLength: length.max })
  })
