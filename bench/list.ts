/**
 * Figure 1: list 10,000 units, 100 to a page, through `Fleet.listUnits()` against a raw undici loop that fetches the
 * same pages and JSON-parses them. Target (issue 11, warm process): effect-fleet <= 1.1x raw in client CPU.
 */
import { Effect, ManagedRuntime, Stream } from "effect"
import { Agent, request } from "undici"
import * as Fleet from "../src/Fleet.ts"
import * as Http from "./httpClient.ts"
import { compare, cpuVerdict, ms, poolSize, type Row, times } from "./lib.ts"

export const target = 1.1

interface UnitsPage {
  readonly units?: ReadonlyArray<unknown>
  readonly nextPageToken?: string
}

/** The baseline: the pages, in order, each body parsed as JSON. */
export const rawList = async (
  agent: Agent,
  origin: string,
  onPage: (listed: number) => void = () => {}
): Promise<number> => {
  let count = 0
  let token: string | undefined
  do {
    const query = token === undefined ? "" : `?${new URLSearchParams({ nextPageToken: token })}`
    const response = await request(`${origin}/fleet/v1/units${query}`, { dispatcher: agent })
    if (response.statusCode !== 200) throw new Error(`raw list: HTTP ${response.statusCode}`)
    const page = JSON.parse(await response.body.text()) as UnitsPage
    count += page.units?.length ?? 0
    onPage(count)
    token = page.nextPageToken
  } while (token !== undefined)
  return count
}

export const run = async (origin: string, expected: number): Promise<Array<Row>> => {
  const runtime = ManagedRuntime.make(Fleet.layer(origin, { connections: poolSize }))
  const http = Http.runtime()
  const agent = new Agent({ connections: poolSize })
  const check = (side: string) => (count: number) => {
    if (count !== expected) throw new Error(`${side} listed ${count} units, expected ${expected}`)
  }
  try {
    const result = await compare({
      raw: () => rawList(agent, origin).then(check("raw")),
      fleet: () => runtime.runPromise(Fleet.listUnits().pipe(Stream.runCount, Effect.map(check("effect-fleet")))),
      http: () => http.runPromise(Effect.map(Http.list(origin), check("HttpClient")))
    })
    return [
      {
        figure: "1. list",
        measure: `${expected.toLocaleString("en")} units, pages of 100`,
        fleet: ms(result.medians.fleet),
        raw: ms(result.medians.raw),
        ratio: times(result.ratios.fleet),
        cpuRatio: times(result.cpuRatios.fleet),
        http: ms(result.medians.http),
        httpRatio: times(result.ratios.http),
        target: `<= ${target}x`,
        verdict: cpuVerdict(result.cpuRatios.fleet, result.ratios.fleet, target)
      }
    ]
  } finally {
    await runtime.dispose()
    await http.dispose()
    await agent.close()
  }
}
