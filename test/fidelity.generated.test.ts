/**
 * Differential suite, generated part: at least 10,000 requests in random sequences (random seeds, units, names,
 * options, desired states, page tokens, methods, paths, headers, bodies), each sent to fleet's real handler over
 * fleet's etcd registry and to the local server, comparing status, Content-Type, Location and body.
 *
 * The sequences come from a fixed fast-check seed, so a run is reproducible; `FIDELITY_SEED=<n>` explores others.
 * Three server pairs share the work (the requests of one sequence stay in order on one pair).
 */
import * as fs from "node:fs"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { type GeneratedRequest, type GeneratedScenario, pathName, scenario } from "./support/fidelityArbitraries.ts"
import {
  type Answer,
  describeDifference,
  type Difference,
  equallyRight,
  type Etcd,
  type GuardedRequest,
  type Pair,
  skipReason,
  startEtcd,
  startPair
} from "./support/fleetRef.ts"

const limit = 3
const pairs = 3
const minimumRequests = 10_000
const seed = Number(process.env.FIDELITY_SEED ?? 20261130)

const guarded = ({ guard, request }: GeneratedRequest): GuardedRequest => {
  if (guard === undefined) return { request }
  switch (guard._tag) {
    case "UnitAbsent":
      return {
        request,
        probe: { method: "GET", path: `/fleet/v1/units/${pathName(guard.name)}` },
        allows: (answer: Answer) => answer.status === 404
      }
    case "OneState":
      return {
        request,
        probe: { method: "GET", path: `/fleet/v1/state?unitName=${encodeURIComponent(guard.name)}` },
        allows: (answer: Answer) => answer.status === 200 && (JSON.parse(answer.body).states?.length ?? 0) === 1
      }
  }
}

describe.skipIf(skipReason !== undefined)(
  `fidelity: generated requests against fleet's own handler${skipReason === undefined ? "" : ` (skipped: ${skipReason})`}`,
  () => {
    let etcd: Etcd
    const running: Array<Pair> = []
    beforeAll(async () => {
      etcd = await startEtcd()
      for (let i = 0; i < pairs; i++)
        running.push(await startPair({ tokenLimit: limit, etcd, equivalent: equallyRight }))
    }, 60_000)
    afterAll(async () => {
      for (const pair of running) await pair.close()
      await etcd?.close()
    })

    it(`answers ${minimumRequests}+ generated requests exactly as fleet does (fast-check seed ${seed})`, async () => {
      const samples: Array<GeneratedScenario> = fc.sample(scenario(limit, { min: 10, max: 40 }), {
        seed,
        numRuns: 560
      })
      const differences: Array<Difference> = []
      let next = 0
      const worker = async (pair: Pair) => {
        while (next < samples.length) {
          const index = next++
          const sample = samples[index]!
          differences.push(
            ...(await pair.runGuarded(`seed ${seed} sequence ${index}`, sample.seed, sample.requests.map(guarded)))
          )
        }
      }
      await Promise.all(running.map(worker))
      // Probes are compared too, but only the generated requests themselves count towards the claim.
      const sent = running.reduce((total, pair) => total + pair.sent() - pair.probes(), 0)
      if (process.env.FIDELITY_COUNT !== undefined) {
        const probes = running.reduce((total, pair) => total + pair.probes(), 0)
        fs.writeFileSync(process.env.FIDELITY_COUNT, JSON.stringify({ sequences: samples.length, sent, probes }))
      }
      // The first difference of each sequence: the later ones usually follow from it.
      const firsts = differences.filter(
        (difference, i) => i === 0 || differences[i - 1]!.scenario !== difference.scenario
      )
      expect({
        sent: sent >= minimumRequests,
        differences: firsts.slice(0, 15).map(describeDifference),
        count: differences.length
      }).toEqual({ sent: true, differences: [], count: 0 })
    }, 180_000)
  }
)
