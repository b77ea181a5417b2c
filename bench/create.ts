/**
 * Figure 3: 200 concurrent `Fleet.createUnit` calls (each a PUT then a GET, as the client does) over a pool of
 * `poolSize` connections, against raw undici doing the same two requests with the same pool size.
 */
import { Effect, ManagedRuntime } from "effect"
import { Agent, request } from "undici"
import * as Fleet from "../src/Fleet.ts"
import { Unit, UnitOption } from "../src/Unit.ts"
import * as Http from "./httpClient.ts"
import { compare, ms, poolSize, type Row, times } from "./lib.ts"
import { createdCount, createdName } from "./static.ts"

export const makeUnit = (): Unit =>
  new Unit({
    desiredState: "inactive",
    options: [new UnitOption({ section: "Service", name: "ExecStart", value: "/usr/bin/sleep 1d" })]
  })

const names = Array.from({ length: createdCount }, (_, i) => createdName(i))

const wireBody = (unit: Unit) => ({
  desiredState: unit.desiredState,
  options: unit.options.map(({ section, name, value }) => ({ section, name, value }))
})

const rawCreate = async (agent: Agent, origin: string, name: string, unit: Unit): Promise<unknown> => {
  const url = `${origin}/fleet/v1/units/${encodeURIComponent(name)}`
  const put = await request(url, {
    dispatcher: agent,
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(wireBody(unit))
  })
  await put.body.dump()
  if (put.statusCode >= 400) throw new Error(`raw create: HTTP ${put.statusCode}`)
  const get = await request(url, { dispatcher: agent })
  if (get.statusCode !== 200) throw new Error(`raw create: GET answered HTTP ${get.statusCode}`)
  return JSON.parse(await get.body.text())
}

export const run = async (origin: string): Promise<Array<Row>> => {
  const runtime = ManagedRuntime.make(Fleet.layer(origin, { connections: poolSize }))
  const http = Http.runtime()
  const agent = new Agent({ connections: poolSize })
  const unit = makeUnit()
  try {
    const result = await compare({
      raw: () => Promise.all(names.map((name) => rawCreate(agent, origin, name, unit))),
      fleet: () =>
        runtime.runPromise(
          Effect.forEach(names, (name) => Fleet.createUnit(name, unit), { concurrency: "unbounded", discard: true })
        ),
      http: () =>
        http.runPromise(
          Effect.forEach(names, (name) => Http.create(origin, name, wireBody(unit)), {
            concurrency: "unbounded",
            discard: true
          })
        )
    })
    return [
      {
        figure: "3. createUnit",
        measure: `${createdCount} concurrent calls (each a PUT and a GET), pool of ${poolSize}`,
        fleet: ms(result.medians.fleet),
        raw: ms(result.medians.raw),
        ratio: times(result.ratios.fleet),
        cpuRatio: times(result.cpuRatios.fleet),
        http: ms(result.medians.http),
        httpRatio: times(result.ratios.http),
        target: "(none set)",
        verdict: "-"
      }
    ]
  } finally {
    await runtime.dispose()
    await http.dispose()
    await agent.close()
  }
}
