/**
 * Figure 5: time to the first unit from a cold layer: build `Fleet.layer` (a new connection pool, the discovery
 * probe), fetch the first page, take one unit, close the layer. The baseline does the same with raw undici: a new
 * `Agent`, GET discovery and check it, GET the first page, take one unit, close the agent. In this warm process;
 * figure 7 (`startup.ts`) measures the same in fresh processes. Target (issue 11): <= 1.5x raw in client CPU.
 */
import { Effect, Stream } from "effect"
import { Agent, request } from "undici"
import * as Fleet from "../src/Fleet.ts"
import { compare, cpuVerdict, ms, poolSize, type Row, times } from "./lib.ts"

export const coldRounds = 21
export const target = 1.5

const rawFirstUnit = async (origin: string): Promise<unknown> => {
  const agent = new Agent({ connections: poolSize })
  try {
    const probe = await request(`${origin}/fleet/v1/discovery`, { dispatcher: agent })
    const discovery = JSON.parse(await probe.body.text()) as { id?: unknown }
    if (probe.statusCode !== 200 || discovery.id !== "fleet:v1") throw new Error("raw: not a fleet endpoint")
    const response = await request(`${origin}/fleet/v1/units`, { dispatcher: agent })
    const page = JSON.parse(await response.body.text()) as { units?: ReadonlyArray<unknown> }
    const first = page.units?.[0]
    if (first === undefined) throw new Error("raw: no unit")
    return first
  } finally {
    await agent.destroy()
  }
}

const fleetFirstUnit = (origin: string): Promise<unknown> =>
  Effect.runPromise(
    Fleet.listUnits().pipe(
      Stream.take(1),
      Stream.runCollect,
      Effect.provide(Fleet.layer(origin, { connections: poolSize }))
    )
  )

export const run = async (origin: string): Promise<Array<Row>> => {
  const result = await compare(
    { raw: () => rawFirstUnit(origin), fleet: () => fleetFirstUnit(origin) },
    { rounds: coldRounds, warmup: 3 }
  )
  return [
    {
      figure: "5. first unit",
      measure: "cold layer: new pool, probe, first page, one unit",
      fleet: ms(result.medians.fleet),
      raw: ms(result.medians.raw),
      ratio: times(result.ratios.fleet),
      cpuRatio: times(result.cpuRatios.fleet),
      target: `<= ${target}x`,
      verdict: cpuVerdict(result.cpuRatios.fleet, result.ratios.fleet, target)
    }
  ]
}
