import { it } from "vitest"
import * as fc from "fast-check"
import * as Result from "effect/Result"
import * as UnitFile from "../../src/UnitFile.ts"
import { unitFileText } from "../support/unitFileArbitraries.ts"
it("stats", () => {
  const texts = fc.sample(unitFileText, { seed: 20261130, numRuns: 160 })
  const counts = new Map<string, number>()
  for (const t of texts) {
    const r = UnitFile.parseResult(t)
    const k = Result.isFailure(r)
      ? r.failure.message.slice(0, 40)
      : Result.isFailure(UnitFile.roundTrip(r.success))
        ? "rt fail"
        : "ok"
    counts.set(k, (counts.get(k) ?? 0) + 1)
  }
  console.log([...counts.entries()].sort((a, b) => b[1] - a[1]))
})
