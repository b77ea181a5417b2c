/**
 * The client's fast decoding path against the Schemas it stands in for: on any input, fleet-shaped or not, decoding
 * through `Request.decoder` (fast path, else Schema) gives exactly what the Schema alone gives, value or error.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Equal from "effect/Equal"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as fc from "fast-check"
import * as Decode from "../src/internal/client/decode.ts"
import * as Request from "../src/internal/client/request.ts"
import { Machine } from "../src/Machine.ts"
import { Unit } from "../src/Unit.ts"
import { UnitState } from "../src/UnitState.ts"

// Mostly what fleet sends, with every field sometimes absent, of the wrong type, or out of range.
const odd = fc.oneof(fc.constant(null), fc.integer(), fc.boolean(), fc.constant(undefined), fc.array(fc.string()))
const str = fc.oneof({ weight: 8, arbitrary: fc.string() }, { weight: 1, arbitrary: odd })
const state = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("launched", "loaded", "inactive") },
  { weight: 1, arbitrary: fc.constantFrom("", "Launched", "started") },
  { weight: 1, arbitrary: odd }
)
const record = (fields: Record<string, fc.Arbitrary<unknown>>) =>
  fc.oneof(
    { weight: 10, arbitrary: fc.record({ ...fields, extra: fc.anything() }, { requiredKeys: [] }) },
    { weight: 1, arbitrary: fc.anything() }
  )
const option = record({ section: str, name: str, value: str })
const unit = record({
  name: str,
  options: fc.oneof({ weight: 8, arbitrary: fc.array(option, { maxLength: 4 }) }, { weight: 1, arbitrary: odd }),
  desiredState: state,
  currentState: state,
  machineID: str
})
const unitState = record({
  name: str,
  hash: str,
  machineID: str,
  systemdLoadState: str,
  systemdActiveState: str,
  systemdSubState: str
})
const metadata = fc.oneof(
  { weight: 6, arbitrary: fc.dictionary(fc.string(), fc.string()) },
  { weight: 1, arbitrary: fc.dictionary(fc.constantFrom("__proto__", "constructor", "a"), str) },
  { weight: 1, arbitrary: odd }
)
const machine = record({ id: str, primaryIP: str, metadata })
const page = (key: string, item: fc.Arbitrary<unknown>) =>
  record({
    [key]: fc.oneof({ weight: 8, arbitrary: fc.array(item, { maxLength: 5 }) }, { weight: 1, arbitrary: odd }),
    nextPageToken: str
  })

/** Both decodings of `input`, run to a Result, and whether the fast path alone produced the value. */
const agree = <S extends Schema.Top & { readonly DecodingServices: never }>(
  schema: S,
  fast: (u: unknown) => S["Type"] | undefined,
  input: unknown
): boolean => {
  const viaPipeline = Effect.runSync(
    Effect.result(Effect.mapError(Request.decodeJson(Request.decoder(schema, fast), "GET /x", input), (e) => e.cause))
  )
  const viaSchema = Effect.runSync(Effect.result(Schema.decodeUnknownEffect(schema)(input)))
  if (Result.isSuccess(viaSchema)) {
    expect(Result.isSuccess(viaPipeline)).toBe(true)
    const value = Result.getOrThrow(viaPipeline)
    expect(value).toStrictEqual(viaSchema.success)
    expect(Equal.equals(value, viaSchema.success)).toBe(true)
  } else {
    expect(Result.isFailure(viaPipeline)).toBe(true)
    if (Result.isFailure(viaPipeline)) expect(String(viaPipeline.failure)).toBe(String(viaSchema.failure))
  }
  return fast(input) !== undefined
}

const cases = [
  ["Unit", Unit, Decode.unit, unit],
  ["UnitState", UnitState, Decode.unitState, unitState],
  ["Machine", Machine, Decode.machine, machine],
  ["a page of units", Request.PageSchema("units", Unit), Decode.page("units", Decode.unit), page("units", unit)],
  [
    "a page of unit states",
    Request.PageSchema("states", UnitState),
    Decode.page("states", Decode.unitState),
    page("states", unitState)
  ],
  [
    "a page of machines",
    Request.PageSchema("machines", Machine),
    Decode.page("machines", Decode.machine),
    page("machines", machine)
  ]
] as const

describe("fast decoding agrees with the Schema", () => {
  for (const [name, schema, fast, arbitrary] of cases) {
    it(`${name}: the same value or the same error, on 2,000 inputs`, () => {
      let fastHits = 0
      let total = 0
      fc.assert(
        fc.property(arbitrary, (input) => {
          total++
          // what JSON.parse hands the decoder, and the raw value (undefined fields, odd prototypes) as well
          const json = JSON.stringify(input)
          if (json !== undefined && agree(schema as never, fast as never, JSON.parse(json))) fastHits++
          agree(schema as never, fast as never, input)
        }),
        { numRuns: 2000 }
      )
      // the fast path carries the well-formed share of the inputs, not none of them
      expect(fastHits).toBeGreaterThan(total / 20)
    })
  }

  it("what fleet sends takes the fast path", () => {
    const body = {
      units: [
        {
          name: "web@1.service",
          options: [{ section: "Service", name: "ExecStart", value: "/bin/web" }, { section: "X-Fleet" }],
          desiredState: "launched",
          currentState: "launched",
          machineID: "m1"
        },
        { name: "db.service", desiredState: "inactive" }
      ],
      nextPageToken: "abc"
    }
    const decoded = Decode.page("units", Decode.unit)(body)
    expect(decoded).toStrictEqual(Schema.decodeUnknownSync(Request.PageSchema("units", Unit))(body))
    expect(decoded?.items?.[0]).toBeInstanceOf(Unit)
    expect(Decode.machine(JSON.parse(`{"id":"m1","metadata":{"__proto__":"x"}}`))).toBeUndefined()
  })
})
