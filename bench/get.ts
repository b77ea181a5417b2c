/**
 * Figure 2: 2,000 sequential `Fleet.getUnit` calls against as many raw undici GETs (each body JSON-parsed), as time
 * per call and effect-fleet's overhead per call. Target (issue 11, warm process): effect-fleet <= 1.2x raw in client
 * CPU.
 */
import { Effect, Layer, ManagedRuntime } from "effect"
import { Agent, request } from "undici"
import * as Fleet from "../src/Fleet.ts"
import * as FleetTransport from "../src/FleetTransport.ts"
import * as Http from "./httpClient.ts"
import { compare, cpuVerdict, poolSize, type Row, times, us } from "./lib.ts"

export const target = 1.2
export const calls = 2_000

export const names = Array.from({ length: calls }, (_, i) => `bench-${String(i).padStart(6, "0")}.service`)

export const rawGet = async (agent: Agent, origin: string, name: string): Promise<unknown> => {
  const response = await request(`${origin}/fleet/v1/units/${encodeURIComponent(name)}`, { dispatcher: agent })
  if (response.statusCode !== 200) throw new Error(`raw get: HTTP ${response.statusCode}`)
  return JSON.parse(await response.body.text())
}

export const run = async (origin: string): Promise<Array<Row>> => {
  const runtime = ManagedRuntime.make(Fleet.layer(origin, { connections: poolSize }))
  const overHttpClient = ManagedRuntime.make(
    Fleet.layerHttpClient({ baseUrl: origin }).pipe(Layer.provide(FleetTransport.layerTcp({ connections: poolSize })))
  )
  const http = Http.runtime()
  const agent = new Agent({ connections: poolSize })
  try {
    const result = await compare({
      raw: async () => {
        for (const name of names) await rawGet(agent, origin, name)
      },
      fleet: () => runtime.runPromise(Effect.forEach(names, (name) => Fleet.getUnit(name), { discard: true })),
      // The same client over Effect's HttpClient (`Fleet.layerHttpClient`), the path that keeps users' middleware.
      fleetOverHttpClient: () =>
        overHttpClient.runPromise(Effect.forEach(names, (name) => Fleet.getUnit(name), { discard: true })),
      http: () => http.runPromise(Effect.forEach(names, (name) => Http.get(origin, name), { discard: true }))
    })
    const perCall = (millis: number) => (millis * 1000) / calls
    return [
      {
        figure: "2. getUnit",
        measure:
          `${calls.toLocaleString("en")} sequential calls, time per call ` +
          `(effect-fleet's overhead: ${us(perCall(result.medians.fleet - result.medians.raw))} per call)`,
        fleet: us(perCall(result.medians.fleet)),
        raw: us(perCall(result.medians.raw)),
        ratio: times(result.ratios.fleet),
        cpuRatio: times(result.cpuRatios.fleet),
        http: us(perCall(result.medians.http)),
        httpRatio: times(result.ratios.http),
        target: `<= ${target}x`,
        verdict: cpuVerdict(result.cpuRatios.fleet, result.ratios.fleet, target)
      },
      {
        figure: "2b. getUnit",
        measure:
          "the same over `Fleet.layerHttpClient` (Effect's HttpClient, its span and middleware), not the dispatcher",
        fleet: us(perCall(result.medians.fleetOverHttpClient)),
        raw: us(perCall(result.medians.raw)),
        ratio: times(result.ratios.fleetOverHttpClient),
        cpuRatio: times(result.cpuRatios.fleetOverHttpClient),
        target: "(none set)",
        verdict: "-"
      }
    ]
  } finally {
    await runtime.dispose()
    await overHttpClient.dispose()
    await http.dispose()
    await agent.close()
  }
}
