import { it } from "vitest"
import * as fs from "node:fs"
import { startPair, describeDifference } from "../support/fleetRef.ts"
import { scenarios } from "../support/fidelityScenarios.ts"
it("dump", async () => {
  const pair = await startPair({ tokenLimit: 3 })
  const out: string[] = []
  try {
    for (const s of scenarios(3)) {
      if (process.env.ONLY && !s.name.includes(process.env.ONLY)) continue
      const d = await pair.run(s)
      out.push(...d.map(describeDifference))
    }
  } finally {
    await pair.close()
  }
  fs.writeFileSync(".tmp/diffs.txt", out.join("\n\n"))
}, 120000)
