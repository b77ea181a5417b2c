/**
 * The servers' own speed, so that no figure is bounded by its server: raw undici listing 10,000 units and making
 * 2,000 unit GETs against the local fleet server and against the static replay used for the client figures.
 */
import { Agent } from "undici"
import { rawGet, names } from "./get.ts"
import { median, ms, poolSize, rounds, type Row, times } from "./lib.ts"
import { rawList } from "./list.ts"

const timed = async (run: () => Promise<unknown>): Promise<number> => {
  await run()
  const samples: Array<number> = []
  for (let i = 0; i < Math.min(rounds, 5); i++) {
    const start = performance.now()
    await run()
    samples.push(performance.now() - start)
  }
  return median(samples)
}

const rate = (count: number, millis: number, what: string): string =>
  `${Math.round((count * 1000) / millis).toLocaleString("en")} ${what}/s`

export const run = async (fleetUrl: string, staticUrl: string, units: number): Promise<Array<Row>> => {
  const agent = new Agent({ connections: poolSize })
  try {
    const listFleet = await timed(() => rawList(agent, fleetUrl))
    const listStatic = await timed(() => rawList(agent, staticUrl))
    const getAll = (origin: string) => async () => {
      for (const name of names) await rawGet(agent, origin, name)
    }
    const getFleet = await timed(getAll(fleetUrl))
    const getStatic = await timed(getAll(staticUrl))
    const pages = Math.ceil(units / 100) + (units % 100 === 0 ? 1 : 0)
    return [
      {
        figure: "0. servers",
        measure: `raw undici lists ${units.toLocaleString("en")} units (${pages} pages): local fleet vs static replay`,
        fleet: `${ms(listFleet)} (${rate(pages, listFleet, "pages")})`,
        raw: `${ms(listStatic)} (${rate(pages, listStatic, "pages")})`,
        ratio: times(listFleet / listStatic),
        target: "-",
        verdict: "-"
      },
      {
        figure: "0. servers",
        measure: `raw undici, ${names.length.toLocaleString("en")} sequential unit GETs: local fleet vs static replay`,
        fleet: `${ms(getFleet)} (${rate(names.length, getFleet, "req")})`,
        raw: `${ms(getStatic)} (${rate(names.length, getStatic, "req")})`,
        ratio: times(getFleet / getStatic),
        target: "-",
        verdict: "-"
      }
    ]
  } finally {
    await agent.close()
  }
}
