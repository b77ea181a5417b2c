/**
 * Differential suite, unit files: generated unit files over every state of go-systemd's lexer, read by fleet's own
 * fleetctl (which parses them with the go-systemd fleet v1.0 vendors) and submitted to fleet's real handler, against
 * `UnitFile.parse`, `UnitFile.roundTrip`, `UnitFile.serialize` and `UnitFile.hash`, and the same fleetctl run against
 * the local server.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Result from "effect/Result"
import * as fc from "fast-check"
import * as UnitFile from "../src/UnitFile.ts"
import { exchange, fleetctl, fleetctlSkipReason, normalizeFleetctl, type Pair, startPair } from "./support/fleetRef.ts"
import { unitFileText } from "./support/unitFileArbitraries.ts"

const files = 200
const seed = Number(process.env.FIDELITY_SEED ?? 20261130)

const pool = async <A>(items: ReadonlyArray<A>, width: number, work: (item: A, index: number) => Promise<void>) => {
  let next = 0
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const index = next++
        await work(items[index]!, index)
      }
    })
  )
}

describe.skipIf(fleetctlSkipReason !== undefined)(
  `fidelity: unit files against fleetctl and fleet's own handler${fleetctlSkipReason === undefined ? "" : ` (skipped: ${fleetctlSkipReason})`}`,
  () => {
    let pair: Pair
    let dir: string
    beforeAll(async () => {
      pair = await startPair({ tokenLimit: 100 })
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-fleet-unitfiles-"))
    })
    afterAll(async () => {
      await pair?.close()
      if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true })
    })

    it(`parses, stores, serializes and hashes ${files} generated unit files as fleet does (fast-check seed ${seed})`, async () => {
      const texts = fc.sample(unitFileText, { seed, numRuns: files })
      await pair.run({ name: "unit files", requests: [] })
      const differences: Array<string> = []
      const parsedOk: Array<{ readonly name: string; readonly stored: ReadonlyArray<UnitFile.Option> }> = []
      let parseFailures = 0
      await pool(texts, 4, async (text, index) => {
        const name = `f${index}.service`
        const file = path.join(dir, name)
        fs.writeFileSync(file, text, "utf8")
        const local = UnitFile.parseResult(text)
        const [fromFleet, fromLocal] = await Promise.all([
          fleetctl(pair.reference.url, ["submit", file], dir),
          fleetctl(pair.local.url, ["submit", file], dir)
        ])
        const where = `${name} ${JSON.stringify(text).slice(0, 300)}`
        if (JSON.stringify(normalizeFleetctl(fromFleet)) !== JSON.stringify(normalizeFleetctl(fromLocal))) {
          differences.push(
            `${where}\n  fleetctl against fleet: ${JSON.stringify(fromFleet)}\n  against local: ${JSON.stringify(fromLocal)}`
          )
        }
        const fleetParseError = /failed getting Unit\([^)]*\) from file: (.*)\n/.exec(fromFleet.stderr)?.[1]
        if (Result.isFailure(local)) {
          parseFailures++
          if (fleetParseError !== local.failure.message) {
            differences.push(
              `${where}\n  go-systemd: ${fleetParseError ?? "(parsed)"}\n  UnitFile.parse: ${local.failure.message}`
            )
          }
          return
        }
        if (fleetParseError !== undefined) {
          differences.push(`${where}\n  go-systemd: ${fleetParseError}\n  UnitFile.parse: (parsed)`)
          return
        }
        if (fromFleet.code !== 0) return
        const stored = UnitFile.roundTrip(local.success)
        const answer = await exchange(pair.reference.url, { method: "GET", path: `/fleet/v1/units/${name}` })
        const fleetOptions = (JSON.parse(answer.body).options ?? []).map(
          (option: { section?: string; name?: string; value?: string }) => ({
            section: option.section ?? "",
            name: option.name ?? "",
            value: option.value ?? ""
          })
        )
        if (Result.isFailure(stored) || JSON.stringify(fleetOptions) !== JSON.stringify(stored.success)) {
          differences.push(
            `${where}\n  fleet stored: ${JSON.stringify(fleetOptions)}\n  UnitFile.roundTrip: ${JSON.stringify(Result.isSuccess(stored) ? stored.success : stored.failure.message)}`
          )
          return
        }
        const cat = await fleetctl(pair.reference.url, ["cat", name], dir)
        if (
          cat.stdout !== `${UnitFile.serialize(stored.success)}\n` &&
          cat.stdout !== UnitFile.serialize(stored.success)
        ) {
          differences.push(
            `${where}\n  fleetctl cat: ${JSON.stringify(cat.stdout)}\n  UnitFile.serialize: ${JSON.stringify(UnitFile.serialize(stored.success))}`
          )
        }
        parsedOk.push({ name, stored: stored.success })
      })
      // fleetctl hashes what the API returns: the hash of the stored file.
      const [fleetList, localList] = await Promise.all([
        fleetctl(pair.reference.url, ["list-unit-files", "--full", "--no-legend", "--fields", "unit,hash"], dir),
        fleetctl(pair.local.url, ["list-unit-files", "--full", "--no-legend", "--fields", "unit,hash"], dir)
      ])
      expect(localList).toEqual(fleetList)
      const hashes = new Map(
        fleetList.stdout
          .trim()
          .split("\n")
          .map((row) => row.split("\t") as [string, string])
      )
      for (const { name, stored } of parsedOk) {
        if (hashes.get(name) !== UnitFile.hash(stored)) {
          differences.push(`${name}: fleetctl's hash ${hashes.get(name)}, UnitFile.hash ${UnitFile.hash(stored)}`)
        }
      }
      expect(differences.slice(0, 10)).toEqual([])
      // Both outcomes were exercised in numbers.
      expect(parseFailures).toBeGreaterThan(files / 10)
      expect(parsedOk.length).toBeGreaterThan(files / 5)
    }, 120_000)
  }
)
