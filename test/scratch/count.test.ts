import { it } from "vitest"
import * as fc from "fast-check"
import { scenarios } from "../support/fidelityScenarios.ts"
import { scenario } from "../support/fidelityArbitraries.ts"
it("count", () => {
  const s = scenarios(3)
  console.log(
    "hand",
    s.length,
    s.reduce((n, x) => n + x.requests.length, 0)
  )
  const g = fc.sample(scenario(3, { min: 10, max: 40 }), { seed: 20261130, numRuns: 460 })
  const guarded = 0
  console.log(
    "gen seqs",
    g.length,
    g.reduce((n, x) => n + x.requests.length, 0),
    g.reduce((n, x) => n + x.requests.filter((r) => r.guard).length, 0)
  )
})
