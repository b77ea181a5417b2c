import { it } from "vitest"
import * as fc from "fast-check"
import { scenario } from "../support/fidelityArbitraries.ts"
import * as fs from "node:fs"
it("s7", () => {
  const samples = fc.sample(scenario(3, { min: 10, max: 40 }), { seed: 7, numRuns: 460 })
  const s = samples[298]!
  fs.writeFileSync(".tmp/s7.json", JSON.stringify({ seed: s.seed, req: s.requests.slice(0, 7) }, null, 1))
})
