/**
 * Differential suite, hand-written part: every behaviour of fleet's v1 API (`fleet-api-v1.md`) sent to fleet's real
 * handler over fleet's etcd registry and to the local server, comparing status, Content-Type, Location and body.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { describeDifference, type Pair, skipReason, startPair } from "./support/fleetRef.ts"
import { clusterSeed, get, scenarios } from "./support/fidelityScenarios.ts"

const limit = 3

describe.skipIf(skipReason !== undefined)(
  `fidelity: hand-written requests against fleet's own handler${skipReason === undefined ? "" : ` (skipped: ${skipReason})`}`,
  () => {
    let pair: Pair
    beforeAll(async () => {
      pair = await startPair({ tokenLimit: limit })
    })
    afterAll(async () => {
      await pair?.close()
    })

    for (const scenario of scenarios(limit)) {
      it(scenario.name, async () => {
        const differences = await pair.run(scenario)
        expect(differences.map(describeDifference)).toEqual([])
      })
    }

    it("answers fleet's 503 while etcd is unreachable, on every path, and recovers", async () => {
      const setUnavailable = (on: boolean) =>
        Promise.all([pair.reference.unavailable(on), pair.local.unavailable(on)]).then(() => undefined)
      try {
        const differences = await pair.run({
          name: "503",
          seed: clusterSeed,
          prepare: () => setUnavailable(true),
          requests: [
            get("/"),
            get("/fleet/v1/units"),
            get("/fleet/v1/discovery"),
            get("/nope"),
            get("//fleet/v1/units"),
            {
              method: "PUT",
              path: "/fleet/v1/units/a.service",
              headers: ["Content-Type", "application/json"],
              body: "{}"
            },
            { method: "HEAD", path: "/fleet/v1/machines" }
          ]
        })
        expect(differences.map(describeDifference)).toEqual([])
      } finally {
        await setUnavailable(false)
      }
      const after = await pair.run({ name: "after 503", seed: clusterSeed, requests: [get("/fleet/v1/state")] })
      expect(after.map(describeDifference)).toEqual([])
    })

    it("compared every request", () => {
      // The scenarios above are the claim in the README: keep the count honest.
      expect(pair.sent()).toBe(555)
    })
  }
)
